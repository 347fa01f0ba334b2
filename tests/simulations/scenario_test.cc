// Scenario files: bad input is refused before anything runs, with the file,
// the dotted key and the line; --set overrides apply before validation.
#include "simulations/scenario.h"

#include <gtest/gtest.h>

#include "simulations/scenario_run.h"

namespace fl::sim {
namespace {

constexpr char kValid[] = R"(name: tiny
seed: 3
data:
  source: synthetic
  n: 600
  dim: 8
  classes: 3
partition:
  kind: dirichlet
  alpha: 0.5
clients: 10
clients_per_round: 5
rounds: 2
secagg:
  enabled: true
)";

std::string error_of(const std::string& yaml, std::vector<Override> overrides = {}) {
  auto s = parse_scenario(yaml, "bad.yaml", overrides);
  return s.ok() ? "" : s.status().message();
}

TEST(Scenario, ValidFileParses) {
  auto s = parse_scenario(kValid, "tiny.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->name, "tiny");
  EXPECT_EQ(s->clients_per_round, 5);
  EXPECT_EQ(s->partition.kind, model::PartitionKind::kDirichlet);
  EXPECT_EQ(s->output, "results/tiny");
}

TEST(Scenario, UnknownKeyNamesFileKeyAndLine) {
  const std::string e = error_of(std::string(kValid) + "partition_typo: 3\n");
  EXPECT_NE(e.find("bad.yaml:16:1: partition_typo: unknown key"), std::string::npos) << e;
  const std::string nested = error_of(R"(name: x
partition:
  kind: dirichlet
  alpah: 0.1
)");
  EXPECT_NE(nested.find("bad.yaml:4:3: partition.alpah: unknown key"), std::string::npos) << nested;
}

TEST(Scenario, WrongTypeNamesKeyAndLine) {
  const std::string e = error_of("name: x\nclients: many\n");
  EXPECT_NE(e.find("bad.yaml:2:10: clients: expected an integer, got 'many'"), std::string::npos)
      << e;
  const std::string m = error_of("name: x\nsecagg:\n  enabled: perhaps\n");
  EXPECT_NE(m.find("bad.yaml:3:12: secagg.enabled: expected true or false"), std::string::npos)
      << m;
}

TEST(Scenario, ImpossibleSettingsAreRefused) {
  const std::string more = error_of("name: x\nclients: 10\nclients_per_round: 11\n");
  EXPECT_NE(more.find("bad.yaml:3:20: clients_per_round: a round cannot select 11 of only 10"),
            std::string::npos)
      << more;
  const std::string alpha = error_of("name: x\npartition:\n  kind: dirichlet\n  alpha: 0\n");
  EXPECT_NE(alpha.find("bad.yaml:4:10: partition.alpha: must be > 0"), std::string::npos) << alpha;
  const std::string t = error_of(std::string(kValid) + "  threshold: 6\n");
  EXPECT_NE(t.find("secagg.threshold: threshold 6 is larger than the cohort of 5"),
            std::string::npos)
      << t;
  const std::string drop = error_of("name: x\ndropout:\n  before_share_keys: 1.0\n");
  EXPECT_NE(drop.find("bad.yaml:3:22: dropout.before_share_keys: a dropout probability must be "
                      "in [0, 1)"),
            std::string::npos)
      << drop;
  EXPECT_NE(error_of("name: x\nmodel:\n  kind: transformer\n").find("model.kind: must be one of"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nserver:\n  optimizer: fedavg\n  beta1: 0.9\n").find("server"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nsecagg:\n  bits: 31\n").find("secagg.bits"), std::string::npos);
  EXPECT_NE(error_of("clients: 3\n").find("name: every scenario needs a name"), std::string::npos);
}

TEST(Scenario, SetOverridesApplyBeforeValidation) {
  auto s = parse_scenario(kValid, "tiny.yaml",
                          {{"rounds", "7"},
                           {"partition.alpha", "0.1"},
                           {"local.lr", "0.2"},
                           {"model.hidden", "[16, 8]"},
                           {"secagg.graph", "complete"}});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->rounds, 7);
  EXPECT_DOUBLE_EQ(s->partition.alpha, 0.1);
  EXPECT_DOUBLE_EQ(s->local.lr, 0.2);
  EXPECT_EQ(s->model.hidden, (std::vector<int>{16, 8}));
  EXPECT_EQ(s->secagg.graph, "complete");
  // A bad override is named as such.
  const std::string e = error_of(kValid, {{"partition.alpha", "-1"}});
  EXPECT_NE(e.find("--set partition.alpha=-1: partition.alpha: must be > 0"), std::string::npos)
      << e;
  const std::string unknown = error_of(kValid, {{"partition.alhpa", "1"}});
  EXPECT_NE(unknown.find("--set partition.alhpa=1: partition.alhpa: unknown key"),
            std::string::npos)
      << unknown;
  EXPECT_FALSE(parse_override("novalue").ok());
  auto o = parse_override("a.b=c=d");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->key, "a.b");
  EXPECT_EQ(o->value, "c=d");
}

