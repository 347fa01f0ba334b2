// Little-endian wire form of ring vectors: ring_bits/8 bytes per element.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/mask_prg.h"

namespace fl::aggregation::secagg {

std::string encode_ring_vector(std::span<const uint64_t> v, crypto::RingBits ring);
// acc[i] += decoded[i]; InvalidArgument when the byte length is not dim elements.
Status add_ring_vector(std::string_view bytes, crypto::RingBits ring, std::span<uint64_t> acc);

}  // namespace fl::aggregation::secagg
