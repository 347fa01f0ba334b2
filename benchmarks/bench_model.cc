// Training throughput of the Fashion-MNIST models (softmax regression and an
// MLP with one hidden layer of 100), in examples per second, beside the rate
// of a plain Eigen matrix multiply measured in the same run: the ceiling the
// training loop's arithmetic could reach with the same compiler flags and
// thread count. The summary prints the fraction of that ceiling achieved.
//
// Synthetic data of Fashion-MNIST's shape (784 inputs in [0, 1], 10 classes),
// so no dataset is needed. Run with --benchmark_min_time=1 for steadier figures.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "model/dataset.h"
#include "model/model.h"
#include "model/train.h"
#include "model/worker_pool.h"

namespace {

using namespace fl::model;

constexpr int kInputs = 784;
constexpr int kClasses = 10;
constexpr int kHidden = 100;
constexpr int64_t kExamples = 16384;
// The reference product: a 256-row batch through a 784 -> 128 layer, the
// shape family training multiplies (batch x inputs times inputs x outputs).
constexpr int kGemmRows = 256;
constexpr int kGemmInner = kInputs;
constexpr int kGemmCols = 128;

// Multiply-adds of one training example, forward and backward, counted as 2
// FLOPs each: per dense layer in x out forward, the same for dW, and the
// same again for dX except at the input layer.
double train_flops_per_example(const ModelSpec& spec) {
  double flops = 0;
  int in = spec.input_dim;
  bool first = true;
  auto layer = [&](int out) {
    flops += 2.0 * in * out * (first ? 2 : 3);
    first = false;
    in = out;
  };
  for (int width : spec.hidden_layers) layer(width);
  layer(kClasses);
  return flops;
}

const Dataset& synthetic_data() {
  static const Dataset data = [] {
    Dataset d;
    d.num_classes = kClasses;
    d.features.resize(kExamples, kInputs);
    d.labels.resize(kExamples);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    for (int64_t i = 0; i < kExamples; ++i) {
      d.labels[i] = static_cast<int>(i % kClasses);
      for (int j = 0; j < kInputs; ++j) {
        // A class-dependent bias in a band of pixels, so the loss falls as it should.
        d.features(i, j) = pixel(rng) * (j / 78 == d.labels[i] ? 1.0f : 0.5f);
      }
    }
    return d;
  }();
  return data;
}

// name -> rate, filled by the benchmarks, read by the summary.
std::map<std::string, double>& results() {
  static std::map<std::string, double> r;
  return r;
}

using Clock = std::chrono::steady_clock;

void BM_EigenGemm(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  WorkerPool pool(threads);
  std::vector<Eigen::MatrixXf> a(threads), b(threads), c(threads);
  for (int t = 0; t < threads; ++t) {
    a[t] = Eigen::MatrixXf::Random(kGemmRows, kGemmInner);
    b[t] = Eigen::MatrixXf::Random(kGemmInner, kGemmCols);
    c[t] = Eigen::MatrixXf::Zero(kGemmRows, kGemmCols);
  }
  int64_t products = 0;
  const auto start = Clock::now();
  for (auto _ : state) {
    pool.run(threads, [&](int t) { c[t].noalias() = a[t] * b[t]; });
    benchmark::DoNotOptimize(c[0].data());
    products += threads;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double flops = 2.0 * kGemmRows * kGemmInner * kGemmCols * static_cast<double>(products);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  results()["gemm/" + std::to_string(threads)] = flops / seconds * 1e-9;
}
BENCHMARK(BM_EigenGemm)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void train_benchmark(benchmark::State& state, const ModelSpec& spec, int batch_size,
                     const std::string& name) {
  const int threads = static_cast<int>(state.range(0));
  const Dataset& data = synthetic_data();
  Model model = *create_model(spec, 1);
  TrainConfig config;
  config.optimizer = OptimizerKind::kAdam;
  config.lr = 1e-3f;
  config.batch_size = batch_size;
  config.epochs = 1;
  config.num_threads = threads;
  int64_t examples = 0;
  double seconds = 0;
  for (auto _ : state) {
    fl::Result<TrainReport> r = train(model, data, config);
    if (!r.ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      return;
    }
    examples += r->examples_processed;
    seconds += r->seconds;
  }
  const double flops = train_flops_per_example(spec) * static_cast<double>(examples);
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(examples), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  results()[name + "/" + std::to_string(threads) + "/examples"] = examples / seconds;
  results()[name + "/" + std::to_string(threads) + "/gflops"] = flops / seconds * 1e-9;
}

void BM_TrainSoftmax(benchmark::State& state) {
  train_benchmark(state, ModelSpec::softmax_regression(kInputs, kClasses), 128, "softmax");
}
BENCHMARK(BM_TrainSoftmax)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_TrainMlp(benchmark::State& state) {
  train_benchmark(state, ModelSpec::mlp(kInputs, kClasses, {kHidden}), 64, "mlp100");
}
BENCHMARK(BM_TrainMlp)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void print_summary() {
  std::map<std::string, double>& r = results();
  std::printf("\nsummary (training at fl-train's default batch sizes: softmax 128, mlp 64)\n");
  for (const char* name : {"softmax", "mlp100"}) {
    for (int threads : {1, 2}) {
      const std::string key = std::string(name) + "/" + std::to_string(threads);
      const std::string gemm = "gemm/" + std::to_string(threads);
      if (!r.contains(key + "/examples") || !r.contains(gemm)) continue;
      std::printf(
          "%-8s threads=%d: %9.0f examples/s, %6.2f GFLOP/s = %4.1f%% of Eigen GEMM %6.2f "
          "GFLOP/s (%d threads)\n",
          name, threads, r[key + "/examples"], r[key + "/gflops"],
          100.0 * r[key + "/gflops"] / r[gemm], r[gemm], threads);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
  return 0;
}
