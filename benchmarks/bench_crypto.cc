// fl_crypto throughput, each figure beside the limit it is measured against.
//
// The mask PRG cannot be faster than the raw keystream it consumes, so each
// PRG's raw keystream rate (OpenSSL EVP AES-256-CTR and ChaCha20, and
// libsodium's ChaCha20 that kChaCha20 used to run on) is measured once at
// startup in this same run, and every PRG benchmark reports "vs_keystream" =
// achieved / raw keystream bytes per second of CPU time of its own PRG. A ratio
// near 1 means the fused expand-and-add loop costs nothing beyond the cipher.
//
// Shamir costs are for one 32-byte secret at threshold n/2 + 1; reconstruction
// includes building the Lagrange coefficients (the O(t^2) part).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/ed25519.h"
#include "crypto/mask_prg.h"
#include "crypto/rng.h"
#include "crypto/shamir.h"
#include "crypto/x25519.h"
#include "crypto/x25519_ifma.h"

namespace fl::crypto {
namespace {

constexpr size_t kKeystreamBufferBytes = size_t{1} << 20;  // 1 MiB
constexpr size_t kShareBundleBytes = 160;                  // one client's share bundle in an AEAD

// Raw keystream bytes per second of thread CPU time, measured at startup.
std::map<std::string, double> g_raw_keystream_bytes_per_second;
// Achieved keystream bytes per CPU second of each PRG benchmark's last run,
// keyed "aes256ctr prg_add u32/1000000", for the summary printed at the end.
std::map<std::string, double> g_prg_bytes_per_second;

const char kSodiumChaCha20[] = "chacha20 (libsodium)";

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One raw keystream: EVP through the PRG's own code, or libsodium's.
void keystream(const std::string& which, const Secret32& seed, std::span<uint8_t> out) {
  if (which == kSodiumChaCha20)
    chacha20_keystream(seed, out);
  else
    prg_keystream(*parse_mask_prg(which), seed, out);
}

// CPU time rather than wall time, like the benchmarks themselves, so that other
// processes on a shared machine do not skew the ratio.
double measure_raw_keystream_rate(const std::string& which, double min_seconds) {
  const Secret32 seed(SeededRng(1, "bench.keystream").key32());
  std::vector<uint8_t> buffer(kKeystreamBufferBytes);
  keystream(which, seed, buffer);  // warm up: page in the buffer
  size_t bytes = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  do {
    for (int i = 0; i < 8; ++i) {
      keystream(which, seed, buffer);
      benchmark::DoNotOptimize(buffer.data());
      bytes += buffer.size();
    }
    elapsed = thread_cpu_seconds() - start;
  } while (elapsed < min_seconds);
  return static_cast<double>(bytes) / elapsed;
}

void BM_Keystream(benchmark::State& state, const std::string& which) {
  const Secret32 seed(SeededRng(2, "bench.keystream").key32());
  std::vector<uint8_t> buffer(kKeystreamBufferBytes);
  for (auto _ : state) {
    keystream(which, seed, buffer);
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK_CAPTURE(BM_Keystream, aes256ctr, std::string("aes256ctr"));
BENCHMARK_CAPTURE(BM_Keystream, chacha20, std::string("chacha20"));
BENCHMARK_CAPTURE(BM_Keystream, chacha20_libsodium, std::string(kSodiumChaCha20));

// kApply: prg_apply of kApplyMasks masks, alternately added and subtracted, as
// a client masking its input or the server removing masks from a slice does.
enum class PrgOp { kAdd, kSubtract, kApply };
constexpr size_t kApplyMasks = 16;

const char* op_name(PrgOp op) {
  switch (op) {
    case PrgOp::kAdd:
      return "prg_add";
    case PrgOp::kSubtract:
      return "prg_subtract";
    case PrgOp::kApply:
      return "prg_apply x16";
  }
  return "";
}

// state.range(0): elements per call. Small calls show the per-call cost of
// (re)keying the cached cipher context, as the server pays it per slice.
template <MaskPrg prg, PrgOp op, RingBits bits>
void BM_Prg(benchmark::State& state) {
  SeededRng rng(3, "bench.prg");
  std::vector<Secret32> seeds;
  std::vector<MaskTerm> terms;
  for (size_t i = 0; i < kApplyMasks; ++i) seeds.emplace_back(rng.key32());
  for (size_t i = 0; i < kApplyMasks; ++i) terms.push_back({&seeds[i], i % 2 == 1});
  std::vector<uint64_t> acc(static_cast<size_t>(state.range(0)), 0);
  const double cpu_start = thread_cpu_seconds();
  for (auto _ : state) {
    if constexpr (op == PrgOp::kAdd) {
      prg_add(prg, seeds[0], bits, acc);
    } else if constexpr (op == PrgOp::kSubtract) {
      prg_subtract(prg, seeds[0], bits, acc);
    } else {
      prg_apply(prg, bits, terms, acc);
    }
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  const double cpu_seconds = thread_cpu_seconds() - cpu_start;
  const double masks = op == PrgOp::kApply ? kApplyMasks : 1;
  const double keystream_bytes = static_cast<double>(state.iterations()) * masks *
                                 static_cast<double>(acc.size() * ring_element_bytes(bits));
  state.SetBytesProcessed(static_cast<int64_t>(keystream_bytes));
  // Timed over the same loop, in the same CPU-time clock as the startup figure.
  const double achieved = keystream_bytes / cpu_seconds;
  const std::string name(mask_prg_name(prg));
  state.counters["vs_keystream"] = achieved / g_raw_keystream_bytes_per_second[name];
  const std::string key = name + " " + op_name(op) + (bits == RingBits::k32 ? " u32/" : " u64/") +
                          std::to_string(acc.size());
  g_prg_bytes_per_second[key] = achieved;
}

#define FL_PRG_BENCHMARKS(prg, label)                     \
  BENCHMARK(BM_Prg<prg, PrgOp::kAdd, RingBits::k32>)      \
      ->Name("BM_PrgAdd/" label "/u32")                   \
      ->Arg(1'024)                                        \
      ->Arg(100'000)                                      \
      ->Arg(1'000'000);                                   \
  BENCHMARK(BM_Prg<prg, PrgOp::kAdd, RingBits::k64>)      \
      ->Name("BM_PrgAdd/" label "/u64")                   \
      ->Arg(100'000)                                      \
      ->Arg(1'000'000);                                   \
  BENCHMARK(BM_Prg<prg, PrgOp::kSubtract, RingBits::k32>) \
      ->Name("BM_PrgSubtract/" label "/u32")              \
      ->Arg(100'000)                                      \
      ->Arg(1'000'000);                                   \
  BENCHMARK(BM_Prg<prg, PrgOp::kSubtract, RingBits::k64>) \
      ->Name("BM_PrgSubtract/" label "/u64")              \
      ->Arg(100'000)                                      \
      ->Arg(1'000'000);                                   \
  BENCHMARK(BM_Prg<prg, PrgOp::kApply, RingBits::k32>)    \
      ->Name("BM_PrgApply16/" label "/u32")               \
      ->Arg(8'192)                                        \
      ->Arg(100'000)

FL_PRG_BENCHMARKS(MaskPrg::kAes256Ctr, "aes256ctr");
FL_PRG_BENCHMARKS(MaskPrg::kChaCha20, "chacha20");

std::vector<uint64_t> share_points(size_t n) {
  std::vector<uint64_t> xs(n);
  std::iota(xs.begin(), xs.end(), uint64_t{1});
  return xs;
}

uint32_t majority_threshold(size_t n) { return static_cast<uint32_t>(n / 2 + 1); }

void BM_ShamirSplit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  SeededRng rng(4, "bench.shamir");
  const Secret32 secret(rng.key32());
  const std::vector<uint64_t> xs = share_points(n);
  for (auto _ : state) {
    auto shares = shamir_split(secret, majority_threshold(n), xs, rng);
    if (!shares.ok()) state.SkipWithError(shares.status().to_string().c_str());
    benchmark::DoNotOptimize(shares);
  }
  state.counters["threshold"] = majority_threshold(n);
}
BENCHMARK(BM_ShamirSplit)->Arg(100)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMillisecond);

std::vector<ShamirShare> threshold_shares(size_t n, Secret32& secret) {
  SeededRng rng(5, "bench.shamir");
  secret = Secret32(rng.key32());
  auto shares = shamir_split(secret, majority_threshold(n), share_points(n), rng);
  std::vector<ShamirShare> out = std::move(shares).value();
  out.resize(majority_threshold(n));
  return out;
}

void BM_ShamirReconstruct(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Secret32 secret;
  const std::vector<ShamirShare> shares = threshold_shares(n, secret);
  for (auto _ : state) {
    auto got = shamir_reconstruct(shares);  // builds the Lagrange coefficients
    if (!got.ok() || !(*got == secret)) state.SkipWithError("reconstruction failed");
    benchmark::DoNotOptimize(got);
  }
  state.counters["threshold"] = majority_threshold(n);
}
BENCHMARK(BM_ShamirReconstruct)->Arg(100)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMillisecond);

// The per-secret cost once the holder set's coefficients are cached, as when the
// server recovers every dropped client's mask key from the same survivors.
void BM_ShamirReconstructWithCachedCoefficients(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Secret32 secret;
  const std::vector<ShamirShare> shares = threshold_shares(n, secret);
  std::vector<uint64_t> xs;
  for (const auto& s : shares) xs.push_back(s.x);
  const auto coefficients = LagrangeCoefficients::build(xs).value();
  for (auto _ : state) {
    auto got = shamir_reconstruct(shares, coefficients);
    benchmark::DoNotOptimize(got);
  }
}
BENCHMARK(BM_ShamirReconstructWithCachedCoefficients)
    ->Arg(100)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Unit(benchmark::kMicrosecond);

void BM_X25519Agree(benchmark::State& state) {
  SeededRng rng(6, "bench.x25519");
  const X25519KeyPair ours = x25519_keypair(rng), peer = x25519_keypair(rng);
  for (auto _ : state) benchmark::DoNotOptimize(x25519_agree(ours.secret_key, peer.public_key));
}
BENCHMARK(BM_X25519Agree)->Unit(benchmark::kMicrosecond);

// The batch the secure aggregation server and clients use, per agreement, with
// libsodium one by one (Arg 0) and the IFMA kernel eight at a time (Arg 1, on
// CPUs that have it): the figure beside its limit, BM_X25519Agree.
void BM_X25519AgreeBatch(benchmark::State& state) {
  const bool ifma = state.range(0) == 1;
  const bool was = set_ifma_x25519_enabled(ifma);
  if (ifma && !ifma_x25519_enabled()) {
    set_ifma_x25519_enabled(was);
    state.SkipWithError("no AVX-512 IFMA on this CPU");
    return;
  }
  SeededRng rng(6, "bench.x25519.batch");
  const X25519KeyPair ours = x25519_keypair(rng);
  std::vector<Key32> peers(256);
  for (auto& p : peers) p = x25519_keypair(rng).public_key;
  std::vector<X25519Job> jobs;
  for (const auto& p : peers) jobs.push_back({&ours.secret_key, &p});
  for (auto _ : state) benchmark::DoNotOptimize(x25519_agree_batch(jobs));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * jobs.size()));
  // Seconds per agreement (printed with an SI prefix: 7u is 7 microseconds).
  state.counters["per_agreement"] =
      benchmark::Counter(static_cast<double>(state.iterations() * jobs.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  set_ifma_x25519_enabled(was);
}
BENCHMARK(BM_X25519AgreeBatch)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Ed25519Sign(benchmark::State& state) {
  SeededRng rng(7, "bench.ed25519");
  const Ed25519KeyPair key = ed25519_keypair(rng);
  Bytes message(kShareBundleBytes);
  rng.fill(message);
  for (auto _ : state) benchmark::DoNotOptimize(ed25519_sign(key, message));
}
BENCHMARK(BM_Ed25519Sign)->Unit(benchmark::kMicrosecond);

void BM_Ed25519Verify(benchmark::State& state) {
  SeededRng rng(8, "bench.ed25519");
  const Ed25519KeyPair key = ed25519_keypair(rng);
  Bytes message(kShareBundleBytes);
  rng.fill(message);
  const Sig64 sig = ed25519_sign(key, message);
  for (auto _ : state) {
    if (!ed25519_verify(key.public_key, message, sig)) state.SkipWithError("verify failed");
  }
}
BENCHMARK(BM_Ed25519Verify)->Unit(benchmark::kMicrosecond);

void BM_AeadSealShareBundle(benchmark::State& state) {
  SeededRng rng(9, "bench.aead");
  const Secret32 key(rng.key32());
  Bytes bundle(kShareBundleBytes);
  rng.fill(bundle);
  const Bytes context = aead_context(Bytes{'s'}, 2, 17, 23);
  for (auto _ : state) benchmark::DoNotOptimize(aead_seal(key, bundle, context, rng));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kShareBundleBytes));
}
BENCHMARK(BM_AeadSealShareBundle)->Unit(benchmark::kMicrosecond);

void BM_AeadOpenShareBundle(benchmark::State& state) {
  SeededRng rng(10, "bench.aead");
  const Secret32 key(rng.key32());
  Bytes bundle(kShareBundleBytes);
  rng.fill(bundle);
  const Bytes context = aead_context(Bytes{'s'}, 2, 17, 23);
  const Bytes sealed = aead_seal(key, bundle, context, rng);
  for (auto _ : state) {
    auto opened = aead_open(key, sealed, context);
    if (!opened.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kShareBundleBytes));
}
BENCHMARK(BM_AeadOpenShareBundle)->Unit(benchmark::kMicrosecond);

// GB/s here are 10^9 bytes per second; the table's bytes_per_second column is
// in binary units (G/s = GiB/s).
void print_prg_summary(const std::string& label, size_t elements) {
  const auto it = g_prg_bytes_per_second.find(label + "/" + std::to_string(elements));
  if (it == g_prg_bytes_per_second.end()) return;  // filtered out
  const std::string prg = label.substr(0, label.find(' '));
  const double raw = g_raw_keystream_bytes_per_second[prg];
  std::printf("%s: %.2f GB/s; raw %s keystream: %.2f GB/s; ratio %.2f\n", label.c_str(),
              it->second / 1e9, prg.c_str(), raw / 1e9, it->second / raw);
}

}  // namespace
}  // namespace fl::crypto

int main(int argc, char** argv) {
  using namespace fl::crypto;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (const char* which : {"aes256ctr", "chacha20", kSodiumChaCha20}) {
    g_raw_keystream_bytes_per_second[which] = measure_raw_keystream_rate(which, 0.5);
    std::printf("raw %s keystream (startup, 1 MiB buffer): %.2f GB/s\n", which,
                g_raw_keystream_bytes_per_second[which] / 1e9);
  }
  benchmark::RunSpecifiedBenchmarks();
  std::fflush(stdout);
  for (const char* prg : {"aes256ctr", "chacha20"})
    for (const char* op : {"prg_add u32", "prg_add u64", "prg_subtract u32", "prg_subtract u64",
                           "prg_apply x16 u32"})
      print_prg_summary(std::string(prg) + " " + op, 100'000);
  benchmark::Shutdown();
  return 0;
}
