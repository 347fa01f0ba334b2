// The standard process_* metrics of the Prometheus client libraries (same
// names, types and help as the Go client, so existing dashboards and alerts
// work), read from /proc at scrape time:
//   process_cpu_seconds_total, process_resident_memory_bytes,
//   process_virtual_memory_bytes, process_open_fds, process_max_fds,
//   process_start_time_seconds.
//
// Not for: per-thread or cgroup statistics. On a system without /proc (not
// Linux) the families that cannot be read are simply absent.
//
// Thread-safety: functions are thread-safe; each read opens its own files.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/metrics/family_snapshot.h"
#include "coordinator/metrics/registry.h"

namespace fl::metrics {

// The fields we use of /proc/<pid>/stat (proc(5): fields 14, 15, 22, 23, 24).
struct ProcStat {
  uint64_t user_ticks = 0;
  uint64_t system_ticks = 0;
  uint64_t start_ticks_after_boot = 0;
  uint64_t virtual_memory_bytes = 0;
  int64_t resident_pages = 0;
};

// Parses the contents of /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
Result<ProcStat> parse_proc_stat(std::string_view contents);

// The process_* families for this process, as a scrape would see them.
std::vector<FamilySnapshot> collect_process_metrics();

// Registers collect_process_metrics() as a collector of `registry`.
Status add_process_metrics(Registry& registry);

}  // namespace fl::metrics
