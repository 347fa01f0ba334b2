#include "coordinator/service/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "base/loopback.h"

namespace fl::coordinator {
namespace {

// Walks a YAML mapping, remembering where each key came from, so every error
// says file:line: key.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& source)
      : node_(node), path_(std::move(path)), source_(source) {}

  Status check_keys(const std::set<std::string>& allowed) const {
    if (!node_) return Status::Ok();
    if (!node_.IsMap())
      return error(node_, path_.empty() ? "top level" : path_, "must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar())
        return error(kv.first, path_.empty() ? "top level" : path_,
                     "has a key that is not a plain name");
      const std::string key = kv.first.Scalar();
      // yaml-cpp keeps one of two equal keys silently; a typo'd duplicate
      // would be ignored without a word.
      if (!seen.insert(key).second) return error(kv.first, qualified(key), "appears twice");
      if (!allowed.count(key)) {
        std::string choices;
        for (const auto& a : allowed) choices += (choices.empty() ? "" : ", ") + a;
        return error(kv.first, qualified(key), "unknown key (expected one of: " + choices + ")");
      }
    }
    return Status::Ok();
  }

  Section sub(const std::string& key) const {
    return Section(node_ ? node_[key] : YAML::Node(), qualified(key), source_);
  }
  bool has(const std::string& key) const { return node_ && node_[key]; }
  explicit operator bool() const { return static_cast<bool>(node_); }

  template <typename T>
  Status get(const std::string& key, T& out) const {
    if (!has(key)) return Status::Ok();
    const YAML::Node v = node_[key];
    try {
      if (!v.IsScalar()) return error(v, qualified(key), "must be a single value");
      out = v.as<T>();
    } catch (const YAML::Exception&) {
      return error(v, qualified(key), "has the wrong type");
    }
    return Status::Ok();
  }
  Status get_list(const std::string& key, std::vector<int>& out) const {
    if (!has(key)) return Status::Ok();
    const YAML::Node v = node_[key];
    if (!v.IsSequence()) return error(v, qualified(key), "must be a list");
    out.clear();
    try {
      for (const auto& e : v) out.push_back(e.as<int>());
    } catch (const YAML::Exception&) {
      return error(v, qualified(key), "must be a list of integers");
    }
    return Status::Ok();
  }
  Status get_list(const std::string& key, std::vector<std::string>& out) const {
    if (!has(key)) return Status::Ok();
    const YAML::Node v = node_[key];
    if (!v.IsSequence()) return error(v, qualified(key), "must be a list");
    out.clear();
    for (const auto& e : v) {
      if (!e.IsScalar()) return error(e, qualified(key), "must be a list of plain values");
      out.push_back(e.Scalar());
    }
    return Status::Ok();
  }
  Status invalid(const std::string& key, const std::string& why) const {
    return error(has(key) ? node_[key] : node_, qualified(key), why);
  }

