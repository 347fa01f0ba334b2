// `fl-sim secagg-bench`: one full in-process secure aggregation round with
// measured costs, printed as one JSON line (see the README for the fields).
#pragma once

#include <cstdint>
#include <string>

namespace fl::sim {

struct SecAggBenchOptions {
  uint64_t clients = 100;
  uint64_t dim = 10000;
  double dropout = 0.0;
  double corrupt = 0.05;
  std::string graph = "harary";
  unsigned threads = 2;         // server unmasking threads
  unsigned client_threads = 0;  // 0: hardware threads
  uint64_t seed = 1;
  uint32_t ring_bits = 32;
  std::string prg = "aes256ctr";   // aes256ctr | chacha20 (the default: see kDefaultMaskPrg)
  bool reveal_pair_seeds = false;  // survivors send dropped neighbours' pairwise seeds
  uint32_t bits = 16;              // quantisation bits per coordinate
  int64_t k = -1;                  // override the chosen degree (-1: rule)
  int64_t t = -1;                  // override the chosen threshold (-1: rule)
};

// Validates, runs, prints the JSON line to stdout. Returns the process exit code;
// bad options print one line to stderr and return 2.
int run_secagg_bench(const SecAggBenchOptions& options);

}  // namespace fl::sim