// In-process runs drive the coordinator's RoundEngine: what it cannot do is
// refused at the key's line, and its own settings are range-checked there.
TEST(Scenario, InProcessRefusesWhatTheRoundEngineCannotHonour) {
  const std::string plain = error_of(R"(name: x
secagg:
  enabled: false
)");
  EXPECT_NE(plain.find("bad.yaml:3:12: secagg.enabled: not supported in-process"),
            std::string::npos)
      << plain;
  const std::string every = error_of("name: x\nevaluation:\n  every: 5\n");
  EXPECT_NE(every.find("bad.yaml:3:10: evaluation.every: not supported in-process"),
            std::string::npos)
      << every;
  const std::string over = error_of(std::string(kValid) + "coordinator:\n  over_selection: 0.5\n");
  EXPECT_NE(over.find("bad.yaml:17:19: coordinator.over_selection: must be in [1, 10]"),
            std::string::npos)
      << over;
  const std::string min = error_of(std::string(kValid) + "coordinator:\n  min_cohort: 9\n");
  EXPECT_NE(min.find("coordinator.min_cohort: must be in [2, ceil(clients_per_round x "
                     "over_selection) = 5], got 9"),
            std::string::npos)
      << min;
  const std::string gate =
      error_of(std::string(kValid) + "coordinator:\n  gate:\n    metric: speed\n");
  EXPECT_NE(gate.find("bad.yaml:18:13: coordinator.gate.metric: must be one of"), std::string::npos)
      << gate;
  auto ok = parse_scenario(std::string(kValid) + R"(coordinator:
  over_selection: 1.4
  min_cohort: 3
  deadlines_s: {selection: 2, share_keys: 5}
  gate: {metric: loss, higher_is_better: false, tolerance: 0.01}
)",
                           "ok.yaml", {});
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_DOUBLE_EQ(ok->coordinator.over_selection, 1.4);
  EXPECT_EQ(ok->coordinator.min_cohort, 3);
  EXPECT_DOUBLE_EQ(ok->coordinator.share_keys_s, 5);
  EXPECT_EQ(ok->coordinator.gate_metric, "loss");
  EXPECT_FALSE(ok->coordinator.gate_higher_is_better);
}

TEST(Scenario, CommandExitsTwoOnBadInputAndOnWhatNetworkModeCannotRun) {
  EXPECT_EQ(run_scenario_command("/nonexistent/x.yaml", {}, nullptr, stderr), 2);
  const std::string path = ::testing::TempDir() + "/net.yaml";
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("name: net\nmode: network\n", f);  // synthetic data: in-process only
  std::fclose(f);
  std::FILE* err = std::tmpfile();
  EXPECT_EQ(run_scenario_command(path, {}, nullptr, err), 2);
  std::rewind(err);
  char message[512] = {};
  (void)!std::fread(message, 1, sizeof message - 1, err);
  std::fclose(err);
  EXPECT_NE(std::string(message).find("data.source: not supported in network mode"),
            std::string::npos)
      << message;
  EXPECT_EQ(run_scenario_command(path, {"mode=inprocess", "rounds=0"}, nullptr, stderr), 2);
  EXPECT_EQ(run_scenario_command(path, {"=x"}, nullptr, stderr), 2);
}

}  // namespace
}  // namespace fl::sim
