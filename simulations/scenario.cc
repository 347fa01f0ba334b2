#include "simulations/scenario.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "aggregation/quantization.h"
#include "aggregation/secagg/parameters.h"
#include "aggregation/secagg/session_config.h"
#include "aggregation/server_optimizer.h"

namespace fl::sim {
namespace {

// Thrown inside this file only, caught in parse_scenario and turned into a Status.
struct ScenarioError {
  std::string message;
};

class Reader {
 public:
  Reader(std::string file, std::map<std::string, std::string> overrides)
      : file_(std::move(file)), overrides_(std::move(overrides)) {}

  // "file:12:3" for a node read from the file, "--set k=v" for an override.
  std::string where(const YAML::Node& node, const std::string& key) const {
    for (const auto& [k, v] : overrides_)
      if (key == k || key.rfind(k + ".", 0) == 0 || k.rfind(key + ".", 0) == 0)
        return file_ + ": --set " + k + "=" + v;
    if (!node.IsDefined() || node.Mark().is_null()) return file_;
    return file_ + ":" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    throw ScenarioError{where(node, key) + ": " + key + ": " + message};
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::map<std::string, std::string> overrides_;
};

std::string describe_node(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "'" + n.Scalar() + "'";
}

// One YAML map: typed reads that remember which keys were used, so finish()
// can name any key the scenario format does not have.
class Section {
 public:
  Section(const Reader& reader, const YAML::Node& node, std::string prefix)
      : reader_(reader), node_(node), prefix_(std::move(prefix)) {
    if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap())
      reader_.fail(node_, prefix_.empty() ? "(top level)" : prefix_,
                   "expected a map of keys, got " + describe_node(node_));
  }

  std::string key_path(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
  }
  // The value at `key`, or a null node when the key is absent.
  YAML::Node get(const std::string& key) {
    used_.insert(key);
    if (!has(key)) return YAML::Node();
    return node_[key];
  }
  // Marks `key` as known; false when it is absent (the default stays).
  bool take(const std::string& key, YAML::Node& n) {
    used_.insert(key);
    if (!has(key)) return false;
    n = node_[key];
    return true;
  }
  bool has(const std::string& key) const { return node_.IsMap() && node_[key].IsDefined(); }
  YAML::Node mark_of(const std::string& key) const {
    return node_.IsMap() && node_[key].IsDefined() ? node_[key] : node_;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    reader_.fail(mark_of(key), key_path(key), message);
  }

  void read(const std::string& key, std::string& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    if (!n.IsScalar()) fail(key, "expected a string, got " + describe_node(n));
    out = n.Scalar();
  }
  void read(const std::string& key, bool& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
      fail(key, "expected true or false, got " + describe_node(n));
    out = v;
  }
  void read(const std::string& key, double& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
      fail(key, "expected a number, got " + describe_node(n));
    out = v;
  }
  void read(const std::string& key, std::optional<double>& out) {
    if (!has(key)) {
      used_.insert(key);
      return;
    }
    double v = 0;
    read(key, v);
    out = v;
  }
  void read(const std::string& key, int64_t& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    out = integer(key, n);
  }
  void read(const std::string& key, int& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    const int64_t v = integer(key, n);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      fail(key, "out of range");
    out = static_cast<int>(v);
  }
  void read(const std::string& key, uint32_t& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    const int64_t v = integer(key, n);
    if (v < 0 || v > std::numeric_limits<uint32_t>::max())
      fail(key, "must be a non-negative integer, got " + std::to_string(v));
    out = static_cast<uint32_t>(v);
  }
  void read(const std::string& key, uint64_t& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    const int64_t v = integer(key, n);
    if (v < 0) fail(key, "must be a non-negative integer, got " + std::to_string(v));
    out = static_cast<uint64_t>(v);
  }
  void read(const std::string& key, std::vector<int>& out) {
    YAML::Node n;
    if (!take(key, n)) return;
    out.clear();
    if (n.IsScalar()) {
      out.push_back(static_cast<int>(integer(key, n)));
      return;
    }
    if (!n.IsSequence()) fail(key, "expected a list of integers, got " + describe_node(n));
    for (const auto& item : n) out.push_back(static_cast<int>(integer(key, item)));
  }

