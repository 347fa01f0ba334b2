#include "simulations/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "simulations/svg_plot.h"

namespace fl::sim {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

Status write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return Unavailable("cannot write '" + path.string() + "'");
  return Status::Ok();
}

const RoundRecord* last_evaluated(const RunResult& r) {
  for (auto it = r.rounds.rbegin(); it != r.rounds.rend(); ++it)
    if (it->accuracy) return &*it;
  return nullptr;
}

bool any_epsilon(const RunResult& r) {
  return std::any_of(r.rounds.begin(), r.rounds.end(),
                     [](const RoundRecord& round) { return round.epsilon.has_value(); });
}

}  // namespace

// The epsilon column exists only in runs trained with DP: a run without it
// writes the file it always wrote, byte for byte.
std::string rounds_csv(const RunResult& result) {
  const bool network = result.mode == RunMode::kNetwork;
  const bool epsilon = any_epsilon(result);
  std::string s =
      "round,online,cohort,dropped_before_advertise,dropped_before_share_keys,"
      "dropped_before_masked_input,dropped_before_unmasking,stragglers,included,status,k,t,"
      "total_weight,train_loss,test_accuracy,test_loss,bytes_up,bytes_down";
  s += network ? ",coordinator_round,version" : ",version,published,sim_s";
  s += epsilon ? ",epsilon\n" : "\n";
  auto end_row = [&](const RoundRecord& r) {
    if (epsilon) {
      s += ',';
      if (r.epsilon) s += fmt("%.6f", *r.epsilon);
    }
    s += "\n";
  };
  for (const RoundRecord& r : result.rounds) {
    if (network) {  // k, t, train_loss and bytes are not measured: empty
      s += std::to_string(r.round) + "," + std::to_string(r.available) + "," +
           std::to_string(r.cohort) + "," + std::to_string(r.dropped[0]) + "," +
           std::to_string(r.dropped[1]) + "," + std::to_string(r.dropped[2]) + "," +
           std::to_string(r.dropped[3]) + "," + std::to_string(r.stragglers) + "," +
           std::to_string(r.included) + "," + r.status + ",,," + fmt("%.0f", r.total_weight) +
           ",," + (r.accuracy ? fmt("%.6f", *r.accuracy) : "") + "," +
           (r.loss ? fmt("%.6f", *r.loss) : "") + ",,," + std::to_string(r.coordinator_round) +
           "," + (r.version ? std::to_string(*r.version) : "");
      end_row(r);
      continue;
    }
    s += std::to_string(r.round) + "," + std::to_string(r.available) + "," +
         std::to_string(r.cohort) + "," + std::to_string(r.dropped[0]) + "," +
         std::to_string(r.dropped[1]) + "," + std::to_string(r.dropped[2]) + "," +
         std::to_string(r.dropped[3]) + "," + std::to_string(r.stragglers) + "," +
         std::to_string(r.included) + "," + r.status + "," + std::to_string(r.degree) + "," +
         std::to_string(r.threshold) + "," + fmt("%.0f", r.total_weight) + "," +
         fmt("%.6f", r.train_loss) + "," + (r.accuracy ? fmt("%.6f", *r.accuracy) : "") + "," +
         (r.loss ? fmt("%.6f", *r.loss) : "") + "," + fmt("%.1f", r.bytes_up) + "," +
         fmt("%.1f", r.bytes_down) + "," + (r.version ? std::to_string(*r.version) : "") + "," +
         (r.version ? (r.published ? "1" : "0") : "") + "," + fmt("%.3f", r.sim_s);
    end_row(r);
  }
  return s;
}

std::string timings_csv(const RunResult& result) {
  std::string s = "round,wall_s,train_cpu_s,client_cpu_s,server_s,aggregate_s,eval_s\n";
  for (const RoundRecord& r : result.rounds)
    s += result.mode == RunMode::kNetwork  // only the wall and fl-sim's own evaluation
             ? std::to_string(r.round) + "," + fmt("%.4f", r.wall_s) + ",,,,," +
                   fmt("%.4f", r.eval_s) + "\n"
             : std::to_string(r.round) + "," + fmt("%.4f", r.wall_s) + "," +
                   fmt("%.4f", r.train_cpu_s) + "," + fmt("%.4f", r.client_cpu_s) + "," +
                   fmt("%.4f", r.server_s) + "," + fmt("%.4f", r.aggregate_s) + "," +
                   fmt("%.4f", r.eval_s) + "\n";
  return s;
}

