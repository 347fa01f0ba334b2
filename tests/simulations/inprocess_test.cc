// The in-process run on the coordinator's RoundEngine: reproducible from its
// seed, learning over rounds despite dropouts, with the engine's
// over-selection, stage deadlines and quality gate.
#include "simulations/inprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "aggregation/dp/rdp_accountant.h"
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

// The L2 clip (secagg.l2_clip) is applied by the one client pipeline the
// engine's tasks describe: clipping every update hard changes the model.
TEST(InProcess, AnL2ClipInTheTaskChangesTheModel) {
  double loss[2] = {0, 0};
  for (int clip = 0; clip < 2; ++clip) {
    auto r = run_inprocess(tiny({{"dropout", "{}"},
                                 {"stragglers.deadline_s", "0"},
                                 {"secagg.l2_clip", clip ? "0.05" : "0"}}),
                           nullptr);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(r->rounds.back().status, "completed");
    loss[clip] = *r->rounds.back().loss;
  }
  EXPECT_GT(std::abs(loss[1] - loss[0]), 1e-2) << "the clip changed nothing";
}

// SCAFFOLD (local.algorithm: scaffold) runs through the engine: every round
// completes, the model learns, each upload carries d more ring elements
// (delta_c) and each task d more floats (c), and the trajectory differs from
// FedAvg's because the correction and the global control variate act.
TEST(InProcess, ScaffoldRunsThroughTheEngineWithTheControlVariateInTaskAndUpload) {
  const std::vector<Override> quiet = {{"dropout", "{}"}, {"stragglers.deadline_s", "0"}};
  auto fedavg = run_inprocess(tiny(quiet), nullptr);
  auto with_scaffold = quiet;
  with_scaffold.push_back({"local.algorithm", "scaffold"});
  auto scaffold = run_inprocess(tiny(with_scaffold), nullptr);
  ASSERT_TRUE(fedavg.ok()) << fedavg.status().to_string();
  ASSERT_TRUE(scaffold.ok()) << scaffold.status().to_string();
  ASSERT_EQ(scaffold->rounds.size(), 6u);
  for (const auto& round : scaffold->rounds) EXPECT_EQ(round.status, "completed");
  EXPECT_GT(*scaffold->rounds.back().accuracy, 0.7);
  const double d = static_cast<double>(scaffold->num_params);
  const auto& a = fedavg->rounds.back();
  const auto& b = scaffold->rounds.back();
  EXPECT_GE(b.bytes_up - a.bytes_up, 4 * d);      // 32-bit ring: 4 bytes per delta_c element
  EXPECT_GE(b.bytes_down - a.bytes_down, 4 * d);  // c, one float per weight
  EXPECT_NE(*a.loss, *b.loss);
}

// Over-selection is the engine's: it selects ceil(10 x 1.5) = 15 and closes
// the masked-input stage at the 10th input, so the 5 slowest are cut.
TEST(InProcess, OverSelectionCutsTheSlowestClientsAtTheCohortSize) {
  auto r = run_inprocess(tiny({{"coordinator", "{over_selection: 1.5}"},
                               {"availability", "1"},
                               {"dropout", "{}"},
                               {"stragglers.deadline_s", "0"},
                               {"rounds", "3"}}),
                         nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  for (const auto& round : r->rounds) {
    EXPECT_EQ(round.status, "completed");
    EXPECT_EQ(round.cohort, 15);
    EXPECT_EQ(round.included, 10);
    EXPECT_EQ(round.stragglers, 5u);
  }
}

// A client that stops answering leaves its stage open until the engine's
// deadline closes it: simulated time shows the wait, wall time does not.
TEST(InProcess, StageDeadlinesCloseWhatDropoutsLeaveOpen) {
  const std::vector<Override> base = {
      {"coordinator", "{deadlines_s: {selection: 1, share_keys: 7}}"},
      {"dropout", "{before_share_keys: 0.2, exact: true}"},
      {"stragglers.deadline_s", "0"},
      {"rounds", "2"}};
  auto dropped = run_inprocess(tiny(base), nullptr);
  ASSERT_TRUE(dropped.ok()) << dropped.status().to_string();
  auto all = base;
  all[1] = {"dropout", "{}"};
  auto none = run_inprocess(tiny(all), nullptr);
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(dropped->rounds[i].status, "completed");
    EXPECT_EQ(dropped->rounds[i].dropped[1], 2u);
    EXPECT_EQ(dropped->rounds[i].included, 8);
    EXPECT_GE(dropped->rounds[i].sim_s, 1 + 7);  // the window, then the share-keys deadline
    EXPECT_LT(none->rounds[i].sim_s, 7);
  }
}

