#include "coordinator/http/response.h"

#include <algorithm>
#include <cstdio>

namespace fl::http {
namespace {

Response make_response(int status, std::string_view content_type, std::string body) {
  Response response;
  response.status = status;
  response.content_type = std::string(content_type);
  response.body = std::move(body);
  return response;
}

// The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) at the start of `text`, or 0.
size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;  // bounds of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kCutMark = "...";

}  // namespace

std::string excerpt(std::string_view input, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(input.size(), max_bytes) + kCutMark.size());
  size_t i = 0;
  while (i < input.size()) {
    const size_t length = utf8_sequence_length(input.substr(i));
    const std::string_view character =
        length == 0 ? kReplacementCharacter : input.substr(i, length);
    if (out.size() + character.size() > max_bytes) break;
    out += character;
    i += length == 0 ? 1 : length;
  }
  if (i < input.size()) out += kCutMark;
  return out;
}

Response protobuf_response(std::string serialized, int status) {
  return make_response(status, kProtobufContentType, std::move(serialized));
}

Response protobuf_response(std::shared_ptr<const std::string> serialized, int status) {
  Response response = make_response(status, kProtobufContentType, {});
  response.shared_body = std::move(serialized);
  return response;
}

Response json_response(std::string json, int status) {
  return make_response(status, kJsonContentType, std::move(json));
}

Response text_response(std::string text, int status) {
  return make_response(status, kTextContentType, std::move(text));
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const size_t length = utf8_sequence_length(text.substr(i));
      if (length == 0) {
        out += "\\ufffd";
      } else {
        out.append(text.substr(i, length));
        i += length - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

Response json_error(int status, std::string_view message) {
  return json_response(
      "{\"error\": \"" + json_escape(excerpt(message, kMaxErrorMessageBytes)) + "\"}", status);
}

int http_status_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kDataLoss:
      return 400;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kAborted:
      return 409;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kCancelled:  // the server cancelled its own work (shutting down)
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
  }
  return 500;
}

Response json_error(const Status& status) {
  return json_error(http_status_for(status), status.message());
}

}  // namespace fl::http