std::optional<int> rounds_to_target(const RunResult& result, double target) {
  for (const RoundRecord& r : result.rounds)
    if (r.accuracy && *r.accuracy >= target) return r.round;
  return std::nullopt;
}

nlohmann::ordered_json summary_json(const Scenario& sc, const RunResult& result) {
  nlohmann::ordered_json j;
  j["scenario"] = sc.name;
  j["file"] = sc.file;
  j["seed"] = sc.seed;
  const bool network = result.mode == RunMode::kNetwork;
  j["mode"] = network ? "network" : "inprocess";
  j["data"] = result.data_name;
  j["model"] = result.model_description;
  j["parameters"] = result.num_params;
  j["clients"] = sc.clients;
  j["clients_per_round"] = sc.clients_per_round;
  j["secure_aggregation"] = sc.secagg.enabled;
  const model::PartitionSummary& p = result.partition;
  j["partition"] = {{"kind", model::partition_kind_name(sc.partition.kind)},
                    {"min_examples", p.min_size},
                    {"median_examples", p.median_size},
                    {"max_examples", p.max_size},
                    {"mean_classes_per_client", p.mean_classes},
                    {"mean_label_entropy_bits", p.mean_entropy_bits},
                    {"max_label_entropy_bits", p.max_entropy_bits},
                    {"mean_total_variation", p.mean_total_variation}};
  j["rounds"] = result.rounds.size();
  int completed = 0;
  double best = -1;
  int best_round = 0;
  double up = 0, down = 0, wall = 0, train = 0, client = 0, server = 0, agg = 0, eval = 0;
  for (const RoundRecord& r : result.rounds) {
    completed += r.status == "completed";
    if (r.accuracy && *r.accuracy > best) best = *r.accuracy, best_round = r.round;
    up += r.bytes_up;
    down += r.bytes_down;
    wall += r.wall_s;
    train += r.train_cpu_s;
    client += r.client_cpu_s;
    server += r.server_s;
    agg += r.aggregate_s;
    eval += r.eval_s;
  }
  const double n = std::max<double>(1.0, static_cast<double>(result.rounds.size()));
  j["rounds_completed"] = completed;
  if (!network) {  // the quality gate's decisions and the simulated time
    int published = 0;
    double sim = 0;
    for (const RoundRecord& r : result.rounds) {
      published += r.published;
      sim += r.sim_s;
    }
    j["versions_published"] = published;
    j["simulated_s"] = sim;
  }
  if (const RoundRecord* last = last_evaluated(result)) {
    j["final_accuracy"] = *last->accuracy;
    j["final_loss"] = *last->loss;
  }
  j["best_accuracy"] = best;
  j["best_round"] = best_round;
  if (sc.target_accuracy) {
    j["target_accuracy"] = *sc.target_accuracy;
    const auto hit = rounds_to_target(result, *sc.target_accuracy);
    j["rounds_to_target"] = hit ? nlohmann::ordered_json(*hit) : nlohmann::ordered_json();
    double until = 0;
    for (const RoundRecord& r : result.rounds)
      if (hit && r.round <= *hit) until += r.wall_s;
    j["wall_s_to_target"] = hit ? nlohmann::ordered_json(until) : nlohmann::ordered_json();
  }
  if (result.baseline) {
    j["baseline_accuracy"] = *result.baseline;
    j["baseline_source"] = result.baseline_source;
  }
  if (result.privacy)
    j["privacy"] = {{"epsilon", result.privacy->epsilon},
                    {"delta", result.privacy->delta},
                    {"mechanism", result.privacy->mechanism},
                    {"rounds_accounted", result.privacy->rounds}};
  j["bytes_up_per_client_round"] =
      network ? nlohmann::ordered_json() : nlohmann::ordered_json(up / n);
  j["bytes_down_per_client_round"] =
      network ? nlohmann::ordered_json() : nlohmann::ordered_json(down / n);
  j["total_wall_s"] = result.total_wall_s;
  j["setup_s"] = result.setup_s;
  j["round_wall_s_mean"] = wall / n;
  if (network) {
    j["round_parts_s_mean"] = {{"eval", eval / n}};
    j["network"] = {{"client_processes", sc.clients},
                    {"selected_per_round", network_selection_target(sc)}};
  } else {
    j["round_parts_s_mean"] = {{"train_cpu", train / n}, {"client_protocol_cpu", client / n},
                               {"server", server / n},   {"aggregate", agg / n},
                               {"eval", eval / n},       {"threads", sc.threads}};
  }
  return j;
}

