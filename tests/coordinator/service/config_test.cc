// fl-coordinator's configuration: every refusal is FILE:LINE: key.path: why,
// at the line of the value (or key) at fault; a good file loads the values it
// says and the documented defaults for the rest.
#include "coordinator/service/config.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::coordinator {
namespace {

// Line 1: admin_token, 2: population, 3: name, 4: model, 5: cohort_size;
// cases append from line 6 or prepend a top-level line (then shifted by 1).
constexpr char kBase[] =
    "admin_token: config-test-admin-token\n"
    "population:\n"
    "  name: pop\n"
    "  model: {name: tiny, kind: softmax, input_dim: 4, classes: 3}\n"
    "  cohort_size: 12\n";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  return text.replace(text.find(from), from.size(), to);
}

std::string error_of(const std::string& yaml) {
  auto c = parse_config(yaml, "c.yaml");
  return c.ok() ? std::string("(accepted)") : c.status().message();
}

TEST(CoordinatorConfigFile, BadConfigsAreRefusedAtTheirFileLineAndKey) {
  const std::string base = kBase;
  struct Case {
    std::string yaml;
    std::string prefix;
  };
  const Case cases[] = {
      // wrong type
      {base + "  rounds: two\n", "c.yaml:6: population.rounds: expected an integer, got 'two'"},
      {"listen: {port: http}\n" + base, "c.yaml:1: listen.port: expected an integer, got 'http'"},
      {"serving: {enabled: maybe}\n" + base,
       "c.yaml:1: serving.enabled: expected true or false, got 'maybe'"},
      {base + "  training: {learning_rate: [0.1]}\n",
       "c.yaml:6: population.training.learning_rate: expected a number, got a list"},
      {base + "  rounds: 2.5\n", "c.yaml:6: population.rounds: expected an integer, got '2.5'"},
      // out of range
      {"listen: {port: 70000}\n" + base,
       "c.yaml:1: listen.port: must be an integer in [0, 65535], got 70000"},
      {"listen: {io_threads: 0}\n" + base,
       "c.yaml:1: listen.io_threads: must be in [1, 64], got 0"},
      {"limits: {max_concurrent_uploads: 0}\n" + base,
       "c.yaml:1: limits.max_concurrent_uploads: must be in [1, 1024], got 0"},
      {"limits: {burst: 0.5}\n" + base, "c.yaml:1: limits.burst: must be >= 1, got 0.5"},
      {replace(base, "cohort_size: 12", "cohort_size: -3"),
       "c.yaml:5: population.cohort_size: must be a non-negative integer, got -3"},
      {base + "  cohort_size: 13\n", "c.yaml:6: population.cohort_size: appears twice"},
      {base + "  over_selection: 20\n", "c.yaml:6: population.over_selection: must be in [1, 10]"},
      {base + "  secure_aggregation:\n    expected_dropout: 1.5\n",
       "c.yaml:7: population.secure_aggregation.expected_dropout: must be in [0, 1)"},
      {base + "  deadlines_ms: {share_keys: 0}\n",
       "c.yaml:6: population.deadlines_ms.share_keys: must be a positive number of milliseconds"},
      {base + "  quantization: {bits: 40, ring_bits: 32}\n",
       "c.yaml:6: population.quantization.bits: quantisation bits must be in [2, 31]"},
      // A key left at its default is located at the mapping that lacks it.
      {replace(base, "cohort_size: 12", "cohort_size: 5"),
       "c.yaml:3: population.min_cohort: must be in [2, cohort_size x over_selection = 7], got "
       "10"},
      // unknown key
      {base + "  cohort_sise: 12\n",
       "c.yaml:6: population.cohort_sise: unknown key; did you mean cohort_size? (expected one "
       "of: name, model,"},
      {"lisen: {port: 1}\n" + base, "c.yaml:1: lisen: unknown key; did you mean listen?"},
      {base + "  colour: blue\n", "c.yaml:6: population.colour: unknown key (expected one of:"},
      {"enrollment_token: abc\n" + base,
       "c.yaml:1: enrollment_token: was replaced by `enrollment: {mode: token}`"},
      // a name out of a set
      {base + "  server_optimizer: {kind: sgd}\n",
       "c.yaml:6: population.server_optimizer.kind: must be one of fedavg, fedavgm, fedadam, "
       "fedyogi, fedadagrad, got 'sgd'"},
      {"logging: {format: xml}\n" + base,
       "c.yaml:1: logging.format: must be one of text, json, got 'xml'"},
      // bad nesting
      {"listen: [1, 2]\n" + base, "c.yaml:1: listen: expected a mapping of keys, got a list"},
      {base + "  training: 5\n",
       "c.yaml:6: population.training: expected a mapping of keys, got '5'"},
      {base + "  model:\n  kind: mlp\n", "c.yaml:6: population.model: appears twice"},
      {"admin_token: config-test-admin-token\npopulation: {name: p}\n",
       "c.yaml:2: population.model: is required"},
      {"admin_token: config-test-admin-token\n", "c.yaml:1: population: is required"},
      // what no single key decides
      {base + "  training: {algorithm: fedsgd}\n",
       "c.yaml:6: population.training.algorithm: must be one of fedavg, scaffold, got 'fedsgd'"},
      {base + "  training: {algorithm: scaffold}\n",
       "c.yaml:6: population.training.population_size: scaffold needs N"},
      {base + "  training: {algorithm: scaffold, population_size: 100, optimizer: adam}\n",
       "c.yaml:6: population.training.algorithm: scaffold needs local sgd"},
      {base + "  training: {algorithm: scaffold, population_size: 100}\n  dp: {mode: central, "
              "clip: 0.5, noise_multiplier: 1.0, population_size: 1000, "
              "target_delta: 0.00001}\n",
       "c.yaml:6: population.training.algorithm: scaffold cannot run with dp"},
      {base + "  training: {algorithm: scaffold, population_size: 100}\n",
       "c.yaml:6: population.training.algorithm: scaffold is not supported by fl-coordinator"},
      {"listen: {address: 0.0.0.0}\n" + base, "c.yaml:1: listen.address: 0.0.0.0 is not loopback"},
      {"admin_token: short\n" + base.substr(base.find('\n') + 1),
       "c.yaml:1: admin_token: an admin token of at least 16 characters"},
      // not YAML at all
      {"", "c.yaml: the configuration is empty"},
      {"a: b: c\n", "c.yaml:1: not valid YAML"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_EQ(e.rfind(c.prefix, 0), 0u) << "yaml:\n" << c.yaml << "error: " << e;
  }
}

// An app-defined model: the layout must add up, and nothing that would
// interpret its weights may be on.
TEST(CoordinatorConfigFile, CustomModelsAreRefusedAtTheKeyThatCannotWork) {
  const std::string base = kBase;
  const std::string custom =
      replace(base, "model: {name: tiny, kind: softmax, input_dim: 4, classes: 3}",
              "model: {name: app, kind: custom, parameters: 41,\n"
              "          layout: [{name: w, size: 40},\n"
              "                   {name: b, size: 1}]}");  // lines 4-6; cohort_size is line 7
  auto good = parse_config(custom, "c.yaml");
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  const model::ModelSpec& spec = good->population.model_spec;
  EXPECT_EQ(spec.kind, model::ModelKind::kCustom);
  EXPECT_EQ(model::num_params(spec), 41);
  ASSERT_EQ(spec.layout.size(), 2u);
  EXPECT_EQ(spec.layout[0], (model::ParameterBlock{"w", 40}));
  EXPECT_EQ(spec.layout[1], (model::ParameterBlock{"b", 1}));

  struct Case {
    std::string yaml;
    std::string prefix;
  };
  const Case cases[] = {
      {replace(custom, "size: 1}", "size: 2}"),
       "c.yaml:5: population.model.layout: the block sizes add up to more than parameters "
       "(41)"},
      {replace(custom, "parameters: 41", "parameters: 50"),
       "c.yaml:5: population.model.layout: the block sizes sum to 41 but parameters is 50"},
      {replace(custom, "name: b", "name: w"),
       "c.yaml:5: population.model.layout: block 1: the name 'w' appears twice"},
      {replace(custom, "{name: b, size: 1}", "{name: b, size: 0}"),
       "c.yaml:6: population.model.layout[1].size: must be in [1, 2147483648], got 0"},
      {replace(custom, "{name: b, size: 1}", "{name: b, sise: 1}"),
       "c.yaml:6: population.model.layout[1].sise: unknown key; did you mean size?"},
      {replace(custom, "{name: b, size: 1}", "{size: 1}"),
       "c.yaml:6: population.model.layout[1]: name is required"},
      {replace(custom, "parameters: 41", "parameters: 4294967296"),
       "c.yaml:4: population.model.parameters: must be in [1, 2147483648], got 4294967296"},
      {replace(custom, "parameters: 41,", "input_dim: 4,"),
       "c.yaml:4: population.model.input_dim: does not apply to kind custom"},
      {replace(custom, "parameters: 41,", ""),
       "c.yaml:4: population.model.parameters: is required for kind custom"},
      {replace(custom, "layout: [{name: w, size: 40},\n                   {name: b, size: 1}]",
               "layout: {name: w, size: 41}"),
       "c.yaml:5: population.model.layout: expected a list, got a mapping"},
      {replace(base, "classes: 3}", "classes: 3, layout: [{name: w, size: 15}]}"),
       "c.yaml:4: population.model.layout: applies to kind custom only"},
      {custom + "  federated_evaluation: {enabled: true}\n",
       "c.yaml:8: population.federated_evaluation.enabled: must be false for model kind custom"},
      {"registry: {holdout: fashion-mnist}\n" + custom,
       "c.yaml:1: registry.holdout: must be left out for model kind custom"},
      {"registry: {gate: {metric: accuracy, require_metric: true}}\n" + custom,
       "c.yaml:1: registry.gate.require_metric: must be false for model kind custom"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_EQ(e.rfind(c.prefix, 0), 0u) << "yaml:\n" << c.yaml << "error: " << e;
  }
}

TEST(CoordinatorConfigFile, EveryKeyLoadsTheValueItSays) {
  auto c = parse_config(
      "listen: {address: 127.0.0.1, port: 9090, io_threads: 3}\n"
      "tls: {certificate: s.pem, private_key: s.key, client_ca: ca.pem}\n"
      "allow_insecure_http: true\n"
      "audience: fl-test\n"
      "store: {path: /tmp/x.db}\n"
      "admin_token: config-test-admin-token\n"
      "enrollment: {mode: open}\n"
      "limits: {max_update_bytes: 1000, requests_per_second: 7, burst: 9,\n"
      "         ip_requests_per_second: 11, ip_burst: 13, max_concurrent_uploads: 2}\n"
      "population:\n"
      "  name: fmnist\n"
      "  model: {name: m, kind: mlp, input_dim: 784, classes: 10, hidden: [64, 32],\n"
      "          activation: tanh, seed: 5}\n"
      "  rounds: 4\n"
      "  cohort_size: 20\n"
      "  over_selection: 1.5\n"
      "  min_cohort: 12\n"
      "  selection: {policy: uniform, once_in_rounds: 2}\n"
      "  retry_after_ms: 1500\n"
      "  deadlines_ms: {selection: 1, advertise_keys: 2, share_keys: 3, masked_input: 4,\n"
      "                 unmasking: 5}\n"
      "  training: {epochs: 2, batch_size: 16, learning_rate: 0.05, optimizer: adam,\n"
      "             momentum: 0.5, weight_decay: 0.001, fedprox_mu: 0.01, seed: 9}\n"
      "  quantization: {clip: 2.0, bits: 18, ring_bits: 32, max_weight: 500}\n"
      "  secure_aggregation: {graph: harary, expected_dropout: 0.2, corrupt_fraction: 0.1,\n"
      "                       degree: 8, threshold: 5, unmask_threads: 4, signed_keys: false}\n"
      "  server_optimizer: {kind: fedadam, server_lr: 0.5, beta1: 0.8, beta2: 0.95, tau: 0.01}\n"
      "  federated_evaluation: {enabled: true, min_reports: 4, deadline_ms: 2000}\n"
      "registry:\n"
      "  holdout: fashion-mnist\n"
      "  holdout_limit: 100\n"
      "  gate: {metric: loss, higher_is_better: false, tolerance: 0.02, require_metric: true}\n"
      "  monitor: {metric: accuracy, floor: 0.4, higher_is_better: true}\n"
      "serving: {enabled: false, max_batch_rows: 64}\n"
      "logging: {format: json}\n",
      "full.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->address, "127.0.0.1");
  EXPECT_EQ(c->port, 9090);
  EXPECT_EQ(c->io_threads, 3);
  EXPECT_EQ(c->tls_certificate, "s.pem");
  EXPECT_EQ(c->tls_private_key, "s.key");
  EXPECT_EQ(c->tls_client_ca, "ca.pem");
  EXPECT_TRUE(c->allow_insecure_http);
  EXPECT_EQ(c->audience, "fl-test");
  EXPECT_EQ(c->store_path, "/tmp/x.db");
  EXPECT_EQ(c->admin_token, "config-test-admin-token");
  EXPECT_EQ(c->enrollment.mode, EnrollmentMode::kOpen);
  EXPECT_EQ(c->max_update_bytes, 1000u);
  EXPECT_EQ(c->requests_per_second, 7);
  EXPECT_EQ(c->burst, 9);
  EXPECT_EQ(c->ip_requests_per_second, 11);
  EXPECT_EQ(c->ip_burst, 13);
  EXPECT_EQ(c->max_concurrent_uploads, 2u);
  const PopulationConfig& p = c->population;
  EXPECT_EQ(p.population, "fmnist");
  EXPECT_EQ(p.model_name, "m");
  EXPECT_EQ(p.model_spec.input_dim, 784);
  EXPECT_EQ(p.model_spec.hidden_layers, (std::vector<int>{64, 32}));
  EXPECT_EQ(p.model_spec.activation, model::Activation::kTanh);
  EXPECT_EQ(p.init_seed, 5u);
  EXPECT_EQ(p.rounds, 4u);
  EXPECT_EQ(p.cohort_size, 20u);
  EXPECT_DOUBLE_EQ(p.over_selection, 1.5);
  EXPECT_EQ(p.min_cohort, 12u);
  EXPECT_EQ(p.selection.policy, SelectionPolicy::kUniform);
  EXPECT_EQ(p.selection.once_in_rounds, 2u);
  EXPECT_EQ(p.retry_after_ms, 1500u);
  EXPECT_EQ(p.deadlines.selection_ms, 1);
  EXPECT_EQ(p.deadlines.advertise_keys_ms, 2);
  EXPECT_EQ(p.deadlines.share_keys_ms, 3);
  EXPECT_EQ(p.deadlines.masked_input_ms, 4);
  EXPECT_EQ(p.deadlines.unmasking_ms, 5);
  EXPECT_EQ(p.training.epochs(), 2u);
  EXPECT_EQ(p.training.batch_size(), 16u);
  EXPECT_FLOAT_EQ(p.training.learning_rate(), 0.05f);
  EXPECT_EQ(p.training.optimizer(), "adam");
  EXPECT_FLOAT_EQ(p.training.momentum(), 0.5f);
  EXPECT_FLOAT_EQ(p.training.weight_decay(), 0.001f);
  EXPECT_FLOAT_EQ(p.training.fedprox_mu(), 0.01f);
  EXPECT_EQ(p.training.seed(), 9u);
  EXPECT_DOUBLE_EQ(p.quantization.clip, 2.0);
  EXPECT_EQ(p.quantization.bits, 18u);
  EXPECT_EQ(p.quantization.ring, crypto::RingBits::k32);
  EXPECT_EQ(p.quantization.max_weight, 500u);
  EXPECT_EQ(p.graph, aggregation::secagg::GraphKind::kHarary);
  EXPECT_DOUBLE_EQ(p.expected_dropout, 0.2);
  EXPECT_DOUBLE_EQ(p.corrupt_fraction, 0.1);
  EXPECT_EQ(p.degree, 8u);
  EXPECT_EQ(p.threshold, 5u);
  EXPECT_EQ(p.unmask_threads, 4u);
  EXPECT_FALSE(p.require_signed_keys);
  EXPECT_EQ(p.optimizer.kind(), proto::SERVER_OPTIMIZER_KIND_FEDADAM);
  EXPECT_DOUBLE_EQ(p.optimizer.server_lr(), 0.5);
  EXPECT_DOUBLE_EQ(p.optimizer.beta1(), 0.8);
  EXPECT_DOUBLE_EQ(p.optimizer.beta2(), 0.95);
  EXPECT_DOUBLE_EQ(p.optimizer.tau(), 0.01);
  EXPECT_TRUE(p.federated_evaluation.enabled);
  EXPECT_EQ(p.federated_evaluation.min_reports, 4u);
  EXPECT_EQ(p.federated_evaluation.deadline_ms, 2000);
  EXPECT_EQ(c->holdout, "fashion-mnist");
  EXPECT_EQ(c->holdout_limit, 100u);
  EXPECT_EQ(c->gate.metric, "loss");
  EXPECT_FALSE(c->gate.higher_is_better);
  EXPECT_DOUBLE_EQ(c->gate.tolerance, 0.02);
  EXPECT_TRUE(c->gate.require_metric);
  ASSERT_TRUE(c->monitor.has_value());
  EXPECT_DOUBLE_EQ(c->monitor->floor, 0.4);
  EXPECT_FALSE(c->serving_enabled);
  EXPECT_EQ(c->max_batch_rows, 64u);
  EXPECT_TRUE(c->json_logs);
}

TEST(CoordinatorConfigFile, UnsetKeysKeepTheDocumentedDefaults) {
  auto c = parse_config(kBase, "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->address, "127.0.0.1");
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->io_threads, 2);
  EXPECT_EQ(c->store_path, "fl-coordinator.db");
  EXPECT_EQ(c->enrollment.mode, EnrollmentMode::kToken);
  EXPECT_EQ(c->max_update_bytes, size_t{64} << 20);
  EXPECT_EQ(c->requests_per_second, 50);
  EXPECT_EQ(c->max_concurrent_uploads, 4u);
  const PopulationConfig& p = c->population;
  EXPECT_EQ(p.rounds, 10u);
  EXPECT_DOUBLE_EQ(p.over_selection, 1.3);
  EXPECT_EQ(p.min_cohort, 10u);
  EXPECT_EQ(p.retry_after_ms, 5000u);
  EXPECT_EQ(p.deadlines.masked_input_ms, 120'000);
  EXPECT_EQ(p.training.epochs(), 1u);
  EXPECT_EQ(p.training.batch_size(), 32u);
  EXPECT_FLOAT_EQ(p.training.learning_rate(), 0.1f);
  EXPECT_EQ(p.training.optimizer(), "sgd");
  EXPECT_EQ(p.training.seed(), 1u);
  EXPECT_EQ(p.quantization.bits, 20u);
  EXPECT_EQ(p.quantization.ring, crypto::RingBits::k64);
  EXPECT_EQ(p.quantization.max_weight, 10000u);
  EXPECT_EQ(p.graph, aggregation::secagg::GraphKind::kComplete);
  EXPECT_FALSE(p.degree.has_value());
  EXPECT_FALSE(p.threshold.has_value());
  EXPECT_TRUE(p.require_signed_keys);
  EXPECT_EQ(p.optimizer.kind(), proto::SERVER_OPTIMIZER_KIND_FEDAVG);
  EXPECT_FALSE(p.federated_evaluation.enabled);
  EXPECT_FALSE(c->gate.require_metric);
  EXPECT_FALSE(c->monitor.has_value());
  EXPECT_TRUE(c->serving_enabled);
  EXPECT_FALSE(c->json_logs);
}

TEST(CoordinatorConfigFile, FlagsAreCheckedByTheSameRulesWithoutALine) {
  auto c = parse_config(kBase, "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  c->population.cohort_size = 1;  // as a command-line flag would set it
  EXPECT_EQ(validate_config(*c).message(), "population.cohort_size: must be at least 2");
}

}  // namespace
}  // namespace fl::coordinator
