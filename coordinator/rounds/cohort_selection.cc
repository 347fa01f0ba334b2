#include "coordinator/rounds/cohort_selection.h"

#include <algorithm>
#include <cmath>

namespace fl::coordinator {

std::vector<uint64_t> draw_cohort(std::vector<uint64_t> pool, size_t take, crypto::Rng& rng) {
  take = std::min(take, pool.size());
  for (size_t i = 0; i < take; ++i) {
    const size_t j = i + static_cast<size_t>(rng.uniform(pool.size() - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(take);
  return pool;
}

std::vector<uint64_t> draw_poisson_cohort(const std::vector<uint64_t>& pool, double rate,
                                          crypto::Rng& rng) {
  std::vector<uint64_t> cohort;
  if (!(rate > 0)) return cohort;
  for (uint64_t id : pool)
    if (rate >= 1 || rng.uniform01() < rate) cohort.push_back(id);
  return cohort;
}

namespace {
double log_choose(uint64_t n, uint64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}
}  // namespace

double isolation_probability(uint64_t honest, uint64_t attacker, uint64_t take) {
  const uint64_t total = honest + attacker;
  if (honest == 0 || take == 0 || take > total || take - 1 > attacker) return 0.0;
  return std::exp(std::log(static_cast<double>(honest)) + log_choose(attacker, take - 1) -
                  log_choose(total, take));
}

}  // namespace fl::coordinator
