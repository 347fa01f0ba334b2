// fl-coordinator's configuration: a YAML file, each option also settable by a
// command-line flag (flags win). Every key is checked: an unknown key, a value
// of the wrong type or an impossible setting is refused before the service
// starts, with the file, the key and the line.
//
//   listen:   {address: 127.0.0.1, port: 8080, io_threads: 2}
//   tls:      {certificate: server.pem, private_key: server.key,   # optional
//              client_ca: devices-ca.pem}    # optional: mutual TLS, clients need a cert from it
//   allow_insecure_http: false   # true: allow plain HTTP on a non-loopback address
//   audience: "fl-prod-eu"       # optional: the id signed requests are bound to
//   store:    {path: fl.db}
//   admin_token_file: admin.token        # or admin_token: "..."
//   enrollment:                          # who may enrol (DESIGN.md section 9)
//     mode: token                        # token (default) | certificate | open
//     operator_keys: [operator.key.pub]  # certificate mode: operator public keys (hex files)
//   limits:   {max_update_bytes: 67108864, requests_per_second: 50, burst: 200,
//              ip_requests_per_second: 500, ip_burst: 1000, max_concurrent_uploads: 4}
//             # requests_per_second/burst: per authenticated client; ip_*: per peer
//             # address, applied before authentication
//   population:
//     name: fmnist
//     model: {name: fmnist-softmax, kind: softmax, input_dim: 784, classes: 10,
//             hidden: [100], activation: relu, seed: 1}
//         # or an app-defined model: a flat vector the coordinator aggregates and
//         # versions without interpreting (README, "App-defined models"):
//         # {name: my-model, kind: custom, parameters: 41,
//         #  layout: [{name: w, size: 40}, {name: b, size: 1}]}
//         # (sizes sum to parameters, names unique, at most 2^31; it starts at
//         # zero; serving, holdout and federated evaluation are refused for it)
//     rounds: 3
//     cohort_size: 20
//     over_selection: 1.3
//     min_cohort: 10                     # at least 10 unless allow_small_cohorts: true
//     selection: {policy: uniform, once_in_rounds: 1}   # first_come: insecure, tests only
//     retry_after_ms: 2000
//     deadlines_ms: {selection: 30000, advertise_keys: 10000, share_keys: 10000,
//                    masked_input: 120000, unmasking: 10000}
//     training: {epochs: 1, batch_size: 32, learning_rate: 0.1, optimizer: sgd,
//                momentum: 0.0, weight_decay: 0.0, fedprox_mu: 0.0, seed: 1,
//                lr_schedule: constant, lr_decay: 1.0, lr_min: 0.0}
//                # algorithm: fedavg (scaffold: the engine runs it, with population_size:
//                # N; fl-coordinator refuses it, its SDK clients keep no control variate)
//                # the task's rate per round: constant | exponential | cosine
//                # over `rounds` (model/round_lr_schedule.h, as fl-sim's local.lr_*)
//     quantization: {clip: 1.0, bits: 20, ring_bits: 64, max_weight: 10000,
//                    l2_clip: 0.0}   # > 0: clients clip their update to this L2 norm
//     secure_aggregation: {graph: complete, expected_dropout: 0.1,
//                          corrupt_fraction: 0.05, degree: 8, threshold: 5,
//                          unmask_threads: 2, signed_keys: true,
//                          prg: aes256ctr,   # mask keystream: aes256ctr | chacha20
//                          reveal_pair_seeds: false}
//         # true: survivors send the pairwise seeds of dropped neighbours, so
//         # unmasking skips most X25519 agreements (2.4x faster at 500 clients,
//         # 30% dropout). Only for a coordinator trusted to follow the
//         # protocol: one that lies about who dropped can then recover a
//         # client's input with no colluding client (README, threat model).
//     server_optimizer: {kind: fedavg, server_lr: 1.0, momentum: 0.9,
//                        beta1: 0.9, beta2: 0.99, tau: 0.001}
//     federated_evaluation: {enabled: true, min_reports: 3, deadline_ms: 30000}
//         # Clients of the round score the new version on held-out data:
//         # fed_accuracy, fed_f1, fed_loss... for a classifier; fed_mse,
//         # fed_mae, fed_loss for a regressor. It concludes when every client
//         # answered or at deadline_ms. With fewer than min_reports valid
//         # reports it is inconclusive: a warning "evaluation_inconclusive" in
//         # the log, a registry alert of that kind and
//         # fl_federated_evaluations_inconclusive_total{population}. A gate on
//         # fed_X then judges the version on the holdout's X if it has one,
//         # else holds it (reason "evaluation inconclusive ..."); it is never
//         # left waiting. Training goes on from the version either way.
//     dp: {mode: off}   # off | central | distributed (aggregation/dp/README.md):
//         # {mode: central, noise_multiplier: 1.0, clip: 0.5, population_size: 10000,
//         #  sampling_rate: 0.01 (default cohort_size / population_size),
//         #  target_delta: 1e-5, max_epsilon: 8, bits: 16 (distributed: the modulus)}
//   registry:                            # optional: the quality gate and monitoring
//     # gate/monitor metrics: a holdout's "accuracy", "f1", "loss"..., or the
//     # federated evaluation's "fed_accuracy", "fed_f1", "fed_loss"... (a
//     # regressor's "fed_mse", "fed_mae"). higher_is_better defaults to false
//     # for losses and errors (*loss, *mse, *mae), true for the others.
//     holdout: fashion-mnist             # server-side evaluation data: fashion-mnist[:DIR]
//     holdout_limit: 2000                # examples of it used (0: all)
//     gate: {metric: accuracy, higher_is_better: true, tolerance: 0.01,
//            require_metric: true}
//     monitor: {metric: accuracy, floor: 0.5, higher_is_better: true}
//   serving: {enabled: true, max_batch_rows: 1024}
//   logging: {format: text}              # or json: one JSON object per line
//
// Thread-safety: a value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/yaml_reader.h"
#include "coordinator/registry/monitor_policy.h"
#include "coordinator/registry/quality_gate.h"
#include "coordinator/rounds/population_config.h"

