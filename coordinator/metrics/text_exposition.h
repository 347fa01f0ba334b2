// Prometheus text exposition format 0.0.4, the body of GET /metrics
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Output is deterministic: families sorted by name, series by label values,
// so two scrapes of an idle process are byte-identical and tests can compare
// against a golden string. Families without series are omitted (as the
// official clients do): there is nothing for Prometheus to ingest.
//
// Not for: OpenMetrics or the protobuf format; Prometheus accepts 0.0.4 from
// every version since 2.0.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "coordinator/metrics/family_snapshot.h"

namespace fl::metrics {

// The Content-Type a Prometheus server expects for this format.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string render_text(std::vector<FamilySnapshot> families);

// A sample value as Prometheus parses it (Go's strconv.ParseFloat): "+Inf",
// "-Inf", "NaN", otherwise the shortest digits that round-trip, in plain
// notation for 1e-4 <= |v| < 1e21 and scientific outside (Go's 'g' rule).
std::string format_value(double value);

// Escapes \ " and newline, as label values require.
std::string escape_label_value(std::string_view value);
// Escapes \ and newline, as # HELP lines require.
std::string escape_help(std::string_view help);

}  // namespace fl::metrics