 private:
  std::string qualified(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  Status error(const YAML::Node& at, const std::string& key, const std::string& why) const {
    std::string where = source_;
    if (at && at.Mark().line >= 0) where.append(":").append(std::to_string(at.Mark().line + 1));
    return InvalidArgument(where.append(": ").append(key).append(": ").append(why));
  }

  YAML::Node node_;
  std::string path_;
  const std::string& source_;
};

Status read_model(const Section& s, PopulationConfig& p) {
  FL_RETURN_IF_ERROR(
      s.check_keys({"name", "kind", "input_dim", "classes", "hidden", "activation", "seed"}));
  FL_RETURN_IF_ERROR(s.get("name", p.model_name));
  std::string kind = "softmax", activation = "relu";
  int input_dim = 0, classes = 0;
  std::vector<int> hidden;
  FL_RETURN_IF_ERROR(s.get("kind", kind));
  FL_RETURN_IF_ERROR(s.get("input_dim", input_dim));
  FL_RETURN_IF_ERROR(s.get("classes", classes));
  FL_RETURN_IF_ERROR(s.get_list("hidden", hidden));
  FL_RETURN_IF_ERROR(s.get("activation", activation));
  FL_RETURN_IF_ERROR(s.get("seed", p.init_seed));
  if (input_dim <= 0) return s.invalid("input_dim", "must be a positive integer");
  model::Activation act;
  if (activation == "relu")
    act = model::Activation::kRelu;
  else if (activation == "tanh")
    act = model::Activation::kTanh;
  else
    return s.invalid("activation", "must be relu or tanh");
  if (kind == "softmax") {
    p.model_spec = model::ModelSpec::softmax_regression(input_dim, classes);
  } else if (kind == "mlp") {
    if (hidden.empty()) return s.invalid("hidden", "an mlp needs at least one hidden layer");
    p.model_spec = model::ModelSpec::mlp(input_dim, classes, hidden, act);
  } else if (kind == "logistic") {
    p.model_spec = model::ModelSpec::logistic_regression(input_dim);
  } else if (kind == "linear") {
    p.model_spec = model::ModelSpec::linear_regression(input_dim);
  } else if (kind == "svm") {
    p.model_spec = model::ModelSpec::linear_svm(input_dim, classes);
  } else {
    return s.invalid("kind", "must be one of softmax, mlp, logistic, linear, svm");
  }
  if ((kind == "softmax" || kind == "mlp" || kind == "svm") && classes < 2)
    return s.invalid("classes", "a classifier needs at least 2 classes");
  return Status::Ok();
}

Status read_population(const Section& s, PopulationConfig& p) {
  FL_RETURN_IF_ERROR(s.check_keys(
      {"name", "model", "rounds", "cohort_size", "over_selection", "min_cohort",
       "allow_small_cohorts", "selection", "retry_after_ms", "deadlines_ms", "training",
       "quantization", "secure_aggregation", "server_optimizer", "federated_evaluation"}));
  FL_RETURN_IF_ERROR(s.get("name", p.population));
  if (s.has("federated_evaluation")) {
    const Section fe = s.sub("federated_evaluation");
    FL_RETURN_IF_ERROR(fe.check_keys({"enabled", "min_reports", "deadline_ms"}));
    FL_RETURN_IF_ERROR(fe.get("enabled", p.federated_evaluation.enabled));
    FL_RETURN_IF_ERROR(fe.get("min_reports", p.federated_evaluation.min_reports));
    FL_RETURN_IF_ERROR(fe.get("deadline_ms", p.federated_evaluation.deadline_ms));
    if (p.federated_evaluation.min_reports < 1)
      return fe.invalid("min_reports", "must be at least 1");
    if (p.federated_evaluation.deadline_ms <= 0)
      return fe.invalid("deadline_ms", "must be a positive number of milliseconds");
  }
  if (!s.has("model")) return s.invalid("model", "is required");
  FL_RETURN_IF_ERROR(read_model(s.sub("model"), p));
  FL_RETURN_IF_ERROR(s.get("rounds", p.rounds));
  FL_RETURN_IF_ERROR(s.get("cohort_size", p.cohort_size));
  FL_RETURN_IF_ERROR(s.get("over_selection", p.over_selection));
  FL_RETURN_IF_ERROR(s.get("min_cohort", p.min_cohort));
  FL_RETURN_IF_ERROR(s.get("retry_after_ms", p.retry_after_ms));
  if (p.cohort_size < 2) return s.invalid("cohort_size", "must be at least 2");
  if (!(p.over_selection >= 1.0)) return s.invalid("over_selection", "must be at least 1.0");
  FL_RETURN_IF_ERROR(s.get("allow_small_cohorts", p.allow_small_cohorts));
  if (p.min_cohort < 2 || p.min_cohort > p.selection_target())
    return s.invalid("min_cohort", "must be in [2, cohort_size x over_selection]");
  if (!p.allow_small_cohorts && p.min_cohort < kMinSecureCohort)
    return s.invalid("min_cohort", "is below " + std::to_string(kMinSecureCohort) +
                                       ", the smallest cohort secure aggregation is trusted "
                                       "with (README: threat model); set allow_small_cohorts: "
                                       "true to run smaller ones knowingly");
  if (s.has("selection")) {
    const Section sel = s.sub("selection");
    FL_RETURN_IF_ERROR(sel.check_keys({"policy", "once_in_rounds"}));
    std::string policy = "uniform";
    FL_RETURN_IF_ERROR(sel.get("policy", policy));
    if (policy == "uniform") {
      p.selection.policy = SelectionPolicy::kUniform;
    } else if (policy == "first_come") {
      if (!p.allow_small_cohorts)
        return sel.invalid("policy",
                           "first_come lets whoever checks in first fill the cohort (the n-1 "
                           "attack); it needs allow_small_cohorts: true (benchmarks, tests)");
      p.selection.policy = SelectionPolicy::kFirstCome;
    } else {
      return sel.invalid("policy", "must be uniform or first_come");
    }
    FL_RETURN_IF_ERROR(sel.get("once_in_rounds", p.selection.once_in_rounds));
    if (p.selection.once_in_rounds < 1) return sel.invalid("once_in_rounds", "must be at least 1");
  }

  const Section d = s.sub("deadlines_ms");
  FL_RETURN_IF_ERROR(
      d.check_keys({"selection", "advertise_keys", "share_keys", "masked_input", "unmasking"}));
  FL_RETURN_IF_ERROR(d.get("selection", p.deadlines.selection_ms));
  FL_RETURN_IF_ERROR(d.get("advertise_keys", p.deadlines.advertise_keys_ms));
  FL_RETURN_IF_ERROR(d.get("share_keys", p.deadlines.share_keys_ms));
  FL_RETURN_IF_ERROR(d.get("masked_input", p.deadlines.masked_input_ms));
  FL_RETURN_IF_ERROR(d.get("unmasking", p.deadlines.unmasking_ms));
  for (const char* k : {"selection", "advertise_keys", "share_keys", "masked_input", "unmasking"}) {
    int64_t v = 1;
    FL_RETURN_IF_ERROR(d.get(k, v));
    if (v <= 0) return d.invalid(k, "must be a positive number of milliseconds");
  }

  const Section t = s.sub("training");
  FL_RETURN_IF_ERROR(t.check_keys({"epochs", "batch_size", "learning_rate", "optimizer", "momentum",
                                   "weight_decay", "fedprox_mu", "seed"}));
  uint32_t epochs = 1, batch = 32;
  float lr = 0.1f, momentum = 0.0f, decay = 0.0f, mu = 0.0f;
  std::string optimizer = "sgd";
  uint64_t seed = 1;
  FL_RETURN_IF_ERROR(t.get("epochs", epochs));
  FL_RETURN_IF_ERROR(t.get("batch_size", batch));
  FL_RETURN_IF_ERROR(t.get("learning_rate", lr));
  FL_RETURN_IF_ERROR(t.get("optimizer", optimizer));
  FL_RETURN_IF_ERROR(t.get("momentum", momentum));
  FL_RETURN_IF_ERROR(t.get("weight_decay", decay));
  FL_RETURN_IF_ERROR(t.get("fedprox_mu", mu));
  FL_RETURN_IF_ERROR(t.get("seed", seed));
  if (epochs == 0) return t.invalid("epochs", "must be positive");
  if (batch == 0) return t.invalid("batch_size", "must be positive");
  if (!(lr > 0)) return t.invalid("learning_rate", "must be positive");
  if (optimizer != "sgd" && optimizer != "adam")
    return t.invalid("optimizer", "must be sgd or adam");
  if (mu < 0) return t.invalid("fedprox_mu", "must not be negative");
  p.training.set_epochs(epochs);
  p.training.set_batch_size(batch);
  p.training.set_learning_rate(lr);
  p.training.set_optimizer(optimizer);
  p.training.set_momentum(momentum);
  p.training.set_weight_decay(decay);
  p.training.set_fedprox_mu(mu);
  p.training.set_seed(seed);

  const Section q = s.sub("quantization");
  FL_RETURN_IF_ERROR(q.check_keys({"clip", "bits", "ring_bits", "max_weight"}));
  uint32_t ring_bits = 64;
  p.quantization.ring = crypto::RingBits::k64;
  p.quantization.bits = 20;
  p.quantization.max_weight = 10000;
  FL_RETURN_IF_ERROR(q.get("clip", p.quantization.clip));
  FL_RETURN_IF_ERROR(q.get("bits", p.quantization.bits));
  FL_RETURN_IF_ERROR(q.get("ring_bits", ring_bits));
  FL_RETURN_IF_ERROR(q.get("max_weight", p.quantization.max_weight));
  if (ring_bits != 32 && ring_bits != 64) return q.invalid("ring_bits", "must be 32 or 64");
  p.quantization.ring = ring_bits == 32 ? crypto::RingBits::k32 : crypto::RingBits::k64;
  if (Status st = aggregation::check_quantization(p.quantization, p.selection_target()); !st.ok())
    return q.invalid("bits", st.message());

  const Section a = s.sub("secure_aggregation");
  FL_RETURN_IF_ERROR(a.check_keys({"graph", "expected_dropout", "corrupt_fraction", "degree",
                                   "threshold", "unmask_threads", "signed_keys", "prg"}));
  std::string graph = "complete";
  FL_RETURN_IF_ERROR(a.get("graph", graph));
  if (graph == "complete")
    p.graph = aggregation::secagg::GraphKind::kComplete;
  else if (graph == "harary")
    p.graph = aggregation::secagg::GraphKind::kHarary;
  else
    return a.invalid("graph", "must be complete or harary");
  FL_RETURN_IF_ERROR(a.get("expected_dropout", p.expected_dropout));
  FL_RETURN_IF_ERROR(a.get("corrupt_fraction", p.corrupt_fraction));
  if (!(p.expected_dropout >= 0 && p.expected_dropout < 1))
    return a.invalid("expected_dropout", "must be in [0, 1)");
  if (!(p.corrupt_fraction >= 0 && p.corrupt_fraction < 0.5))
    return a.invalid("corrupt_fraction", "must be in [0, 0.5)");
  if (a.has("degree")) {
    uint32_t k = 0;
    FL_RETURN_IF_ERROR(a.get("degree", k));
    p.degree = k;
  }
  if (a.has("threshold")) {
    uint32_t th = 0;
    FL_RETURN_IF_ERROR(a.get("threshold", th));
    if (th > p.selection_target())
      return a.invalid("threshold", "is larger than the cohort (" +
                                        std::to_string(p.selection_target()) + " selected)");
    p.threshold = th;
  }
  if (a.has("prg")) {
    std::string prg;
    FL_RETURN_IF_ERROR(a.get("prg", prg));
    const auto parsed = crypto::parse_mask_prg(prg);
    if (!parsed) return a.invalid("prg", "must be aes256ctr or chacha20, got '" + prg + "'");
    p.prg = *parsed;
  }
  FL_RETURN_IF_ERROR(a.get("unmask_threads", p.unmask_threads));
  FL_RETURN_IF_ERROR(a.get("signed_keys", p.require_signed_keys));

  const Section o = s.sub("server_optimizer");
  FL_RETURN_IF_ERROR(o.check_keys({"kind", "server_lr", "momentum", "beta1", "beta2", "tau"}));
  std::string kind = "fedavg";
  FL_RETURN_IF_ERROR(o.get("kind", kind));
  static const std::map<std::string, proto::ServerOptimizerKind> kinds = {
      {"fedavg", proto::SERVER_OPTIMIZER_KIND_FEDAVG},
      {"fedavgm", proto::SERVER_OPTIMIZER_KIND_FEDAVGM},
      {"fedadam", proto::SERVER_OPTIMIZER_KIND_FEDADAM},
      {"fedyogi", proto::SERVER_OPTIMIZER_KIND_FEDYOGI},
      {"fedadagrad", proto::SERVER_OPTIMIZER_KIND_FEDADAGRAD}};
  auto it = kinds.find(kind);
  if (it == kinds.end())
    return o.invalid("kind", "must be fedavg, fedavgm, fedadam, fedyogi or fedadagrad");
  p.optimizer.Clear();
  p.optimizer.set_kind(it->second);
  for (const char* k : {"server_lr", "momentum", "beta1", "beta2", "tau"}) {
    if (!o.has(k)) continue;
    double v = 0;
    FL_RETURN_IF_ERROR(o.get(k, v));
    const std::string key = k;
    if (key == "server_lr") p.optimizer.set_server_lr(v);
    if (key == "momentum") p.optimizer.set_momentum(v);
    if (key == "beta1") p.optimizer.set_beta1(v);
    if (key == "beta2") p.optimizer.set_beta2(v);
    if (key == "tau") p.optimizer.set_tau(v);
  }
  if (auto opt = aggregation::ServerOptimizer::create(p.optimizer); !opt.ok())
    return o.invalid("kind", opt.status().message());
  return Status::Ok();
}

std::string read_file(const std::string& path, Status& status) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    status = NotFound("cannot read " + path);
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// --- enrollment: {mode, operator_keys} --------------------------------------

// 64 hex digits (what `fl-coordinator devices operator-key` writes to KEY.pub).
std::optional<std::array<uint8_t, 32>> parse_public_key_hex(const std::string& text) {
  if (text.size() != 64) return std::nullopt;
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < 64; ++i) {
    const char ch = text[i];
    int v = -1;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
    if (v < 0) return std::nullopt;
    key[i / 2] = static_cast<uint8_t>(key[i / 2] << 4 | v);
  }
  return key;
}

Status read_enrollment(const Section& s, EnrollmentConfig& e) {
  FL_RETURN_IF_ERROR(s.check_keys({"mode", "operator_keys"}));
  std::string mode = "token";
  FL_RETURN_IF_ERROR(s.get("mode", mode));
  if (mode == "token")
    e.mode = EnrollmentMode::kToken;
  else if (mode == "certificate")
    e.mode = EnrollmentMode::kCertificate;
  else if (mode == "open")
    e.mode = EnrollmentMode::kOpen;
  else
    return s.invalid("mode", "must be token, certificate or open");
  std::vector<std::string> files;
  FL_RETURN_IF_ERROR(s.get_list("operator_keys", files));
  if (!files.empty() && e.mode != EnrollmentMode::kCertificate)
    return s.invalid("operator_keys", "only certificate mode uses operator keys");
  e.operator_keys.clear();
  for (const std::string& file : files) {
    Status st;
    const std::string text = trim(read_file(file, st));
    if (!st.ok()) return s.invalid("operator_keys", st.message());
    auto key = parse_public_key_hex(text);
    if (!key)
      return s.invalid("operator_keys", file +
                                            " does not hold an Ed25519 public key as 64 hex digits"
                                            " (devices operator-key writes KEYFILE.pub)");
    e.operator_keys.push_back(*key);
  }
  if (e.mode == EnrollmentMode::kCertificate && e.operator_keys.empty())
    return s.invalid("operator_keys", "certificate mode needs at least one operator public key");
  return Status::Ok();
}

}  // namespace

