#include "coordinator/metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "coordinator/metrics/text_exposition.h"

namespace fl::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string scrape(const Registry& registry) { return render_text(registry.collect()); }

TEST(Registry, RefusesMetricNamesPrometheusCannotParse) {
  Registry registry;
  for (std::string_view bad : {"", "1st_metric", "has-dash", "has space", "caf\xC3\xA9"}) {
    Result<GaugeFamily*> gauge = registry.add_gauge(bad, "help");
    ASSERT_FALSE(gauge.ok()) << bad;
    EXPECT_EQ(gauge.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(registry.add_gauge("job:requests:rate5m", "colons are legal").ok());
  EXPECT_TRUE(registry.add_gauge("_leading_underscore", "legal").ok());
}

TEST(Registry, RefusesACounterWhoseNameDoesNotEndInTotal) {
  Registry registry;
  Result<CounterFamily*> counter = registry.add_counter("fl_requests", "help");
  ASSERT_FALSE(counter.ok());
  EXPECT_THAT(counter.status().message(), HasSubstr("_total"));
  EXPECT_TRUE(registry.add_counter("fl_requests_total", "help").ok());
}

TEST(Registry, RefusesInvalidReservedAndDuplicateLabelNames) {
  Registry registry;
  for (std::vector<std::string> labels : std::vector<std::vector<std::string>>{
           {"__reserved"}, {"has-dash"}, {"0digit"}, {"has:colon"}, {"a", "a"}, {""}}) {
    Result<GaugeFamily*> gauge = registry.add_gauge("g", "help", labels);
    ASSERT_FALSE(gauge.ok()) << labels[0];
    EXPECT_EQ(gauge.status().code(), ErrorCode::kInvalidArgument);
  }
  Result<HistogramFamily*> histogram = registry.add_histogram("h", "help", {"le"}, {1.0});
  ASSERT_FALSE(histogram.ok());
  EXPECT_THAT(histogram.status().message(), HasSubstr("bucket bound"));
}

TEST(Registry, RefusesBucketBoundsThatAreNotStrictlyIncreasingAndFinite) {
  Registry registry;
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::vector<double> bounds :
       std::vector<std::vector<double>>{{1, 1}, {2, 1}, {1, inf}, {nan}, {-inf, 0}}) {
    EXPECT_EQ(registry.add_histogram("h", "help", {}, bounds).status().code(),
              ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(registry.add_histogram("h", "help", {}, {-1, 0, 0.5}).ok());
}

TEST(Registry, RegisteringTheSameDefinitionTwiceSharesOneFamily) {
  Registry registry;
  CounterFamily* first = *registry.add_counter("fl_x_total", "help", {"a"});
  CounterFamily* second = *registry.add_counter("fl_x_total", "help", {"a"});
  EXPECT_EQ(first, second);
}

TEST(Registry, RegisteringANameAgainWithAnotherTypeOrLabelsIsAlreadyExists) {
  Registry registry;
  ASSERT_TRUE(registry.add_counter("fl_x_total", "help", {"a"}).ok());
  Result<GaugeFamily*> as_gauge = registry.add_gauge("fl_x_total", "help", {"a"});
  ASSERT_FALSE(as_gauge.ok());
  EXPECT_EQ(as_gauge.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_THAT(as_gauge.status().message(), HasSubstr("counter"));
  EXPECT_EQ(registry.add_counter("fl_x_total", "help", {"b"}).status().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(registry.add_counter("fl_x_total", "other help", {"a"}).status().code(),
            ErrorCode::kAlreadyExists);
}

TEST(Registry, AHistogramsSampleNamesCannotBeTakenByAnotherFamily) {
  Registry registry;
  ASSERT_TRUE(registry.add_histogram("latency_seconds", "help", {}, {1}).ok());
  EXPECT_EQ(registry.add_gauge("latency_seconds_count", "help").status().code(),
            ErrorCode::kAlreadyExists);
  ASSERT_TRUE(registry.add_gauge("size_bucket", "help").ok());
  EXPECT_EQ(registry.add_histogram("size", "help", {}, {1}).status().code(),
            ErrorCode::kAlreadyExists);
}

TEST(Family, AWrongNumberOfLabelValuesIsAnErrorAndNeverExported) {
  Registry registry;
  CounterFamily& requests = **registry.add_counter("requests_total", "help", {"route", "code"});
  Result<Counter*> child = requests.try_with({"/v1/rounds"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(child.status().message(), HasSubstr("route, code"));

  requests.with({"/v1/rounds"}).inc();  // must not crash
  EXPECT_EQ(requests.size(), 0u);
  EXPECT_THAT(scrape(registry), Not(HasSubstr("requests_total")));
}

TEST(Family, ReturnsTheSameChildForTheSameLabelValuesAcrossGrowth) {
  Registry registry;
  GaugeFamily& clients = **registry.add_gauge("clients", "help", {"stage"});
  Gauge* masking = &clients.with({"masking"});
  for (int i = 0; i < 1000; ++i) clients.with({"stage-" + std::to_string(i)}).set(i);
  masking->set(42);
  EXPECT_EQ(&clients.with({"masking"}), masking);
  EXPECT_THAT(scrape(registry), HasSubstr("clients{stage=\"masking\"} 42\n"));
}

TEST(Family, RemovedSeriesDisappearFromTheScrapeAndRestartAtZero) {
  Registry registry;
  CounterFamily& errors = **registry.add_counter("errors_total", "help", {"reason"});
  errors.with({"timeout"}).inc(3);
  errors.with({"refused"}).inc();
  EXPECT_TRUE(errors.remove({"timeout"}));
  EXPECT_FALSE(errors.remove({"timeout"}));
  const std::string text = scrape(registry);
  EXPECT_THAT(text, Not(HasSubstr("timeout")));
  EXPECT_THAT(text, HasSubstr("errors_total{reason=\"refused\"} 1\n"));
  EXPECT_EQ(errors.with({"timeout"}).value(), 0.0);
}

TEST(Family, StopsCreatingSeriesAtTheCardinalityLimit) {
  Registry registry(RegistryOptions{.max_series_per_family = 3});
  CounterFamily& requests = **registry.add_counter("requests_total", "help", {"path"});
  for (std::string_view path : {"/a", "/b", "/c"}) requests.with({path}).inc();
  Result<Counter*> fourth = requests.try_with({"/d"});
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.status().code(), ErrorCode::kResourceExhausted);
  requests.with({"/e"}).inc();
  EXPECT_EQ(requests.size(), 3u);
  EXPECT_TRUE(requests.try_with({"/a"}).ok()) << "existing series stay usable";
}

TEST(Family, RepairsLabelValuesThatAreNotUtf8SoTheScrapeStaysValid) {
  Registry registry;
  CounterFamily& requests = **registry.add_counter("requests_total", "help", {"model"});
  requests.with({"bad\xFF"}).inc();
  EXPECT_THAT(scrape(registry), HasSubstr("requests_total{model=\"bad\xEF\xBF\xBD\"} 1\n"));
  EXPECT_EQ(&requests.with({"bad\xFF"}), &requests.with({"bad\xEF\xBF\xBD"}));
}

TEST(Counter, NeverGoesDown) {
  Counter counter;
  counter.inc(2.5);
  counter.inc(-1);
  counter.inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(counter.value(), 2.5);
}

TEST(Gauge, CallbackSeriesAreReadAtScrapeTime) {
  Registry registry;
  GaugeFamily& version = **registry.add_gauge("published_version", "help", {"model"});
  int published = 3;
  ASSERT_TRUE(version.set_callback({"mnist"}, [&] { return double(published); }).ok());
  EXPECT_THAT(scrape(registry), HasSubstr("published_version{model=\"mnist\"} 3\n"));
  published = 4;
  EXPECT_THAT(scrape(registry), HasSubstr("published_version{model=\"mnist\"} 4\n"));

  EXPECT_EQ(version.try_with({"mnist"}).status().code(), ErrorCode::kFailedPrecondition);
  version.with({"cifar"}).set(1);
  EXPECT_EQ(version.set_callback({"cifar"}, [] { return 2.0; }).code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(version.remove({"mnist"}));
  EXPECT_THAT(scrape(registry), Not(HasSubstr("mnist")));
}

TEST(Gauge, ACallbackThatThrowsLosesOnlyItsOwnSeries) {
  Registry registry;
  GaugeFamily& version = **registry.add_gauge("published_version", "help", {"model"});
  ASSERT_TRUE(version.set_callback({"broken"}, []() -> double { throw 42; }).ok());
  version.with({"fine"}).set(1);
  const std::string text = scrape(registry);
  EXPECT_THAT(text, HasSubstr("published_version{model=\"fine\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("broken")));
}

TEST(Registry, ConcurrentUpdatesFromEightThreadsAreAllCounted) {
  Registry registry;
  CounterFamily& requests = **registry.add_counter("requests_total", "help", {"worker"});
  HistogramFamily& latency = **registry.add_histogram("latency_seconds", "help", {}, {0.5});
  Counter& shared = requests.with({"shared"});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& own = requests.with({"worker-" + std::to_string(t)});
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        own.inc();
        latency.with({}).observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) registry.collect();  // scrapes race with updates
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(shared.value(), double(kThreads) * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(requests.with({"worker-" + std::to_string(t)}).value(), kPerThread);
  }
  const Histogram::Snapshot snapshot = latency.with({}).snapshot();
  EXPECT_EQ(snapshot.count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(snapshot.cumulative_counts[0], uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(snapshot.sum, kThreads * (kPerThread / 2) * 1.25);
}

TEST(Registry, CollectorsReserveTheirNamesAndExportOnlyThose) {
  Registry registry;
  ASSERT_TRUE(registry.add_gauge("taken", "help").ok());
  const Collector collector = [] {
    FamilySnapshot mine{"temperature_celsius", "help", MetricType::kGauge, {}, {},
                        {{{}, 21.5, {}, 0.0}}};
    FamilySnapshot stray{"undeclared", "help", MetricType::kGauge, {}, {}, {{{}, 1, {}, 0.0}}};
    return std::vector<FamilySnapshot>{mine, stray};
  };
  EXPECT_EQ(registry.add_collector({"taken"}, collector).code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(registry.add_collector({"temperature_celsius"}, collector).ok());
  EXPECT_EQ(registry.add_gauge("temperature_celsius", "help").status().code(),
            ErrorCode::kAlreadyExists);

  const std::string text = scrape(registry);
  EXPECT_THAT(text, HasSubstr("temperature_celsius 21.5\n"));
  EXPECT_THAT(text, Not(HasSubstr("undeclared")));
}

}  // namespace
}  // namespace fl::metrics
