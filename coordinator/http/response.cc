#include "coordinator/http/response.h"

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

}  // namespace

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
  for (char c : text) {
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
  return json_response("{\"error\": \"" + json_escape(message) + "\"}", status);
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
  }
  return 500;
}

Response json_error(const Status& status) {
  return json_error(http_status_for(status), status.message());
}

}  // namespace fl::http
