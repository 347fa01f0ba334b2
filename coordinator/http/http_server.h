// The coordinator's HTTP(S) server: Boost.Beast, asynchronous, on N io threads.
//
// One session object per connection (http_session.cc, after Beast's
// example/http/server/async) reads each request's header first and decides
// everything it can from it before reading a byte of the body. The checks, in
// order (the first that fails answers, and the handler never runs):
//   1. framing: a parse error is 400; Transfer-Encoding other than exactly
//      one `chunked` field without Content-Length is 400 and close (RFC 9112
//      6.3: such a body's length is unknown, so the rest of the connection
//      cannot be trusted to be the next request); an HTTP/1.1 request without
//      Host, or any request with two, is 400;
//   2. routing: 404 unknown path, 405 wrong method (with Allow);
//   3. size: a declared body over the route's limit is 413;
//   4. per-peer rate limit (routes with rate_limited): 429 with Retry-After;
//   5. authentication (routes with an auth class), from the header alone:
//      401 and close; then the per-client rate limit (429);
//   6. resources: a body of an unauthenticated route reserves its length from
//      max_unauthenticated_body_bytes (503 with Retry-After and close when
//      over); a large body waits for an upload slot at most upload_slot_wait
//      (503 with Retry-After and close);
//   7. the body is read (413 past the limit for chunked bodies; a read timeout
//      closes), and if authentication declared the body's digest, a body
//      that does not match it is 401;
//   8. the handler runs (500 if it throws; the exception text goes to
//      on_handler_error, not the client).
// Connections beyond max_connections are closed at accept; accept failures
// for lack of descriptors back off (10 ms doubling to 1 s) instead of spinning.
// Handlers run on the io thread that read the request and must not block for
// long. Error answers are JSON {"error": "..."}; 431 for a header too large.
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

// Authenticates `request` for a route whose auth class is `auth_class`. It
// runs once the header is read, before any of the body (request.body is
// empty): it may fill request.client_id / request.admin, and must set
// request.declared_body_hash when the credential covers a body, which the
// server then checks once the body is read. PermissionDenied is answered with
// 401 and the Status message; other errors as http_status_for.
using Authorizer = std::function<Status(Request& request, std::string_view auth_class)>;

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
  // Slots are taken only after authentication, so unauthenticated stalled
  // uploads cannot hold them; a request still waiting for a slot after
  // upload_slot_wait is answered 503 with Retry-After and closed.
  size_t large_body_bytes = size_t{1} << 20;
  size_t max_concurrent_large_bodies = 4;
  std::chrono::milliseconds upload_slot_wait{30'000};
  // Idle capacity kept from finished large bodies for the next ones, at most
  // one buffer per slot (body_buffer_pool.h): 64 MiB holds 16 masked inputs
  // of 10^6 elements; a buffer that does not fit is freed.
  size_t body_pool_bytes = size_t{64} << 20;
  // Bytes that bodies of routes without an auth class (enrolment, serving)
  // may hold at once, whoever sends them: each reserves its declared length
  // (a chunked body: the route's limit) until its handler returns. Over it:
  // 503 with Retry-After and close. Bounds what anonymous peers make the
  // server buffer, whatever the number of connections.
  size_t max_unauthenticated_body_bytes = size_t{64} << 20;

  // Token buckets for routes with rate_limited (nullopt: none). rate_limit is
  // keyed by peer IP and checked from the header, before authentication;
  // client_rate_limit by the authenticated client id (admin requests share
  // the key "admin"), checked after it, so a forged X-FL-Client header can
  // neither escape the per-IP limit nor spend a victim's budget.
  std::optional<RateLimit> rate_limit;
  std::optional<RateLimit> client_rate_limit;
  RateLimiter::Clock rate_limit_clock = &std::chrono::steady_clock::now;

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
  // Failed accept() calls (EMFILE, ENFILE, ECONNABORTED, ...) since start().
  uint64_t accept_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::http
