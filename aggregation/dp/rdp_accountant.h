// Rényi differential privacy (RDP) accounting for the Gaussian mechanisms of
// federated rounds, and conversion of the composed RDP curve to (epsilon, delta).
//
// Mechanisms (each returns RDP at one order alpha, per round):
// - `rdp_poisson_gaussian`: the Poisson-subsampled Gaussian (every client joins
//   a round independently with probability q; noise stddev z * C on a sum of
//   updates clipped to C), add/remove-one neighbours. Mironov, Talwar, Zhang,
//   "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (2019):
//   exact binomial expansion at integer orders (Section 3.3) and the two-sided
//   erfc series at fractional orders (terms summed with absolute binomial
//   coefficients, an upper bound). The bound TF Privacy and Google's
//   dp_accounting compute; tests compare with the latter.
// - `rdp_fixed_size_gaussian`: a cohort of fixed size m drawn uniformly
//   without replacement from a pool of N (what the coordinator's selector
//   does), replace-one neighbours. Wang, Balle, Kasiviswanathan, "Subsampled
//   Rényi Differential Privacy and Analytical Moments Accountant" (AISTATS
//   2019), Theorem 9, with the Gaussian's eps(j) = 2j / z^2 (replacing one
//   clipped update moves the sum by up to 2C). Integer orders only.
// - `rdp_distributed_discrete_gaussian`: the sum of n clients' discrete
//   Gaussian shares N_Z(0, sigma^2) each (Kairouz, Liu, Steinke, "The
//   Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
//   Aggregation", ICML 2021, Theorem 1 and Proposition 14, the L1 term
//   omitted): n is the number of survivors whose shares are in the sum, so
//   dropouts show up as a larger epsilon. Optionally Poisson-subsampled with
//   the general bound of Zhu and Wang (ICML 2019, Theorem 5).
//
// Composition over rounds adds RDP per order. Conversion to (epsilon, delta):
// - kTight: Canonne, Kamath, Steinke (2020), Proposition 12 (also Balle et
//   al. 2020, Theorem 21): eps = rdp + log((a-1)/a) - (log delta + log a)/(a-1),
//   and eps = 0 when delta^2 >= 1 - exp(-rdp). What dp_accounting reports.
// - kClassic: Mironov (2017), Proposition 3: eps = rdp + log(1/delta)/(a-1).
//   What TF Privacy's get_privacy_spent reported, kept for comparison.
// Both minimise over the orders.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace fl::aggregation::dp {

// 1.1 .. 10.9 by 0.1, 11 .. 63, 64, 128, 256, 512, 1024.
std::vector<double> default_orders();
// 2 .. 64, 128, 256, 512, 1024: for bounds defined at integer orders only.
std::vector<double> integer_orders();

// RDP at `order` (> 1) of one round. q in [0, 1], z > 0 (z = 0 is +inf).
double rdp_poisson_gaussian(double q, double noise_multiplier, double order);

// RDP at integer `order` >= 2 of one round with a fixed-size cohort of
// `cohort` drawn uniformly without replacement from `population`.
double rdp_fixed_size_gaussian(uint64_t cohort, uint64_t population, double noise_multiplier,
                               double order);

struct DistributedDiscreteGaussian {
  double l2_sensitivity = 0;  // Delta_2 in scaled (integer) units: see distributed_dp.h
  double client_sigma = 0;    // each client's discrete Gaussian stddev, scaled units
  uint64_t survivors = 0;     // shares that made it into the sum
  uint64_t dimension = 0;     // padded dimension d
  double sampling_rate = 1;   // Poisson q; 1: every client, no amplification
};
// Kairouz et al.'s tau: 10 * sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k/(k+1)).
double ddg_tau(double client_sigma, uint64_t survivors);
// RDP at `order` of one round; integer orders when sampling_rate < 1.
double rdp_distributed_discrete_gaussian(const DistributedDiscreteGaussian& m, double order);

enum class Conversion { kTight, kClassic };

struct EpsilonAtOrder {
  double epsilon = 0;
  double order = 0;
};
// The smallest epsilon over the orders for the composed RDP curve `rdp`
// (rdp[i] at orders[i]). delta in (0, 1).
EpsilonAtOrder epsilon_from_rdp(std::span<const double> orders, std::span<const double> rdp,
                                double delta, Conversion conversion = Conversion::kTight);

// The sampling model of a round's cohort.
enum class Sampling {
  kPoisson,           // each client independently with probability q
  kFixedSizeUniform,  // m of N uniformly without replacement (replace-one)
};

struct GaussianSchedule {
  Sampling sampling = Sampling::kPoisson;
  double sampling_rate = 0;  // kPoisson: q
  uint64_t cohort = 0;       // kFixedSizeUniform: m
  uint64_t population = 0;   // kFixedSizeUniform: N
  double noise_multiplier = 0;
  uint64_t rounds = 0;
};

// InvalidArgument naming the field when out of range.
Status check_schedule(const GaussianSchedule& s, double delta);
// Epsilon after all rounds, composed at every order of default_orders()
// (integer_orders() for kFixedSizeUniform).
Result<EpsilonAtOrder> gaussian_epsilon(const GaussianSchedule& s, double delta,
                                        Conversion conversion = Conversion::kTight);
// The smallest noise multiplier (to a relative 1e-4, rounded up) whose
// epsilon is at most `target_epsilon`; s.noise_multiplier is ignored.
Result<double> smallest_noise_multiplier(GaussianSchedule s, double delta, double target_epsilon,
                                         Conversion conversion = Conversion::kTight);

// A running RDP curve over rounds with different mechanisms or parameters (the
// ledger's "epsilon so far"): each round adds its RDP at every order of
// default_orders(); orders where a bound is undefined (fractional orders of
// the integer-only bounds) become +inf and drop out of the minimum.
class RdpComposition {
 public:
  RdpComposition();
  void add_poisson_gaussian(double q, double noise_multiplier, uint64_t rounds = 1);
  void add_fixed_size_gaussian(uint64_t cohort, uint64_t population, double noise_multiplier,
                               uint64_t rounds = 1);
  void add_distributed_discrete_gaussian(const DistributedDiscreteGaussian& m, uint64_t rounds = 1);
  EpsilonAtOrder epsilon(double delta, Conversion conversion = Conversion::kTight) const;
  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }

 private:
  template <typename F>
  void add(F rdp_at, uint64_t rounds);
  std::vector<double> orders_;
  std::vector<double> rdp_;
};

}  // namespace fl::aggregation::dp
