// The client's cost of distributed DP per 10^6 parameters, beside the cost it
// already pays for secure aggregation, measured in the same run:
// - limit/reference: expanding one 10^6-element mask (the default mask PRG,
//   AES-256-CTR, into the 2^32 ring; a client expands one self-mask plus one
//   per neighbour);
// - the randomised Hadamard rotation (10^6 padded to 2^20), the exact discrete
//   Gaussian noise (10^6 samples), and the whole client encode (clip, rotate,
//   scale, conditional rounding, noise, modular wrap).
// Prints, at the end, each figure in ms per 10^6 parameters and as a multiple
// of one mask expansion.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <vector>

#include "aggregation/dp/discrete_gaussian.h"
#include "aggregation/dp/distributed_dp.h"
#include "aggregation/secagg/parameters.h"
#include "crypto/mask_prg.h"
#include "crypto/rng.h"

namespace {

constexpr size_t kDim = 1'000'000;

void BM_MaskExpansion(benchmark::State& state) {
  fl::crypto::SeededRng rng(1);
  fl::crypto::Secret32 seed(rng.key32());
  std::vector<uint64_t> mask(kDim);
  for (auto _ : state) {
    fl::crypto::prg_expand(fl::aggregation::secagg::kDefaultMaskPrg, seed,
                           fl::crypto::RingBits::k32, mask);
    benchmark::DoNotOptimize(mask.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kDim);
}
BENCHMARK(BM_MaskExpansion)->Unit(benchmark::kMillisecond);

void BM_HadamardRotation(benchmark::State& state) {
  fl::crypto::SeededRng rng(2);
  std::vector<double> x(kDim);
  for (auto& v : x) v = rng.uniform01() - 0.5;
  const auto seed = rng.key32();
  for (auto _ : state) {
    auto y = fl::aggregation::dp::rotate(x, seed);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kDim);
}
BENCHMARK(BM_HadamardRotation)->Unit(benchmark::kMillisecond);

void BM_DiscreteGaussianNoise(benchmark::State& state) {
  fl::crypto::SeededRng rng(3);
  auto dg = fl::aggregation::dp::DiscreteGaussian::create(static_cast<double>(state.range(0)));
  std::vector<int64_t> v(kDim, 0);
  for (auto _ : state) {
    dg->add_noise(v, rng);
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kDim);
}
BENCHMARK(BM_DiscreteGaussianNoise)->Arg(4)->Arg(300)->Unit(benchmark::kMillisecond);

void BM_DistributedDpClientEncode(benchmark::State& state) {
  // Kairouz et al.'s regime: 16-bit modulus, c = 1, gamma from the bits,
  // z = 1 split over 100 expected clients.
  fl::aggregation::dp::DistributedDpConfig c{.dimension = kDim,
                                             .l2_clip = 1.0,
                                             .scale = 4096,
                                             .noise_stddev = 1.0,
                                             .expected_clients = 100,
                                             .bits = 16};
  fl::crypto::SeededRng rng(4);
  std::vector<float> u(kDim);
  for (auto& v : u) v = static_cast<float>((rng.uniform01() - 0.5) * 1e-3);
  const auto seed = rng.key32();
  for (auto _ : state) {
    auto e = fl::aggregation::dp::encode_client_update(u, c, seed, rng);
    if (!e.ok()) state.SkipWithError(e.status().to_string().c_str());
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kDim);
}
BENCHMARK(BM_DistributedDpClientEncode)->Unit(benchmark::kMillisecond);

// Prints each benchmark as ms per 10^6 parameters beside one mask expansion.
class MaskRatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      // CPU time: on a shared 2-core machine wall time mostly measures the
      // other processes. kMillisecond per iteration = ms per 10^6 parameters.
      const double ms = r.GetAdjustedCPUTime();
      if (r.benchmark_name().rfind("BM_MaskExpansion", 0) == 0) mask_ms_ = ms;
      lines_.push_back({r.benchmark_name(), ms});
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nreference: one mask expansion of 10^6 ring elements %.2f ms (this run)\n",
                mask_ms_);
    for (const auto& [name, ms] : lines_)
      std::printf("%-44s %8.2f ms per 10^6 parameters = %6.2f x one mask\n", name.c_str(), ms,
                  mask_ms_ > 0 ? ms / mask_ms_ : 0.0);
  }

 private:
  double mask_ms_ = 0;
  std::vector<std::pair<std::string, double>> lines_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  MaskRatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
