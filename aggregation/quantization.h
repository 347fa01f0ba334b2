// From float update to ring elements and back (DESIGN.md section 4).
//
// Each coordinate is clipped to [-c, c], scaled to a signed integer of `bits`
// bits (|q| <= 2^(bits-1) - 1) with unbiased stochastic rounding, and stored in
// two's complement in the ring Z_(2^32) or Z_(2^64). A sum of n such vectors is
// exact as long as n * (2^(bits-1) - 1) < 2^(ring-1): that is the headroom of
// log2(n) bits that `check_quantization` enforces before a round starts.
//
// Weighted FedAvg: with max_weight > 0 the client scales its update by
// w / max_weight (w = its example count, capped at max_weight) before clipping,
// and appends w as one more, exact, integer coordinate. The server divides the
// de-quantised sum by the summed weights, so it learns the weighted mean and the
// total weight, never a single client's count.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "crypto/mask_prg.h"
#include "crypto/rng.h"

namespace fl::aggregation {

struct QuantizationConfig {
  double clip = 1.0;       // c: coordinates are clipped to [-c, c]
  uint32_t bits = 16;      // signed integer bits per coordinate, sign included
  crypto::RingBits ring = crypto::RingBits::k32;
  uint64_t max_weight = 0;  // 0: unweighted mean; otherwise the cap on a client's weight
};

// InvalidArgument when the settings cannot represent a sum over `cohort_size`
// clients without wrapping around the ring, or are otherwise unusable.
Status check_quantization(const QuantizationConfig& config, uint64_t cohort_size);

// Ring elements a quantised update of `dimension` floats occupies.
inline uint64_t quantized_dimension(const QuantizationConfig& c, uint64_t dimension) {
  return dimension + (c.max_weight > 0 ? 1 : 0);
}

// Quantises `update` (weight is the client's example count; ignored when
// unweighted). Non-finite coordinates are an error: they would poison the sum.
Result<std::vector<uint64_t>> quantize(std::span<const float> update, double weight,
                                       const QuantizationConfig& config, crypto::Rng& rng);

struct DequantizedSum {
  std::vector<float> mean;  // the (weighted) mean update
  double total_weight = 0;  // sum of weights, or the number of inputs when unweighted
};

// Decodes the unmasked sum of `num_inputs` quantised updates.
Result<DequantizedSum> dequantize_sum(std::span<const uint64_t> sum, uint64_t num_inputs,
                                      const QuantizationConfig& config);

// The largest error one coordinate of the de-quantised mean can carry from
// rounding: one quantisation step, scaled like the mean.
double quantization_step(const QuantizationConfig& config);

}  // namespace fl::aggregation
