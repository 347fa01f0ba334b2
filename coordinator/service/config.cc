#include "coordinator/service/config.h"

#include <fstream>
#include <sstream>

#include "base/loopback.h"
#include "base/yaml_reader.h"

namespace fl::coordinator {
namespace {

using yaml::Range;
using yaml::Section;

// kind custom: {name, kind: custom, parameters: N, layout: [{name, size}...],
// seed}, an app-defined flat vector. Whether its layout adds up is judged by
// find_population_problem (model::find_custom_spec_problem), like every
// other cross-key rule.
Status read_custom_model(const Section& s, PopulationConfig& p) {
  for (std::string_view key : {"input_dim", "classes", "hidden", "activation"})
    if (s.has(key))
      return s.error(key,
                     "does not apply to kind custom: an app-defined model is a flat vector of "
                     "`parameters` floats described by `layout`");
  if (!s.has("parameters")) return s.error("parameters", "is required for kind custom");
  model::ModelSpec spec;
  spec.kind = model::ModelKind::kCustom;
  FL_RETURN_IF_ERROR(s.read("parameters", spec.custom_parameters,
                            Range::closed(1, static_cast<double>(model::kMaxModelParams))));
  if (!s.has("layout"))
    return s.error("layout", "is required for kind custom: [{name: NAME, size: N}, ...]");
  std::vector<Section> blocks;
  FL_RETURN_IF_ERROR(s.items("layout", blocks));
  for (const Section& b : blocks) {
    FL_RETURN_IF_ERROR(b.expect_keys({"name", "size"}));
    model::ParameterBlock block;
    if (!b.has("name")) return b.error_here("name is required");
    if (!b.has("size")) return b.error_here("size is required");
    FL_RETURN_IF_ERROR(b.read("name", block.name));
    FL_RETURN_IF_ERROR(
        b.read("size", block.size, Range::closed(1, static_cast<double>(model::kMaxModelParams))));
    spec.layout.push_back(std::move(block));
  }
  p.model_spec = std::move(spec);
  return Status::Ok();
}

Status read_model(const Section& s, PopulationConfig& p) {
  FL_RETURN_IF_ERROR(s.expect_keys({"name", "kind", "input_dim", "classes", "hidden", "activation",
                                    "seed", "parameters", "layout"}));
  FL_RETURN_IF_ERROR(s.read("name", p.model_name));
  std::string kind = "softmax";
  int input_dim = 0, classes = 0;
  std::vector<int> hidden;
  model::Activation activation = model::Activation::kRelu;
  FL_RETURN_IF_ERROR(
      s.read_choice("kind", kind, {"softmax", "mlp", "logistic", "linear", "svm", "custom"}));
  FL_RETURN_IF_ERROR(s.read("seed", p.init_seed));
  if (kind == "custom") return read_custom_model(s, p);
  for (std::string_view key : {"parameters", "layout"})
    if (s.has(key))
      return s.error(key, "applies to kind custom only; kind " + kind +
                              "'s parameters follow from input_dim, classes and hidden");
  FL_RETURN_IF_ERROR(s.read("input_dim", input_dim));
  FL_RETURN_IF_ERROR(s.read("classes", classes));
  FL_RETURN_IF_ERROR(s.read("hidden", hidden));
  FL_RETURN_IF_ERROR(s.read_choice<model::Activation>(
      "activation", activation,
      {{"relu", model::Activation::kRelu}, {"tanh", model::Activation::kTanh}}));
  if (input_dim <= 0) return s.error("input_dim", "must be a positive integer");
  if ((kind == "softmax" || kind == "mlp" || kind == "svm") && classes < 2)
    return s.error("classes", "a classifier needs at least 2 classes");
  if (kind == "softmax") {
    p.model_spec = model::ModelSpec::softmax_regression(input_dim, classes);
  } else if (kind == "mlp") {
    if (hidden.empty()) return s.error("hidden", "an mlp needs at least one hidden layer");
    for (int width : hidden)
      if (width < 1) return s.error("hidden", "layer widths must be >= 1");
    p.model_spec = model::ModelSpec::mlp(input_dim, classes, hidden, activation);
  } else if (kind == "logistic") {
    p.model_spec = model::ModelSpec::logistic_regression(input_dim);
  } else if (kind == "linear") {
    p.model_spec = model::ModelSpec::linear_regression(input_dim);
  } else {
    p.model_spec = model::ModelSpec::linear_svm(input_dim, classes);
  }
  return Status::Ok();
}

Status read_selection(const Section& s, SelectionConfig& selection) {
  FL_RETURN_IF_ERROR(s.expect_keys({"policy", "once_in_rounds"}));
  FL_RETURN_IF_ERROR(s.read_choice<SelectionPolicy>(
      "policy", selection.policy,
      {{"uniform", SelectionPolicy::kUniform}, {"first_come", SelectionPolicy::kFirstCome}}));
  return s.read("once_in_rounds", selection.once_in_rounds);
}

Status read_deadlines(const Section& s, StageDeadlines& d) {
  FL_RETURN_IF_ERROR(
      s.expect_keys({"selection", "advertise_keys", "share_keys", "masked_input", "unmasking"}));
  FL_RETURN_IF_ERROR(s.read("selection", d.selection_ms));
  FL_RETURN_IF_ERROR(s.read("advertise_keys", d.advertise_keys_ms));
  FL_RETURN_IF_ERROR(s.read("share_keys", d.share_keys_ms));
  FL_RETURN_IF_ERROR(s.read("masked_input", d.masked_input_ms));
  return s.read("unmasking", d.unmasking_ms);
}

// training.lr_schedule: constant | exponential (lr_decay) | cosine, floored at
// lr_min; the per-round rate is model::round_learning_rate, as in fl-sim.
Status read_lr_schedule(const Section& s, model::RoundLrSchedule& schedule) {
  FL_RETURN_IF_ERROR(s.read_choice("lr_schedule", schedule.kind,
                                   {{"constant", model::RoundLrScheduleKind::kConstant},
                                    {"exponential", model::RoundLrScheduleKind::kExponential},
                                    {"cosine", model::RoundLrScheduleKind::kCosine}}));
  FL_RETURN_IF_ERROR(s.read("lr_decay", schedule.lr_decay));
  return s.read("lr_min", schedule.lr_min);
}

Status read_training(const Section& s, PopulationConfig& p) {
  proto::TrainingPlan& plan = p.training;
  model::RoundLrSchedule& schedule = p.lr_schedule;
  FL_RETURN_IF_ERROR(s.expect_keys({"epochs", "batch_size", "learning_rate", "lr_schedule",
                                    "lr_decay", "lr_min", "optimizer", "momentum", "weight_decay",
                                    "fedprox_mu", "seed", "algorithm", "population_size"}));
  FL_RETURN_IF_ERROR(read_lr_schedule(s, schedule));
  uint32_t epochs = 1, batch = 32;
  float lr = 0.1f, momentum = 0.0f, decay = 0.0f, mu = 0.0f;
  std::string optimizer = "sgd", algorithm = "fedavg";
  uint64_t seed = 1;
  FL_RETURN_IF_ERROR(s.read_choice("algorithm", algorithm, {"fedavg", "scaffold"}));
  FL_RETURN_IF_ERROR(s.read("population_size", p.population_size));
  FL_RETURN_IF_ERROR(s.read("epochs", epochs));
  FL_RETURN_IF_ERROR(s.read("batch_size", batch));
  FL_RETURN_IF_ERROR(s.read("learning_rate", lr));
  FL_RETURN_IF_ERROR(s.read("optimizer", optimizer));
  FL_RETURN_IF_ERROR(s.read("momentum", momentum));
  FL_RETURN_IF_ERROR(s.read("weight_decay", decay));
  FL_RETURN_IF_ERROR(s.read("fedprox_mu", mu));
  FL_RETURN_IF_ERROR(s.read("seed", seed));
  plan.set_epochs(epochs);
  plan.set_batch_size(batch);
  plan.set_learning_rate(lr);
  plan.set_optimizer(optimizer);
  plan.set_momentum(momentum);
  plan.set_weight_decay(decay);
  plan.set_fedprox_mu(mu);
  plan.set_seed(seed);
  plan.set_algorithm(algorithm);
  return Status::Ok();
}

Status read_quantization(const Section& s, aggregation::QuantizationConfig& q, double& l2_clip) {
  FL_RETURN_IF_ERROR(s.expect_keys({"clip", "bits", "ring_bits", "max_weight", "l2_clip"}));
  FL_RETURN_IF_ERROR(s.read("l2_clip", l2_clip));
  q.ring = crypto::RingBits::k64;
  q.bits = 20;
  q.max_weight = 10000;
  FL_RETURN_IF_ERROR(s.read("clip", q.clip));
  FL_RETURN_IF_ERROR(s.read("bits", q.bits));
  FL_RETURN_IF_ERROR(s.read_choice<crypto::RingBits>(
      "ring_bits", q.ring, {{"32", crypto::RingBits::k32}, {"64", crypto::RingBits::k64}}));
  return s.read("max_weight", q.max_weight);
}

Status read_secure_aggregation(const Section& s, PopulationConfig& p) {
  FL_RETURN_IF_ERROR(
      s.expect_keys({"graph", "expected_dropout", "corrupt_fraction", "degree", "threshold",
                     "unmask_threads", "signed_keys", "prg", "reveal_pair_seeds"}));
  FL_RETURN_IF_ERROR(s.read("reveal_pair_seeds", p.reveal_pair_seeds));
  FL_RETURN_IF_ERROR(s.read_choice<crypto::MaskPrg>(
      "prg", p.prg,
      {{"aes256ctr", crypto::MaskPrg::kAes256Ctr}, {"chacha20", crypto::MaskPrg::kChaCha20}}));
  FL_RETURN_IF_ERROR(s.read_choice<aggregation::secagg::GraphKind>(
      "graph", p.graph,
      {{"complete", aggregation::secagg::GraphKind::kComplete},
       {"harary", aggregation::secagg::GraphKind::kHarary}}));
  FL_RETURN_IF_ERROR(s.read("expected_dropout", p.expected_dropout));
  FL_RETURN_IF_ERROR(s.read("corrupt_fraction", p.corrupt_fraction));
  FL_RETURN_IF_ERROR(s.read("degree", p.degree));
  FL_RETURN_IF_ERROR(s.read("threshold", p.threshold));
  FL_RETURN_IF_ERROR(s.read("unmask_threads", p.unmask_threads));
  return s.read("signed_keys", p.require_signed_keys);
}

Status read_server_optimizer(const Section& s, aggregation::ServerOptimizerConfig& o) {
  FL_RETURN_IF_ERROR(s.expect_keys({"kind", "server_lr", "momentum", "beta1", "beta2", "tau"}));
  proto::ServerOptimizerKind kind = proto::SERVER_OPTIMIZER_KIND_FEDAVG;
  FL_RETURN_IF_ERROR(s.read_choice<proto::ServerOptimizerKind>(
      "kind", kind,
      {{"fedavg", proto::SERVER_OPTIMIZER_KIND_FEDAVG},
       {"fedavgm", proto::SERVER_OPTIMIZER_KIND_FEDAVGM},
       {"fedadam", proto::SERVER_OPTIMIZER_KIND_FEDADAM},
       {"fedyogi", proto::SERVER_OPTIMIZER_KIND_FEDYOGI},
       {"fedadagrad", proto::SERVER_OPTIMIZER_KIND_FEDADAGRAD}}));
  o.Clear();
  o.set_kind(kind);
  // Only the keys given are set: an unset field means the optimiser's default.
  std::optional<double> server_lr, momentum, beta1, beta2, tau;
  FL_RETURN_IF_ERROR(s.read("server_lr", server_lr));
  FL_RETURN_IF_ERROR(s.read("momentum", momentum));
  FL_RETURN_IF_ERROR(s.read("beta1", beta1));
  FL_RETURN_IF_ERROR(s.read("beta2", beta2));
  FL_RETURN_IF_ERROR(s.read("tau", tau));
  if (server_lr) o.set_server_lr(*server_lr);
  if (momentum) o.set_momentum(*momentum);
  if (beta1) o.set_beta1(*beta1);
  if (beta2) o.set_beta2(*beta2);
  if (tau) o.set_tau(*tau);
  return Status::Ok();
}

Status read_federated_evaluation(const Section& s, FederatedEvaluationConfig& fe) {
  FL_RETURN_IF_ERROR(s.expect_keys({"enabled", "min_reports", "deadline_ms"}));
  FL_RETURN_IF_ERROR(s.read("enabled", fe.enabled));
  FL_RETURN_IF_ERROR(s.read("min_reports", fe.min_reports));
  return s.read("deadline_ms", fe.deadline_ms);
}

// Reads what each key says; whether the whole can run is judged once, by
// find_population_problem (find_config_problem below), whose key is then
// located in the file.
Status read_population(const Section& s, PopulationConfig& p) {
  FL_RETURN_IF_ERROR(s.expect_keys(
      {"name", "model", "rounds", "cohort_size", "over_selection", "min_cohort",
       "allow_small_cohorts", "selection", "retry_after_ms", "deadlines_ms", "training",
       "quantization", "secure_aggregation", "server_optimizer", "federated_evaluation", "dp"}));
  FL_RETURN_IF_ERROR(s.read("name", p.population));
  if (!s.has("model")) return s.error("model", "is required");
  FL_RETURN_IF_ERROR(read_model(s.sub("model"), p));
  FL_RETURN_IF_ERROR(s.read("rounds", p.rounds));
  FL_RETURN_IF_ERROR(s.read("cohort_size", p.cohort_size));
  FL_RETURN_IF_ERROR(s.read("over_selection", p.over_selection));
  FL_RETURN_IF_ERROR(s.read("min_cohort", p.min_cohort));
  FL_RETURN_IF_ERROR(s.read("allow_small_cohorts", p.allow_small_cohorts));
  FL_RETURN_IF_ERROR(s.read("retry_after_ms", p.retry_after_ms));
  FL_RETURN_IF_ERROR(read_selection(s.sub("selection"), p.selection));
  FL_RETURN_IF_ERROR(read_deadlines(s.sub("deadlines_ms"), p.deadlines));
  FL_RETURN_IF_ERROR(read_training(s.sub("training"), p));
  FL_RETURN_IF_ERROR(read_quantization(s.sub("quantization"), p.quantization, p.l2_clip));
  FL_RETURN_IF_ERROR(read_secure_aggregation(s.sub("secure_aggregation"), p));
  FL_RETURN_IF_ERROR(read_server_optimizer(s.sub("server_optimizer"), p.optimizer));
  FL_RETURN_IF_ERROR(
      read_federated_evaluation(s.sub("federated_evaluation"), p.federated_evaluation));
  FL_RETURN_IF_ERROR(read_dp_section(s.sub("dp"), p.dp));
  if (p.dp.sampling_rate == 0 && p.dp.population_size > 0)
    p.dp.sampling_rate =
        static_cast<double>(p.cohort_size) / static_cast<double>(p.dp.population_size);
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
  FL_RETURN_IF_ERROR(s.expect_keys({"mode", "operator_keys"}));
  FL_RETURN_IF_ERROR(s.read_choice<EnrollmentMode>("mode", e.mode,
                                                   {{"token", EnrollmentMode::kToken},
                                                    {"certificate", EnrollmentMode::kCertificate},
                                                    {"open", EnrollmentMode::kOpen}}));
  std::vector<std::string> files;
  FL_RETURN_IF_ERROR(s.read("operator_keys", files));
  if (!files.empty() && e.mode != EnrollmentMode::kCertificate)
    return s.error("operator_keys", "only certificate mode uses operator keys");
  e.operator_keys.clear();
  for (const std::string& file : files) {
    Status st;
    const std::string text = trim(read_file(file, st));
    if (!st.ok()) return s.error("operator_keys", st.message());
    auto key = parse_public_key_hex(text);
    if (!key)
      return s.error("operator_keys", file +
                                          " does not hold an Ed25519 public key as 64 hex digits"
                                          " (devices operator-key writes KEYFILE.pub)");
    e.operator_keys.push_back(*key);
  }
  if (e.mode == EnrollmentMode::kCertificate && e.operator_keys.empty())
    return s.error("operator_keys", "certificate mode needs at least one operator public key");
  return Status::Ok();
}

// --- registry: {holdout, holdout_limit, gate, monitor} ----------------------

Status read_registry(const Section& s, CoordinatorConfig& c) {
  FL_RETURN_IF_ERROR(s.expect_keys({"holdout", "holdout_limit", "gate", "monitor"}));
  FL_RETURN_IF_ERROR(s.read("holdout", c.holdout));
  if (!c.holdout.empty() && c.holdout != "fashion-mnist" &&
      c.holdout.rfind("fashion-mnist:", 0) != 0)
    return s.error("holdout", "must be fashion-mnist or fashion-mnist:DIR");
  FL_RETURN_IF_ERROR(s.read("holdout_limit", c.holdout_limit));
  if (s.has("gate")) {
    const Section gate = s.sub("gate");
    FL_RETURN_IF_ERROR(
        gate.expect_keys({"metric", "higher_is_better", "tolerance", "require_metric"}));
    FL_RETURN_IF_ERROR(gate.read("metric", c.gate.metric));
    c.gate.higher_is_better = default_higher_is_better(c.gate.metric);  // unless given
    FL_RETURN_IF_ERROR(gate.read("higher_is_better", c.gate.higher_is_better));
    FL_RETURN_IF_ERROR(gate.read("tolerance", c.gate.tolerance));
    FL_RETURN_IF_ERROR(gate.read("require_metric", c.gate.require_metric));
    if (Status st = validate_gate_policy(c.gate); !st.ok())
      return gate.error(c.gate.metric.empty() ? "metric" : "tolerance", st.message());
  }
  if (s.has("monitor")) {
    const Section monitor = s.sub("monitor");
    FL_RETURN_IF_ERROR(monitor.expect_keys({"metric", "floor", "higher_is_better"}));
    MonitorPolicy m;
    m.metric = "accuracy";
    FL_RETURN_IF_ERROR(monitor.read("metric", m.metric));
    m.higher_is_better = default_higher_is_better(m.metric);  // unless given
    if (!monitor.has("floor")) return monitor.error("floor", "is required");
    FL_RETURN_IF_ERROR(monitor.read("floor", m.floor));
    FL_RETURN_IF_ERROR(monitor.read("higher_is_better", m.higher_is_better));
    if (Status st = validate_monitor_policy(m); !st.ok())
      return monitor.error(m.metric.empty() ? "metric" : "floor", st.message());
    c.monitor = m;
  }
  return Status::Ok();
}

// --- listen, tls, store, admin token, serving, logging -----------------------

Status read_endpoint(const Section& top, CoordinatorConfig& c) {
  const Section listen = top.sub("listen");
  FL_RETURN_IF_ERROR(listen.expect_keys({"address", "port", "io_threads"}));
  FL_RETURN_IF_ERROR(listen.read("address", c.address));
  FL_RETURN_IF_ERROR(listen.read("port", c.port));
  FL_RETURN_IF_ERROR(listen.read("io_threads", c.io_threads, Range::closed(1, 64)));
  const Section tls = top.sub("tls");
  FL_RETURN_IF_ERROR(tls.expect_keys({"certificate", "private_key", "client_ca"}));
  FL_RETURN_IF_ERROR(tls.read("certificate", c.tls_certificate));
  FL_RETURN_IF_ERROR(tls.read("private_key", c.tls_private_key));
  FL_RETURN_IF_ERROR(tls.read("client_ca", c.tls_client_ca));
  if (c.tls_certificate.empty() != c.tls_private_key.empty())
    return tls.error("private_key", "certificate and private_key go together");
  if (!c.tls_client_ca.empty() && c.tls_certificate.empty())
    return tls.error("client_ca", "mutual TLS needs the server's certificate and private_key");
  FL_RETURN_IF_ERROR(top.read("allow_insecure_http", c.allow_insecure_http));
  FL_RETURN_IF_ERROR(top.read("audience", c.audience));
  if (top.has("audience") && (c.audience.empty() || c.audience.size() > 200))
    return top.error("audience", "must be 1 to 200 characters");
  const Section serving = top.sub("serving");
  FL_RETURN_IF_ERROR(serving.expect_keys({"enabled", "max_batch_rows"}));
  FL_RETURN_IF_ERROR(serving.read("enabled", c.serving_enabled));
  FL_RETURN_IF_ERROR(serving.read("max_batch_rows", c.max_batch_rows, Range::closed(1, 100'000)));
  const Section logging = top.sub("logging");
  FL_RETURN_IF_ERROR(logging.expect_keys({"format"}));
  std::string log_format = "text";
  FL_RETURN_IF_ERROR(logging.read_choice("format", log_format, {"text", "json"}));
  c.json_logs = log_format == "json";
  return Status::Ok();
}

Status read_secrets_and_store(const Section& top, CoordinatorConfig& c) {
  const Section store = top.sub("store");
  FL_RETURN_IF_ERROR(store.expect_keys({"path"}));
  FL_RETURN_IF_ERROR(store.read("path", c.store_path));
  FL_RETURN_IF_ERROR(top.read("admin_token", c.admin_token));
  if (top.has("admin_token_file")) {
    std::string path;
    FL_RETURN_IF_ERROR(top.read("admin_token_file", path));
    Status st;
    c.admin_token = trim(read_file(path, st));
    if (!st.ok()) return top.error("admin_token_file", st.message());
  }
  return read_enrollment(top.sub("enrollment"), c.enrollment);
}

Status read_limits(const Section& s, CoordinatorConfig& c) {
  FL_RETURN_IF_ERROR(
      s.expect_keys({"max_update_bytes", "requests_per_second", "burst", "ip_requests_per_second",
                     "ip_burst", "max_concurrent_uploads"}));
  FL_RETURN_IF_ERROR(s.read("ip_requests_per_second", c.ip_requests_per_second, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read("ip_burst", c.ip_burst, Range::at_least(1)));
  FL_RETURN_IF_ERROR(s.read("max_update_bytes", c.max_update_bytes,
                            Range::closed(1, static_cast<double>(size_t{64} << 20))));
  FL_RETURN_IF_ERROR(s.read("requests_per_second", c.requests_per_second, Range::above(0)));
  FL_RETURN_IF_ERROR(s.read("burst", c.burst, Range::at_least(1)));
  return s.read("max_concurrent_uploads", c.max_concurrent_uploads, Range::closed(1, 1024));
}

// What no single key decides: the whole configuration, also after flags
// changed it. The key is the dotted path in the YAML.
std::optional<ConfigProblem> find_config_problem(const CoordinatorConfig& c) {
  if (c.admin_token.size() < 16)
    return ConfigProblem{
        "admin_token",
        "an admin token of at least 16 characters is required (admin_token or admin_token_file)"};
  if (!(c.requests_per_second > 0))
    return ConfigProblem{"limits.requests_per_second", "must be > 0"};
  if (!(c.burst >= 1)) return ConfigProblem{"limits.burst", "must be >= 1"};
  // Plaintext only where no network attacker sits: a man in the middle could
  // otherwise swap peers' secure aggregation keys and read an update.
  if (c.tls_certificate.empty() && !c.allow_insecure_http && !is_loopback_host(c.address))
    return ConfigProblem{
        "listen.address",
        c.address +
            " is not loopback and tls is not configured: clients' traffic would be plaintext; "
            "configure tls (certificate, private_key) or set allow_insecure_http: true knowingly"};
  if (auto problem = find_population_problem(c.population)) {
    problem->key = "population." + problem->key;
    return problem;
  }
  if (c.population.model_spec.kind == model::ModelKind::kCustom) {
    if (!c.holdout.empty())
      return ConfigProblem{"registry.holdout",
                           "must be left out for model kind custom: holdout evaluation runs the "
                           "built-in models' forward pass, and an app-defined model's weights are "
                           "not interpreted by the coordinator"};
    if (c.gate.require_metric)
      return ConfigProblem{"registry.gate.require_metric",
                           "must be false for model kind custom: no holdout or federated "
                           "evaluation gives its versions a metric, so every one would be held"};
  }
  // The engine runs SCAFFOLD (fl-sim drives it so); the service's clients
  // are the SDK's, which refuse it (client_sdk/round.cc says why).
  if (c.population.scaffold())
    return ConfigProblem{"population.training.algorithm",
                         "scaffold is not supported by fl-coordinator: the client SDK does not "
                         "keep a control variate yet (its Trainer has no hook for the per-step "
                         "gradient correction); it runs in fl-sim's in-process mode"};
  return std::nullopt;
}

Result<CoordinatorConfig> read_config(const yaml::Document& doc) {
  if (doc.empty()) return InvalidArgument(doc.source() + ": the configuration is empty");
  const Section top = doc.root();
  if (top.has("enrollment_token"))
    return top.error("enrollment_token",
                     "was replaced by `enrollment: {mode: token}`: one-time tokens per device, "
                     "issued with `fl-coordinator devices issue`");
  FL_RETURN_IF_ERROR(top.expect_keys({"listen", "tls", "store", "admin_token", "admin_token_file",
                                      "enrollment", "limits", "population", "registry", "serving",
                                      "logging", "allow_insecure_http", "audience"}));
  CoordinatorConfig c;
  FL_RETURN_IF_ERROR(read_registry(top.sub("registry"), c));
  FL_RETURN_IF_ERROR(read_endpoint(top, c));
  FL_RETURN_IF_ERROR(read_secrets_and_store(top, c));
  FL_RETURN_IF_ERROR(read_limits(top.sub("limits"), c));
  if (!top.has("population")) return top.error("population", "is required");
  FL_RETURN_IF_ERROR(read_population(top.sub("population"), c.population));
  if (auto problem = find_config_problem(c)) return top.error_at(problem->key, problem->why);
  return c;
}

}  // namespace

// dp: {mode, noise_multiplier, clip, population_size, sampling_rate,
// target_delta, max_epsilon, bits}. sampling_rate defaults to
// cohort_size / population_size; what the values must satisfy together is
// judged by find_population_problem (dp_config.h's check_dp_config).
Status read_dp_section(const yaml::Section& s, aggregation::dp::DpConfig& dp) {
  FL_RETURN_IF_ERROR(
      s.expect_keys({"mode", "noise_multiplier", "clip", "population_size", "sampling_rate",
                     "target_delta", "max_epsilon", "bits", "adaptive_clipping"}));
  FL_RETURN_IF_ERROR(s.read_choice<aggregation::dp::DpMode>(
      "mode", dp.mode,
      {{"off", aggregation::dp::DpMode::kOff},
       {"central", aggregation::dp::DpMode::kCentral},
       {"distributed", aggregation::dp::DpMode::kDistributed}}));
  FL_RETURN_IF_ERROR(s.read("noise_multiplier", dp.noise_multiplier));
  FL_RETURN_IF_ERROR(s.read("clip", dp.clip));
  FL_RETURN_IF_ERROR(s.read("population_size", dp.population_size));
  FL_RETURN_IF_ERROR(s.read("sampling_rate", dp.sampling_rate));
  FL_RETURN_IF_ERROR(s.read("target_delta", dp.target_delta));
  FL_RETURN_IF_ERROR(s.read("max_epsilon", dp.max_epsilon, Range::above(0)));
  if (s.has("adaptive_clipping")) {
    // Andrew et al. 2021; TFF's and Flower's defaults.
    const Section a = s.sub("adaptive_clipping");
    FL_RETURN_IF_ERROR(
        a.expect_keys({"initial_clip", "target_quantile", "learning_rate", "count_stddev"}));
    aggregation::dp::AdaptiveClippingConfig adaptive;
    FL_RETURN_IF_ERROR(a.read("initial_clip", adaptive.initial_clip, Range::above(0)));
    FL_RETURN_IF_ERROR(a.read("target_quantile", adaptive.target_quantile, Range::closed(0, 1)));
    FL_RETURN_IF_ERROR(a.read("learning_rate", adaptive.learning_rate, Range::above(0)));
    FL_RETURN_IF_ERROR(a.read("count_stddev", adaptive.count_stddev, Range::at_least(0)));
    dp.adaptive = adaptive;
  }
  return s.read("bits", dp.bits);
}

Result<CoordinatorConfig> parse_config(const std::string& yaml, const std::string& source) {
  auto doc = yaml::Document::parse(yaml, source);
  if (!doc.ok()) return doc.status();
  // Errors are values: the YAML layer throws nothing, and neither may what
  // the readers above call (model specs, optimisers) end the coordinator.
  try {
    return read_config(*doc);
  } catch (const std::exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
}

Result<CoordinatorConfig> load_config_file(const std::string& path) {
  auto doc = yaml::Document::load_file(path);
  if (!doc.ok()) return doc.status();
  try {
    return read_config(*doc);
  } catch (const std::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
}

Status validate_config(const CoordinatorConfig& c) {
  if (auto problem = find_config_problem(c))
    return InvalidArgument(problem->key + ": " + problem->why);
  return Status::Ok();
}

}  // namespace fl::coordinator
