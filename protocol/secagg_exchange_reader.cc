#include "protocol/secagg_exchange_reader.h"

#include <cstdint>
#include <optional>
#include <string>

namespace fl::protocol {
namespace {

// Field numbers of the path to the vector (proto/coordinator.proto, secagg.proto).
constexpr uint32_t kExchangeMessage = 1;     // SecAggExchange.message
constexpr uint32_t kClientMaskedInput = 12;  // ClientToServer.masked_input
constexpr uint32_t kClientBodyFirst = 10;    // ClientToServer's oneof body: 10..14
constexpr uint32_t kClientBodyLast = 14;
constexpr uint32_t kMaskedInputVector = 1;  // MaskedInput.vector
constexpr uint32_t kWireVarint = 0, kWireFixed64 = 1, kWireLen = 2, kWireFixed32 = 5;

// A base-128 varint of at most 10 bytes (protobuf's limit), consumed from `in`.
std::optional<uint64_t> read_varint(std::string_view& in) {
  uint64_t value = 0;
  for (int i = 0; i < 10 && i < static_cast<int>(in.size()); ++i) {
    const auto byte = static_cast<uint8_t>(in[static_cast<size_t>(i)]);
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(static_cast<size_t>(i) + 1);
      return value;
    }
  }
  return std::nullopt;
}

struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  std::string_view payload;  // kWireLen only
  std::string_view encoded;  // the whole field: tag, length, payload
};

// The next field of `in`, consumed; nullopt when `in` does not start with a
// well-formed field of a wire type this reader knows (groups included: they
// are left to protobuf).
std::optional<Field> read_field(std::string_view& in) {
  const std::string_view start = in;
  const auto tag = read_varint(in);
  if (!tag || (*tag >> 3) == 0 || (*tag >> 3) > 0x1fffffff) return std::nullopt;
  Field field;
  field.number = static_cast<uint32_t>(*tag >> 3);
  field.wire_type = static_cast<uint32_t>(*tag & 7);
  switch (field.wire_type) {
    case kWireVarint:
      if (!read_varint(in)) return std::nullopt;
      break;
    case kWireFixed64:
    case kWireFixed32: {
      const size_t width = field.wire_type == kWireFixed64 ? 8 : 4;
      if (in.size() < width) return std::nullopt;
      in.remove_prefix(width);
      break;
    }
    case kWireLen: {
      const auto length = read_varint(in);
      if (!length || *length > in.size()) return std::nullopt;
      field.payload = in.substr(0, static_cast<size_t>(*length));
      in.remove_prefix(static_cast<size_t>(*length));
      break;
    }
    default:
      return std::nullopt;
  }
  field.encoded = start.substr(0, start.size() - in.size());
  return field;
}

// The one field `message` consists of, if it is exactly one LEN field
// numbered `number`.
std::optional<std::string_view> sole_len_field(std::string_view message, uint32_t number) {
  const auto field = read_field(message);
  if (!field || !message.empty() || field->number != number || field->wire_type != kWireLen)
    return std::nullopt;
  return field->payload;
}

// The fast path (see the header); false leaves `out` untouched.
bool split_masked_input(std::string_view body, SecAggExchangeView& out) {
  const auto client = sole_len_field(body, kExchangeMessage);
  if (!client) return false;
  std::string envelope;  // the ClientToServer without its masked_input field
  std::optional<std::string_view> masked_input;
  std::string_view rest = *client;
  while (!rest.empty()) {
    const auto field = read_field(rest);
    if (!field) return false;
    if (field->number >= kClientBodyFirst && field->number <= kClientBodyLast) {
      // A second body field (the oneof's last would win, a repeated
      // masked_input would merge): protobuf's rules, protobuf's parser.
      if (masked_input || field->number != kClientMaskedInput || field->wire_type != kWireLen)
        return false;
      masked_input = field->payload;
      continue;
    }
    envelope.append(field->encoded);
  }
  if (!masked_input) return false;
  const auto vector = sole_len_field(*masked_input, kMaskedInputVector);
  if (!vector || vector->empty()) return false;

  proto::SecAggExchange exchange;
  proto::ClientToServer* message = exchange.mutable_message();
  if (!message->ParseFromString(envelope)) return false;
  message->mutable_masked_input();  // the oneof says "masked input"; its vector is the view
  out.exchange = std::move(exchange);
  out.masked_vector = *vector;
  return true;
}

}  // namespace

Result<SecAggExchangeView> read_secagg_exchange(std::string_view body) {
  SecAggExchangeView out;
  if (split_masked_input(body, out)) return out;
  if (!out.exchange.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return InvalidArgument("malformed protobuf body: expected SecAggExchange");
  return out;
}

}  // namespace fl::protocol
