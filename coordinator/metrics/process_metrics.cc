#include "coordinator/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace fl::metrics {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

// Seconds since the epoch at which the machine booted: "btime" in /proc/stat.
std::optional<double> boot_time_seconds() {
  const std::optional<std::string> stat = read_file("/proc/stat");
  if (!stat) return std::nullopt;
  std::istringstream lines(*stat);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("btime ")) continue;
    uint64_t seconds = 0;
    if (parse_int(std::string_view(line).substr(6), seconds)) return static_cast<double>(seconds);
  }
  return std::nullopt;
}

std::optional<double> open_fds() {
  std::error_code error;
  std::filesystem::directory_iterator it("/proc/self/fd", error);
  if (error) return std::nullopt;
  double count = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return std::nullopt;
    ++count;
  }
  return count;
}

FamilySnapshot single(std::string name, std::string help, MetricType type, double value) {
  return FamilySnapshot{std::move(name), std::move(help), type, {}, {}, {{{}, value, {}, 0.0}}};
}

}  // namespace

Result<ProcStat> parse_proc_stat(std::string_view contents) {
  const size_t close = contents.rfind(')');
  if (close == std::string_view::npos)
    return DataLoss("/proc/self/stat has no ')' after the command name");
  // Fields from 3 (state) on, so field N is tokens[N - 3].
  std::vector<std::string_view> tokens;
  std::string_view rest = contents.substr(close + 1);
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    tokens.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  const auto field = [&](int n) { return tokens[static_cast<size_t>(n - 3)]; };
  if (tokens.size() < 22) {
    return DataLoss("/proc/self/stat has " + std::to_string(tokens.size() + 2) +
                    " fields; at least 24 expected");
  }
  ProcStat stat;
  if (!parse_int(field(14), stat.user_ticks) || !parse_int(field(15), stat.system_ticks) ||
      !parse_int(field(22), stat.start_ticks_after_boot) ||
      !parse_int(field(23), stat.virtual_memory_bytes) ||
      !parse_int(field(24), stat.resident_pages)) {
    return DataLoss("/proc/self/stat has a non-numeric field among 14, 15, 22, 23, 24");
  }
  return stat;
}

std::vector<FamilySnapshot> collect_process_metrics() {
  std::vector<FamilySnapshot> families;
  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));

  if (const std::optional<std::string> contents = read_file("/proc/self/stat")) {
    if (Result<ProcStat> stat = parse_proc_stat(*contents); stat.ok() && ticks_per_second > 0) {
      families.push_back(
          single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                 MetricType::kCounter,
                 static_cast<double>(stat->user_ticks + stat->system_ticks) / ticks_per_second));
      families.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                MetricType::kGauge,
                                static_cast<double>(stat->virtual_memory_bytes)));
      families.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                                MetricType::kGauge,
                                static_cast<double>(stat->resident_pages) * page_size));
      if (const std::optional<double> boot = boot_time_seconds()) {
        families.push_back(
            single("process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.", MetricType::kGauge,
                   *boot + static_cast<double>(stat->start_ticks_after_boot) / ticks_per_second));
      }
    }
  }
  if (const std::optional<double> fds = open_fds()) {
    families.push_back(
        single("process_open_fds", "Number of open file descriptors.", MetricType::kGauge, *fds));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    families.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                              MetricType::kGauge, static_cast<double>(limit.rlim_cur)));
  }
  return families;
}

Status add_process_metrics(Registry& registry) {
  return registry.add_collector(
      {"process_cpu_seconds_total", "process_virtual_memory_bytes", "process_resident_memory_bytes",
       "process_start_time_seconds", "process_open_fds", "process_max_fds"},
      collect_process_metrics);
}

}  // namespace fl::metrics
