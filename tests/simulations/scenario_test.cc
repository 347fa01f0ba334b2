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
  EXPECT_NE(e.find("bad.yaml:16: partition_typo: unknown key"), std::string::npos) << e;
  const std::string nested = error_of(R"(name: x
partition:
  kind: dirichlet
  alpah: 0.1
)");
  EXPECT_NE(nested.find("bad.yaml:4: partition.alpah: unknown key; did you mean alpha?"),
            std::string::npos)
      << nested;
}

TEST(Scenario, WrongTypeNamesKeyAndLine) {
  const std::string e = error_of("name: x\nclients: many\n");
  EXPECT_NE(e.find("bad.yaml:2: clients: expected an integer, got 'many'"), std::string::npos) << e;
  const std::string m = error_of("name: x\nsecagg:\n  enabled: perhaps\n");
  EXPECT_NE(m.find("bad.yaml:3: secagg.enabled: expected true or false"), std::string::npos) << m;
}

TEST(Scenario, ImpossibleSettingsAreRefused) {
  const std::string more = error_of("name: x\nclients: 10\nclients_per_round: 11\n");
  EXPECT_NE(more.find("bad.yaml:3: clients_per_round: a round cannot select 11 of only 10"),
            std::string::npos)
      << more;
  const std::string alpha = error_of("name: x\npartition:\n  kind: dirichlet\n  alpha: 0\n");
  EXPECT_NE(alpha.find("bad.yaml:4: partition.alpha: must be > 0, got 0"), std::string::npos)
      << alpha;
  const std::string t = error_of(std::string(kValid) + "  threshold: 6\n");
  EXPECT_NE(t.find("secagg.threshold: threshold 6 is larger than the cohort of 5"),
            std::string::npos)
      << t;
  const std::string drop = error_of("name: x\ndropout:\n  before_share_keys: 1.0\n");
  EXPECT_NE(drop.find("bad.yaml:3: dropout.before_share_keys: must be in [0, 1), got 1.0"),
            std::string::npos)
      << drop;
  EXPECT_NE(error_of("name: x\nmodel:\n  kind: transformer\n").find("model.kind: must be one of"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nserver:\n  optimizer: fedavg\n  beta1: 0.9\n").find("server"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nsecagg:\n  bits: 31\n").find("secagg.bits"), std::string::npos);
  EXPECT_NE(
      error_of("name: x\nsecagg:\n  l2_clip: -0.5\n").find("bad.yaml:3: secagg.l2_clip: must be"),
      std::string::npos);
  EXPECT_NE(error_of("clients: 3\n").find("name: every scenario needs a name"), std::string::npos);
}

// Every refusal has one form: FILE:LINE: key.path: why, or, for a value a
// --set override gave, --set KEY=VALUE: key.path: why.
TEST(Scenario, BadScenariosAreRefusedAtTheirFileLineAndKey) {
  struct Case {
    const char* yaml;
    std::vector<Override> overrides;
    const char* prefix;
  };
  const Case cases[] = {
      // wrong type
      {"name: x\nrounds: 2.5\n", {}, "bad.yaml:2: rounds: expected an integer, got '2.5'"},
      {"name: x\nlocal:\n  lr: fast\n", {}, "bad.yaml:3: local.lr: expected a number, got 'fast'"},
      {"name: x\nmodel:\n  hidden: {a: 1}\n",
       {},
       "bad.yaml:3: model.hidden: expected a list, got a mapping"},
      {"name: [x]\n", {}, "bad.yaml:1: name: expected a single value, got a list"},
      // out of range
      {"name: x\nthreads: 0\n", {}, "bad.yaml:2: threads: must be in [1, 256], got 0"},
      {"name: x\nsecagg:\n  corrupt_fraction: 0.5\n",
       {},
       "bad.yaml:3: secagg.corrupt_fraction: must be in [0, 0.5), got 0.5"},
      {"name: x\nseed: -1\n", {}, "bad.yaml:2: seed: must be a non-negative integer, got -1"},
      {"name: x\nsecagg:\n  ring: 16\n", {}, "bad.yaml:3: secagg.ring: must be one of 32, 64"},
      // unknown key
      {"name: x\nlocal:\n  epochs: 1\n  bach_size: 8\n",
       {},
       "bad.yaml:4: local.bach_size: unknown key; did you mean batch_size? (expected one of: "
       "epochs, batch_size,"},
      {"name: x\ncolour: blue\n", {}, "bad.yaml:2: colour: unknown key (expected one of: name,"},
      {"name: x\nrounds: 2\nrounds: 3\n", {}, "bad.yaml:3: rounds: appears twice"},
      // bad nesting
      {"name: x\npartition: dirichlet\n",
       {},
       "bad.yaml:2: partition: expected a mapping of keys, got 'dirichlet'"},
      {"name: x\nsecagg:\n  - enabled\n",
       {},
       "bad.yaml:3: secagg: expected a mapping of keys, got a list"},
      {"name: x\nlocal:\nepochs: 2\n", {}, "bad.yaml:3: epochs: unknown key"},
      // overrides
      {"name: x\n",
       {{"local.epochs", "0"}},
       "--set local.epochs=0: local.epochs: must be >= 1, got 0"},
      {"name: x\n", {{"local.epochs", "[1"}}, "--set local.epochs=[1: not valid YAML"},
      {"name: x\nrounds: 3\n", {{"rounds.x", "1"}}, "--set rounds.x=1: rounds is not a mapping"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml, c.overrides);
    EXPECT_EQ(e.rfind(c.prefix, 0), 0u) << "yaml:\n" << c.yaml << "error: " << e;
  }
}

