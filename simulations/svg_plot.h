// A hand-written SVG line plot of test accuracy against rounds, with the
// centralised baseline as a dashed horizontal line and the target as a dotted
// one; for a run trained with differential privacy, the cumulative epsilon on
// a second axis at the right (absent otherwise, so plots of runs without DP
// are unchanged). No plotting library: the file is small, text, diffable, and opens in
// any browser.
//
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fl::sim {

struct AccuracyPlot {
  std::string title;
  std::vector<std::pair<int, double>> points;  // (round, accuracy), rounds increasing
  int rounds = 0;                              // x axis extent
  std::optional<double> baseline;
  std::string baseline_label = "centralised baseline";
  std::optional<double> target;
  std::vector<std::pair<int, double>> epsilon;  // (round, cumulative epsilon), rounds increasing
  std::string epsilon_label = "epsilon spent";
};

std::string accuracy_svg(const AccuracyPlot& plot);

}  // namespace fl::sim
