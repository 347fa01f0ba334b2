#include "aggregation/secagg/parameters.h"

#include <cmath>
#include <limits>
#include <vector>

namespace fl::aggregation::secagg {

double binomial_tail_log2(uint32_t m, double p, uint32_t x) {
  if (x == 0) return 0.0;
  if (x > m) return -std::numeric_limits<double>::infinity();
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return 0.0;
  // log-sum-exp over the terms i = x..m, in natural log.
  const double lp = std::log(p), lq = std::log1p(-p);
  double best = -std::numeric_limits<double>::infinity();
  std::vector<double> terms;
  terms.reserve(m - x + 1);
  for (uint32_t i = x; i <= m; ++i) {
    const double t = std::lgamma(m + 1.0) - std::lgamma(i + 1.0) - std::lgamma(m - i + 1.0) +
                     i * lp + (m - i) * lq;
    terms.push_back(t);
    best = std::max(best, t);
  }
  double s = 0;
  for (double t : terms) s += std::exp(t - best);
  return std::min(0.0, (best + std::log(s)) / std::log(2.0));
}

std::string graph_name(GraphKind g) { return g == GraphKind::kComplete ? "complete" : "harary"; }

namespace {

struct Fit {
  bool ok = false;
  uint32_t t = 0;
  double privacy = 0, correctness = 0;
};

// The smallest t for m holders meeting privacy and t > m/2; then correctness.
Fit fit_threshold(uint64_t n, uint32_t m, const ParameterInputs& in) {
  const double log2n = std::log2(static_cast<double>(n));
  Fit f;
  for (uint32_t t = m / 2 + 1; t <= m; ++t) {
    const double privacy = log2n + binomial_tail_log2(m, in.corrupt_fraction, t);
    if (privacy > -static_cast<double>(in.security_bits)) continue;
    // Failure: more than m - t holders dropped.
    const double correctness = log2n + binomial_tail_log2(m, in.dropout_fraction, m - t + 1);
    f.t = t;
    f.privacy = privacy;
    f.correctness = correctness;
    f.ok = correctness <= -static_cast<double>(in.correctness_bits);
    return f;
  }
  return f;
}

}  // namespace

Result<ProtocolParameters> choose_parameters(const ParameterInputs& in) {
  const uint64_t n = in.cohort_size;
  if (n < 2) return InvalidArgument("a cohort needs at least 2 clients, got " + std::to_string(n));
  if (n > 1'000'000) return InvalidArgument("cohort of " + std::to_string(n) + " is too large");
  if (!(in.dropout_fraction >= 0 && in.dropout_fraction < 1))
    return InvalidArgument("dropout fraction must be in [0, 1)");
  if (!(in.corrupt_fraction >= 0 && in.corrupt_fraction < 0.5))
    return InvalidArgument("corrupt fraction must be in [0, 0.5)");

  // Complete graph: every client holds a share of every secret, so a coalition
  // of gamma * n < n / 2 corrupt clients never reaches t > n / 2; privacy is
  // certain, not probable. The smallest such t tolerates the most dropouts;
  // refuse only when the expected survivors fall short of it.
  auto complete = [&]() -> Result<ProtocolParameters> {
    const uint32_t m = static_cast<uint32_t>(n);
    const uint32_t t = m / 2 + 1;
    const double expected_live = (1.0 - in.dropout_fraction) * static_cast<double>(n);
    if (static_cast<double>(t) > expected_live)
      return InvalidArgument("a cohort of " + std::to_string(n) + " losing " +
                             std::to_string(in.dropout_fraction) + " of its clients keeps " +
                             std::to_string(expected_live) + " on average, below the threshold " +
                             std::to_string(t) + " that privacy needs; enlarge the cohort or "
                             "lower the expected dropout");
    ProtocolParameters p{GraphKind::kComplete, m - 1, t,
                         -std::numeric_limits<double>::infinity(), 0};
    p.correctness_failure_log2 = binomial_tail_log2(m, in.dropout_fraction, m - t + 1);
    return p;
  };
  if (in.graph == GraphKind::kComplete) return complete();
  for (uint32_t k = 2; k + 1 < n; k += 2) {
    Fit f = fit_threshold(n, k + 1, in);
    if (f.ok) return ProtocolParameters{GraphKind::kHarary, k, f.t, f.privacy, f.correctness};
  }
  return complete();  // the neighbourhood would be the whole cohort anyway
}

}  // namespace fl::aggregation::secagg
