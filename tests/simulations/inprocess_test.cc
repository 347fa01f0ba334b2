// The in-process run: reproducible from its seed, learning over rounds, and
// secure aggregation giving (up to quantisation) the model plain FedAvg gives.
#include "simulations/inprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fl::sim {
namespace {

constexpr char kTiny[] = R"(name: tiny
seed: 5
data:
  source: synthetic
  n: 1200
  test_n: 600
  dim: 12
  classes: 4
  separation: 2.5
partition:
  kind: dirichlet
  alpha: 0.5
  min_examples: 10
clients: 20
clients_per_round: 10
rounds: 6
local:
  epochs: 1
  batch_size: 16
  lr: 0.05
secagg:
  enabled: true
  graph: harary
  expected_dropout: 0.3
dropout:
  before_share_keys: 0.1
  before_masked_input: 0.1
  before_unmasking: 0.05
stragglers:
  sigma: 0.5
  seconds_per_example: 0.001
  deadline_s: 0.2
availability: 0.9
target_accuracy: 0.7
baseline: 0.9
threads: 2
)";

Scenario tiny(std::vector<Override> overrides = {}) {
  auto s = parse_scenario(kTiny, "tiny.yaml", overrides);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return *s;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(InProcess, SameScenarioAndSeedGiveTheSameCsvByteForByte) {
  const std::string base = ::testing::TempDir() + "/fl_sim_determinism";
  std::string csv[2];
  for (int run = 0; run < 2; ++run) {
    Scenario s = tiny({{"output", base + std::to_string(run)}, {"threads", run ? "2" : "1"}});
    auto r = run_inprocess(s, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_TRUE(write_reports(s, *r).ok());
    csv[run] = read(s.output + "/rounds.csv");
    EXPECT_TRUE(std::filesystem::exists(s.output + "/accuracy.svg"));
    EXPECT_TRUE(std::filesystem::exists(s.output + "/summary.json"));
    EXPECT_TRUE(std::filesystem::exists(s.output + "/timings.csv"));
  }
  EXPECT_GT(csv[0].size(), 100u);
  EXPECT_EQ(csv[0], csv[1]);  // one thread or two: the same result
  auto other = run_inprocess(tiny({{"seed", "6"}}), nullptr);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(rounds_csv(*other), csv[0]);
}

TEST(InProcess, AccuracyImprovesOverRoundsDespiteDropouts) {
  auto r = run_inprocess(tiny({{"dropout.exact", "true"}}), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->rounds.size(), 6u);
  const double first = *r->rounds.front().accuracy, last = *r->rounds.back().accuracy;
  EXPECT_GT(last, first + 0.05) << first << " -> " << last;
  EXPECT_GT(last, 0.7);
  int dropped = 0;
  for (const auto& round : r->rounds) {
    EXPECT_EQ(round.status, "completed");
    for (uint32_t d : round.dropped) dropped += static_cast<int>(d);
    EXPECT_GT(round.bytes_up, 0);
  }
  EXPECT_GT(dropped, 0);
}

TEST(InProcess, SecureAggregationGivesNearlyThePlainFedAvgModel) {
  // Dropouts the secure round survives (drops before masked input only), so
  // both aggregate the same clients. With an L2 clip both paths clip alike
  // (the one client pipeline), and the clip does change the model.
  double plain_loss[2] = {0, 0};
  for (int clip = 0; clip < 2; ++clip) {
    const std::vector<Override> settings = {{"dropout.before_share_keys", "0"},
                                            {"dropout.before_unmasking", "0"},
                                            {"stragglers.deadline_s", "0"},
                                            {"secagg.l2_clip", clip ? "0.05" : "0"}};
    auto with = [&](const char* enabled) {
      auto o = settings;
      o.push_back({"secagg.enabled", enabled});
      return run_inprocess(tiny(o), nullptr);
    };
    auto on = with("true");
    auto off = with("false");
    ASSERT_TRUE(on.ok()) << on.status().to_string();
    ASSERT_TRUE(off.ok()) << off.status().to_string();
    for (size_t i = 0; i < on->rounds.size(); ++i) {
      EXPECT_EQ(on->rounds[i].included, off->rounds[i].included) << "round " << i + 1;
      EXPECT_NEAR(on->rounds[i].total_weight, off->rounds[i].total_weight, 0.5);
      EXPECT_NEAR(*on->rounds[i].accuracy, *off->rounds[i].accuracy, 0.01) << "round " << i + 1;
      EXPECT_NEAR(*on->rounds[i].loss, *off->rounds[i].loss, 1e-3) << "round " << i + 1;
    }
    plain_loss[clip] = *off->rounds.back().loss;
  }
  EXPECT_GT(std::abs(plain_loss[1] - plain_loss[0]), 1e-2) << "the clip changed nothing";
}

TEST(InProcess, EveryPartitionKindRuns) {
  for (const char* kind : {"iid", "shards", "quantity_skew"}) {
    auto r = run_inprocess(tiny({{"partition.kind", kind}, {"rounds", "2"}}), nullptr);
    ASSERT_TRUE(r.ok()) << kind << ": " << r.status().to_string();
    EXPECT_EQ(r->rounds.back().status, "completed") << kind;
  }
}

TEST(InProcess, MlpWithFedAdamRuns) {
  auto r = run_inprocess(tiny({{"model.kind", "mlp"},
                               {"model.hidden", "[8]"},
                               {"server.optimizer", "fedadam"},
                               {"server.server_lr", "0.01"},
                               {"rounds", "2"}}),
                         nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->model_description, "mlp(12 -> 8 relu -> 4)");
}

}  // namespace
}  // namespace fl::sim