Status write_reports(const Scenario& sc, const RunResult& result) {
  const std::filesystem::path dir(sc.output);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create '" + dir.string() + "': " + ec.message());
  FL_RETURN_IF_ERROR(write_file(dir / "rounds.csv", rounds_csv(result)));
  FL_RETURN_IF_ERROR(write_file(dir / "timings.csv", timings_csv(result)));
  FL_RETURN_IF_ERROR(write_file(dir / "summary.json", summary_json(sc, result).dump(2) + "\n"));
  AccuracyPlot plot;
  plot.title = sc.name + ": " + result.model_description + ", " +
               model::partition_kind_name(sc.partition.kind) + ", " +
               std::to_string(sc.clients_per_round) + " of " + std::to_string(sc.clients) +
               " clients per round" + (sc.secagg.enabled ? ", secure aggregation" : "");
  for (const RoundRecord& r : result.rounds) {
    if (r.accuracy) plot.points.emplace_back(r.round, *r.accuracy);
    if (r.epsilon) plot.epsilon.emplace_back(r.round, *r.epsilon);
  }
  if (result.privacy)
    plot.epsilon_label = "epsilon spent (" + result.privacy->mechanism + " DP, delta " +
                         fmt("%g", result.privacy->delta) + ")";
  plot.rounds = static_cast<int>(result.rounds.size());
  plot.baseline = result.baseline;
  plot.target = sc.target_accuracy;
  return write_file(dir / "accuracy.svg", accuracy_svg(plot));
}

std::string final_summary_text(const Scenario& sc, const RunResult& result) {
  const auto j = summary_json(sc, result);
  std::string s = "done: " + std::to_string(result.rounds.size()) + " rounds in " +
                  fmt("%.1f s", result.total_wall_s);
  if (j.contains("final_accuracy"))
    s += "; final accuracy " + fmt("%.4f", j["final_accuracy"].get<double>()) + ", best " +
         fmt("%.4f", j["best_accuracy"].get<double>()) + " (round " +
         std::to_string(j["best_round"].get<int>()) + ")";
  if (sc.target_accuracy) {
    s += "; target " + fmt("%.3f", *sc.target_accuracy) + " ";
    s += j["rounds_to_target"].is_null()
             ? std::string("not reached")
             : "reached in " + std::to_string(j["rounds_to_target"].get<int>()) + " rounds (" +
                   fmt("%.1f s", j["wall_s_to_target"].get<double>()) + ")";
  }
  if (result.baseline) s += "; baseline " + fmt("%.4f", *result.baseline);
  if (result.privacy)
    s += "; privacy: epsilon " + fmt("%.3g", result.privacy->epsilon) + " at delta " +
         fmt("%g", result.privacy->delta) + " after " + std::to_string(result.privacy->rounds) +
         " rounds (" + result.privacy->mechanism + ")";
  if (result.mode == RunMode::kNetwork) {
    s += "\nper round (mean): wall " + fmt("%.3f s", j["round_wall_s_mean"].get<double>()) +
         " with " + std::to_string(sc.clients) + " fl-client processes and fl-coordinator, eval " +
         fmt("%.3f s", j["round_parts_s_mean"]["eval"].get<double>()) + "\n";
    s += "wrote " + sc.output +
         "/{rounds.csv,timings.csv,summary.json,accuracy.svg}; process logs in " + sc.output +
         "/network/\n";
    return s;
  }
  s += "\nper round (mean): wall " + fmt("%.3f s", j["round_wall_s_mean"].get<double>()) +
       " = parts: train " + fmt("%.3f", j["round_parts_s_mean"]["train_cpu"].get<double>()) +
       " + client protocol " +
       fmt("%.3f", j["round_parts_s_mean"]["client_protocol_cpu"].get<double>()) + " cpu-s over " +
       std::to_string(sc.threads) + " threads, server " +
       fmt("%.3f s", j["round_parts_s_mean"]["server"].get<double>()) + ", aggregation " +
       fmt("%.3f s", j["round_parts_s_mean"]["aggregate"].get<double>()) + ", eval " +
       fmt("%.3f s", j["round_parts_s_mean"]["eval"].get<double>()) + "\n";
  s += "wrote " + sc.output + "/{rounds.csv,timings.csv,summary.json,accuracy.svg}\n";
  return s;
}

}  // namespace fl::sim
