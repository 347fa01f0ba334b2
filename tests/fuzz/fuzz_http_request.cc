// Fuzzes the coordinator's whole HTTP request path: raw bytes in -> framing,
// headers, router, limits, rate limits, authentication -> response out. Each
// input is one connection, driven through the real Session (http_session.cc)
// over a socketpair on a single-threaded io_context, so nothing is mocked and
// an input costs a few syscalls. The router holds a signed route, an admin
// route, two open uploads and an open poll, with limits small enough that
// fuzzed inputs reach every refusal (413, 429, 503, 401). A session that
// does not finish (a leaked upload slot, a lost completion) hangs the input
// and libFuzzer reports it as a timeout.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "coordinator/http/auth_hook.h"
#include "coordinator/http/server_context.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"

namespace {

using namespace fl;
namespace net = boost::asio;

// The seeds' signer (fuzz_seeds.cc) uses the same key seed, id and clock.
constexpr uint64_t kClientId = 7;
constexpr int64_t kNowMillis = 1'700'000'000'000;
constexpr char kAdminToken[] = "fuzz-admin-token-0123456789";

http::Router make_router() {
  http::Router router;
  http::RouteOptions signed_route;
  signed_route.auth_class = std::string(http::kClientAuthClass);
  signed_route.max_body_bytes = 2048;
  (void)router.add(
      "POST", "/v1/rounds/{round}/update",
      [](const http::Request& r) { return http::text_response(std::string(r.param("round"))); },
      signed_route);
  http::RouteOptions admin_route;
  admin_route.auth_class = std::string(http::kAdminAuthClass);
  (void)router.add(
      "POST", "/v1/admin/publish", [](const http::Request&) { return http::text_response("ok"); },
      admin_route);
  http::RouteOptions open_route;
  open_route.max_body_bytes = 1024;
  (void)router.add(
      "POST", "/v1/enroll",
      [](const http::Request& r) { return http::text_response(std::to_string(r.body.size())); },
      open_route);
  open_route.max_body_bytes = 512;
  (void)router.add(
      "POST", "/v1/models/{name}:predict",
      [](const http::Request& r) { return http::text_response(std::string(r.param("name"))); },
      open_route);
  (void)router.add("GET", "/v1/poll", [](const http::Request& r) {
    return http::text_response(r.query_param("round").value_or("none"));
  });
  return router;
}

struct Harness {
  Harness() {
    crypto::SeededRng rng(1);
    const crypto::Ed25519KeyPair key = crypto::ed25519_keypair(rng);
    auto clients = std::make_shared<const auth::RequestAuthenticator>(
        [public_key = key.public_key](uint64_t id) -> std::optional<crypto::Key32> {
          if (id == kClientId) return public_key;
          return std::nullopt;
        },
        [] { return kNowMillis; },
        [] {
          auth::AuthenticatorOptions o;
          o.audience = "fuzz-coordinator";  // as fuzz_seeds signs
          return o;
        }());
    auto admin = std::make_shared<const auth::AdminCredential>(
        auth::AdminCredential::from_token(kAdminToken).value());
    http::HttpServerOptions options;
    options.header_limit_bytes = 2048;
    options.large_body_bytes = 512;
    options.max_concurrent_large_bodies = 1;
    options.max_unauthenticated_body_bytes = 800;
    options.rate_limit = http::RateLimit{1.0, 8.0};
    options.client_rate_limit = http::RateLimit{1.0, 4.0};
    // Every input starts an hour later, so buckets refill between inputs but
    // a single input can still exhaust them.
    options.rate_limit_clock = [this] { return now; };
    options.authorize = http::make_authorizer(std::move(clients), std::move(admin));
    context = std::make_unique<http::ServerContext>(make_router(), std::move(options));
  }

  size_t open_sessions() {
    std::lock_guard lock(context->sessions_mu);
    return context->open_sessions;
  }

  std::chrono::steady_clock::time_point now{};
  std::unique_ptr<http::ServerContext> context;
  net::io_context ioc{1};
};

// FL_FUZZ_ECHO=1 prints the server's answers, to check what seeds reach.
const bool kEcho = std::getenv("FL_FUZZ_ECHO") != nullptr;

// Reads (and discards, unless echoing) whatever the server wrote; false once
// it closed.
bool drain(int fd) {
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      if (kEcho) std::fwrite(buf, 1, static_cast<size_t>(n), stderr);
      continue;
    }
    return n < 0;  // EAGAIN: still open; 0: closed
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();  // never destroyed: sessions point into it
  harness->now += std::chrono::hours(1);
  harness->ioc.restart();

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  net::ip::tcp::socket server_end(harness->ioc);
  boost::system::error_code ec;
  server_end.assign(net::ip::tcp::v4(), fds[0], ec);
  if (ec) {
    ::close(fds[0]);
    ::close(fds[1]);
    return 0;
  }
  http::start_session(*harness->context, std::move(server_end));

  // The client writes the input (the server reads as it goes), then ends its
  // side, so every read on the server ends in data or end of stream.
  size_t sent = 0;
  bool open = true;
  while (sent < size) {
    const ssize_t n = ::send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN) {
      break;  // the server closed early (refused), as it may
    }
    harness->ioc.poll();
    open = drain(fds[1]);
    if (!open) break;
  }
  ::shutdown(fds[1], SHUT_WR);
  while (harness->open_sessions() > 0) {
    harness->ioc.run_one_for(std::chrono::milliseconds(100));
    drain(fds[1]);
  }
  ::close(fds[1]);
  return 0;
}
