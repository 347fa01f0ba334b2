// Reads a POST /v1/rounds/{round}/secagg body (proto::SecAggExchange) without
// copying the masked input's vector out of it.
//
// Why: a masked input is dimension x ring bytes (4 MB at 10^6 parameters).
// protobuf's parser copies it into a string, and the server session would
// then read that copy once to add it to its running sum; this reader leaves
// the vector where it is, in the request body, and hands out a view.
//
// How: when the body is the encoding every protobuf writer produces for a
// masked input (one SecAggExchange.message field holding a ClientToServer
// whose masked_input field appears once and holds a MaskedInput with exactly
// one vector field), the fields around the vector (version, session id,
// sender, any unknown ones: a few dozen bytes) are parsed by protobuf and the
// vector is returned as a view. Any other body (every other message kind,
// repeated or merged fields, unknown fields inside MaskedInput, an empty
// vector, a length that runs past the end) goes to protobuf's own parser, so
// this reader accepts exactly what ParseFromArray accepts, with the same
// result. Every length is checked against the bytes that remain before use.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "base/status.h"
#include "proto/coordinator.pb.h"

namespace fl::protocol {

struct SecAggExchangeView {
  // The request. When masked_vector is set, exchange.message().masked_input()
  // is present with an empty vector: the vector is masked_vector.
  proto::SecAggExchange exchange;
  // A view into the body given to read_secagg_exchange (valid as long as it
  // is); empty when the vector is inside `exchange`.
  std::string_view masked_vector;
};

// InvalidArgument when `body` is not a SecAggExchange.
Result<SecAggExchangeView> read_secagg_exchange(std::string_view body);

}  // namespace fl::protocol