  // Every key present must have been read.
  void finish() const {
    if (!node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string key = kv.first.Scalar();
      if (used_.count(key)) continue;
      std::string known;
      for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
      reader_.fail(kv.first, key_path(key), "unknown key (expected one of: " + known + ")");
    }
  }

  // Range checks, named after the key.
  template <typename T>
  void require(const std::string& key, bool ok, const std::string& rule, T value) const {
    if (ok) return;
    std::ostringstream s;
    s << rule << ", got " << value;
    fail(key, s.str());
  }

 private:
  int64_t integer(const std::string& key, const YAML::Node& n) const {
    int64_t v = 0;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v))
      reader_.fail(n, key_path(key), "expected an integer, got " + describe_node(n));
    return v;
  }

  const Reader& reader_;
  YAML::Node node_;
  std::string prefix_;
  std::set<std::string> used_;
};

template <typename E>
E choose(Section& s, const std::string& key, const std::string& value,
         const std::vector<std::pair<std::string, E>>& options) {
  std::string names;
  for (const auto& [name, e] : options) {
    if (name == value) return e;
    names += (names.empty() ? "" : ", ") + name;
  }
  s.fail(key, "must be one of " + names + ", got '" + value + "'");
}

void one_of(Section& s, const std::string& key, const std::string& value,
            const std::vector<std::string>& options) {
  std::vector<std::pair<std::string, int>> o;
  for (const auto& name : options) o.emplace_back(name, 0);
  choose(s, key, value, o);
}

bool probability(double p) { return p >= 0 && p < 1; }

// Applies key=value at a dotted path, creating maps on the way.
void set_path(YAML::Node node, const std::vector<std::string>& parts, size_t i,
              const YAML::Node& value, const std::string& key, const std::string& file) {
  if (i + 1 == parts.size()) {
    node[parts[i]] = value;
    return;
  }
  YAML::Node child = node[parts[i]];
  if (!child.IsDefined() || child.IsNull()) {
    node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    child = node[parts[i]];
  } else if (!child.IsMap()) {
    throw ScenarioError{file + ": --set " + key + ": '" + parts[i] + "' is not a map"};
  }
  set_path(child, parts, i + 1, value, key, file);
}

std::string directory_of(const std::string& file) {
  const auto parent = std::filesystem::path(file).parent_path();
  return parent.empty() ? "." : parent.string();
}

// What network mode cannot do, refused at the key that asks for it. Real
// processes have no per-round drop points or simulated compute speeds
// (fl-client's --stall-after hook stalls a process for good, which is not a
// per-round probability), and every process stays online; the coordinator
// always runs secure aggregation; fl-client loads its own data, and synthetic
// data exists only inside fl-sim.
void reject_for_network_mode(const YAML::Node& root, const Reader& reader, const Scenario& sc) {
  const std::string why = "not supported in network mode (see simulations/scenarios/README.md)";
  for (const char* section : {"dropout", "stragglers"}) {
    const YAML::Node node = root[section];
    if (!node.IsDefined() || node.IsNull()) continue;
    if (node.IsMap() && node.size() > 0) {
      const auto first = node.begin();
      reader.fail(first->first, std::string(section) + "." + first->first.Scalar(),
                  why + ": real client processes have no simulated " +
                      (std::string(section) == "dropout" ? "per-stage dropout"
                                                         : "compute speed or deadline"));
    }
    reader.fail(node, section, why);
  }
  if (root["coordinator"].IsDefined())
    reader.fail(root["coordinator"], "coordinator",
                why + ": the coordinator's selection and deadlines are network.*");
  if (root["availability"].IsDefined())
    reader.fail(root["availability"], "availability",
                why + ": every fl-client process stays online");
  if (!sc.secagg.enabled)
    reader.fail(root["secagg"]["enabled"], "secagg.enabled",
                why + ": fl-coordinator always runs secure aggregation");
  if (sc.data.source != "fashion-mnist") {
    const YAML::Node data = root["data"];
    const YAML::Node source =
        data.IsDefined() && data.IsMap() && data["source"].IsDefined() ? data["source"] : data;
    reader.fail(source, "data.source",
                why + ": fl-client processes load their own data, so it must be fashion-mnist " +
                    "(synthetic data exists only inside fl-sim)");
  }
}

