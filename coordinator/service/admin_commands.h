// fl-coordinator's offline subcommands, run against the store file (safe
// while the service runs on it: SQLite transactions, and the running service
// picks up a publish or rollback within a second):
//
//   models list     --db F --model M            every version, stage, metrics
//   models show     --db F --version V          one version in full, with the privacy
//                                               ledger of its population up to it
//   models history  --db F --model M            publications, newest first
//   models publish  --db F --model M --version V
//   models rollback --db F --model M [--to V]
//   predict --db F --model M [--version V] --input rows.csv --output predictions.csv
//   serve   --db F --model M [--model M2 ...] [--address A] [--port P] [--io-threads N]
//   devices issue   --db F --count N --out FILE [--label L]   one-time enrolment tokens
//   devices list    --db F                        hash prefix, state, client, times
//   devices revoke  --db F (--client ID | --token-hash PREFIX)
//   devices operator-key --out KEYFILE            an operator signing key (KEYFILE.pub)
//   devices certify --operator-key KEYFILE (--identity-public-key HEX | --identity-file F)
//                   [--valid-days D] [--label L] --out CERT
//
// Token and key files are written with mode 0600 and never overwritten: the
// tokens file is the only copy of the tokens (the store keeps their hashes).
//
// `serve` answers the serving APIs, /metrics, /healthz and /readyz from the
// registry without running rounds, hot-swapping when the published version
// changes.
//
// Thread-safety: each function runs a whole command on the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::coordinator {

struct ModelsCommand {
  std::string action;  // list | show | history | publish | rollback
  std::string db;
  std::string model;
  int64_t version = 0;
  std::optional<int64_t> to;
};
int run_models_command(const ModelsCommand& command);

struct PredictCommand {
  std::string db, model, input, output;
  int64_t version = 0;  // 0: the published one
};
int run_predict_command(const PredictCommand& command);

struct ServeCommand {
  std::string db;
  std::vector<std::string> models;
  std::string address = "127.0.0.1";
  uint16_t port = 8501;  // TensorFlow Serving's REST port
  int io_threads = 2;
  size_t max_batch_rows = 1024;
  bool json_logs = false;
  // serve speaks plain HTTP only: beyond loopback, only when asked for (put
  // a TLS-terminating proxy in front otherwise).
  bool allow_insecure_http = false;
};
// Runs until SIGINT or SIGTERM.
int run_serve_command(const ServeCommand& command);

struct DevicesCommand {
  std::string action;  // issue | list | revoke | operator-key | certify
  std::string db;
  size_t count = 0;
  std::string out;
  std::optional<std::string> label;
  std::optional<uint64_t> client;   // revoke --client
  std::string token_hash;           // revoke --token-hash (a hex prefix)
  std::string operator_key;         // certify: the operator's seed file
  std::string identity_public_key;  // certify: 64 hex digits
  std::string identity_file;        // certify: or the device's seed / public key hex file
  int valid_days = 365;
};
int run_devices_command(const DevicesCommand& command);

}  // namespace fl::coordinator
