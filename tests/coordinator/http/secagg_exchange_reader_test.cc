// protocol::read_secagg_exchange: a masked input's vector is handed out as a
// view into the body, and every body is read exactly as protobuf's own parser
// reads it (truncated, oversized, garbled or unusual encodings included).
#include "protocol/secagg_exchange_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace fl::protocol {
namespace {

std::string masked_input_body(size_t vector_bytes) {
  proto::SecAggExchange exchange;
  proto::ClientToServer* m = exchange.mutable_message();
  m->set_protocol_version(1);
  m->set_session_id(std::string(32, 's'));
  m->set_sender(1234567);
  std::string vector(vector_bytes, '\0');
  for (size_t i = 0; i < vector.size(); ++i) vector[i] = static_cast<char>(i * 131 + 7);
  m->mutable_masked_input()->set_vector(vector);
  return exchange.SerializeAsString();
}

// What the round engine sees: the message, with the vector put back from the
// view when there is one.
proto::SecAggExchange as_engine_sees(const SecAggExchangeView& view) {
  proto::SecAggExchange out = view.exchange;
  if (!view.masked_vector.empty())
    out.mutable_message()->mutable_masked_input()->set_vector(std::string(view.masked_vector));
  return out;
}

// The reader accepts `body` exactly when protobuf does, with the same message.
void expect_same_as_protobuf(const std::string& body) {
  proto::SecAggExchange reference;
  const bool protobuf_ok = reference.ParseFromString(body);
  auto read = read_secagg_exchange(body);
  ASSERT_EQ(read.ok(), protobuf_ok) << "body of " << body.size() << " bytes";
  if (!read.ok()) {
    EXPECT_EQ(read.status().code(), ErrorCode::kInvalidArgument);
    return;
  }
  EXPECT_EQ(as_engine_sees(*read).SerializeAsString(), reference.SerializeAsString());
}

TEST(SecAggExchangeReader, HandsOutTheMaskedVectorInPlace) {
  const std::string body = masked_input_body(4000);
  auto read = read_secagg_exchange(body);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  // A view into the body, not a copy.
  ASSERT_EQ(read->masked_vector.size(), 4000u);
  EXPECT_GE(read->masked_vector.data(), body.data());
  EXPECT_LE(read->masked_vector.data() + read->masked_vector.size(), body.data() + body.size());
  const proto::ClientToServer& m = read->exchange.message();
  EXPECT_EQ(m.body_case(), proto::ClientToServer::kMaskedInput);
  EXPECT_TRUE(m.masked_input().vector().empty());
  EXPECT_EQ(m.protocol_version(), 1u);
  EXPECT_EQ(m.session_id(), std::string(32, 's'));
  EXPECT_EQ(m.sender(), 1234567u);
  expect_same_as_protobuf(body);
}

TEST(SecAggExchangeReader, ReadsOtherMessagesLikeProtobuf) {
  proto::SecAggExchange poll;  // no message: just polling
  expect_same_as_protobuf(poll.SerializeAsString());
  proto::SecAggExchange advertise;
  advertise.mutable_message()->set_sender(9);
  advertise.mutable_message()->mutable_advertise_keys()->set_encryption_public_key("k");
  expect_same_as_protobuf(advertise.SerializeAsString());
  proto::SecAggExchange empty_vector;  // proto3 omits an empty vector field
  empty_vector.mutable_message()->mutable_masked_input();
  expect_same_as_protobuf(empty_vector.SerializeAsString());
}

TEST(SecAggExchangeReader, RefusesEveryTruncationProtobufRefuses) {
  const std::string body = masked_input_body(64);
  for (size_t length = 0; length < body.size(); ++length)
    expect_same_as_protobuf(body.substr(0, length));
}

TEST(SecAggExchangeReader, RefusesLengthsThatRunPastTheBody) {
  std::string body = masked_input_body(64);
  // The outer length claims one byte more than follows: "oversized".
  ASSERT_EQ(static_cast<uint8_t>(body[0]), 0x0a);
  ASSERT_LT(static_cast<uint8_t>(body[1]), 0x80);
  body[1] = static_cast<char>(body[1] + 1);
  EXPECT_FALSE(read_secagg_exchange(body).ok());
  expect_same_as_protobuf(body);
  // A varint that never ends.
  EXPECT_FALSE(read_secagg_exchange(std::string("\x0a") + std::string(11, '\xff')).ok());
}

TEST(SecAggExchangeReader, MergesRepeatedFieldsAsProtobufDoes) {
  // Two masked_input fields (the second's vector wins) and two message
  // fields (merged): encodings no honest writer produces, read by protobuf.
  const std::string one = masked_input_body(8);
  const std::string two = masked_input_body(16);
  expect_same_as_protobuf(one + two);
  proto::ClientToServer a, b;
  a.mutable_masked_input()->set_vector(std::string(8, 'a'));
  b.mutable_masked_input()->set_vector(std::string(8, 'b'));
  const std::string both = a.SerializeAsString() + b.SerializeAsString();
  std::string body = "\x0a";  // SecAggExchange.message, holding both
  body += static_cast<char>(both.size());
  body += both;
  expect_same_as_protobuf(body);
  auto read = read_secagg_exchange(body);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(as_engine_sees(*read).message().masked_input().vector(), std::string(8, 'b'));
}

TEST(SecAggExchangeReader, AgreesWithProtobufOnGarbledBodies) {
  const std::string honest = masked_input_body(48);
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string body = honest;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) body[rng() % body.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) body.resize(rng() % body.size());
    expect_same_as_protobuf(body);
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace fl::protocol
