#include "aggregation/dp/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace fl::aggregation::dp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)).
double log_add(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(std::min(a, b) - m));
}

// log(erfc(x)), finite far into the tail where erfc underflows.
double log_erfc(double x) {
  if (x < 25) return std::log(std::erfc(x));
  // Asymptotic series: erfc(x) = exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - ...).
  const double x2 = x * x;
  return -x2 - std::log(x) - 0.5 * std::log(M_PI) +
         std::log1p(-1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2));
}

double log_binomial(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

bool is_integer(double a) { return std::floor(a) == a; }

// log A_alpha of Mironov et al. (2019) at an integer order: the binomial
// expansion of E_{x~mu0}[(mu(x)/mu0(x))^alpha], mu = (1-q) mu0 + q mu1.
double log_a_integer(double q, double sigma, uint64_t alpha) {
  double log_a = -kInf;
  for (uint64_t i = 0; i <= alpha; ++i) {
    const double di = static_cast<double>(i);
    double term = log_binomial(static_cast<double>(alpha), di) + di * std::log(q) +
                  static_cast<double>(alpha - i) * std::log1p(-q) +
                  (di * di - di) / (2 * sigma * sigma);
    log_a = log_add(log_a, term);
  }
  return log_a;
}

// log A_alpha at a fractional order: the two one-sided series split at
// z0 = sigma^2 log(1/q - 1) + 1/2 (Mironov et al. 2019, Section 3.3). Past
// i = alpha the generalised binomial coefficients alternate in sign; every
// term is added with |binom(alpha, i)|, which bounds A_alpha from above and
// keeps the sum free of cancellation (dp_accounting does the same). A series
// that has not settled after kMaxTerms terms gives +inf: that order is then
// simply not used.
double log_a_fractional(double q, double sigma, double alpha) {
  constexpr int kMaxTerms = 1000;
  double log_a0 = -kInf, log_a1 = -kInf;
  double last_s0 = -kInf, last_s1 = -kInf;
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  double log_coef = 0;  // log |binom(alpha, i)|
  for (int i = 0; i < kMaxTerms; ++i) {
    const double di = i;
    const double j = alpha - di;
    const double log_t0 = log_coef + di * std::log(q) + j * std::log1p(-q);
    const double log_t1 = log_coef + j * std::log(q) + di * std::log1p(-q);
    const double log_e0 = std::log(0.5) + log_erfc((di - z0) / (M_SQRT2 * sigma));
    const double log_e1 = std::log(0.5) + log_erfc((z0 - j) / (M_SQRT2 * sigma));
    const double log_s0 = log_t0 + (di * di - di) / (2 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
    log_a0 = log_add(log_a0, log_s0);
    log_a1 = log_add(log_a1, log_s1);
    const double total = log_add(log_a0, log_a1);
    // Both series decreasing and their terms below e^-30 of the total.
    if (log_s0 < last_s0 && log_s1 < last_s1 && std::max(log_s0, log_s1) < total - 30) {
      return total;
    }
    last_s0 = log_s0;
    last_s1 = log_s1;
    // |binom(alpha, i+1)| = |binom(alpha, i)| |alpha - i| / (i + 1).
    log_coef += std::log(std::abs(alpha - di)) - std::log(di + 1);
  }
  return kInf;
}

// Zhu and Wang (ICML 2019), Theorem 5: RDP at integer alpha of a mechanism
// with RDP curve `eps` under Poisson subsampling with rate q.
template <typename Eps>
double poisson_subsampled(double q, uint64_t alpha, Eps eps) {
  const double a = static_cast<double>(alpha);
  double log_sum = (a - 1) * std::log1p(-q) + std::log(a * q - q + 1);
  log_sum =
      log_add(log_sum, log_binomial(a, 2) + 2 * std::log(q) + (a - 2) * std::log1p(-q) + eps(2.0));
  for (uint64_t l = 3; l <= alpha; ++l) {
    const double dl = static_cast<double>(l);
    log_sum = log_add(log_sum, std::log(3.0) + log_binomial(a, dl) + (a - dl) * std::log1p(-q) +
                                   dl * std::log(q) + (dl - 1) * eps(dl));
  }
  return log_sum / (a - 1);
}

}  // namespace

std::vector<double> default_orders() {
  std::vector<double> o;
  for (int x = 11; x < 110; ++x) o.push_back(x / 10.0);
  for (int x = 11; x < 64; ++x) o.push_back(x);
  for (double x : {64.0, 128.0, 256.0, 512.0, 1024.0}) o.push_back(x);
  return o;
}

std::vector<double> integer_orders() {
  std::vector<double> o;
  for (int x = 2; x <= 64; ++x) o.push_back(x);
  for (double x : {128.0, 256.0, 512.0, 1024.0}) o.push_back(x);
  return o;
}

double rdp_poisson_gaussian(double q, double noise_multiplier, double order) {
  if (q <= 0) return 0;
  if (noise_multiplier <= 0) return kInf;
  const double sigma = noise_multiplier;
  if (q >= 1) return order / (2 * sigma * sigma);
  const double log_a = is_integer(order) ? log_a_integer(q, sigma, static_cast<uint64_t>(order))
                                         : log_a_fractional(q, sigma, order);
  return log_a / (order - 1);
}

double rdp_fixed_size_gaussian(uint64_t cohort, uint64_t population, double noise_multiplier,
                               double order) {
  if (cohort == 0) return 0;
  if (noise_multiplier <= 0 || !is_integer(order) || order < 2) return kInf;
  const double z2 = noise_multiplier * noise_multiplier;
  auto eps = [z2](double j) { return 2 * j / z2; };  // replace-one: sensitivity 2C
  if (cohort >= population) return eps(order);
  const double g = static_cast<double>(cohort) / static_cast<double>(population);
  const auto alpha = static_cast<uint64_t>(order);
  // Wang, Balle, Kasiviswanathan (2019), Theorem 9, with eps(inf) = inf for
  // the Gaussian, so every min{2, (e^eps(inf) - 1)^j} is 2.
  double log_sum = 0;  // log 1
  const double second =
      std::min(std::log(4.0) + std::log(std::expm1(eps(2))), std::log(2.0) + eps(2));
  log_sum = log_add(log_sum, 2 * std::log(g) + log_binomial(order, 2) + second);
  for (uint64_t j = 3; j <= alpha; ++j) {
    const double dj = static_cast<double>(j);
    log_sum = log_add(
        log_sum, dj * std::log(g) + log_binomial(order, dj) + (dj - 1) * eps(dj) + std::log(2.0));
  }
  return std::min(log_sum / (order - 1), eps(order));
}

double ddg_tau(double client_sigma, uint64_t survivors) {
  double tau = 0;
  const double s2 = client_sigma * client_sigma;
  for (uint64_t k = 1; k < survivors; ++k) {
    tau += std::exp(-2 * M_PI * M_PI * s2 * (static_cast<double>(k) / (k + 1)));
  }
  return 10 * tau;
}

double rdp_distributed_discrete_gaussian(const DistributedDiscreteGaussian& m, double order) {
  // Kairouz et al. state the bound for shares of sigma >= 1/2.
  if (m.survivors == 0 || m.client_sigma < 0.5) return kInf;
  const double tau = ddg_tau(m.client_sigma, m.survivors);
  const double scale =
      m.l2_sensitivity / (std::sqrt(static_cast<double>(m.survivors)) * m.client_sigma);
  const double d = static_cast<double>(m.dimension);
  auto eps = [&](double a) {
    const double first = a * scale * scale / 2 + tau * d;
    const double root = scale + std::sqrt(d) * tau;
    return std::min(first, a / 2 * root * root);
  };
  if (m.sampling_rate >= 1) return eps(order);
  if (m.sampling_rate <= 0) return 0;
  if (!is_integer(order) || order < 2) return kInf;
  return std::min(eps(order),
                  poisson_subsampled(m.sampling_rate, static_cast<uint64_t>(order), eps));
}

EpsilonAtOrder epsilon_from_rdp(std::span<const double> orders, std::span<const double> rdp,
                                double delta, Conversion conversion) {
  EpsilonAtOrder best{kInf, 0};
  for (size_t i = 0; i < orders.size() && i < rdp.size(); ++i) {
    const double a = orders[i], r = rdp[i];
    if (!(a > 1) || std::isnan(r) || r < 0) continue;
    double eps;
    if (conversion == Conversion::kClassic) {
      eps = r + std::log(1 / delta) / (a - 1);
    } else if (delta * delta + std::expm1(-r) > 0) {
      eps = 0;  // delta >= sqrt(1 - exp(-KL)): (0, delta)-DP already
    } else if (a > 1.01) {
      // Unstable as a -> 1, and never the minimum there.
      eps = r + std::log1p(-1 / a) - std::log(delta * a) / (a - 1);
    } else {
      eps = kInf;
    }
    if (eps < best.epsilon) best = {std::max(0.0, eps), a};
  }
  return best;
}

Status check_schedule(const GaussianSchedule& s, double delta) {
  if (!(delta > 0 && delta < 1)) return InvalidArgument("delta: must be in (0, 1)");
  if (!(s.noise_multiplier > 0) || !std::isfinite(s.noise_multiplier))
    return InvalidArgument("noise multiplier: must be a positive finite number");
  if (s.rounds == 0) return InvalidArgument("rounds: must be at least 1");
  if (s.sampling == Sampling::kPoisson) {
    if (!(s.sampling_rate > 0 && s.sampling_rate <= 1))
      return InvalidArgument("sampling rate: must be in (0, 1]");
  } else {
    if (s.cohort == 0) return InvalidArgument("cohort: must be at least 1");
    if (s.population < s.cohort)
      return InvalidArgument("population: must be at least the cohort (" +
                             std::to_string(s.cohort) + ")");
  }
  return Status::Ok();
}

namespace {
EpsilonAtOrder epsilon_unchecked(const GaussianSchedule& s, double delta, Conversion conversion) {
  const auto orders = s.sampling == Sampling::kPoisson ? default_orders() : integer_orders();
  std::vector<double> rdp(orders.size());
  const double t = static_cast<double>(s.rounds);
  for (size_t i = 0; i < orders.size(); ++i) {
    rdp[i] =
        t * (s.sampling == Sampling::kPoisson
                 ? rdp_poisson_gaussian(s.sampling_rate, s.noise_multiplier, orders[i])
                 : rdp_fixed_size_gaussian(s.cohort, s.population, s.noise_multiplier, orders[i]));
  }
  return epsilon_from_rdp(orders, rdp, delta, conversion);
}
}  // namespace

Result<EpsilonAtOrder> gaussian_epsilon(const GaussianSchedule& s, double delta,
                                        Conversion conversion) {
  if (auto st = check_schedule(s, delta); !st.ok()) return st;
  return epsilon_unchecked(s, delta, conversion);
}

Result<double> smallest_noise_multiplier(GaussianSchedule s, double delta, double target_epsilon,
                                         Conversion conversion) {
  if (!(target_epsilon > 0) || !std::isfinite(target_epsilon))
    return InvalidArgument("epsilon: must be a positive finite number");
  s.noise_multiplier = 1;
  if (auto st = check_schedule(s, delta); !st.ok()) return st;
  auto eps_at = [&](double z) {
    s.noise_multiplier = z;
    return epsilon_unchecked(s, delta, conversion).epsilon;
  };
  // epsilon falls as z grows: bracket, then bisect to a relative 1e-4 and
  // return the upper end, which reaches the target.
  double lo = 0, hi = 1;
  while (eps_at(hi) > target_epsilon) {
    lo = hi;
    hi *= 2;
    if (hi > 1e6) return InvalidArgument("epsilon: not reachable with a noise multiplier <= 1e6");
  }
  while (hi - lo > 1e-4 * hi) {
    const double mid = (lo + hi) / 2;
    (eps_at(mid) > target_epsilon ? lo : hi) = mid;
  }
  return hi;
}

RdpComposition::RdpComposition() : orders_(default_orders()), rdp_(orders_.size(), 0.0) {}

template <typename F>
void RdpComposition::add(F rdp_at, uint64_t rounds) {
  for (size_t i = 0; i < orders_.size(); ++i)
    rdp_[i] += static_cast<double>(rounds) * rdp_at(orders_[i]);
}

void RdpComposition::add_poisson_gaussian(double q, double noise_multiplier, uint64_t rounds) {
  add([&](double a) { return rdp_poisson_gaussian(q, noise_multiplier, a); }, rounds);
}

void RdpComposition::add_fixed_size_gaussian(uint64_t cohort, uint64_t population,
                                             double noise_multiplier, uint64_t rounds) {
  add([&](double a) { return rdp_fixed_size_gaussian(cohort, population, noise_multiplier, a); },
      rounds);
}

void RdpComposition::add_distributed_discrete_gaussian(const DistributedDiscreteGaussian& m,
                                                       uint64_t rounds) {
  add([&](double a) { return rdp_distributed_discrete_gaussian(m, a); }, rounds);
}

EpsilonAtOrder RdpComposition::epsilon(double delta, Conversion conversion) const {
  return epsilon_from_rdp(orders_, rdp_, delta, conversion);
}

}  // namespace fl::aggregation::dp