// coordinator: the RoundEngine's population settings (EngineSpec).
void read_engine_section(Section& top, const Reader& reader, Scenario& sc) {
  Section s(reader, top.get("coordinator"), "coordinator");
  EngineSpec& e = sc.coordinator;
  s.read("over_selection", e.over_selection);
  s.read("min_cohort", e.min_cohort);
  {
    Section d(reader, s.get("deadlines_s"), "coordinator.deadlines_s");
    d.read("selection", e.selection_s);
    d.read("advertise_keys", e.advertise_keys_s);
    d.read("share_keys", e.share_keys_s);
    d.read("unmasking", e.unmasking_s);
    d.finish();
    for (const auto& [key, v] :
         {std::pair{"selection", e.selection_s}, std::pair{"advertise_keys", e.advertise_keys_s},
          std::pair{"share_keys", e.share_keys_s}, std::pair{"unmasking", e.unmasking_s}})
      d.require(key, v >= 0.001, "a deadline must be at least 0.001 s", v);
  }
  {
    Section g(reader, s.get("gate"), "coordinator.gate");
    g.read("metric", e.gate_metric);
    one_of(g, "metric", e.gate_metric, {"accuracy", "precision", "recall", "f1", "loss"});
    g.read("higher_is_better", e.gate_higher_is_better);
    g.read("tolerance", e.gate_tolerance);
    g.read("require_metric", e.gate_require_metric);
    g.finish();
    g.require("tolerance", e.gate_tolerance >= 0, "must be >= 0", e.gate_tolerance);
  }
  s.finish();
  s.require("over_selection", e.over_selection >= 1 && e.over_selection <= 10, "must be in [1, 10]",
            e.over_selection);
  const double target =
      std::ceil(static_cast<double>(sc.clients_per_round) * e.over_selection - 1e-9);
  if (s.has("min_cohort") && (e.min_cohort < 2 || static_cast<double>(e.min_cohort) > target))
    s.fail("min_cohort", "must be in [2, ceil(clients_per_round x over_selection) = " +
                             std::to_string(static_cast<int64_t>(target)) + "], got " +
                             std::to_string(e.min_cohort));
}

// What the in-process run cannot honour now that it drives the coordinator's
// RoundEngine: the engine always runs secure aggregation and scores every new
// version for the quality gate.
void reject_for_engine(const YAML::Node& root, const Reader& reader, const Scenario& sc) {
  const std::string why = "not supported in-process: the run drives the coordinator's RoundEngine";
  if (!sc.secagg.enabled)
    reader.fail(root["secagg"]["enabled"], "secagg.enabled",
                why + ", which always runs secure aggregation");
  if (sc.eval_every != 1)
    reader.fail(root["evaluation"]["every"], "evaluation.every",
                why + ", which scores every new version (the quality gate judges each one)");
}

