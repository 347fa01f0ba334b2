// The coordinator's HTTP(S) server: Boost.Beast, asynchronous, on N io threads.
//
// One session object per connection (http_session.cc, after Beast's
// example/http/server/async) reads each request's header first, routes it,
// and only then reads the body with the route's body limit, so an oversized
// upload is refused with 413 before any of it is buffered. Every read and
// write has a timeout; connections beyond max_connections are closed at
// accept; an optional per-key token bucket answers 429 with Retry-After; an
// optional authorizer runs for routes with an auth class (auth_hook.h wires in
// the fl-request-v1 client signatures and the admin token). Handlers run on
// the io thread that read the request and must not block for long.
//
// Error answers are JSON {"error": "..."}: 400 malformed request, 401 failed
// authentication, 404 unknown path, 405 wrong method (with Allow), 413 body
// over the route's limit, 429 rate limited, 431 header too large, 500 a
// handler threw (the exception text goes to on_handler_error, not the client).
//
// Not for: HTTP/2, WebSockets, streaming bodies, Expect: 100-continue (the
// client sends the body without waiting; curl waits 1 s and then does too).
//
// Thread-safety: start(), stop() and the accessors may be called from any one
// thread, but never from inside a handler (stop() waits for handlers). A server
// is started at most once; the destructor stops it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "coordinator/http/rate_limiter.h"
#include "coordinator/http/request.h"
#include "coordinator/http/request_metrics.h"
#include "coordinator/http/router.h"

namespace fl::http {

struct TlsOptions {
  std::string certificate_chain_file;  // PEM: leaf first, then intermediates
  std::string private_key_file;        // PEM, unencrypted
  // Mutual TLS. Empty: clients are not asked for a certificate. Set (PEM
  // trust anchors): every client must present a certificate chaining to one
  // of them, or the handshake fails before any HTTP is read.
  std::string client_ca_file = {};
};

// Authenticates `request` for a route whose auth class is `auth_class`; on
// success it may fill request.client_id / request.admin. PermissionDenied is
// answered with 401 and the Status message; other errors as http_status_for.
using Authorizer = std::function<Status(Request& request, std::string_view auth_class)>;

// The rate limiter's key for a request (header and peer known, body not yet
// read). Default: the peer IP.
using RateKeyFunction = std::function<std::string(const Request& request)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see HttpServer::port()
  int io_threads = 2;
  std::optional<TlsOptions> tls;  // TLS 1.2 and 1.3 only

  size_t header_limit_bytes = 16 * 1024;  // request line + headers
  // Per read of a header or whole body, and the keep-alive idle time. A body
  // must arrive within it: 30 s carries 64 MiB at ~18 Mbit/s.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  // How long stop() lets in-flight requests finish before cutting them off.
  std::chrono::milliseconds stop_grace{10'000};
  size_t max_connections = 10'000;
  // Bodies larger than large_body_bytes (declared, or the route's limit for a
  // chunked body) are read at most max_concurrent_large_bodies at a time;
  // the rest wait with their bytes in the socket (upload_gate.h). Bounds
  // the memory of a cohort uploading at once to slots x update size.
  size_t large_body_bytes = size_t{1} << 20;
  size_t max_concurrent_large_bodies = 4;

  std::optional<RateLimit> rate_limit;  // nullopt: no rate limiting
  RateLimiter::Clock rate_limit_clock = &std::chrono::steady_clock::now;
  RateKeyFunction rate_limit_key;  // empty: peer IP

  Authorizer authorize;    // required if any route has an auth class
  MetricsSink on_request;  // optional; called on io threads
  // Optional; told the route and exception text when a handler throws (the
  // client only sees a generic 500). Called on io threads.
  std::function<void(std::string_view route, std::string_view what)> on_handler_error;
};

class HttpServer {
 public:
  HttpServer(Router router, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS material, binds, listens and starts the io threads. Errors:
  // InvalidArgument (bad address, unreadable certificate or key), Unavailable
  // (bind failed, e.g. port in use), FailedPrecondition (started twice).
  Status start();
  // Stops accepting, closes idle connections, lets in-flight requests finish
  // (their responses carry Connection: close) for up to stop_grace, then stops
  // the io threads. Idempotent.
  void stop();

  uint16_t port() const;  // the bound port once started
  uint64_t connections_accepted() const;
  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::http
