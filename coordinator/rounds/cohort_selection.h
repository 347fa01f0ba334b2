// Drawing a round's cohort from the clients that checked in during its
// selection window, and the chance that an attacker who controls some of those
// check-ins isolates one honest client (the n-1 attack on secure aggregation:
// if every other input in the sum is the attacker's, the sum minus its known
// inputs is that client's update).
//
// Thread-safety: pure functions (the Rng is the caller's).
#pragma once

#include <cstdint>
#include <vector>

#include "crypto/rng.h"

namespace fl::coordinator {

// A uniformly random subset of `pool` of size min(take, pool.size()), every
// subset equally likely (a partial Fisher-Yates shuffle). The order of `pool`
// does not change any client's chance, only which draw a seed gives.
std::vector<uint64_t> draw_cohort(std::vector<uint64_t> pool, size_t take, crypto::Rng& rng);

// Poisson sampling: each client of `pool` joins independently with
// probability `rate` (in [0, 1]), so the cohort's size varies. This is the
// sampling the differential privacy accountant's subsampled Gaussian assumes
// (aggregation/dp/rdp_accountant.h, kPoisson): a client's chance of being in
// a round is `rate` whoever else checked in, so an attacker who floods or
// starves the pool cannot raise it. Order is kept.
std::vector<uint64_t> draw_poisson_cohort(const std::vector<uint64_t>& pool, double rate,
                                          crypto::Rng& rng);

// The probability that a uniform draw of `take` from `honest + attacker`
// check-ins holds exactly one honest client (the n-1 attack succeeds): the
// hypergeometric term honest * C(attacker, take-1) / C(honest+attacker, take).
double isolation_probability(uint64_t honest, uint64_t attacker, uint64_t take);

}  // namespace fl::coordinator
