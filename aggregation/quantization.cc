#include "aggregation/quantization.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace fl::aggregation {
namespace {

uint64_t max_level(const QuantizationConfig& c) { return (uint64_t{1} << (c.bits - 1)) - 1; }
unsigned ring_bits(const QuantizationConfig& c) { return static_cast<unsigned>(c.ring); }

int64_t to_signed(uint64_t v, const QuantizationConfig& c) {
  if (c.ring == crypto::RingBits::k64) return static_cast<int64_t>(v);
  return static_cast<int32_t>(static_cast<uint32_t>(v));
}

}  // namespace

Status check_quantization(const QuantizationConfig& c, uint64_t cohort_size) {
  const unsigned rb = ring_bits(c);
  if (rb != 32 && rb != 64) return InvalidArgument("ring must be 2^32 or 2^64");
  if (!(c.clip > 0) || !std::isfinite(c.clip))
    return InvalidArgument("clip must be a positive finite number, got " + std::to_string(c.clip));
  if (c.bits < 2 || c.bits >= rb)
    return InvalidArgument("quantisation bits must be in [2, " + std::to_string(rb - 1) +
                           "], got " + std::to_string(c.bits));
  if (cohort_size == 0) return InvalidArgument("cohort size must be positive");
  // The sum's magnitude must stay below 2^(ring-1) to decode as signed.
  const long double limit = std::ldexp(1.0L, static_cast<int>(rb) - 1);
  const long double worst = static_cast<long double>(cohort_size) * max_level(c);
  if (worst >= limit)
    return InvalidArgument(
        "quantisation overflows: " + std::to_string(cohort_size) + " clients x " +
        std::to_string(c.bits) + "-bit values need " +
        std::to_string(c.bits + static_cast<unsigned>(std::ceil(std::log2(cohort_size)))) +
        " bits but the ring has " + std::to_string(rb) + "; lower bits or use the 2^64 ring");
  if (c.max_weight > 0 &&
      static_cast<long double>(cohort_size) * static_cast<long double>(c.max_weight) >= limit)
    return InvalidArgument("weight coordinate overflows: " + std::to_string(cohort_size) +
                           " clients x max weight " + std::to_string(c.max_weight) +
                           " does not fit the ring");
  return Status::Ok();
}

Result<std::vector<uint64_t>> quantize(std::span<const float> update, double weight,
                                       const QuantizationConfig& c, crypto::Rng& rng) {
  FL_RETURN_IF_ERROR(check_quantization(c, 1));
  double factor = 1.0;
  uint64_t int_weight = 0;
  if (c.max_weight > 0) {
    if (!(weight >= 0) || !std::isfinite(weight))
      return InvalidArgument("weight must be a non-negative number");
    int_weight = static_cast<uint64_t>(std::min<double>(std::llround(weight), c.max_weight));
    factor = static_cast<double>(int_weight) / static_cast<double>(c.max_weight);
  }
  const double scale = static_cast<double>(max_level(c)) / c.clip;
  const uint64_t mask = crypto::ring_mask(c.ring);
  std::vector<uint64_t> out(quantized_dimension(c, update.size()));

  // Stochastic rounding draws 32 random bits per coordinate, in bulk.
  constexpr size_t kChunk = 4096;
  uint32_t random[kChunk];
  for (size_t base = 0; base < update.size(); base += kChunk) {
    const size_t n = std::min(kChunk, update.size() - base);
    rng.fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(random), n * sizeof(uint32_t)));
    for (size_t i = 0; i < n; ++i) {
      const double x = update[base + i];
      if (!std::isfinite(x))
        return InvalidArgument("update coordinate " + std::to_string(base + i) +
                               " is not a finite number");
      const double v = std::clamp(x * factor, -c.clip, c.clip) * scale;
      const double lo = std::floor(v);
      const double u = static_cast<double>(random[i]) * 0x1.0p-32;
      const int64_t q = static_cast<int64_t>(lo) + (u < v - lo ? 1 : 0);
      out[base + i] = static_cast<uint64_t>(q) & mask;
    }
  }
  if (c.max_weight > 0) out.back() = int_weight;
  return out;
}

Result<DequantizedSum> dequantize_sum(std::span<const uint64_t> sum, uint64_t num_inputs,
                                      const QuantizationConfig& c) {
  FL_RETURN_IF_ERROR(check_quantization(c, std::max<uint64_t>(num_inputs, 1)));
  if (num_inputs == 0) return InvalidArgument("a sum of zero inputs has no mean");
  const bool weighted = c.max_weight > 0;
  if (weighted && sum.empty()) return InvalidArgument("weighted sum lacks its weight coordinate");
  const size_t dim = sum.size() - (weighted ? 1 : 0);
  DequantizedSum out;
  out.total_weight = weighted ? static_cast<double>(sum.back()) : static_cast<double>(num_inputs);
  if (!(out.total_weight > 0)) return InvalidArgument("total weight of the sum is zero");
  const double scale = static_cast<double>(max_level(c)) / c.clip;
  // Weighted: each input was scaled by w/max_weight, so sum/scale * max_weight / sum(w).
  const double divide = weighted ? scale * out.total_weight / static_cast<double>(c.max_weight)
                                 : scale * out.total_weight;
  out.mean.resize(dim);
  for (size_t i = 0; i < dim; ++i)
    out.mean[i] = static_cast<float>(static_cast<double>(to_signed(sum[i], c)) / divide);
  return out;
}

double quantization_step(const QuantizationConfig& c) {
  return c.clip / static_cast<double>(max_level(c));
}

}  // namespace fl::aggregation
