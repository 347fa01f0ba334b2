// Aggregation hot loops beside their limits, measured in the same run:
// - the server's modular sum of a masked input (decode + add into the running
//   sum), against memory bandwidth (memcpy) and a plain uint32 accumulate;
// - quantisation of a float update (clip, scale, stochastic rounding), and the
//   whole client update around it (L2 norm, optional L2 clip).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "aggregation/client_update.h"
#include "aggregation/quantization.h"
#include "aggregation/secagg/ring_codec.h"
#include "crypto/rng.h"

namespace {

constexpr size_t kDim = 1'000'000;

double memcpy_gbps() {
  std::vector<uint8_t> a(256u << 20, 1), b(256u << 20, 0);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t = std::chrono::steady_clock::now();
    std::memcpy(b.data(), a.data(), a.size());
    benchmark::DoNotOptimize(b.data());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    best = std::max(best, a.size() / s / 1e9);
  }
  return best;
}

void BM_PlainUint32Sum(benchmark::State& state) {
  std::vector<uint32_t> acc(kDim, 1), x(kDim, 3);
  for (auto _ : state) {
    for (size_t i = 0; i < kDim; ++i) acc[i] += x[i];
    benchmark::DoNotOptimize(acc.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kDim * 4);
}
BENCHMARK(BM_PlainUint32Sum);

void BM_ModularSumOfMaskedInput(benchmark::State& state) {
  const auto ring = state.range(0) == 32 ? fl::crypto::RingBits::k32 : fl::crypto::RingBits::k64;
  const size_t width = fl::crypto::ring_element_bytes(ring);
  std::string wire(kDim * width, '\x5a');
  std::vector<uint64_t> acc(kDim, 0);
  for (auto _ : state) {
    auto s = fl::aggregation::secagg::add_ring_vector(wire, ring, acc);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(acc.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kDim * width);
}
BENCHMARK(BM_ModularSumOfMaskedInput)->Arg(32)->Arg(64);

void BM_Quantize(benchmark::State& state) {
  fl::aggregation::QuantizationConfig c{.clip = 1.0, .bits = 16};
  fl::crypto::SeededRng rng(1);
  std::vector<float> u(kDim);
  for (auto& x : u) x = static_cast<float>(rng.uniform01() * 2 - 1);
  for (auto _ : state) {
    auto q = fl::aggregation::quantize(u, 1.0, c, rng);
    benchmark::DoNotOptimize(q);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kDim);
  state.SetBytesProcessed(int64_t(state.iterations()) * kDim * 4);
}
BENCHMARK(BM_Quantize);

// The whole client update (aggregation/client_update.h), L2 clip off (0) and
// on (1, every update clipped): its cost beyond BM_Quantize is the norm pass,
// and with a clip the scaled copy and the check of its norm.
void BM_ClientUpdate(benchmark::State& state) {
  fl::aggregation::ClientUpdateConfig c;
  c.quantization = {.clip = 1.0, .bits = 16};
  c.l2_clip = state.range(0) ? 1.0 : 0.0;
  fl::crypto::SeededRng rng(1);
  std::vector<float> u(kDim);
  for (auto& x : u) x = static_cast<float>(rng.uniform01() * 2 - 1);
  for (auto _ : state) {
    auto q = fl::aggregation::build_client_update(u, 100, c, rng);
    benchmark::DoNotOptimize(q);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kDim);
  state.SetBytesProcessed(int64_t(state.iterations()) * kDim * 4);
}
BENCHMARK(BM_ClientUpdate)->Arg(0)->Arg(1);

// Reports each benchmark's rate and, at the end, the ratio to memory bandwidth.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(double limit) : limit_(limit) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) lines_.push_back({r.benchmark_name(), it->second.value / 1e9});
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nlimit: memcpy %.2f GB/s (measured in this run)\n", limit_);
    for (const auto& [name, gbps] : lines_)
      std::printf("%-40s %7.2f GB/s  = %.2f x memcpy\n", name.c_str(), gbps, gbps / limit_);
  }

 private:
  double limit_;
  std::vector<std::pair<std::string, double>> lines_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter(memcpy_gbps());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
