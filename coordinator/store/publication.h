// One entry of a model's publication history: which version became the
// published one, when, why and on whose behalf (DESIGN.md section 5,
// "registry/": rollback to any earlier version needs to know what was served
// before).
//
// The store writes a Publication in the same transaction as the stage change
// it describes, so the history and the stages never disagree: every change of
// a model's published version, including rollbacks, has exactly one entry, and
// republishing the published version (a no-op) has none.
//
// Not for: deciding what to publish; that is coordinator/registry. The store
// treats `reason` and `actor` as opaque text.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fl::coordinator {

// What a caller says about a publish. The defaults are what the two-argument
// `Store::publish` records, for callers that predate the history.
struct PublishInfo {
  // Unix milliseconds from the caller's clock (the store never reads one);
  // 0 when the caller did not say.
  int64_t at_ms = 0;
  // Why: "auto" (passed the quality gate), "manual", "rollback",
  // "auto-rollback", ... Must not be empty.
  std::string reason = "unspecified";
  // Who: "coordinator", "admin:alice", ...; may be empty.
  std::string actor;
  // Compare-and-set: when set, the publish happens only if this version is
  // the model's published one at commit time (kNoPublishedVersion: only if
  // the model has none), else Aborted and nothing changes. A caller that
  // decided from what it read earlier (a quality gate comparing against the
  // published version) uses it so another process's publish in between is
  // detected instead of silently overridden.
  std::optional<int64_t> expected_published;
};

// Ids start at 1, so 0 never names a version.
inline constexpr int64_t kNoPublishedVersion = 0;

struct Publication {
  int64_t id = 0;  // increasing; never reused, so a larger id is a later publish
  std::string model;
  int64_t version_id = 0;                      // the version that became published
  std::optional<int64_t> previous_version_id;  // the one it replaced; none for the first
  int64_t at_ms = 0;
  std::string reason;
  std::string actor;
};

}  // namespace fl::coordinator