Result<CoordinatorConfig> parse_config_unchecked(const std::string& yaml,
                                                 const std::string& source);

Result<CoordinatorConfig> parse_config(const std::string& yaml, const std::string& source) {
  // Errors are values: whatever yaml-cpp throws on a document we did not
  // foresee becomes a message, never a terminated coordinator.
  try {
    return parse_config_unchecked(yaml, source);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
}

Result<CoordinatorConfig> parse_config_unchecked(const std::string& yaml,
                                                 const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) +
                           ": not valid YAML: " + e.msg);
  }
  CoordinatorConfig c;
  if (!root || root.IsNull()) return InvalidArgument(source + ": the configuration is empty");
  const Section top(root, "", source);
  if (root.IsMap() && top.has("enrollment_token"))
    return top.invalid("enrollment_token",
                       "was replaced by `enrollment: {mode: token}`: one-time tokens per device, "
                       "issued with `fl-coordinator devices issue`");
  FL_RETURN_IF_ERROR(top.check_keys({"listen", "tls", "store", "admin_token", "admin_token_file",
                                     "enrollment", "limits", "population", "registry", "serving",
                                     "logging", "allow_insecure_http", "audience"}));
  FL_RETURN_IF_ERROR(top.get("allow_insecure_http", c.allow_insecure_http));
  FL_RETURN_IF_ERROR(top.get("audience", c.audience));
  if (top.has("audience") && (c.audience.empty() || c.audience.size() > 200))
    return top.invalid("audience", "must be 1 to 200 characters");
  const Section registry = top.sub("registry");
  FL_RETURN_IF_ERROR(registry.check_keys({"holdout", "holdout_limit", "gate", "monitor"}));
  FL_RETURN_IF_ERROR(registry.get("holdout", c.holdout));
  if (!c.holdout.empty() && c.holdout != "fashion-mnist" &&
      c.holdout.rfind("fashion-mnist:", 0) != 0)
    return registry.invalid("holdout", "must be fashion-mnist or fashion-mnist:DIR");
  FL_RETURN_IF_ERROR(registry.get("holdout_limit", c.holdout_limit));
  if (registry.has("gate")) {
    const Section gate = registry.sub("gate");
    FL_RETURN_IF_ERROR(
        gate.check_keys({"metric", "higher_is_better", "tolerance", "require_metric"}));
    FL_RETURN_IF_ERROR(gate.get("metric", c.gate.metric));
    FL_RETURN_IF_ERROR(gate.get("higher_is_better", c.gate.higher_is_better));
    FL_RETURN_IF_ERROR(gate.get("tolerance", c.gate.tolerance));
    FL_RETURN_IF_ERROR(gate.get("require_metric", c.gate.require_metric));
    if (Status st = validate_gate_policy(c.gate); !st.ok())
      return gate.invalid(c.gate.metric.empty() ? "metric" : "tolerance", st.message());
  }
  if (registry.has("monitor")) {
    const Section monitor = registry.sub("monitor");
    FL_RETURN_IF_ERROR(monitor.check_keys({"metric", "floor", "higher_is_better"}));
    MonitorPolicy m;
    m.metric = "accuracy";
    FL_RETURN_IF_ERROR(monitor.get("metric", m.metric));
    if (!monitor.has("floor")) return monitor.invalid("floor", "is required");
    FL_RETURN_IF_ERROR(monitor.get("floor", m.floor));
    FL_RETURN_IF_ERROR(monitor.get("higher_is_better", m.higher_is_better));
    if (Status st = validate_monitor_policy(m); !st.ok())
      return monitor.invalid(m.metric.empty() ? "metric" : "floor", st.message());
    c.monitor = m;
  }
  const Section serving = top.sub("serving");
  FL_RETURN_IF_ERROR(serving.check_keys({"enabled", "max_batch_rows"}));
  FL_RETURN_IF_ERROR(serving.get("enabled", c.serving_enabled));
  FL_RETURN_IF_ERROR(serving.get("max_batch_rows", c.max_batch_rows));
  if (c.max_batch_rows == 0 || c.max_batch_rows > 100'000)
    return serving.invalid("max_batch_rows", "must be in [1, 100000]");
  const Section logging = top.sub("logging");
  FL_RETURN_IF_ERROR(logging.check_keys({"format"}));
  std::string log_format = "text";
  FL_RETURN_IF_ERROR(logging.get("format", log_format));
  if (log_format != "text" && log_format != "json")
    return logging.invalid("format", "must be text or json");
  c.json_logs = log_format == "json";
  const Section listen = top.sub("listen");
  FL_RETURN_IF_ERROR(listen.check_keys({"address", "port", "io_threads"}));
  FL_RETURN_IF_ERROR(listen.get("address", c.address));
  FL_RETURN_IF_ERROR(listen.get("port", c.port));
  FL_RETURN_IF_ERROR(listen.get("io_threads", c.io_threads));
  if (c.io_threads < 1 || c.io_threads > 64)
    return listen.invalid("io_threads", "must be in [1, 64]");
  const Section tls = top.sub("tls");
  FL_RETURN_IF_ERROR(tls.check_keys({"certificate", "private_key", "client_ca"}));
  FL_RETURN_IF_ERROR(tls.get("certificate", c.tls_certificate));
  FL_RETURN_IF_ERROR(tls.get("private_key", c.tls_private_key));
  FL_RETURN_IF_ERROR(tls.get("client_ca", c.tls_client_ca));
  if (c.tls_certificate.empty() != c.tls_private_key.empty())
    return tls.invalid("private_key", "certificate and private_key go together");
  if (!c.tls_client_ca.empty() && c.tls_certificate.empty())
    return tls.invalid("client_ca", "mutual TLS needs the server's certificate and private_key");
  const Section store = top.sub("store");
  FL_RETURN_IF_ERROR(store.check_keys({"path"}));
  FL_RETURN_IF_ERROR(store.get("path", c.store_path));
  FL_RETURN_IF_ERROR(top.get("admin_token", c.admin_token));
  if (top.has("admin_token_file")) {
    std::string path;
    FL_RETURN_IF_ERROR(top.get("admin_token_file", path));
    Status st;
    c.admin_token = trim(read_file(path, st));
    if (!st.ok()) return top.invalid("admin_token_file", st.message());
  }
  FL_RETURN_IF_ERROR(read_enrollment(top.sub("enrollment"), c.enrollment));
  const Section limits = top.sub("limits");
  FL_RETURN_IF_ERROR(
      limits.check_keys({"max_update_bytes", "requests_per_second", "burst",
                         "ip_requests_per_second", "ip_burst", "max_concurrent_uploads"}));
  FL_RETURN_IF_ERROR(limits.get("ip_requests_per_second", c.ip_requests_per_second));
  FL_RETURN_IF_ERROR(limits.get("ip_burst", c.ip_burst));
  if (!(c.ip_requests_per_second > 0) || !(c.ip_burst >= 1))
    return limits.invalid(c.ip_requests_per_second > 0 ? "ip_burst" : "ip_requests_per_second",
                          "ip_requests_per_second must be > 0 and ip_burst >= 1");
  FL_RETURN_IF_ERROR(limits.get("max_update_bytes", c.max_update_bytes));
  FL_RETURN_IF_ERROR(limits.get("requests_per_second", c.requests_per_second));
  FL_RETURN_IF_ERROR(limits.get("burst", c.burst));
  FL_RETURN_IF_ERROR(limits.get("max_concurrent_uploads", c.max_concurrent_uploads));
  if (c.max_concurrent_uploads == 0 || c.max_concurrent_uploads > 1024)
    return limits.invalid("max_concurrent_uploads", "must be in [1, 1024]");
  if (c.max_update_bytes == 0 || c.max_update_bytes > (size_t{64} << 20))
    return limits.invalid("max_update_bytes", "must be in [1, 64 MiB]");
  if (!top.has("population")) return top.invalid("population", "is required");
  FL_RETURN_IF_ERROR(read_population(top.sub("population"), c.population));
  FL_RETURN_IF_ERROR(validate_config(c));
  return c;
}

Result<CoordinatorConfig> load_config_file(const std::string& path) {
  Status st;
  std::string text = read_file(path, st);
  if (!st.ok()) return st;
  return parse_config(text, path);
}

Status validate_config(const CoordinatorConfig& c) {
  if (c.admin_token.size() < 16)
    return InvalidArgument(
        "an admin token of at least 16 characters is required (admin_token or "
        "admin_token_file)");
  if (!(c.requests_per_second > 0) || !(c.burst >= 1))
    return InvalidArgument("limits: requests_per_second must be > 0 and burst >= 1");
  // Plaintext only where no network attacker sits: a man in the middle could
  // otherwise swap peers' secure aggregation keys and read an update.
  if (c.tls_certificate.empty() && !c.allow_insecure_http && !is_loopback_host(c.address))
    return InvalidArgument("listen.address " + c.address +
                           " is not loopback and tls is not configured: clients' traffic would be "
                           "plaintext; configure tls (certificate, private_key) or set "
                           "allow_insecure_http: true knowingly");
  return validate_population(c.population);
}

}  // namespace fl::coordinator
