#include "aggregation/dp/privacy_command.h"

#include <cmath>
#include <cstdio>

#include "aggregation/dp/rdp_accountant.h"

namespace fl::aggregation::dp {
namespace {

Status check_common(const PrivacyQuery& q) {
  if (!(q.sampling_rate > 0 && q.sampling_rate <= 1))
    return InvalidArgument("--sampling-rate: must be in (0, 1]");
  if (q.rounds == 0) return InvalidArgument("--rounds: must be at least 1");
  if (q.rounds > 100000000) return InvalidArgument("--rounds: at most 10^8");
  if (!(q.delta > 0 && q.delta < 1)) return InvalidArgument("--delta: must be in (0, 1)");
  if (q.population > 0) {
    if (std::llround(q.sampling_rate * static_cast<double>(q.population)) < 1)
      return InvalidArgument("--population: sampling rate x population rounds to no client");
    if (q.delta >= 1.0 / static_cast<double>(q.population))
      return InvalidArgument("--delta: must be below 1/population (" +
                             std::to_string(1.0 / static_cast<double>(q.population)) + ")");
  }
  return Status::Ok();
}

GaussianSchedule schedule_of(const PrivacyQuery& q) {
  GaussianSchedule s;
  s.rounds = q.rounds;
  s.noise_multiplier = q.noise_multiplier;
  if (q.population > 0) {
    s.sampling = Sampling::kFixedSizeUniform;
    s.population = q.population;
    s.cohort =
        static_cast<uint64_t>(std::llround(q.sampling_rate * static_cast<double>(q.population)));
  } else {
    s.sampling = Sampling::kPoisson;
    s.sampling_rate = q.sampling_rate;
  }
  return s;
}

std::string sampling_fields(const GaussianSchedule& s) {
  char buf[160];
  if (s.sampling == Sampling::kPoisson) {
    std::snprintf(buf, sizeof buf, "\"sampling\":\"poisson\",\"sampling_rate\":%.9g",
                  s.sampling_rate);
  } else {
    std::snprintf(
        buf, sizeof buf, "\"sampling\":\"fixed_size_uniform\",\"cohort\":%llu,\"population\":%llu",
        static_cast<unsigned long long>(s.cohort), static_cast<unsigned long long>(s.population));
  }
  return buf;
}

}  // namespace

Result<std::string> privacy_epsilon_json(const PrivacyQuery& q) {
  if (auto s = check_common(q); !s.ok()) return s;
  if (!(q.noise_multiplier > 0) || !std::isfinite(q.noise_multiplier))
    return InvalidArgument("--noise-multiplier: must be a positive finite number");
  const auto s = schedule_of(q);
  auto tight = gaussian_epsilon(s, q.delta, Conversion::kTight);
  auto classic = gaussian_epsilon(s, q.delta, Conversion::kClassic);
  if (!tight.ok()) return tight.status();
  if (!classic.ok()) return classic.status();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"epsilon\":%.6f,\"order\":%g,\"epsilon_classic\":%.6f,\"order_classic\":%g,"
                "\"delta\":%g,\"noise_multiplier\":%.9g,\"rounds\":%llu,%s}",
                tight->epsilon, tight->order, classic->epsilon, classic->order, q.delta,
                q.noise_multiplier, static_cast<unsigned long long>(q.rounds),
                sampling_fields(s).c_str());
  return std::string(buf);
}

Result<std::string> privacy_noise_json(const PrivacyQuery& q) {
  if (auto s = check_common(q); !s.ok()) return s;
  if (!(q.epsilon > 0) || !std::isfinite(q.epsilon))
    return InvalidArgument("--epsilon: must be a positive finite number");
  auto s = schedule_of(q);
  auto z = smallest_noise_multiplier(s, q.delta, q.epsilon, Conversion::kTight);
  if (!z.ok()) return InvalidArgument("--epsilon: " + z.status().message());
  s.noise_multiplier = *z;
  auto at = gaussian_epsilon(s, q.delta, Conversion::kTight);
  if (!at.ok()) return at.status();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"noise_multiplier\":%.6f,\"epsilon\":%.6f,\"order\":%g,\"target_epsilon\":%g,"
                "\"delta\":%g,\"rounds\":%llu,%s}",
                *z, at->epsilon, at->order, q.epsilon, q.delta,
                static_cast<unsigned long long>(q.rounds), sampling_fields(s).c_str());
  return std::string(buf);
}

}  // namespace fl::aggregation::dp
