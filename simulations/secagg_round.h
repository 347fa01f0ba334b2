// One secure aggregation round with every client in this process: the client
// and server sessions wired together directly, with chosen clients dropping
// out at chosen stages and every stage deadline firing at once.
//
// This is what the in-process simulation mode and `fl-sim secagg-bench` run.
// It measures as it goes (compute per client, server time per stage, bytes on
// the wire per client, the server session's peak state) and streams masked
// inputs into the server one at a time, so memory stays O(threads x dim)
// however large the cohort.
//
// Thread-safety: run_secagg_round is re-entrant; make_input is called from up
// to client_threads threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "aggregation/secagg/server_session.h"
#include "base/status.h"
#include "proto/secagg.pb.h"

namespace fl::sim {

// Where a client stops answering. Dropping "before masked input" means after it
// shared keys; "before unmasking" means after its masked input reached the
// server (its input is in the sum, but it reveals no shares).
enum class DropPoint : uint8_t {
  kNone,
  kBeforeAdvertise,
  kBeforeShareKeys,
  kBeforeMaskedInput,
  kBeforeUnmasking
};

struct SecAggRoundSpec {
  proto::SecAggConfig config;
  std::vector<DropPoint> drops;  // cohort order; empty = nobody drops
  // The quantised input of the client at cohort index i, requested only when
  // the client reaches the masked-input round.
  std::function<std::vector<uint64_t>(uint32_t index)> make_input;
  uint64_t seed = 1;  // client randomness derives from it
  unsigned client_threads = 1;
  unsigned server_threads = 1;
  bool compute_plain_sum = false;  // also sum the accepted inputs in the clear
};

struct SecAggRoundReport {
  Status status;  // ok when the server completed the round
  aggregation::secagg::SecAggServer::Counts counts;
  uint32_t dropped[4] = {0, 0, 0, 0};  // by DropPoint kBeforeAdvertise..kBeforeUnmasking
  double client_ms_mean = 0;           // protocol compute per participating client
  // The same in thread CPU time: what a client's own core would spend, not
  // inflated when the simulating threads share the machine with other work.
  double client_cpu_ms_mean = 0;
  double server_ms[4] = {0, 0, 0, 0};  // advertise, share keys, masked input, unmasking
  // Process CPU time (all threads) during the server's unmasking-stage calls:
  // its executor's work, plus what client threads did meanwhile (little: they
  // only list shares in that stage).
  double unmask_cpu_ms = 0;
  double bytes_up_mean = 0, bytes_down_mean = 0;
  size_t server_peak_state_bytes = 0;
  aggregation::secagg::SecAggServer::UnmaskingStats unmasking;
  std::vector<uint64_t> sum;        // the server's result
  std::vector<uint64_t> plain_sum;  // when compute_plain_sum
  std::vector<uint64_t> included;   // ids whose inputs are in the sum
};

SecAggRoundReport run_secagg_round(const SecAggRoundSpec& spec);

}  // namespace fl::sim