TEST(Scenario, ARefusedOverrideLeavesTheFileLinesForOtherKeys) {
  // The override is fine; the file's own mistake keeps its line.
  const std::string e = error_of("name: x\nlocal:\n  lr: 0\n", {{"local.epochs", "2"}});
  EXPECT_EQ(e.rfind("bad.yaml:3: local.lr: must be > 0, got 0", 0), 0u) << e;
}

TEST(Scenario, LocalLrScheduleIsReadAndABadOneIsRefusedWithKeyAndLine) {
  auto s = parse_scenario(std::string(kValid) +
                              "local:\n  lr: 0.1\n  lr_schedule: exponential\n"
                              "  lr_decay: 0.9\n  lr_min: 0.01\n",
                          "tiny.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  const model::RoundLrSchedule lr = local_lr_schedule(*s);
  EXPECT_EQ(lr.kind, model::RoundLrScheduleKind::kExponential);
  EXPECT_NEAR(model::round_learning_rate(lr, 1), 0.09, 1e-12);
  EXPECT_EQ(lr.rounds, 2u);

  const std::string kind = error_of(std::string(kValid) + "local:\n  lr_schedule: linear\n");
  EXPECT_NE(kind.find("bad.yaml:17: local.lr_schedule: must be one of"), std::string::npos) << kind;
  const std::string decay = error_of(std::string(kValid) + "local:\n  lr_decay: 1.5\n");
  EXPECT_NE(decay.find("bad.yaml:17: local.lr_decay: must be in (0, 1]"), std::string::npos)
      << decay;
  const std::string floor = error_of(kValid, {{"local.lr_min", "0.5"}});
  EXPECT_NE(floor.find("local.lr_min: must be in [0, lr]"), std::string::npos) << floor;
}

TEST(Scenario, MaskPrgIsReadAndAnUnknownOneIsRefusedWithFileAndLine) {
  auto chosen = parse_scenario(std::string(kValid) + "  prg: chacha20\n", "tiny.yaml", {});
  ASSERT_TRUE(chosen.ok()) << chosen.status().to_string();
  EXPECT_EQ(chosen->secagg.prg, crypto::MaskPrg::kChaCha20);
  auto unnamed = parse_scenario(kValid, "tiny.yaml", {});
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->secagg.prg, aggregation::secagg::kDefaultMaskPrg);
  const std::string e = error_of(std::string(kValid) + "  prg: aes128\n");
  EXPECT_NE(e.find("bad.yaml:16: secagg.prg: must be one of aes256ctr, chacha20, got 'aes128'"),
            std::string::npos)
      << e;
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
  EXPECT_NE(plain.find("bad.yaml:3: secagg.enabled: not supported in-process"), std::string::npos)
      << plain;
  const std::string every = error_of("name: x\nevaluation:\n  every: 5\n");
  EXPECT_NE(every.find("bad.yaml:3: evaluation.every: not supported in-process"), std::string::npos)
      << every;
  const std::string over = error_of(std::string(kValid) + "coordinator:\n  over_selection: 0.5\n");
  EXPECT_NE(over.find("bad.yaml:17: coordinator.over_selection: must be in [1, 10]"),
            std::string::npos)
      << over;
  const std::string min = error_of(std::string(kValid) + "coordinator:\n  min_cohort: 9\n");
  EXPECT_NE(min.find("coordinator.min_cohort: must be in [2, ceil(clients_per_round x "
                     "over_selection) = 5], got 9"),
            std::string::npos)
      << min;
  const std::string gate =
      error_of(std::string(kValid) + "coordinator:\n  gate:\n    metric: speed\n");
  EXPECT_NE(gate.find("bad.yaml:18: coordinator.gate.metric: must be one of"), std::string::npos)
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

// SCAFFOLD is refused where its update cannot be honoured, at the key's line.
TEST(Scenario, ScaffoldIsRefusedWithDpAdamAnL2ClipOrInNetworkMode) {
  const std::string scaffold = std::string(kValid) + "local:\n  algorithm: scaffold\n";
  auto ok = parse_scenario(scaffold, "ok.yaml", {});
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->local.algorithm, "scaffold");
  const std::string dp = error_of(
      scaffold +
      "dp:\n  mode: central\n  clip: 0.5\n  noise_multiplier: 1.0\n  target_delta: 0.01\n");
  EXPECT_NE(dp.find("bad.yaml:17: local.algorithm: scaffold cannot run with dp"), std::string::npos)
      << dp;
  const std::string adam = error_of(scaffold + "  optimizer: adam\n");
  EXPECT_NE(adam.find("bad.yaml:17: local.algorithm: scaffold needs local sgd"), std::string::npos)
      << adam;
  const std::string clip =
      error_of(std::string(kValid) + "  l2_clip: 1.0\nlocal:\n  algorithm: scaffold\n");
  EXPECT_NE(clip.find("bad.yaml:16: secagg.l2_clip: scaffold cannot run with an L2 clip"),
            std::string::npos)
      << clip;
  const std::string unknown = error_of(std::string(kValid) + "local:\n  algorithm: fedsgd\n");
  EXPECT_NE(unknown.find("bad.yaml:17: local.algorithm: must be one of fedavg, scaffold"),
            std::string::npos)
      << unknown;
  const std::string network = error_of(R"(name: x
mode: network
data:
  source: fashion-mnist
local:
  algorithm: scaffold
)");
  EXPECT_NE(network.find("bad.yaml:6: local.algorithm: not supported in network mode"),
            std::string::npos)
      << network;
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

// dp: read like the coordinator's section; the population defaults to the
// scenario's clients and q to clients_per_round / clients; what the
// accountant cannot honour is refused at its line.
TEST(Scenario, DpSectionIsReadWithDefaultsAndCheckedAtItsLine) {
  const std::string dp = std::string(kValid) +
                         "dp:\n"
                         "  mode: central\n"
                         "  noise_multiplier: 1.1\n"
                         "  clip: 0.5\n"
                         "  target_delta: 0.01\n";
  auto s = parse_scenario(dp, "tiny.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->dp.mode, aggregation::dp::DpMode::kCentral);
  EXPECT_EQ(s->dp.population_size, 10u);
  EXPECT_DOUBLE_EQ(s->dp.sampling_rate, 0.5);
  EXPECT_EQ(error_of(dp, {{"dp.noise_multiplier", "0"}})
                .rfind("--set dp.noise_multiplier=0: dp.noise_multiplier: must be > 0", 0),
            0u)
      << error_of(dp, {{"dp.noise_multiplier", "0"}});
  const std::string delta = error_of(dp, {{"dp.target_delta", "0.2"}});
  EXPECT_NE(delta.find("dp.target_delta: must be in (0, 1/population_size = 0.1)"),
            std::string::npos)
      << delta;
  EXPECT_NE(error_of(dp + "  max_epsilon: -1\n").find("bad.yaml:21: dp.max_epsilon: must be > 0"),
            std::string::npos)
      << error_of(dp + "  max_epsilon: -1\n");
  EXPECT_NE(error_of(dp, {{"secagg.l2_clip", "0.3"}}).find("secagg.l2_clip: leave it out"),
            std::string::npos);
}

}  // namespace
}  // namespace fl::sim
