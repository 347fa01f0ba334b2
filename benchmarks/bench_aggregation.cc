// Aggregation hot loops beside their limits, measured in the same run:
// - the server's modular sum of a masked input (decode + add into the running
//   sum), against memory bandwidth (memcpy) and a plain uint32 accumulate;
// - quantisation of a float update (clip, scale, stochastic rounding), and the
//   whole client update around it (L2 norm, optional L2 clip).
// - the unmasking server's mask removal (prg_apply over 8192-element slices,
//   as SecAggServer does it), against the raw keystream of its PRG.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "aggregation/client_update.h"
#include "aggregation/quantization.h"
#include "aggregation/secagg/ring_codec.h"
#include "crypto/mask_prg.h"
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

// Removing masks from the running sum, one thread: every mask over each
// 8192-element slice (aggregation/secagg/server_session.cc, kUnmaskBlock) in the
// 2^32 ring. bytes_per_second counts mask keystream, so its limit is the raw
// keystream rate of the PRG (printed at the end, measured in this run).
constexpr size_t kUnmaskDim = 100'000;
constexpr size_t kUnmaskMasks = 64;
constexpr size_t kUnmaskSlice = 8192;

void BM_Unmask(benchmark::State& state) {
  const auto prg = static_cast<fl::crypto::MaskPrg>(state.range(0));
  fl::crypto::SeededRng rng(2, "bench.unmask");
  std::vector<fl::crypto::Secret32> seeds;
  for (size_t i = 0; i < kUnmaskMasks; ++i) seeds.emplace_back(rng.key32());
  std::vector<fl::crypto::MaskTerm> terms;
  for (size_t i = 0; i < kUnmaskMasks; ++i) terms.push_back({&seeds[i], i % 3 == 0});
  std::vector<uint64_t> sum(kUnmaskDim, 7);
  for (auto _ : state) {
    for (size_t begin = 0; begin < kUnmaskDim; begin += kUnmaskSlice) {
      std::span<uint64_t> slice(sum.data() + begin, std::min(kUnmaskSlice, kUnmaskDim - begin));
      fl::crypto::prg_apply(prg, fl::crypto::RingBits::k32, terms, slice, begin);
    }
    benchmark::DoNotOptimize(sum.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kUnmaskDim * 4 * kUnmaskMasks);
  state.SetLabel(std::string(fl::crypto::mask_prg_name(prg)));
}
BENCHMARK(BM_Unmask)
    ->Arg(static_cast<int>(fl::crypto::MaskPrg::kAes256Ctr))
    ->Arg(static_cast<int>(fl::crypto::MaskPrg::kChaCha20))
    ->Unit(benchmark::kMillisecond);

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Raw keystream of `prg`, one thread, into a cache-resident 1 MiB buffer (the
// PRG consumes it from L1), best of three runs of 64 (GB per CPU second, the
// clock Google Benchmark's bytes_per_second uses).
double keystream_gbps(fl::crypto::MaskPrg prg) {
  std::vector<uint8_t> buf(1u << 20);
  fl::crypto::Secret32 seed;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const double t = thread_cpu_seconds();
    for (int i = 0; i < 64; ++i) {
      fl::crypto::prg_keystream(prg, seed, buf);
      benchmark::DoNotOptimize(buf.data());
    }
    best = std::max(best, 64.0 * buf.size() / (thread_cpu_seconds() - t) / 1e9);
  }
  return best;
}

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
    for (const auto& [name, gbps] : lines_) {
      if (name.rfind("BM_Unmask", 0) == 0) continue;
      std::printf("%-40s %7.2f GB/s  = %.2f x memcpy\n", name.c_str(), gbps, gbps / limit_);
    }
    for (const auto& [name, gbps] : lines_) {
      if (name.rfind("BM_Unmask", 0) != 0) continue;
      const auto prg =
          name == "BM_Unmask/" + std::to_string(static_cast<int>(fl::crypto::MaskPrg::kAes256Ctr))
              ? fl::crypto::MaskPrg::kAes256Ctr
              : fl::crypto::MaskPrg::kChaCha20;
      // Both per CPU second, both measured in this run.
      const double limit = keystream_gbps(prg);
      std::printf(
          "unmask %-9s %7.2f GB/s of masks; limit: raw %s keystream %.2f GB/s; ratio %.2f"
          " (%.2f x the limit's time)\n",
          std::string(fl::crypto::mask_prg_name(prg)).c_str(), gbps,
          std::string(fl::crypto::mask_prg_name(prg)).c_str(), limit, gbps / limit, limit / gbps);
    }
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
