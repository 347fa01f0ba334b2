#include "coordinator/metrics/text_exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

#include "coordinator/metrics/registry.h"

namespace fl::metrics {
namespace {

// Golden text written by hand from the format's specification: families in
// name order, series in label-value order, escaped label values and help,
// cumulative buckets ending in +Inf, then _sum and _count.
TEST(TextExposition, RendersASmallRegistryExactly) {
  Registry registry;
  CounterFamily& requests = **registry.add_counter(
      "app_requests_total", "Requests.\nA second line, a \\ backslash.", {"path", "code"});
  requests.with({"/b", "200"}).inc(2);
  requests.with({"/a \"quoted\"\nnext\\", "500"}).inc();
  GaugeFamily& temperature = **registry.add_gauge("app_temperature_celsius", "Temperature.");
  temperature.with({}).set(-1.5);
  GaugeFamily& version = **registry.add_gauge("app_published_version", "Version.", {"model"});
  ASSERT_TRUE(version.set_callback({"m"}, [] { return 7.0; }).ok());
  HistogramFamily& latency =
      **registry.add_histogram("app_latency_seconds", "Latency.", {"api"}, {0.25, 1});
  for (double seconds : {0.125, 0.25, 0.5, 3.0}) latency.with({"v1"}).observe(seconds);
  ASSERT_TRUE(registry.add_counter("app_unused_total", "Never used.", {"x"}).ok());

  EXPECT_EQ(render_text(registry.collect()), R"txt(# HELP app_latency_seconds Latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{api="v1",le="0.25"} 2
app_latency_seconds_bucket{api="v1",le="1"} 3
app_latency_seconds_bucket{api="v1",le="+Inf"} 4
app_latency_seconds_sum{api="v1"} 3.875
app_latency_seconds_count{api="v1"} 4
# HELP app_published_version Version.
# TYPE app_published_version gauge
app_published_version{model="m"} 7
# HELP app_requests_total Requests.\nA second line, a \\ backslash.
# TYPE app_requests_total counter
app_requests_total{path="/a \"quoted\"\nnext\\",code="500"} 1
app_requests_total{path="/b",code="200"} 2
# HELP app_temperature_celsius Temperature.
# TYPE app_temperature_celsius gauge
app_temperature_celsius -1.5
)txt");
}

TEST(TextExposition, RendersAnEmptyRegistryAsAnEmptyBody) {
  Registry registry;
  ASSERT_TRUE(registry.add_gauge("unused", "help", {"a"}).ok());
  EXPECT_EQ(render_text(registry.collect()), "");
}

TEST(TextExposition, ContentTypeIsTheOneForFormat004) {
  EXPECT_EQ(kPrometheusContentType, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(FormatValue, WritesSpecialValuesAsPrometheusSpellsThem) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(FormatValue, WritesTheShortestTextThatRoundTrips) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(-1.5), "-1.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(0.00001), "1e-05");
  EXPECT_EQ(format_value(123456789), "123456789");
  EXPECT_EQ(format_value(9007199254740993.0), "9007199254740992");  // 2^53 + 1 is not a double
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(1.0 / 3), "0.3333333333333333");
}

TEST(FormatValue, EveryFiniteDoubleParsesBackToItself) {
  std::mt19937_64 random(20240611);
  std::uniform_int_distribution<uint64_t> bits;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t pattern = bits(random);
    double value;
    std::memcpy(&value, &pattern, sizeof value);
    if (!std::isfinite(value)) continue;
    const std::string text = format_value(value);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
  }
}

TEST(Escaping, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd\te"), "a\\\\b\\\"c\\nd\te");
}

TEST(Escaping, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
}

}  // namespace
}  // namespace fl::metrics
