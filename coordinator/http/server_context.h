// Internal to fl_http: the state an HttpServer shares with its connection
// sessions (options, router, limiters, byte budget, TLS context, connection
// bookkeeping).
// It outlives every session: HttpServer::Impl declares it before the
// io_context, so sessions destroyed with the io_context can still deregister.
//
// Not for: anything outside coordinator/http (it exposes Boost types).
//
// Thread-safety: immutable after start() except the atomics and the
// mutex-guarded session registry.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>

#include "coordinator/http/body_buffer_pool.h"
#include "coordinator/http/http_server.h"
#include "coordinator/http/rate_limiter.h"
#include "coordinator/http/router.h"
#include "coordinator/http/upload_gate.h"

namespace fl::http {

// What stop() needs from a connection, whatever its stream type.
class SessionControl {
 public:
  virtual ~SessionControl() = default;
  // Posted to the session's strand: closes it now if it is idle between
  // requests, else lets the current request finish with Connection: close.
  virtual void begin_shutdown() = 0;
};

struct ServerContext {
  ServerContext(Router r, HttpServerOptions o)
      : router(std::move(r)),
        options(std::move(o)),
        upload_gate(options.max_concurrent_large_bodies),
        body_pool(options.max_concurrent_large_bodies, options.body_pool_bytes) {
    if (options.rate_limit) rate_limiter.emplace(*options.rate_limit, options.rate_limit_clock);
    if (options.client_rate_limit)
      client_rate_limiter.emplace(*options.client_rate_limit, options.rate_limit_clock);
  }

  // Reserves `bytes` of max_unauthenticated_body_bytes; false if over it.
  bool reserve_unauthenticated(uint64_t bytes) {
    uint64_t used = unauthenticated_bytes.load();
    do {
      if (bytes > options.max_unauthenticated_body_bytes ||
          used > options.max_unauthenticated_body_bytes - bytes)
        return false;
    } while (!unauthenticated_bytes.compare_exchange_weak(used, used + bytes));
    return true;
  }
  void release_unauthenticated(uint64_t bytes) { unauthenticated_bytes -= bytes; }

  const Router router;
  const HttpServerOptions options;
  std::optional<RateLimiter> rate_limiter;         // per peer IP
  std::optional<RateLimiter> client_rate_limiter;  // per authenticated client
  UploadGate upload_gate;
  BodyBufferPool body_pool;  // buffers of large bodies, reused (body_buffer_pool.h)
  std::optional<boost::asio::ssl::context> tls;

  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> unauthenticated_bytes{0};  // reserved bodies in flight

  // Live sessions, for graceful stop; a session removes itself on destruction.
  std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  std::list<std::weak_ptr<SessionControl>> sessions;
  size_t open_sessions = 0;  // guarded by sessions_mu
};

// Creates the session for an accepted socket (plain or TLS, per context.tls),
// registers it and starts it. Called on the socket's strand.
void start_session(ServerContext& context, boost::asio::ip::tcp::socket socket);

}  // namespace fl::http
