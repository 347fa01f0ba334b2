// Choosing the neighbour-graph degree k and the threshold t.
//
// Each client Shamir-shares its two secrets among its k neighbours and itself:
// m = k + 1 holders, threshold t. Three requirements, after Bell et al.,
// "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020,
// section 4 (they bound the same binomial tails to pick k):
//
//  1. Privacy against corrupt clients. A neighbourhood whose holders include t
//     clients colluding with the server would open a secret. Each client is
//     corrupt independently with probability gamma, so we need
//        n * P[Binomial(m, gamma) >= t] <= 2^-sigma       (sigma = 40 by default)
//  2. No double reveal. An honest holder gives out one share per peer, but the
//     server could tell two halves of a neighbourhood different stories; with
//     t > m / 2 no two disjoint groups of holders can both reach t.
//  3. Correctness under dropout. Each client drops with probability delta; the
//     round completes only if every neighbourhood keeps t live holders:
//        n * P[Binomial(m, delta) > m - t] <= 2^-eta      (eta = 20 by default)
//
// For the complete graph (SecAgg, Bonawitz et al. CCS 2017) m = n, t = n/2 + 1:
// requirement 1 then holds with certainty (no coalition below n/2 reaches t), and
// parameters are refused only if the expected survivors (1 - delta) n fall below
// t; the chance of fewer is reported in correctness_failure_log2. For SecAgg+ the smallest even k
// that admits a t is taken, which grows as O(log n); k >= n - 1 falls back to the complete graph.
// The smallest t that meets 1 and 2 is taken, since a smaller t tolerates more dropouts.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "crypto/mask_prg.h"

namespace fl::aggregation::secagg {

// The PRG when a configuration names none (coordinator YAML, scenarios,
// fl-sim secagg-bench). Chosen by measurement: on this project's machines
// (x86-64 with VAES and AVX-512) the AES-256-CTR keystream runs at 35-38 GB/s
// per core (crypto/aes256ctr_vaes.h; OpenSSL's EVP: 9.5 GB/s) against 8.0 GB/s
// for EVP ChaCha20 and 2.4 GB/s for libsodium's (benchmarks/bench_crypto.cc, CPU
// time), and masks are what clients and the unmasking server spend their time
// on. A population of devices without AES instructions (older ARM phones)
// should choose chacha20, the faster and constant-time one there. proto::SecAggConfig's own default
// (0) stays chacha20, so configs from before the field keep meaning what they meant.
inline constexpr crypto::MaskPrg kDefaultMaskPrg = crypto::MaskPrg::kAes256Ctr;

enum class GraphKind { kComplete, kHarary };

struct ParameterInputs {
  uint64_t cohort_size = 0;        // n
  double dropout_fraction = 0.1;   // delta, in [0, 1)
  double corrupt_fraction = 0.05;  // gamma, in [0, 0.5)
  uint32_t security_bits = 40;     // sigma
  uint32_t correctness_bits = 20;  // eta
  GraphKind graph = GraphKind::kHarary;
};

struct ProtocolParameters {
  GraphKind graph = GraphKind::kComplete;
  uint32_t degree = 0;                  // k (n - 1 when complete)
  uint32_t threshold = 0;               // t
  double privacy_failure_log2 = 0;      // log2 of n * P[Bin(m, gamma) >= t]
  double correctness_failure_log2 = 0;  // log2 of n * P[Bin(m, delta) > m - t]
};

Result<ProtocolParameters> choose_parameters(const ParameterInputs& in);

// log2 P[Binomial(m, p) >= x]; -inf when impossible.
double binomial_tail_log2(uint32_t m, double p, uint32_t x);

std::string graph_name(GraphKind g);

}  // namespace fl::aggregation::secagg
