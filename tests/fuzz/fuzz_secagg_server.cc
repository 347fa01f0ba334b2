// Fuzzes the server session with arbitrary client messages at every stage.
// Invariant: a message the server rejects changes none of its state.
#include <cstdlib>

#include "tests/fuzz/secagg_transcript.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  if (size < 2) return 0;
  const auto& t = fuzz::transcript();
  const int stage = data[0] % 4;
  const int sender_index = data[1] % 5;  // 4: a stranger
  proto::ClientToServer m;
  if (!m.ParseFromArray(data + 2, static_cast<int>(size - 2))) return 0;
  auto server = std::move(*aggregation::secagg::SecAggServer::create(t.config, {1}));
  // Replay every client's messages of the earlier stages, and all but the
  // sender's of this one.
  fuzz::replay(t, *server, stage, sender_index);
  const uint64_t sender = sender_index < 4 ? t.config.cohort(sender_index) : 99;
  const auto counts = server->counts();
  const size_t bytes = server->state_bytes();
  const auto before = server->stage();
  auto r = server->handle(sender, m);
  if (!r.ok()) {
    const auto after = server->counts();
    if (after.advertised != counts.advertised || after.shared_keys != counts.shared_keys ||
        after.masked_input != counts.masked_input || after.unmasked != counts.unmasked ||
        server->state_bytes() != bytes || server->stage() != before)
      std::abort();  // a rejected message changed the session
  }
  return 0;
}
