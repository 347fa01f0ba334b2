// The coordinator's configuration refuses the settings that would void its
// threat model unless an operator asks for them by name: plaintext on a
// network address, cohorts too small for secure aggregation, first-come
// selection; and its new keys are checked like every other one
// (file:line: key: why).
#include <gtest/gtest.h>

#include <string>

#include "coordinator/service/config.h"

namespace fl::coordinator {
namespace {

std::string population(const std::string& extra = "") {
  return "population:\n"
         "  name: pop\n"
         "  model: {name: tiny, kind: softmax, input_dim: 4, classes: 3}\n"
         "  cohort_size: 12\n"
         "  min_cohort: 10\n"
         "  training: {epochs: 1, batch_size: 4, learning_rate: 0.1}\n"
         "  quantization: {clip: 1.0, bits: 16, ring_bits: 32}\n" +
         extra;
}

std::string config(const std::string& top, const std::string& population_extra = "") {
  return "admin_token: hardening-test-admin-token\n" + top + population(population_extra);
}

std::string error_of(const std::string& yaml) {
  auto c = parse_config(yaml, "coord.yaml");
  return c.ok() ? std::string("(accepted)") : c.status().message();
}

TEST(HardeningConfig, PlaintextOnANetworkAddressNeedsAllowInsecureHttp) {
  EXPECT_EQ(error_of(config("listen: {address: 127.0.0.1}\n")), "(accepted)");
  EXPECT_EQ(error_of(config("listen: {address: '::1'}\n")), "(accepted)");
  const std::string m = error_of(config("listen: {address: 0.0.0.0}\n"));
  EXPECT_NE(m.find("allow_insecure_http"), std::string::npos) << m;
  EXPECT_NE(m.find("tls"), std::string::npos) << m;
  EXPECT_EQ(error_of(config("listen: {address: 0.0.0.0}\nallow_insecure_http: true\n")),
            "(accepted)");
  // Not fooled by look-alikes of loopback.
  EXPECT_NE(error_of(config("listen: {address: 127.0.0.1.example.com}\n")), "(accepted)");
  EXPECT_NE(error_of(config("listen: {address: 1127.0.0.1}\n")), "(accepted)");
}

TEST(HardeningConfig, MutualTlsNeedsAServerCertificate) {
  const std::string m = error_of(config("tls: {client_ca: ca.pem}\n"));
  EXPECT_NE(m.find("tls.client_ca"), std::string::npos) << m;
  auto c = parse_config(
      config("tls: {certificate: s.pem, private_key: s.key, client_ca: ca.pem}\n"), "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->tls_client_ca, "ca.pem");
}

TEST(HardeningConfig, SmallCohortsAndFirstComeOnlyWhenAskedFor) {
  const std::string small =
      population().replace(population().find("min_cohort: 10"), 14, "min_cohort: 3");
  std::string m = error_of("admin_token: hardening-test-admin-token\n" + small);
  EXPECT_NE(m.find("population.min_cohort"), std::string::npos) << m;
  EXPECT_NE(m.find("allow_small_cohorts"), std::string::npos) << m;
  EXPECT_EQ(error_of("admin_token: hardening-test-admin-token\n" + small +
                     "  allow_small_cohorts: true\n"),
            "(accepted)");
  m = error_of(config("", "  selection: {policy: first_come}\n"));
  EXPECT_NE(m.find("population.selection.policy"), std::string::npos) << m;
  EXPECT_NE(m.find("n-1"), std::string::npos) << m;
  EXPECT_NE(error_of(config("", "  selection: {policy: lottery}\n"))
                .find("population.selection.policy: must be one of uniform, first_come"),
            std::string::npos);
  EXPECT_NE(error_of(config("", "  selection: {once_in_rounds: 0}\n")).find("once_in_rounds"),
            std::string::npos);
  auto c = parse_config(config("", "  selection: {policy: uniform, once_in_rounds: 3}\n"), "c");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->population.selection.once_in_rounds, 3u);
}

TEST(HardeningConfig, AudienceAndPerAddressLimitsAreChecked) {
  auto c = parse_config(config("audience: fl-prod-eu\n"
                               "limits: {ip_requests_per_second: 20, ip_burst: 40}\n"),
                        "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->audience, "fl-prod-eu");
  EXPECT_EQ(c->ip_burst, 40);
  EXPECT_NE(error_of(config("audience: ''\n")).find("audience"), std::string::npos);
  EXPECT_NE(error_of(config("limits: {ip_requests_per_second: 0}\n")).find("limits.ip_"),
            std::string::npos);
}

TEST(HardeningConfig, L2ClipIsReadIntoThePopulationAndMustBeNonNegative) {
  auto with_clip = [](const std::string& value) {
    std::string yaml = config("");
    const std::string plain = "ring_bits: 32}";
    return yaml.replace(yaml.find(plain), plain.size(), "ring_bits: 32, l2_clip: " + value + "}");
  };
  auto c = parse_config(with_clip("0.5"), "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_DOUBLE_EQ(c->population.l2_clip, 0.5);
  EXPECT_DOUBLE_EQ(parse_config(config(""), "c.yaml")->population.l2_clip, 0.0);  // off
  const std::string m = error_of(with_clip("-1"));
  EXPECT_NE(m.find("population.quantization.l2_clip"), std::string::npos) << m;
  EXPECT_NE(error_of(with_clip(".nan")).find("l2_clip"), std::string::npos);
}

TEST(CoordinatorConfig, LearningRateScheduleIsReadAndABadOneNamesFileKeyAndLine) {
  auto with_training = [](const std::string& training) {
    std::string p = population();
    const std::string plain = "learning_rate: 0.1}";
    p.replace(p.find(plain), plain.size(), "learning_rate: 0.1, " + training + "}");
    return "admin_token: hardening-test-admin-token\n" + p;
  };
  auto c = parse_config(with_training("lr_schedule: cosine, lr_min: 0.01"), "coord.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const model::RoundLrSchedule s = c->population.local_lr_schedule();
  EXPECT_EQ(s.kind, model::RoundLrScheduleKind::kCosine);
  EXPECT_DOUBLE_EQ(s.lr_min, 0.01);
  EXPECT_DOUBLE_EQ(s.lr, 0.1f);
  const std::string decay = error_of(with_training("lr_schedule: exponential, lr_decay: 1.5"));
  EXPECT_NE(decay.find("coord.yaml:7: population.training.lr_decay: must be in (0, 1]"),
            std::string::npos)
      << decay;
  const std::string kind = error_of(with_training("lr_schedule: linear"));
  EXPECT_NE(
      kind.find("population.training.lr_schedule: must be one of constant, exponential, cosine"),
      std::string::npos)
      << kind;
}

// dp: every setting the accountant or the ring cannot honour is refused at
// load, at its line: zero or negative z or C, delta >= 1/population,
// max_epsilon <= 0, a modulus too small, dp on without a clip.
TEST(HardeningConfig, DifferentialPrivacySettingsAreCheckedAtTheirLine) {
  auto with_dp = [](const std::string& key, const std::string& value) {
    std::string dp =
        "  dp:\n"
        "    mode: central\n"
        "    noise_multiplier: 1.0\n"
        "    clip: 0.5\n"
        "    population_size: 1000\n"
        "    target_delta: 1.0e-5\n";
    const std::string line = "    " + key + ": ";
    if (const auto at = dp.find(line); at != std::string::npos) {
      dp.replace(at, dp.find('\n', at) - at, line + value);
    } else if (!value.empty()) {
      dp += line + value + "\n";
    }
    if (value.empty()) dp.erase(dp.find(line), dp.find('\n', dp.find(line)) - dp.find(line) + 1);
    return config("", dp);
  };
  auto c = parse_config(with_dp("max_epsilon", "8"), "coord.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->population.dp.mode, aggregation::dp::DpMode::kCentral);
  EXPECT_DOUBLE_EQ(c->population.dp.sampling_rate, 12.0 / 1000);  // cohort_size / N
  EXPECT_DOUBLE_EQ(c->population.dp.max_epsilon, 8);

  EXPECT_EQ(error_of(with_dp("noise_multiplier", "0"))
                .rfind("coord.yaml:11: population.dp.noise_multiplier: must be > 0", 0),
            0u)
      << error_of(with_dp("noise_multiplier", "0"));
  EXPECT_EQ(error_of(with_dp("clip", "-1")).rfind("coord.yaml:12: population.dp.clip:", 0), 0u)
      << error_of(with_dp("clip", "-1"));
  const std::string no_clip = error_of(with_dp("clip", ""));
  EXPECT_NE(no_clip.find("population.dp.clip: differential privacy needs every update clipped"),
            std::string::npos)
      << no_clip;
  EXPECT_EQ(
      error_of(with_dp("target_delta", "0.001"))
          .rfind("coord.yaml:14: population.dp.target_delta: must be in (0, 1/population_size", 0),
      0u)
      << error_of(with_dp("target_delta", "0.001"));
  EXPECT_EQ(error_of(with_dp("max_epsilon", "0"))
                .rfind("coord.yaml:15: population.dp.max_epsilon: must be > 0", 0),
            0u)
      << error_of(with_dp("max_epsilon", "0"));
  std::string ring = with_dp("mode", "distributed");
  ring = ring.replace(ring.find("population_size: 1000"), 21, "population_size: 10000");
  ring = ring.replace(ring.find("cohort_size: 12"), 15, "cohort_size: 5000");
  ring += "    bits: 10\n";
  const std::string small_ring = error_of(ring);
  EXPECT_NE(small_ring.find("population.dp.bits:"), std::string::npos) << small_ring;
  EXPECT_NE(error_of(with_dp("mode", "local")).find("population.dp.mode: must be one of"),
            std::string::npos);
}

}  // namespace
}  // namespace fl::coordinator
