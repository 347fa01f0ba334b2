// Appends numbers to JSON text as the answers need them: float32 in its
// shortest round-trip form (std::to_chars), so a client parsing the answer
// recovers exactly the float the model computed, and integers.
//
// Not for: non-finite floats (JSON has none; a model's outputs are finite for
// finite inputs, and NaN or infinity is written as null rather than as
// invalid JSON).
//
// Thread-safety: reentrant.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace fl::serving {

inline void append_float(std::string& out, float value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

inline void append_int(std::string& out, int64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

}  // namespace fl::serving
