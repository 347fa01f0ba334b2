// The coordinator hands the server session a masked input's vector as a view
// into the request body (protocol/secagg_exchange_reader.h) instead of inside
// the message. The sum must be the same, and a view that does not fit is
// refused like a bad message: nothing counted, nothing added.
#include <gtest/gtest.h>

#include "tests/aggregation/secagg_harness.h"

namespace fl::aggregation::secagg {
namespace {

using testing::message_for;
using testing::RoundSetup;
using testing::TestRound;

TEST(SecAggServer, SumsMaskedVectorsGivenOutsideTheMessage) {
  TestRound round(RoundSetup{.clients = 6, .dim = 16});
  auto r1 = round.advertise();
  auto r2 = round.step(r1);
  std::vector<proto::ServerToClient> r3;
  for (uint32_t i = 0; i < round.clients.size(); ++i) {
    ASSERT_TRUE(round.clients[i]->set_input(round.inputs[i]).ok());
    auto reply = round.clients[i]->handle(message_for(r2, round.id(i)));
    ASSERT_TRUE(reply.ok() && reply->has_value());
    proto::ClientToServer envelope = **reply;
    const std::string vector = envelope.masked_input().vector();
    envelope.mutable_masked_input()->clear_vector();

    const auto before = round.server->counts();
    const size_t state_before = round.server->state_bytes();
    auto expect_refused = [&](const proto::ClientToServer& m, std::string_view view) {
      auto r = round.server->handle(round.id(i), m, view);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << r.status().to_string();
      EXPECT_EQ(round.server->counts().masked_input, before.masked_input);
      EXPECT_EQ(round.server->state_bytes(), state_before);
    };
    // One element short, one byte long: the wrong length.
    expect_refused(envelope, std::string_view(vector).substr(0, vector.size() - 4));
    expect_refused(envelope, vector + "x");
    // A vector both in the message and beside it: which one is the input?
    expect_refused(**reply, vector);

    auto sent = round.server->handle(round.id(i), envelope, vector);
    ASSERT_TRUE(sent.ok()) << sent.status().to_string();
    EXPECT_EQ(round.server->counts().masked_input, before.masked_input + 1);
    for (auto& m : *sent) r3.push_back(std::move(m));
  }
  round.step(r3);
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted);
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({})));
}

}  // namespace
}  // namespace fl::aggregation::secagg
