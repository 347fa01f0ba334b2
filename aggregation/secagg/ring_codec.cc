#include "aggregation/secagg/ring_codec.h"

#include <bit>
#include <cstring>

namespace fl::aggregation::secagg {
namespace {
template <typename Word>
void add_words(const char* src, std::span<uint64_t> acc) {
  constexpr size_t kBlock = 1024;
  Word w[kBlock];
  for (size_t base = 0; base < acc.size(); base += kBlock) {
    const size_t n = std::min(kBlock, acc.size() - base);
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(w, src + base * sizeof(Word), n * sizeof(Word));
    } else {
      for (size_t i = 0; i < n; ++i) {
        Word v = 0;
        for (size_t b = sizeof(Word); b-- > 0;)
          v = static_cast<Word>((v << 8) | static_cast<uint8_t>(src[(base + i) * sizeof(Word) + b]));
        w[i] = v;
      }
    }
    for (size_t i = 0; i < n; ++i) acc[base + i] += w[i];
  }
}
}  // namespace

std::string encode_ring_vector(std::span<const uint64_t> v, crypto::RingBits ring) {
  const size_t width = crypto::ring_element_bytes(ring);
  std::string out(v.size() * width, '\0');
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t b = 0; b < width; ++b) out[i * width + b] = static_cast<char>(v[i] >> (8 * b));
  return out;
}

Status add_ring_vector(std::string_view bytes, crypto::RingBits ring, std::span<uint64_t> acc) {
  const size_t width = crypto::ring_element_bytes(ring);
  if (bytes.size() != acc.size() * width)
    return InvalidArgument("masked input is " + std::to_string(bytes.size()) + " bytes; " +
                           std::to_string(acc.size()) + " elements of " + std::to_string(width) +
                           " bytes are " + std::to_string(acc.size() * width));
  if (ring == crypto::RingBits::k32)
    add_words<uint32_t>(bytes.data(), acc);
  else
    add_words<uint64_t>(bytes.data(), acc);
  return Status::Ok();
}

}  // namespace fl::aggregation::secagg
