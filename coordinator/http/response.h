// One HTTP response as a route handler returns it, and helpers for the content
// types the coordinator speaks: protobuf for clients, JSON for people and
// existing tools, plain text for probes.
//
// Not for: streaming; the body is sent as one buffer with Content-Length.
//
// Thread-safety: a value.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "coordinator/http/request.h"

namespace fl::http {

inline constexpr std::string_view kProtobufContentType = "application/x-protobuf";
inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type header
  Headers headers;           // extra headers (Retry-After, Allow, ...)
  std::string body;
  // When set, sent instead of `body` without copying it: large immutable
  // payloads (a model version downloaded by a whole cohort at once) are then
  // held once, not once per connection.
  std::shared_ptr<const std::string> shared_body;
};

Response protobuf_response(std::string serialized, int status = 200);
Response protobuf_response(std::shared_ptr<const std::string> serialized, int status = 200);
Response json_response(std::string json, int status = 200);
Response text_response(std::string text, int status = 200);
// {"error": "<message>"}: the message cut to kMaxErrorMessageBytes and
// JSON-escaped with invalid UTF-8 replaced, so the body always parses as JSON
// and stays small whatever request bytes a message quotes.
Response json_error(int status, std::string_view message);
// The HTTP status for a Status code (InvalidArgument 400, NotFound 404,
// AlreadyExists 409, PermissionDenied 403, FailedPrecondition 409,
// ResourceExhausted 429, Unavailable 503, others 500) and its JSON error.
int http_status_for(const Status& status);
Response json_error(const Status& status);

// Request bytes a message quotes (a model name, a key, a JSON fragment) are
// cut to this: enough to recognise what was sent, too little for an error
// body to echo megabytes back or to carry a payload into logs.
inline constexpr size_t kMaxEchoBytes = 64;
// A backstop for messages that quote input without excerpt(): json_error cuts
// any message to this many bytes (before escaping).
inline constexpr size_t kMaxErrorMessageBytes = 512;

// `input` as a message may quote it: valid UTF-8 (each invalid byte replaced
// by U+FFFD), at most `max_bytes` bytes cut at a character boundary, and
// "..." appended when it was cut.
std::string excerpt(std::string_view input, size_t max_bytes = kMaxEchoBytes);

// Escapes a string for inclusion inside JSON double quotes. Bytes that are
// not valid UTF-8 (RFC 3629) become \ufffd, so the result is always valid
// JSON string content.
std::string json_escape(std::string_view text);

}  // namespace fl::http
