// Fuzzes the client session with arbitrary server messages at every stage.
// Invariants: a rejected message leaves the stage unchanged (unless it is a
// protocol violation, which aborts), and the client never reveals both kinds
// of share of one peer.
#include <cstdlib>
#include <map>

#include "tests/fuzz/secagg_transcript.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  using aggregation::secagg::SecAggClient;
  if (size < 1) return 0;
  const auto& t = fuzz::transcript();
  const int stage = data[0] % 3;  // the fuzzed message arrives in stage 1, 2 or 3
  proto::ServerToClient m;
  if (!m.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  auto rng = fuzz::client_rng(0);
  auto client = std::move(*SecAggClient::create(t.config, t.config.cohort(0), *rng));
  (void)client->start();
  for (int s = 0; s < stage; ++s) {
    const auto& d = t.down[s][0];
    if (d.has_masked_input()) (void)client->set_input(std::vector<uint64_t>(64, 1));
    (void)client->handle(d);
  }
  (void)client->set_input(std::vector<uint64_t>(64, 1));
  const auto before = client->stage();
  auto r = client->handle(m);
  if (!r.ok() && r.status().code() != ErrorCode::kAborted && client->stage() != before)
    std::abort();  // rejected input moved the state machine
  if (r.ok() && r->has_value() && (*r)->has_unmasking_shares()) {
    std::map<uint64_t, int> kinds;
    for (const auto& s : (*r)->unmasking_shares().shares())
      if (++kinds[s.owner()] > 1) std::abort();  // two shares for one peer
  }
  return 0;
}
