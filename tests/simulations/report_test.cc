// fl-sim's report files for runs with and without differential privacy: the
// epsilon column, the summary's privacy field and the plot's epsilon axis
// appear only when the privacy ledger accounted a round, so reports of runs
// without DP stay byte for byte what they were.
#include "simulations/report.h"

#include <gtest/gtest.h>

#include <sstream>

#include "simulations/svg_plot.h"

namespace fl::sim {
namespace {

constexpr char kScenario[] = R"(name: report
seed: 1
data:
  source: synthetic
  n: 200
  test_n: 100
  dim: 4
  classes: 2
clients: 40
clients_per_round: 20
rounds: 3
)";

// The header rounds.csv has always had for in-process runs.
constexpr char kInProcessHeader[] =
    "round,online,cohort,dropped_before_advertise,dropped_before_share_keys,"
    "dropped_before_masked_input,dropped_before_unmasking,stragglers,included,status,k,t,"
    "total_weight,train_loss,test_accuracy,test_loss,bytes_up,bytes_down,version,published,sim_s";

Scenario scenario() {
  auto s = parse_scenario(kScenario, "report.yaml", {});
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return *s;
}

// Three rounds, the second aborted; with `dp`, the completed ones accounted.
RunResult run(bool dp) {
  RunResult r;
  r.model_description = "softmax";
  for (int i = 1; i <= 3; ++i) {
    RoundRecord rec;
    rec.round = i;
    rec.status = i == 2 ? "aborted" : "completed";
    if (i != 2) {
      rec.accuracy = 0.5 + 0.1 * i;
      rec.loss = 1.0 / i;
      rec.version = i + 1;
      if (dp) rec.epsilon = i == 1 ? 0.8 : 1.6;
    }
    r.rounds.push_back(rec);
  }
  if (dp) r.privacy = RunPrivacy{"distributed", 1.6, 1e-5, 2};
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Report, WithoutDpRoundsCsvKeepsItsColumnsAndSummaryHasNoPrivacy) {
  const RunResult r = run(false);
  const auto csv = lines(rounds_csv(r));
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_EQ(csv[0], kInProcessHeader);
  EXPECT_EQ(csv[1].substr(csv[1].rfind(',')), ",0.000");  // ends at sim_s
  EXPECT_FALSE(summary_json(scenario(), r).contains("privacy"));
  EXPECT_EQ(final_summary_text(scenario(), r).find("epsilon"), std::string::npos);
  AccuracyPlot plot;
  plot.points = {{1, 0.6}, {3, 0.8}};
  plot.rounds = 3;
  EXPECT_EQ(accuracy_svg(plot).find("epsilon"), std::string::npos);
}

TEST(Report, WithDpRoundsCsvGainsAnEpsilonColumnEmptyForAFailedRound) {
  const auto csv = lines(rounds_csv(run(true)));
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_EQ(csv[0], std::string(kInProcessHeader) + ",epsilon");
  EXPECT_EQ(csv[1].substr(csv[1].rfind(',')), ",0.800000");
  EXPECT_EQ(csv[2].back(), ',') << "aborted round: no epsilon";
  EXPECT_EQ(csv[3].substr(csv[3].rfind(',')), ",1.600000");
  // Every line has the header's number of fields.
  for (const std::string& line : csv)
    EXPECT_EQ(std::count(line.begin(), line.end(), ','),
              std::count(csv[0].begin(), csv[0].end(), ','))
        << line;
}

TEST(Report, WithDpSummaryReportsTheFinalEpsilonDeltaAndMechanism) {
  const auto j = summary_json(scenario(), run(true));
  ASSERT_TRUE(j.contains("privacy")) << j.dump(2);
  EXPECT_EQ(j["privacy"]["epsilon"], 1.6);
  EXPECT_EQ(j["privacy"]["delta"], 1e-5);
  EXPECT_EQ(j["privacy"]["mechanism"], "distributed");
  EXPECT_EQ(j["privacy"]["rounds_accounted"], 2);
  EXPECT_NE(final_summary_text(scenario(), run(true))
                .find("privacy: epsilon 1.6 at delta 1e-05 after 2 rounds (distributed)"),
            std::string::npos);
}

TEST(Report, WithDpThePlotDrawsEpsilonOnItsOwnAxis) {
  AccuracyPlot plot;
  plot.points = {{1, 0.6}, {3, 0.8}};
  plot.rounds = 3;
  plot.epsilon = {{1, 0.8}, {3, 1.6}};
  plot.epsilon_label = "epsilon spent (distributed DP, delta 1e-05)";
  const std::string svg = accuracy_svg(plot);
  EXPECT_NE(svg.find("epsilon spent (distributed DP, delta 1e-05)</text>"), std::string::npos)
      << svg;
  EXPECT_NE(svg.find("epsilon spent (distributed DP, delta 1e-05): 1.6</text>"), std::string::npos)
      << "legend with the final epsilon";
  // Two series. Epsilon's axis runs from 0 at the bottom (y 400) to 2 at
  // the top (y 50), so 0.8 at round 1 and 1.6 at round 3 sit at y 260 and
  // 120, whatever the accuracy scale.
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++polylines;
  EXPECT_EQ(polylines, 2u);
  EXPECT_NE(svg.find("points=\"276.7,260.0 690.0,120.0 \""), std::string::npos) << svg;
  EXPECT_NE(svg.find(">2</text>"), std::string::npos) << "the epsilon axis's top tick";
  EXPECT_NE(svg.find("#ff7f0e"), std::string::npos);
}

}  // namespace
}  // namespace fl::sim
