#include "simulations/scenario_run.h"

#include "simulations/inprocess.h"
#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fl::sim {

int run_scenario_command(const std::string& path, const std::vector<std::string>& sets,
                         std::FILE* out, std::FILE* err, const NetworkBinaries& binaries) {
  std::vector<Override> overrides;
  for (const std::string& s : sets) {
    auto o = parse_override(s);
    if (!o.ok()) {
      std::fprintf(err, "fl-sim run: error: %s\n", o.status().message().c_str());
      return 2;
    }
    overrides.push_back(*o);
  }
  auto scenario = load_scenario(path, overrides);
  if (!scenario.ok()) {
    std::fprintf(err, "fl-sim run: error: %s\n", scenario.status().message().c_str());
    return 2;
  }
  auto result = scenario->mode == RunMode::kNetwork ? run_network(*scenario, binaries, out)
                                                    : run_inprocess(*scenario, out);
  if (!result.ok()) {
    std::fprintf(err, "fl-sim run: %s: %s\n", path.c_str(), result.status().to_string().c_str());
    return 1;
  }
  if (Status s = write_reports(*scenario, *result); !s.ok()) {
    std::fprintf(err, "fl-sim run: %s\n", s.to_string().c_str());
    return 1;
  }
  if (out) std::fputs(final_summary_text(*scenario, *result).c_str(), out);
  return 0;
}

}  // namespace fl::sim
