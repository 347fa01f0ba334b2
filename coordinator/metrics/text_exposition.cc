#include "coordinator/metrics/text_exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace fl::metrics {
namespace {

std::string_view type_keyword(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Writes `{a="x",b="y"}` (or nothing without labels), with an optional extra
// label last: histograms add le.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(i < values.size() ? values[i] : "");
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const FamilySnapshot& family, const SeriesSnapshot& series, double value,
                   std::string_view le = {}) {
  out += name;
  out += suffix;
  append_labels(out, family.label_names, series.label_values, le.empty() ? "" : "le", le);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  const double magnitude = std::fabs(value);
  const auto format = (magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e21))
                          ? std::chars_format::fixed
                          : std::chars_format::scientific;
  char buffer[64];  // the longest fixed form below 1e21 is 22 digits plus sign and point
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format);
  return std::string(buffer, result.ptr);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_text(std::vector<FamilySnapshot> families) {
  std::sort(families.begin(), families.end(),
            [](const FamilySnapshot& a, const FamilySnapshot& b) { return a.name < b.name; });
  std::string out;
  for (FamilySnapshot& family : families) {
    if (family.series.empty()) continue;
    std::sort(family.series.begin(), family.series.end(),
              [](const SeriesSnapshot& a, const SeriesSnapshot& b) {
                return a.label_values < b.label_values;
              });
    if (!family.help.empty()) {
      out += "# HELP " + family.name + ' ' + escape_help(family.help) + '\n';
    }
    out += "# TYPE " + family.name + ' ' + std::string(type_keyword(family.type)) + '\n';
    for (const SeriesSnapshot& series : family.series) {
      if (family.type != MetricType::kHistogram) {
        append_sample(out, family.name, "", family, series, series.value);
        continue;
      }
      const size_t bounds = family.bucket_bounds.size();
      uint64_t count = 0;
      for (size_t i = 0; i <= bounds && i < series.cumulative_counts.size(); ++i) {
        count = series.cumulative_counts[i];
        const std::string le = i < bounds ? format_value(family.bucket_bounds[i]) : "+Inf";
        append_sample(out, family.name, "_bucket", family, series, static_cast<double>(count), le);
      }
      append_sample(out, family.name, "_sum", family, series, series.sum);
      append_sample(out, family.name, "_count", family, series, static_cast<double>(count));
    }
  }
  return out;
}

}  // namespace fl::metrics
