// The operator's privacy calculator behind `fl-coordinator privacy epsilon`
// and `fl-coordinator privacy noise`: argument checks and the one JSON line
// each prints, kept here (pure) so tests need no process.
//
// Sampling: by default the Poisson-subsampled Gaussian with rate q (what TF
// Privacy and dp_accounting assume). With a population N the cohort is
// m = round(q N) clients drawn uniformly without replacement, which is what
// the coordinator's selector does; that bound (Wang et al. 2019) is for
// replace-one neighbours and is larger than the Poisson figure.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace fl::aggregation::dp {

struct PrivacyQuery {
  double sampling_rate = 0;
  double noise_multiplier = 0;  // epsilon query only
  uint64_t rounds = 0;
  double delta = 0;
  double epsilon = 0;       // noise query only
  uint64_t population = 0;  // 0: Poisson sampling; else fixed-size uniform cohorts
};

// {"epsilon":E,"order":A,"epsilon_classic":E2,"order_classic":A2,"sampling":"poisson",...}
// InvalidArgument naming the flag when an argument is out of range.
Result<std::string> privacy_epsilon_json(const PrivacyQuery& q);
// {"noise_multiplier":Z,"epsilon":E,"order":A,...}: the smallest z reaching q.epsilon.
Result<std::string> privacy_noise_json(const PrivacyQuery& q);

}  // namespace fl::aggregation::dp
