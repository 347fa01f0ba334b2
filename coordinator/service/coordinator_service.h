// fl-coordinator as a library: the store, the round engine and the HTTP(S)
// API wired together, with a ticker thread that delivers stage deadlines.
//
// Routes (bodies application/x-protobuf; errors {"error": "..."}):
//   POST /v1/enroll                 unsigned (enrolment token if configured)
//   POST /v1/checkin                signed by an enrolled client
//   GET  /v1/rounds/{round}/task    signed
//   GET  /v1/models/{version}       signed
//   POST /v1/rounds/{round}/secagg  signed; body up to limits.max_update_bytes
//   GET  /healthz, /readyz          probes
//   GET  /v1/admin/status           admin bearer token; JSON
//   GET  /v1/admin/rounds           admin bearer token; JSON
//
// Thread-safety: start() and stop() from one thread; handlers run on the io
// threads and the engine serialises them.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "base/status.h"
#include "coordinator/http/http_server.h"
#include "coordinator/rounds/round_engine.h"
#include "coordinator/service/config.h"
#include "coordinator/store/store.h"
#include "crypto/rng.h"

namespace fl::coordinator {

class CoordinatorService {
 public:
  // Opens the store (failing interrupted rounds), creates the engine and the
  // routes. Nothing listens until start().
  static Result<std::unique_ptr<CoordinatorService>> create(CoordinatorConfig config);
  ~CoordinatorService();

  Status start();
  void stop();
  uint16_t port() const;
  RoundEngine& engine() { return *engine_; }
  Store& store() { return *store_; }

 private:
  CoordinatorService() = default;
  http::Router routes();

  CoordinatorConfig config_;
  std::unique_ptr<Store> store_;
  crypto::SystemRng rng_;
  std::unique_ptr<RoundEngine> engine_;
  std::unique_ptr<http::HttpServer> server_;
  std::atomic<bool> running_{false};
  std::thread ticker_;
};

int64_t unix_millis_now();

}  // namespace fl::coordinator