// The registry's quality gate judges every version; a held candidate is
// still trained on. A gate that wants the loss to rise holds the candidates
// that improve, and the model improves all the same.
TEST(InProcess, QualityGateDecidesWhatIsPublishedNotWhatIsTrained) {
  auto r = run_inprocess(
      tiny({{"coordinator", "{gate: {metric: loss, higher_is_better: true}}"}, {"dropout", "{}"}}),
      nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  int held = 0;
  double published_loss = -1;  // the initial version has no metric: the first candidate passes
  for (const auto& round : r->rounds) {
    ASSERT_EQ(round.status, "completed");
    ASSERT_TRUE(round.loss && round.version);
    EXPECT_EQ(round.published, *round.loss >= published_loss) << "round " << round.round;
    if (round.published) published_loss = *round.loss;
    held += !round.published;
  }
  EXPECT_GT(held, 0);
  EXPECT_GT(*r->rounds.back().accuracy, *r->rounds.front().accuracy + 0.05);
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

// dp in fl-sim is the coordinator's: Poisson-sampled cohorts, central noise
// on the unmasked sum, the ledger in the engine's store, and the budget that
// stops training (here after 3 of 6 rounds).
TEST(InProcess, DpRunIsAccountedByTheEngineAndStopsAtTheBudget) {
  const std::string section =
      "{mode: central, noise_multiplier: 0.5, clip: 1.0, target_delta: 0.01";
  const std::vector<Override> dp = {{"dp", section + "}"},
                                    {"availability", "1"},
                                    {"dropout", "{}"},
                                    {"stragglers.deadline_s", "0"}};
  auto free_run = run_inprocess(tiny(dp), nullptr);
  ASSERT_TRUE(free_run.ok()) << free_run.status().to_string();
  EXPECT_TRUE(free_run->halted.empty()) << free_run->halted;
  std::set<int64_t> cohorts;
  for (const auto& r : free_run->rounds) {
    EXPECT_EQ(r.status, "completed");
    cohorts.insert(r.cohort);
  }
  EXPECT_GT(cohorts.size(), 1u);  // Poisson: the cohort's size varies

  // The accountant's epsilon after 3 and 4 such rounds (q = 10/20).
  aggregation::dp::GaussianSchedule g;
  g.sampling_rate = 0.5;
  g.noise_multiplier = 0.5;
  g.rounds = 3;
  const double eps3 = aggregation::dp::gaussian_epsilon(g, 0.01)->epsilon;
  g.rounds = 4;
  const double eps4 = aggregation::dp::gaussian_epsilon(g, 0.01)->epsilon;
  auto budget = dp;
  budget[0].value = section + ", max_epsilon: " + std::to_string((eps3 + eps4) / 2) + "}";
  auto halted = run_inprocess(tiny(budget), nullptr);
  ASSERT_TRUE(halted.ok()) << halted.status().to_string();
  ASSERT_EQ(halted->rounds.size(), 3u);
  EXPECT_NE(halted->halted.find("dp.max_epsilon"), std::string::npos) << halted->halted;
}

}  // namespace
}  // namespace fl::sim