Scenario read_scenario(const YAML::Node& root, const Reader& reader) {
  Scenario sc;
  sc.file = reader.file();
  if (!root.IsDefined() || root.IsNull()) throw ScenarioError{sc.file + ": the scenario is empty"};
  Section top(reader, root, "");

  top.read("name", sc.name);
  if (sc.name.empty()) top.fail("name", "every scenario needs a name");
  std::string description;
  top.read("description", description);
  top.read("seed", sc.seed);
  std::string mode = "inprocess";
  top.read("mode", mode);
  sc.mode = choose<RunMode>(top, "mode", mode,
                            {{"inprocess", RunMode::kInProcess}, {"network", RunMode::kNetwork}});

  // data
  {
    Section s(reader, top.get("data"), "data");
    DataSpec& d = sc.data;
    s.read("source", d.source);
    one_of(s, "source", d.source, {"fashion-mnist", "synthetic"});
    s.read("dir", d.dir);
    s.read("train_limit", d.train_limit);
    s.read("test_limit", d.test_limit);
    s.read("n", d.n);
    s.read("test_n", d.test_n);
    s.read("dim", d.dim);
    s.read("classes", d.classes);
    s.read("separation", d.separation);
    s.finish();
    s.require("train_limit", d.train_limit >= 0, "must be >= 0", d.train_limit);
    s.require("test_limit", d.test_limit >= 0, "must be >= 0", d.test_limit);
    if (d.source == "fashion-mnist") {
      if (!std::filesystem::is_directory(d.dir))
        s.fail("dir", "no such directory '" + d.dir +
                          "' (install Debian's dataset-fashion-mnist, or point data.dir at the "
                          "IDX files)");
    } else {
      s.require("n", d.n >= 1, "must be >= 1", d.n);
      s.require("test_n", d.test_n >= 1, "must be >= 1", d.test_n);
      s.require("dim", d.dim >= 1, "must be >= 1", d.dim);
      s.require("classes", d.classes >= 2, "must be >= 2", d.classes);
      s.require("separation", d.separation > 0, "must be > 0", d.separation);
    }
  }

  // partition
  {
    Section s(reader, top.get("partition"), "partition");
    model::PartitionSpec& p = sc.partition;
    std::string kind = "iid", sizes = "power_law";
    s.read("kind", kind);
    p.kind = choose<model::PartitionKind>(s, "kind", kind,
                                          {{"iid", model::PartitionKind::kIid},
                                           {"dirichlet", model::PartitionKind::kDirichlet},
                                           {"shards", model::PartitionKind::kShards},
                                           {"quantity_skew", model::PartitionKind::kQuantitySkew}});
    s.read("alpha", p.alpha);
    s.read("shards_per_client", p.shards_per_client);
    s.read("sizes", sizes);
    p.sizes = choose<model::QuantityDistribution>(
        s, "sizes", sizes,
        {{"power_law", model::QuantityDistribution::kPowerLaw},
         {"dirichlet", model::QuantityDistribution::kDirichlet}});
    s.read("exponent", p.exponent);
    s.read("beta", p.beta);
    s.read("min_examples", p.min_examples);
    s.finish();
    s.require("alpha", p.alpha > 0, "must be > 0", p.alpha);
    s.require("shards_per_client", p.shards_per_client >= 1, "must be >= 1", p.shards_per_client);
    s.require("exponent", p.exponent > 0, "must be > 0", p.exponent);
    s.require("beta", p.beta > 0, "must be > 0", p.beta);
    s.require("min_examples", p.min_examples >= 0, "must be >= 0", p.min_examples);
  }

  top.read("clients", sc.clients);
  top.read("clients_per_round", sc.clients_per_round);
  top.read("rounds", sc.rounds);
  top.require("clients", sc.clients >= 1, "must be >= 1", sc.clients);
  top.require("clients_per_round", sc.clients_per_round >= 1, "must be >= 1", sc.clients_per_round);
  if (sc.clients_per_round > sc.clients)
    top.fail("clients_per_round", "a round cannot select " + std::to_string(sc.clients_per_round) +
                                      " of only " + std::to_string(sc.clients) + " clients");
  top.require("rounds", sc.rounds >= 1, "must be >= 1", sc.rounds);
  {
    const int64_t train_examples =
        sc.data.source == "synthetic"
            ? sc.data.n
            : (sc.data.train_limit > 0 ? std::min<int64_t>(sc.data.train_limit, 60000) : 60000);
    const int64_t each = std::max<int64_t>(sc.partition.min_examples, 1);
    if (sc.clients * each > train_examples)
      top.fail("clients", std::to_string(sc.clients) + " clients with at least " +
                              std::to_string(each) + " examples each need more than the " +
                              std::to_string(train_examples) + " training examples");
    if (sc.partition.kind == model::PartitionKind::kShards &&
        sc.clients * sc.partition.shards_per_client > train_examples)
      top.fail("clients", "more shards than training examples");
  }

  // model
  {
    Section s(reader, top.get("model"), "model");
    s.read("kind", sc.model.kind);
    one_of(s, "kind", sc.model.kind, {"softmax", "mlp"});
    s.read("hidden", sc.model.hidden);
    s.read("activation", sc.model.activation);
    one_of(s, "activation", sc.model.activation, {"relu", "tanh"});
    s.finish();
    if (sc.model.kind == "mlp" && sc.model.hidden.empty())
      s.fail("hidden", "an mlp needs at least one hidden layer");
    for (int h : sc.model.hidden) s.require("hidden", h >= 1, "layer widths must be >= 1", h);
  }

  // local training
  {
    Section s(reader, top.get("local"), "local");
    LocalTrainingSpec& l = sc.local;
    s.read("epochs", l.epochs);
    s.read("batch_size", l.batch_size);
    s.read("lr", l.lr);
    s.read("optimizer", l.optimizer);
    one_of(s, "optimizer", l.optimizer, {"sgd", "adam"});
    s.read("momentum", l.momentum);
    s.read("weight_decay", l.weight_decay);
    s.read("fedprox_mu", l.fedprox_mu);
    s.finish();
    s.require("epochs", l.epochs >= 1, "must be >= 1", l.epochs);
    s.require("batch_size", l.batch_size >= 1, "must be >= 1", l.batch_size);
    s.require("lr", l.lr > 0, "must be > 0", l.lr);
    s.require("momentum", probability(l.momentum), "must be in [0, 1)", l.momentum);
    s.require("weight_decay", l.weight_decay >= 0, "must be >= 0", l.weight_decay);
    s.require("fedprox_mu", l.fedprox_mu >= 0, "must be >= 0", l.fedprox_mu);
  }

  // server optimiser: let the optimiser itself judge the combination.
  {
    Section s(reader, top.get("server"), "server");
    ServerSpec& v = sc.server;
    s.read("optimizer", v.optimizer);
    s.read("server_lr", v.server_lr);
    s.read("momentum", v.momentum);
    s.read("beta1", v.beta1);
    s.read("beta2", v.beta2);
    s.read("tau", v.tau);
    s.finish();
    auto config = server_optimizer_config(v);
    if (!config.ok()) s.fail("optimizer", config.status().message());
    auto opt = aggregation::ServerOptimizer::create(*config);
    if (!opt.ok()) s.fail("optimizer", opt.status().message());
  }

  // client behaviour
  {
    Section s(reader, top.get("dropout"), "dropout");
    DropoutSpec& d = sc.dropout;
    s.read("before_advertise", d.before_advertise);
    s.read("before_share_keys", d.before_share_keys);
    s.read("before_masked_input", d.before_masked_input);
    s.read("before_unmasking", d.before_unmasking);
    s.read("exact", d.exact);
    s.finish();
    for (const auto& [key, p] : {std::pair{"before_advertise", d.before_advertise},
                                 std::pair{"before_share_keys", d.before_share_keys},
                                 std::pair{"before_masked_input", d.before_masked_input},
                                 std::pair{"before_unmasking", d.before_unmasking}})
      s.require(key, probability(p), "a dropout probability must be in [0, 1)", p);
  }
  {
    Section s(reader, top.get("stragglers"), "stragglers");
    StragglerSpec& g = sc.stragglers;
    s.read("sigma", g.sigma);
    s.read("seconds_per_example", g.seconds_per_example);
    s.read("deadline_s", g.deadline_s);
    s.finish();
    s.require("sigma", g.sigma >= 0, "must be >= 0", g.sigma);
    s.require("seconds_per_example", g.seconds_per_example > 0, "must be > 0",
              g.seconds_per_example);
    s.require("deadline_s", g.deadline_s >= 0, "must be >= 0 (0: no deadline)", g.deadline_s);
  }
  top.read("availability", sc.availability);
  top.require("availability", sc.availability > 0 && sc.availability <= 1,
              "the fraction of clients online must be in (0, 1]", sc.availability);

  // secure aggregation: check the quantisation headroom and the k/t rule now,
  // for the configured cohort, rather than fail in round 1.
  {
    Section s(reader, top.get("secagg"), "secagg");
    SecAggSpec& a = sc.secagg;
    s.read("enabled", a.enabled);
    s.read("graph", a.graph);
    one_of(s, "graph", a.graph, {"complete", "harary"});
    s.read("bits", a.bits);
    s.read("clip", a.clip);
    s.read("ring", a.ring);
    s.read("max_weight", a.max_weight);
    s.read("expected_dropout", a.expected_dropout);
    s.read("corrupt_fraction", a.corrupt_fraction);
    s.read("threshold", a.threshold);
    s.finish();
    if (a.ring != 32 && a.ring != 64)
      s.fail("ring", "must be 32 or 64, got " + std::to_string(a.ring));
    s.require("clip", a.clip > 0, "must be > 0", a.clip);
    if (a.expected_dropout)
      s.require("expected_dropout", probability(*a.expected_dropout), "must be in [0, 1)",
                *a.expected_dropout);
    s.require("corrupt_fraction", a.corrupt_fraction >= 0 && a.corrupt_fraction < 0.5,
              "must be in [0, 0.5)", a.corrupt_fraction);
    if (a.enabled) {
      if (sc.clients_per_round < 2)
        top.fail("clients_per_round", "secure aggregation needs at least 2 clients per round");
      if (a.threshold > sc.clients_per_round)
        s.fail("threshold", "threshold " + std::to_string(a.threshold) +
                                " is larger than the cohort of " +
                                std::to_string(sc.clients_per_round) + " clients per round");
      aggregation::QuantizationConfig q = quantization_config(a, 1);
      if (auto st = aggregation::check_quantization(q, static_cast<uint64_t>(sc.clients_per_round));
          !st.ok())
        s.fail("bits", st.message());
      auto params = protocol_parameters(sc, static_cast<uint64_t>(sc.clients_per_round));
      if (!params.ok())
        s.fail(a.expected_dropout ? "expected_dropout" : "graph", params.status().message());
      std::vector<uint64_t> cohort;
      for (int64_t i = 0; i < sc.clients_per_round; ++i)
        cohort.push_back(static_cast<uint64_t>(i + 1));
      crypto::Key32 session{};
      auto config = aggregation::secagg::SessionConfig::create(aggregation::secagg::make_config(
          session, cohort, *params, 1,
          a.ring == 32 ? crypto::RingBits::k32 : crypto::RingBits::k64));
      if (!config.ok()) s.fail(a.threshold ? "threshold" : "graph", config.status().message());
    }
  }

  {
    Section s(reader, top.get("evaluation"), "evaluation");
    s.read("every", sc.eval_every);
    s.finish();
    s.require("every", sc.eval_every >= 1, "must be >= 1", sc.eval_every);
  }
  top.read("target_accuracy", sc.target_accuracy);
  if (sc.target_accuracy)
    top.require("target_accuracy", *sc.target_accuracy > 0 && *sc.target_accuracy <= 1,
                "must be in (0, 1]", *sc.target_accuracy);

  top.read("baseline", sc.baseline);
  if (sc.baseline != "none" && sc.baseline != "centralized") {
    char* end = nullptr;
    const double v = std::strtod(sc.baseline.c_str(), &end);
    if (end && *end == '\0' && end != sc.baseline.c_str()) {
      top.require("baseline", v > 0 && v <= 1, "an accuracy must be in (0, 1]", v);
    } else {
      std::string path = sc.baseline;
      if (!std::filesystem::exists(path) && std::filesystem::path(path).is_relative())
        path = directory_of(sc.file) + "/" + sc.baseline;
      auto acc = read_baseline_file(path);
      if (!acc.ok())
        top.fail("baseline",
                 "expected an accuracy, none, centralized or an fl-train --json file: " +
                     acc.status().message());
      sc.baseline = path;
    }
  }
  top.read("baseline_epochs", sc.baseline_epochs);
  top.require("baseline_epochs", sc.baseline_epochs >= 1, "must be >= 1", sc.baseline_epochs);
  top.read("output", sc.output);
  if (sc.output.empty()) sc.output = "results/" + sc.name;
  top.read("threads", sc.threads);
  top.require("threads", sc.threads >= 1 && sc.threads <= 256, "must be in [1, 256]", sc.threads);
  {
    Section s(reader, top.get("network"), "network");
    NetworkSpec& n = sc.network;
    s.read("over_selection", n.over_selection);
    s.read("min_cohort", n.min_cohort);
    s.read("stage_timeout_s", n.stage_timeout_s);
    s.read("masked_input_timeout_s", n.masked_input_timeout_s);
    s.read("timeout_s", n.timeout_s);
    s.finish();
    s.require("over_selection", n.over_selection >= 1, "must be >= 1", n.over_selection);
    s.require("stage_timeout_s", n.stage_timeout_s > 0, "must be > 0", n.stage_timeout_s);
    s.require("masked_input_timeout_s", n.masked_input_timeout_s > 0, "must be > 0",
              n.masked_input_timeout_s);
    s.require("timeout_s", n.timeout_s > 0, "must be > 0", n.timeout_s);
    if (sc.mode == RunMode::kNetwork) {
      const int64_t selected = network_selection_target(sc);
      if (selected > sc.clients)
        s.fail("over_selection", "selecting ceil(" + std::to_string(sc.clients_per_round) + " x " +
                                     std::to_string(n.over_selection) + ") = " +
                                     std::to_string(selected) + " clients needs that many, but " +
                                     "the scenario has " + std::to_string(sc.clients));
      const int64_t min_cohort = n.min_cohort > 0 ? n.min_cohort : sc.clients_per_round;
      if (min_cohort < 2 || min_cohort > selected)
        s.fail("min_cohort", "must be in [2, " + std::to_string(selected) + "], got " +
                                 std::to_string(min_cohort));
    }
  }
  read_engine_section(top, reader, sc);
  top.finish();
  if (sc.mode == RunMode::kNetwork) reject_for_network_mode(root, reader, sc);
  if (sc.mode == RunMode::kInProcess) reject_for_engine(root, reader, sc);
  return sc;
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
  try {
    YAML::Node root;
    try {
      root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
      return InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
    }
    if (root.IsDefined() && !root.IsNull() && !root.IsMap())
      return InvalidArgument(file + ": a scenario is a map of keys");
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    std::map<std::string, std::string> overridden;
    for (const Override& o : overrides) {
      YAML::Node value;
      try {
        value = YAML::Load(o.value);
      } catch (const YAML::Exception& e) {
        return InvalidArgument(file + ": --set " + o.key + ": not valid YAML: " + e.msg);
      }
      std::vector<std::string> parts;
      std::stringstream s(o.key);
      for (std::string part; std::getline(s, part, '.');) parts.push_back(part);
      set_path(root, parts, 0, value, o.key, file);
      overridden[o.key] = o.value;
    }
    return read_scenario(root, Reader(file, overridden));
  } catch (const ScenarioError& e) {
    return InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(file + ": " + e.what());
  }
}

Result<Scenario> load_scenario(const std::string& path, const std::vector<Override>& overrides) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read scenario file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path, overrides);
}

}  // namespace fl::sim
