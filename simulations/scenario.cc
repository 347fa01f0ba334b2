#include "simulations/scenario.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aggregation/quantization.h"
#include "aggregation/scaffold.h"
#include "aggregation/secagg/parameters.h"
#include "aggregation/secagg/session_config.h"
#include "aggregation/server_optimizer.h"
#include "base/yaml_reader.h"
#include "coordinator/service/config.h"

namespace fl::sim {
namespace {

using yaml::Range;
using yaml::Section;

const Range kProbability = Range::half_open(0, 1);

std::string directory_of(const std::string& file) {
  const auto parent = std::filesystem::path(file).parent_path();
  return parent.empty() ? "." : parent.string();
}

Status read_data(const Section& s, DataSpec& d) {
  FL_RETURN_IF_ERROR(s.expect_keys({"source", "dir", "train_limit", "test_limit", "n", "test_n",
                                    "dim", "classes", "separation"}));
  FL_RETURN_IF_ERROR(s.read_choice("source", d.source, {"fashion-mnist", "synthetic"}));
  FL_RETURN_IF_ERROR(s.read("dir", d.dir));
  FL_RETURN_IF_ERROR(s.read("train_limit", d.train_limit, Range::at_least(0)));
  FL_RETURN_IF_ERROR(s.read("test_limit", d.test_limit, Range::at_least(0)));
  FL_RETURN_IF_ERROR(s.read("n", d.n));
  FL_RETURN_IF_ERROR(s.read("test_n", d.test_n));
  FL_RETURN_IF_ERROR(s.read("dim", d.dim));
  FL_RETURN_IF_ERROR(s.read("classes", d.classes));
  FL_RETURN_IF_ERROR(s.read("separation", d.separation));
  if (d.source == "fashion-mnist") {
    if (!std::filesystem::is_directory(d.dir))
      return s.error("dir", "no such directory '" + d.dir +
                                "' (install Debian's dataset-fashion-mnist, or point data.dir at "
                                "the IDX files)");
    return Status::Ok();
  }
  // The synthetic generator's settings matter only when it is used.
  FL_RETURN_IF_ERROR(s.check("n", static_cast<double>(d.n), Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.check("test_n", static_cast<double>(d.test_n), Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.check("dim", d.dim, Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.check("classes", d.classes, Range::at_least(2)));
  return s.check("separation", d.separation, Range::above(0));
}

Status read_partition(const Section& s, model::PartitionSpec& p) {
  FL_RETURN_IF_ERROR(s.expect_keys(
      {"kind", "alpha", "shards_per_client", "sizes", "exponent", "beta", "min_examples"}));
  FL_RETURN_IF_ERROR(s.read_choice<model::PartitionKind>(
      "kind", p.kind,
      {{"iid", model::PartitionKind::kIid},
       {"dirichlet", model::PartitionKind::kDirichlet},
       {"shards", model::PartitionKind::kShards},
       {"quantity_skew", model::PartitionKind::kQuantitySkew}}));
  FL_RETURN_IF_ERROR(s.read("alpha", p.alpha, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read("shards_per_client", p.shards_per_client, Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.read_choice<model::QuantityDistribution>(
      "sizes", p.sizes,
      {{"power_law", model::QuantityDistribution::kPowerLaw},
       {"dirichlet", model::QuantityDistribution::kDirichlet}}));
  FL_RETURN_IF_ERROR(s.read("exponent", p.exponent, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read("beta", p.beta, Range::above(0)));
  return s.read("min_examples", p.min_examples, Range::at_least(0));
}

// clients, clients_per_round, rounds: after data and partition, which bound them.
Status read_population(const Section& top, Scenario& sc) {
  FL_RETURN_IF_ERROR(top.read("clients", sc.clients, Range::at_least(1)));
  FL_RETURN_IF_ERROR(top.read("clients_per_round", sc.clients_per_round, Range::at_least(1)));
  FL_RETURN_IF_ERROR(top.read("rounds", sc.rounds, Range::at_least(1)));
  if (sc.clients_per_round > sc.clients)
    return top.error("clients_per_round", "a round cannot select " +
                                              std::to_string(sc.clients_per_round) + " of only " +
                                              std::to_string(sc.clients) + " clients");
  const int64_t train_examples =
      sc.data.source == "synthetic"
          ? sc.data.n
          : (sc.data.train_limit > 0 ? std::min<int64_t>(sc.data.train_limit, 60000) : 60000);
  const int64_t each = std::max<int64_t>(sc.partition.min_examples, 1);
  if (sc.clients * each > train_examples)
    return top.error("clients", std::to_string(sc.clients) + " clients with at least " +
                                    std::to_string(each) + " examples each need more than the " +
                                    std::to_string(train_examples) + " training examples");
  if (sc.partition.kind == model::PartitionKind::kShards &&
      sc.clients * sc.partition.shards_per_client > train_examples)
    return top.error("clients", "more shards than training examples");
  return Status::Ok();
}

Status read_model(const Section& s, ModelSection& m) {
  FL_RETURN_IF_ERROR(s.expect_keys({"kind", "hidden", "activation"}));
  FL_RETURN_IF_ERROR(s.read_choice("kind", m.kind, {"softmax", "mlp"}));
  FL_RETURN_IF_ERROR(s.read("hidden", m.hidden));
  FL_RETURN_IF_ERROR(s.read_choice("activation", m.activation, {"relu", "tanh"}));
  if (m.kind == "mlp" && m.hidden.empty())
    return s.error("hidden", "an mlp needs at least one hidden layer");
  for (int h : m.hidden)
    if (h < 1) return s.error("hidden", "layer widths must be >= 1, got " + std::to_string(h));
  return Status::Ok();
}

Status read_local(const Section& s, LocalTrainingSpec& l) {
  FL_RETURN_IF_ERROR(
      s.expect_keys({"epochs", "batch_size", "lr", "lr_schedule", "lr_decay", "lr_min", "optimizer",
                     "momentum", "weight_decay", "fedprox_mu", "algorithm"}));
  FL_RETURN_IF_ERROR(s.read_choice("algorithm", l.algorithm, {"fedavg", "scaffold"}));
  FL_RETURN_IF_ERROR(
      s.read_choice("lr_schedule", l.lr_schedule, {"constant", "exponential", "cosine"}));
  FL_RETURN_IF_ERROR(s.read("lr_decay", l.lr_decay));
  FL_RETURN_IF_ERROR(s.read("lr_min", l.lr_min));
  FL_RETURN_IF_ERROR(s.read("epochs", l.epochs, Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.read("batch_size", l.batch_size, Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.read("lr", l.lr, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read_choice("optimizer", l.optimizer, {"sgd", "adam"}));
  FL_RETURN_IF_ERROR(s.read("momentum", l.momentum, kProbability));
  FL_RETURN_IF_ERROR(s.read("weight_decay", l.weight_decay, Range::at_least(0)));
  return s.read("fedprox_mu", l.fedprox_mu, Range::at_least(0));
}

// The optimiser itself judges the combination of its settings.
Status read_server(const Section& s, ServerSpec& v) {
  FL_RETURN_IF_ERROR(
      s.expect_keys({"optimizer", "server_lr", "momentum", "beta1", "beta2", "tau"}));
  FL_RETURN_IF_ERROR(s.read("optimizer", v.optimizer));
  FL_RETURN_IF_ERROR(s.read("server_lr", v.server_lr));
  FL_RETURN_IF_ERROR(s.read("momentum", v.momentum));
  FL_RETURN_IF_ERROR(s.read("beta1", v.beta1));
  FL_RETURN_IF_ERROR(s.read("beta2", v.beta2));
  FL_RETURN_IF_ERROR(s.read("tau", v.tau));
  auto config = server_optimizer_config(v);
  if (!config.ok()) return s.error("optimizer", config.status().message());
  auto opt = aggregation::ServerOptimizer::create(*config);
  if (!opt.ok()) return s.error("optimizer", opt.status().message());
  return Status::Ok();
}

Status read_dropout(const Section& s, DropoutSpec& d) {
  FL_RETURN_IF_ERROR(s.expect_keys({"before_advertise", "before_share_keys", "before_masked_input",
                                    "before_unmasking", "exact"}));
  FL_RETURN_IF_ERROR(s.read("before_advertise", d.before_advertise, kProbability));
  FL_RETURN_IF_ERROR(s.read("before_share_keys", d.before_share_keys, kProbability));
  FL_RETURN_IF_ERROR(s.read("before_masked_input", d.before_masked_input, kProbability));
  FL_RETURN_IF_ERROR(s.read("before_unmasking", d.before_unmasking, kProbability));
  return s.read("exact", d.exact);
}

Status read_stragglers(const Section& s, StragglerSpec& g) {
  FL_RETURN_IF_ERROR(s.expect_keys({"sigma", "seconds_per_example", "deadline_s"}));
  FL_RETURN_IF_ERROR(s.read("sigma", g.sigma, Range::at_least(0)));
  FL_RETURN_IF_ERROR(s.read("seconds_per_example", g.seconds_per_example, Range::above(0)));
  return s.read("deadline_s", g.deadline_s, Range::at_least(0));  // 0: no deadline
}

// Checks the quantisation headroom and the k/t rule now, for the configured
// cohort, rather than fail in round 1.
Status read_secagg(const Section& top, Scenario& sc) {
  const Section s = top.sub("secagg");
  SecAggSpec& a = sc.secagg;
  FL_RETURN_IF_ERROR(s.expect_keys({"enabled", "graph", "bits", "clip", "ring", "max_weight",
                                    "l2_clip", "expected_dropout", "corrupt_fraction", "threshold",
                                    "prg", "reveal_pair_seeds"}));
  FL_RETURN_IF_ERROR(s.read("enabled", a.enabled));
  FL_RETURN_IF_ERROR(s.read("reveal_pair_seeds", a.reveal_pair_seeds));
  FL_RETURN_IF_ERROR(s.read_choice<crypto::MaskPrg>(
      "prg", a.prg,
      {{"aes256ctr", crypto::MaskPrg::kAes256Ctr}, {"chacha20", crypto::MaskPrg::kChaCha20}}));
  FL_RETURN_IF_ERROR(s.read_choice("graph", a.graph, {"complete", "harary"}));
  FL_RETURN_IF_ERROR(s.read("bits", a.bits));
  FL_RETURN_IF_ERROR(s.read("clip", a.clip, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read_choice<uint32_t>("ring", a.ring, {{"32", 32}, {"64", 64}}));
  FL_RETURN_IF_ERROR(s.read("max_weight", a.max_weight));
  FL_RETURN_IF_ERROR(s.read("l2_clip", a.l2_clip, Range::at_least(0)));
  FL_RETURN_IF_ERROR(s.read("expected_dropout", a.expected_dropout, kProbability));
  FL_RETURN_IF_ERROR(s.read("corrupt_fraction", a.corrupt_fraction, Range::half_open(0, 0.5)));
  FL_RETURN_IF_ERROR(s.read("threshold", a.threshold));
  if (!a.enabled) return Status::Ok();
  if (sc.clients_per_round < 2)
    return top.error("clients_per_round", "secure aggregation needs at least 2 clients per round");
  if (a.threshold > sc.clients_per_round)
    return s.error("threshold", "threshold " + std::to_string(a.threshold) +
                                    " is larger than the cohort of " +
                                    std::to_string(sc.clients_per_round) + " clients per round");
  aggregation::QuantizationConfig q = quantization_config(a, 1);
  if (auto st = aggregation::check_quantization(q, static_cast<uint64_t>(sc.clients_per_round));
      !st.ok())
    return s.error("bits", st.message());
  auto params = protocol_parameters(sc, static_cast<uint64_t>(sc.clients_per_round));
  if (!params.ok())
    return s.error(a.expected_dropout ? "expected_dropout" : "graph", params.status().message());
  std::vector<uint64_t> cohort;
  for (int64_t i = 0; i < sc.clients_per_round; ++i) cohort.push_back(static_cast<uint64_t>(i + 1));
  crypto::Key32 session{};
  auto config = aggregation::secagg::SessionConfig::create(aggregation::secagg::make_config(
      session, cohort, *params, 1, a.ring == 32 ? crypto::RingBits::k32 : crypto::RingBits::k64,
      a.prg));
  if (!config.ok()) return s.error(a.threshold ? "threshold" : "graph", config.status().message());
  return Status::Ok();
}

// A number in (0, 1], none, centralized, or an fl-train --json file (relative
// to the scenario's directory when not found as given).
Status read_baseline(const Section& top, Scenario& sc) {
  FL_RETURN_IF_ERROR(top.read("baseline", sc.baseline));
  if (sc.baseline == "none" || sc.baseline == "centralized") return Status::Ok();
  char* end = nullptr;
  const double v = std::strtod(sc.baseline.c_str(), &end);
  if (end && *end == '\0' && end != sc.baseline.c_str())
    return top.check("baseline", v, Range::left_open(0, 1));
  std::string path = sc.baseline;
  if (!std::filesystem::exists(path) && std::filesystem::path(path).is_relative())
    path = directory_of(sc.file) + "/" + sc.baseline;
  auto acc = read_baseline_file(path);
  if (!acc.ok())
    return top.error("baseline",
                     "expected an accuracy, none, centralized or an fl-train --json "
                     "file: " +
                         acc.status().message());
  sc.baseline = path;
  return Status::Ok();
}

Status read_network(const Section& s, Scenario& sc) {
  NetworkSpec& n = sc.network;
  FL_RETURN_IF_ERROR(s.expect_keys(
      {"over_selection", "min_cohort", "stage_timeout_s", "masked_input_timeout_s", "timeout_s"}));
  FL_RETURN_IF_ERROR(s.read("over_selection", n.over_selection, Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.read("min_cohort", n.min_cohort));
  FL_RETURN_IF_ERROR(s.read("stage_timeout_s", n.stage_timeout_s, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read("masked_input_timeout_s", n.masked_input_timeout_s, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read("timeout_s", n.timeout_s, Range::above(0)));
  if (sc.mode != RunMode::kNetwork) return Status::Ok();
  const int64_t selected = network_selection_target(sc);
  if (selected > sc.clients)
    return s.error("over_selection", "selecting ceil(" + std::to_string(sc.clients_per_round) +
                                         " x " + yaml::format_number(n.over_selection) +
                                         ") = " + std::to_string(selected) +
                                         " clients needs that many, but the scenario has " +
                                         std::to_string(sc.clients));
  const int64_t min_cohort = n.min_cohort > 0 ? n.min_cohort : sc.clients_per_round;
  if (min_cohort < 2 || min_cohort > selected)
    return s.error("min_cohort", "must be in [2, " + std::to_string(selected) + "], got " +
                                     std::to_string(min_cohort));
  return Status::Ok();
}

// What network mode cannot do, refused at the key that asks for it. Real
// processes have no per-round drop points or simulated compute speeds
// (fl-client's --stall-after hook stalls a process for good, which is not a
// per-round probability), and every process stays online; the coordinator
// always runs secure aggregation; fl-client loads its own data, and synthetic
// data exists only inside fl-sim.
Status reject_for_network_mode(const Section& top, const Scenario& sc) {
  const std::string why = "not supported in network mode (see simulations/scenarios/README.md)";
  for (const char* section : {"dropout", "stragglers"}) {
    const std::vector<std::string> keys = top.sub(section).keys();
    if (keys.empty()) continue;
    return top.sub(section).error(
        keys.front(), why + ": real client processes have no simulated " +
                          (std::string(section) == "dropout" ? "per-stage dropout"
                                                             : "compute speed or deadline"));
  }
  if (top.has("coordinator"))
    return top.error("coordinator",
                     why + ": the coordinator's selection and deadlines are network.*");
  if (top.has("availability"))
    return top.error("availability", why + ": every fl-client process stays online");
  if (!sc.secagg.enabled)
    return top.sub("secagg").error("enabled",
                                   why + ": fl-coordinator always runs secure aggregation");
  if (sc.local.algorithm == "scaffold")
    return top.sub("local").error(
        "algorithm", why + ": fl-client processes (the SDK) keep no control variate yet");
  if (sc.data.source != "fashion-mnist")
    return top.sub("data").error(
        "source", why + ": fl-client processes load their own data, so it must be fashion-mnist " +
                      "(synthetic data exists only inside fl-sim)");
  return Status::Ok();
}

// dp: as the coordinator's population dp section (coordinator/service/config.h).
Status read_dp(const Section& top, Scenario& sc) {
  const Section s = top.sub("dp");
  aggregation::dp::DpConfig& dp = sc.dp;
  dp.population_size = static_cast<uint64_t>(std::max<int64_t>(sc.clients, 0));
  FL_RETURN_IF_ERROR(coordinator::read_dp_section(s, dp));
  if (!dp.enabled()) return Status::Ok();
  if (dp.sampling_rate == 0 && dp.population_size > 0)
    dp.sampling_rate =
        static_cast<double>(sc.clients_per_round) / static_cast<double>(dp.population_size);
  if (Status st = aggregation::dp::check_dp_config(dp); !st.ok()) {
    const std::string& m = st.message();  // "dp.KEY: why"
    const auto colon = m.find(": ");
    const std::string key = colon == std::string::npos ? "mode" : m.substr(3, colon - 3);
    return s.error(key, colon == std::string::npos ? m : m.substr(colon + 2));
  }
  if (dp.adaptive && dp.mode == aggregation::dp::DpMode::kDistributed)
    return s.error("adaptive_clipping",
                   "is supported with mode central only: the distributed mechanism's accounting "
                   "of the clipped-count bit is not implemented");
  if (sc.secagg.l2_clip != 0)
    return top.sub("secagg").error("l2_clip",
                                   "leave it out when dp is on: dp.clip is the clients' L2 clip");
  return Status::Ok();
}

// coordinator: the RoundEngine's population settings (EngineSpec).
Status read_engine_section(const Section& top, Scenario& sc) {
  const Section s = top.sub("coordinator");
  EngineSpec& e = sc.coordinator;
  FL_RETURN_IF_ERROR(s.expect_keys({"over_selection", "min_cohort", "deadlines_s", "gate"}));
  FL_RETURN_IF_ERROR(s.read("over_selection", e.over_selection, Range::closed(1, 10)));
  FL_RETURN_IF_ERROR(s.read("min_cohort", e.min_cohort));
  const Section d = s.sub("deadlines_s");
  FL_RETURN_IF_ERROR(d.expect_keys({"selection", "advertise_keys", "share_keys", "unmasking"}));
  const Range deadline = Range::at_least(0.001);
  FL_RETURN_IF_ERROR(d.read("selection", e.selection_s, deadline));
  FL_RETURN_IF_ERROR(d.read("advertise_keys", e.advertise_keys_s, deadline));
  FL_RETURN_IF_ERROR(d.read("share_keys", e.share_keys_s, deadline));
  FL_RETURN_IF_ERROR(d.read("unmasking", e.unmasking_s, deadline));
  const Section g = s.sub("gate");
  FL_RETURN_IF_ERROR(g.expect_keys({"metric", "higher_is_better", "tolerance", "require_metric"}));
  FL_RETURN_IF_ERROR(
      g.read_choice("metric", e.gate_metric, {"accuracy", "precision", "recall", "f1", "loss"}));
  FL_RETURN_IF_ERROR(g.read("higher_is_better", e.gate_higher_is_better));
  FL_RETURN_IF_ERROR(g.read("tolerance", e.gate_tolerance, Range::at_least(0)));
  FL_RETURN_IF_ERROR(g.read("require_metric", e.gate_require_metric));
  const double target =
      std::ceil(static_cast<double>(sc.clients_per_round) * e.over_selection - 1e-9);
  if (s.has("min_cohort") && (e.min_cohort < 2 || static_cast<double>(e.min_cohort) > target))
    return s.error("min_cohort", "must be in [2, ceil(clients_per_round x over_selection) = " +
                                     std::to_string(static_cast<int64_t>(target)) + "], got " +
                                     std::to_string(e.min_cohort));
  return Status::Ok();
}

// What the in-process run cannot honour now that it drives the coordinator's
// RoundEngine: the engine always runs secure aggregation and scores every new
// version for the quality gate.
Status reject_for_engine(const Section& top, const Scenario& sc) {
  const std::string why = "not supported in-process: the run drives the coordinator's RoundEngine";
  if (!sc.secagg.enabled)
    return top.sub("secagg").error("enabled", why + ", which always runs secure aggregation");
  if (sc.eval_every != 1)
    return top.sub("evaluation")
        .error("every",
               why + ", which scores every new version (the quality gate judges each one)");
  return Status::Ok();
}

// SCAFFOLD's refusals (aggregation/scaffold.h, as the coordinator's
// find_population_problem gives them), with this file's keys and lines.
Status check_scaffold(const Section& top, const Scenario& sc) {
  if (sc.local.algorithm != "scaffold") return Status::Ok();
  if (std::string why = aggregation::scaffold_refusal(sc.dp.enabled(), 0, sc.local.optimizer);
      !why.empty())
    return top.sub("local").error("algorithm", why);
  if (std::string why = aggregation::scaffold_refusal(false, sc.secagg.l2_clip, "sgd");
      !why.empty())
    return top.sub("secagg").error("l2_clip", why);
  return Status::Ok();
}

Status read_scenario(const Section& top, Scenario& sc) {
  FL_RETURN_IF_ERROR(top.expect_keys(
      {"name",     "description",       "seed",         "mode",    "data",       "partition",
       "clients",  "clients_per_round", "rounds",       "model",   "local",      "server",
       "dropout",  "stragglers",        "availability", "secagg",  "evaluation", "target_accuracy",
       "baseline", "baseline_epochs",   "output",       "threads", "network",    "coordinator",
       "dp"}));
  FL_RETURN_IF_ERROR(top.read("name", sc.name));
  if (sc.name.empty()) return top.error("name", "every scenario needs a name");
  std::string description;
  FL_RETURN_IF_ERROR(top.read("description", description));
  FL_RETURN_IF_ERROR(top.read("seed", sc.seed));
  FL_RETURN_IF_ERROR(top.read_choice<RunMode>(
      "mode", sc.mode, {{"inprocess", RunMode::kInProcess}, {"network", RunMode::kNetwork}}));
  FL_RETURN_IF_ERROR(read_data(top.sub("data"), sc.data));
  FL_RETURN_IF_ERROR(read_partition(top.sub("partition"), sc.partition));
  FL_RETURN_IF_ERROR(read_population(top, sc));
  FL_RETURN_IF_ERROR(read_model(top.sub("model"), sc.model));
  FL_RETURN_IF_ERROR(read_local(top.sub("local"), sc.local));
  if (auto bad = model::check_round_lr_schedule(local_lr_schedule(sc)))
    return bad->key == "rounds" ? top.error("rounds", bad->why)
                                : top.sub("local").error(bad->key, bad->why);
  FL_RETURN_IF_ERROR(read_server(top.sub("server"), sc.server));
  FL_RETURN_IF_ERROR(read_dropout(top.sub("dropout"), sc.dropout));
  FL_RETURN_IF_ERROR(read_stragglers(top.sub("stragglers"), sc.stragglers));
  FL_RETURN_IF_ERROR(top.read("availability", sc.availability, Range::left_open(0, 1)));
  FL_RETURN_IF_ERROR(read_secagg(top, sc));
  const Section evaluation = top.sub("evaluation");
  FL_RETURN_IF_ERROR(evaluation.expect_keys({"every"}));
  FL_RETURN_IF_ERROR(evaluation.read("every", sc.eval_every, Range::at_least(1)));
  FL_RETURN_IF_ERROR(top.read("target_accuracy", sc.target_accuracy, Range::left_open(0, 1)));
  FL_RETURN_IF_ERROR(read_baseline(top, sc));
  FL_RETURN_IF_ERROR(top.read("baseline_epochs", sc.baseline_epochs, Range::at_least(1)));
  FL_RETURN_IF_ERROR(top.read("output", sc.output));
  if (sc.output.empty()) sc.output = "results/" + sc.name;
  FL_RETURN_IF_ERROR(top.read("threads", sc.threads, Range::closed(1, 256)));
  FL_RETURN_IF_ERROR(read_network(top.sub("network"), sc));
  FL_RETURN_IF_ERROR(read_engine_section(top, sc));
  FL_RETURN_IF_ERROR(read_dp(top, sc));
  FL_RETURN_IF_ERROR(check_scaffold(top, sc));
  if (sc.mode == RunMode::kNetwork) return reject_for_network_mode(top, sc);
  return reject_for_engine(top, sc);
}

}  // namespace

int64_t network_selection_target(const Scenario& sc) {
  // As fl-coordinator's PopulationConfig::selection_target.
  return static_cast<int64_t>(
      std::ceil(static_cast<double>(sc.clients_per_round) * sc.network.over_selection - 1e-9));
}

double DropoutSpec::total() const {
  return 1.0 - (1.0 - before_advertise) * (1.0 - before_share_keys) * (1.0 - before_masked_input) *
                   (1.0 - before_unmasking);
}

Result<aggregation::ServerOptimizerConfig> server_optimizer_config(const ServerSpec& spec) {
  static const std::map<std::string, proto::ServerOptimizerKind> kinds = {
      {"fedavg", proto::SERVER_OPTIMIZER_KIND_FEDAVG},
      {"fedavgm", proto::SERVER_OPTIMIZER_KIND_FEDAVGM},
      {"fedadagrad", proto::SERVER_OPTIMIZER_KIND_FEDADAGRAD},
      {"fedadam", proto::SERVER_OPTIMIZER_KIND_FEDADAM},
      {"fedyogi", proto::SERVER_OPTIMIZER_KIND_FEDYOGI}};
  auto it = kinds.find(spec.optimizer);
  if (it == kinds.end())
    return InvalidArgument("must be one of fedavg, fedavgm, fedadagrad, fedadam, fedyogi, got '" +
                           spec.optimizer + "'");
  aggregation::ServerOptimizerConfig c;
  c.set_kind(it->second);
  if (spec.server_lr) c.set_server_lr(*spec.server_lr);
  if (spec.momentum) c.set_momentum(*spec.momentum);
  if (spec.beta1) c.set_beta1(*spec.beta1);
  if (spec.beta2) c.set_beta2(*spec.beta2);
  if (spec.tau) c.set_tau(*spec.tau);
  return c;
}

model::RoundLrSchedule local_lr_schedule(const Scenario& sc) {
  model::RoundLrSchedule s;
  auto kind = model::parse_round_lr_schedule(sc.local.lr_schedule);
  if (kind.ok()) s.kind = *kind;
  s.lr = sc.local.lr;
  s.lr_decay = sc.local.lr_decay;
  s.lr_min = sc.local.lr_min;
  s.rounds = static_cast<uint32_t>(std::max(sc.rounds, 0));
  return s;
}

aggregation::QuantizationConfig quantization_config(const SecAggSpec& spec, uint64_t max_weight) {
  aggregation::QuantizationConfig q;
  q.clip = spec.clip;
  q.bits = spec.bits;
  q.ring = spec.ring == 64 ? crypto::RingBits::k64 : crypto::RingBits::k32;
  q.max_weight = spec.max_weight > 0 ? spec.max_weight : max_weight;
  return q;
}

double expected_dropout(const Scenario& sc) {
  if (sc.secagg.expected_dropout) return *sc.secagg.expected_dropout;
  const double margin = sc.stragglers.deadline_s > 0 ? 0.15 : 0.05;
  return std::min(0.9, std::max(0.1, sc.dropout.total() + margin));
}

Result<aggregation::secagg::ProtocolParameters> protocol_parameters(const Scenario& sc,
                                                                    uint64_t n) {
  aggregation::secagg::ParameterInputs in;
  in.cohort_size = n;
  in.dropout_fraction = expected_dropout(sc);
  in.corrupt_fraction = sc.secagg.corrupt_fraction;
  in.graph = sc.secagg.graph == "complete" ? aggregation::secagg::GraphKind::kComplete
                                           : aggregation::secagg::GraphKind::kHarary;
  auto params = aggregation::secagg::choose_parameters(in);
  if (!params.ok()) return params.status();
  if (sc.secagg.threshold > 0) {
    if (sc.secagg.threshold > n)
      return InvalidArgument("threshold " + std::to_string(sc.secagg.threshold) +
                             " is larger than the cohort of " + std::to_string(n));
    params->threshold = sc.secagg.threshold;
  }
  return params;
}

Result<double> read_baseline_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read '" + path + "'");
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.contains("test") && j["test"].contains("accuracy"))
      return j["test"]["accuracy"].get<double>();
    if (j.contains("accuracy")) return j["accuracy"].get<double>();
    return InvalidArgument("'" + path + "' has no test.accuracy");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("'" + path + "' is not JSON: " + e.what());
  }
}

Result<Override> parse_override(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return InvalidArgument("--set expects key=value, got '" + text + "'");
  Override o{text.substr(0, eq), text.substr(eq + 1)};
  std::stringstream parts(o.key);
  for (std::string part; std::getline(parts, part, '.');)
    if (part.empty()) return InvalidArgument("--set: empty part in key '" + o.key + "'");
  return o;
}

Result<Scenario> parse_scenario(const std::string& yaml, const std::string& file,
                                const std::vector<Override>& overrides) {
  auto doc = yaml::Document::parse(yaml, file);
  if (!doc.ok()) return doc.status();
  for (const Override& o : overrides) FL_RETURN_IF_ERROR(doc->set(o.key, o.value));
  Scenario sc;
  sc.file = file;
  // Errors are values: the YAML layer throws nothing, and neither may the
  // checks above (optimisers, secure aggregation parameters) end fl-sim.
  try {
    FL_RETURN_IF_ERROR(read_scenario(doc->root(), sc));
  } catch (const std::exception& e) {
    return InvalidArgument(file + ": " + e.what());
  }
  return sc;
}

Result<Scenario> load_scenario(const std::string& path, const std::vector<Override>& overrides) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read scenario file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path, overrides);
}

}  // namespace fl::sim