namespace fl::coordinator {

// How a device proves it may enrol (coordinator/service/enrollment.h).
//   token:       a one-time per-device token from `fl-coordinator devices issue`.
//   certificate: its identity key signed by one of operator_keys
//                (`fl-coordinator devices certify`).
//   open:        anyone may enrol, so an outsider can enrol many identities
//                and fill a cohort with them; for labs and benchmarks only,
//                chosen explicitly and warned about at every start.
enum class EnrollmentMode { kToken, kCertificate, kOpen };
struct EnrollmentConfig {
  EnrollmentMode mode = EnrollmentMode::kToken;
  std::vector<std::array<uint8_t, 32>> operator_keys;  // Ed25519 public keys
};

struct CoordinatorConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  int io_threads = 2;
  std::string tls_certificate;  // both empty: plain HTTP
  std::string tls_private_key;
  std::string tls_client_ca;  // set: mutual TLS, clients present a certificate from this CA
  // Plain HTTP on a non-loopback address is refused unless this is set.
  bool allow_insecure_http = false;
  // The coordinator's id that client signatures cover, so a request signed for
  // one coordinator is refused by another. Empty: derived from the admin token
  // (distinct per deployment, stable across restarts).
  std::string audience;
  std::string store_path = "fl-coordinator.db";
  std::string admin_token;
  EnrollmentConfig enrollment;
  size_t max_update_bytes = size_t{64} << 20;
  double requests_per_second = 50;
  // Large uploads (masked inputs) read at once; the rest wait in their
  // sockets. The coordinator's memory for uploads is this x update size.
  size_t max_concurrent_uploads = 4;
  double burst = 200;
  // Per peer address, before authentication (enrolment, unsigned traffic, and
  // every request's header); a NAT with many devices shares one budget.
  double ip_requests_per_second = 500;
  double ip_burst = 1000;
  PopulationConfig population;

  // The registry's policies. Without a holdout, candidates carry no accuracy:
  // the gate then holds them unless gate.require_metric is false.
  std::string holdout;  // "" | "fashion-mnist" | "fashion-mnist:DIR"
  size_t holdout_limit = 0;
  GatePolicy gate{
      .metric = "accuracy", .higher_is_better = true, .tolerance = 0.0, .require_metric = false};
  std::optional<MonitorPolicy> monitor;

  bool serving_enabled = true;
  size_t max_batch_rows = 1024;
  bool json_logs = false;
};

// Reads and validates a configuration file.
Result<CoordinatorConfig> load_config_file(const std::string& path);
// The same from text (`source` names it in errors).
Result<CoordinatorConfig> parse_config(const std::string& yaml, const std::string& source);
// Checks the whole configuration (also after flags changed it).
Status validate_config(const CoordinatorConfig& config);

// Reads a `dp:` section (the coordinator's population, and fl-sim's scenario)
// into `dp`, keys it leaves out keeping their value; whether the values work
// together is judged by aggregation::dp::check_dp_config.
Status read_dp_section(const yaml::Section& s, aggregation::dp::DpConfig& dp);

}  // namespace fl::coordinator
