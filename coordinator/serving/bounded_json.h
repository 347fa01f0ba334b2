// Parsing a request body as JSON without letting the body choose how deep
// anything recurses. nlohmann::json's serializer (dump), its comparison and
// parts of our own message building walk a tree recursively, so a ~200 KB body
// of 100,000 nested brackets would overflow the io thread's stack: a remote
// crash without authentication. parse_bounded_json() first scans the text
// once, iteratively, counting '[' and '{' outside strings, and refuses it past
// kMaxJsonDepth before anything recursive (the parser, a dump, the tree's
// destructor) ever sees it.
//
// Every JSON body the coordinator accepts goes through here; the request
// shapes it serves need 5 levels at most (KServe's nested "data").
//
// Not for: JSON the coordinator writes itself, or trusted files.
//
// Thread-safety: reentrant.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace fl::serving {

// Far beyond any request we serve, far below what a 1 MiB stack survives.
inline constexpr int kMaxJsonDepth = 64;

// InvalidArgument if `text` opens more than `max_depth` arrays or objects
// inside each other (strings and escapes inside them are skipped, so a "[" in
// a string does not count). Malformed text is not reported here: the parser
// does that, and up to its first error it sees the same nesting.
Status check_json_depth(std::string_view text, int max_depth = kMaxJsonDepth);

// check_json_depth, then nlohmann::json::parse; every failure is
// InvalidArgument with a short message ("malformed JSON: ...") that quotes at
// most a few bytes of the input.
Result<nlohmann::json> parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace fl::serving
