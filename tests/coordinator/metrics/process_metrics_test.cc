#include "coordinator/metrics/process_metrics.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

#include "coordinator/metrics/text_exposition.h"

namespace fl::metrics {
namespace {

std::map<std::string, FamilySnapshot> by_name(std::vector<FamilySnapshot> families) {
  std::map<std::string, FamilySnapshot> out;
  for (FamilySnapshot& family : families) out[family.name] = std::move(family);
  return out;
}

double value_of(const std::map<std::string, FamilySnapshot>& families, const std::string& name) {
  const auto it = families.find(name);
  if (it == families.end() || it->second.series.size() != 1) return -1;
  return it->second.series[0].value;
}

TEST(ProcessMetrics, ExportsTheStandardFamiliesWithPlausibleValues) {
  const auto families = by_name(collect_process_metrics());
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_TRUE(families.contains(name)) << name;
  }
  EXPECT_EQ(families.at("process_cpu_seconds_total").type, MetricType::kCounter);

  const double rss = value_of(families, "process_resident_memory_bytes");
  const double virtual_memory = value_of(families, "process_virtual_memory_bytes");
  EXPECT_GT(rss, 1 << 20);  // a test binary maps at least a megabyte
  EXPECT_GE(virtual_memory, rss);
  EXPECT_GE(value_of(families, "process_open_fds"), 3);  // stdin, stdout, stderr
  EXPECT_GE(value_of(families, "process_max_fds"), value_of(families, "process_open_fds"));

  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = value_of(families, "process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 24 * 3600);
}

TEST(ProcessMetrics, OpenFdsFollowsFilesOpenedByTheProcess) {
  const double before = value_of(by_name(collect_process_metrics()), "process_open_fds");
  const int fd = open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(fd, 0);
  const double during = value_of(by_name(collect_process_metrics()), "process_open_fds");
  close(fd);
  EXPECT_EQ(during, before + 1);
}

TEST(ProcessMetrics, CpuSecondsGrowWhileTheProcessWorks) {
  const double before = value_of(by_name(collect_process_metrics()), "process_cpu_seconds_total");
  double after = before;
  volatile uint64_t sink = 0;
  // Spin until the kernel's tick-granular accounting shows it (a few ms);
  // the deadline only guards against a broken /proc.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (after <= before && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 1'000'000; ++i) sink = sink + i;
    after = value_of(by_name(collect_process_metrics()), "process_cpu_seconds_total");
  }
  EXPECT_GT(after, before);
}

TEST(ProcessMetrics, RegisteredInARegistryTheyAppearInTheScrape) {
  Registry registry;
  ASSERT_TRUE(add_process_metrics(registry).ok());
  const std::string text = render_text(registry.collect());
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE process_resident_memory_bytes gauge\n"));
  EXPECT_EQ(add_process_metrics(registry).code(), ErrorCode::kAlreadyExists);
}

TEST(ParseProcStat, CountsFieldsFromTheLastParenthesisOfTheCommandName) {
  // Field 2 is "(my (odd) cmd)": spaces and parentheses are legal there.
  const std::string stat =
      "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 500 0 0 0 "
      "250 75 0 0 20 0 4 0 98765 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
      "1 0 0 0 0 0\n";
  Result<ProcStat> parsed = parse_proc_stat(stat);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->user_ticks, 250u);
  EXPECT_EQ(parsed->system_ticks, 75u);
  EXPECT_EQ(parsed->start_ticks_after_boot, 98765u);
  EXPECT_EQ(parsed->virtual_memory_bytes, 104857600u);
  EXPECT_EQ(parsed->resident_pages, 2560);
}

TEST(ParseProcStat, RejectsTruncatedContentsWithoutCrashing) {
  EXPECT_EQ(parse_proc_stat("").status().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(parse_proc_stat("1 (x) S 1 2 3").status().code(), ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace fl::metrics
