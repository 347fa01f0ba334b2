// UTF-8 checks for label values and help text. The exposition format is UTF-8
// and Prometheus rejects a whole scrape over one invalid byte, while label
// values (model names, API names) can come from requests we do not control.
//
// Not for: general text processing; only validity and a lossy repair.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace fl::metrics {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of a valid sequence replaced by
// U+FFFD, the replacement character.
std::string repair_utf8(std::string_view text);

}  // namespace fl::metrics
