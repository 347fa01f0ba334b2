// Issue #10: the server decides from the header (framing, Host, route, size,
// rate limits, authentication) before it reads or buffers a body, and no peer
// can make it spin, queue honest uploads behind stalled ones, or spend
// another client's budget. Each attack is played over a raw socket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "coordinator/http/http_server.h"
#include "crypto/bytes.h"
#include "protocol/signature_scheme.h"
#include "tests/coordinator/http/raw_connection.h"

namespace fl::http {
namespace {

using namespace std::chrono_literals;
using testing::body_of;
using testing::RawConnection;
using testing::status_of;

std::unique_ptr<HttpServer> start_server(Router router, HttpServerOptions options) {
  auto server = std::make_unique<HttpServer>(std::move(router), std::move(options));
  const Status status = server->start();
  EXPECT_TRUE(status.ok()) << status.to_string();
  return server;
}

// A stand-in for the signed-request authenticator, from headers alone:
// X-Test-Client names the client, X-Test-Signature must be "good", and
// X-Test-Body-Hash (hex) is the digest the "signature" declares for the body.
// Counts its calls, so tests can see whether it ran.
Authorizer test_authorizer(std::atomic<int>* calls = nullptr) {
  return [calls](Request& request, std::string_view auth_class) -> Status {
    if (calls) ++*calls;
    if (auth_class == "admin") {
      if (request.headers.get("Authorization") != "Bearer admin") return PermissionDenied("no");
      request.admin = true;
      return Status::Ok();
    }
    const auto client = request.headers.get("X-Test-Client");
    if (!client) return PermissionDenied("missing header X-Test-Client");
    if (request.headers.get("X-Test-Signature") != "good") return PermissionDenied("bad signature");
    request.client_id = std::stoull(std::string(*client));
    if (const auto hash = request.headers.get("X-Test-Body-Hash")) {
      crypto::Bytes digest;
      if (!crypto::from_hex(std::string(*hash), digest) || digest.size() != 32)
        return PermissionDenied("bad body hash");
      std::array<uint8_t, 32> declared;
      std::copy(digest.begin(), digest.end(), declared.begin());
      request.declared_body_hash = declared;
    }
    return Status::Ok();
  };
}

// The digest the server compares a body with (the signing scheme's).
std::string hash_hex(const std::string& body) { return auth::body_hash_hex(body); }

// Routes: a signed upload, an admin action, an open (unauthenticated) upload,
// an open poll; each handler counts its runs.
struct Counters {
  std::atomic<int> signed_upload{0};
  std::atomic<int> admin{0};
  std::atomic<int> open_upload{0};
  std::atomic<int> side_effect{0};
};

Router hardening_router(Counters& counters) {
  Router router;
  RouteOptions signed_upload;
  signed_upload.max_body_bytes = 1 << 20;
  signed_upload.auth_class = "client";
  EXPECT_TRUE(router
                  .add(
                      "POST", "/v1/upload",
                      [&counters](const Request& request) {
                        ++counters.signed_upload;
                        return text_response(std::to_string(*request.client_id) + ":" +
                                             std::to_string(request.body.size()));
                      },
                      signed_upload)
                  .ok());
  RouteOptions admin;
  admin.auth_class = "admin";
  EXPECT_TRUE(router
                  .add(
                      "POST", "/v1/admin/publish",
                      [&counters](const Request&) {
                        ++counters.admin;
                        return text_response("published");
                      },
                      admin)
                  .ok());
  RouteOptions open_upload;
  open_upload.max_body_bytes = 1 << 20;
  EXPECT_TRUE(router
                  .add(
                      "POST", "/v1/enroll",
                      [&counters](const Request& request) {
                        ++counters.open_upload;
                        return text_response(std::to_string(request.body.size()));
                      },
                      open_upload)
                  .ok());
  EXPECT_TRUE(router
                  .add("GET", "/v1/side-effect",
                       [&counters](const Request&) {
                         ++counters.side_effect;
                         return text_response("done");
                       })
                  .ok());
  return router;
}

HttpServerOptions hardening_options() {
  HttpServerOptions options;
  options.authorize = test_authorizer();
  options.read_timeout = 10s;  // stalled peers must be refused by design, not timed out
  return options;
}

std::string upload_header(const std::string& client, const std::string& signature, size_t length,
                          const std::string& extra = "") {
  return "POST /v1/upload HTTP/1.1\r\nHost: t\r\nX-Test-Client: " + client +
         "\r\nX-Test-Signature: " + signature + "\r\nContent-Length: " + std::to_string(length) +
         "\r\n" + extra + "\r\n";
}

// Setup only (not asserted): lets the server take in what was just sent.
void let_server_settle() { std::this_thread::sleep_for(200ms); }

TEST(HttpServerHardening, RefusesABadSignatureFromTheHeaderWithoutWaitingForTheBody) {
  Counters counters;
  auto server = start_server(hardening_router(counters), hardening_options());
  RawConnection raw(server->port());
  // The header promises 100 kB that never come: only header-time
  // authentication can answer before the read timeout (10 s).
  ASSERT_TRUE(raw.send_all(upload_header("7", "forged", 100'000)));
  const std::string response = raw.read_response(3s);
  EXPECT_EQ(status_of(response), 401);
  EXPECT_EQ(body_of(response), "{\"error\": \"bad signature\"}");
  EXPECT_TRUE(raw.wait_for_close(3s));
  EXPECT_EQ(counters.signed_upload.load(), 0);
}

TEST(HttpServerHardening, RefusesABodyThatDoesNotMatchItsSignedHash) {
  Counters counters;
  auto server = start_server(hardening_router(counters), hardening_options());
  RawConnection raw(server->port());
  const std::string signed_body = "masked update";
  const std::string hash = "X-Test-Body-Hash: " + hash_hex(signed_body) + "\r\n";

  const std::string swapped = "masked updatE";  // what a man in the middle sends instead
  ASSERT_TRUE(raw.send_all(upload_header("7", "good", swapped.size(), hash) + swapped));
  const std::string refused = raw.read_response(3s);
  EXPECT_EQ(status_of(refused), 401);
  EXPECT_EQ(body_of(refused), "{\"error\": \"request body does not match its signed hash\"}");
  EXPECT_EQ(counters.signed_upload.load(), 0);

  ASSERT_TRUE(raw.send_all(upload_header("7", "good", signed_body.size(), hash) + signed_body));
  const std::string accepted = raw.read_response(3s);
  EXPECT_EQ(status_of(accepted), 200);
  EXPECT_EQ(body_of(accepted), "7:13");
  EXPECT_EQ(counters.signed_upload.load(), 1);
}

// Large bodies are hashed while they stream in and read into buffers reused
// from earlier uploads (streamed_body.h, body_buffer_pool.h): the digest must
// cover exactly the bytes the handler gets, however they were framed, and a
// reused buffer must never show a handler bytes of an earlier body.
TEST(HttpServerHardening, HashesLargeAndChunkedBodiesAsTheyStreamIn) {
  Router router;
  RouteOptions upload;
  upload.max_body_bytes = 1 << 20;
  upload.auth_class = "client";
  std::atomic<int> handled{0};
  ASSERT_TRUE(router
                  .add(
                      "POST", "/v1/upload",
                      [&handled](const Request& request) {
                        ++handled;
                        return text_response(hash_hex(request.body));
                      },
                      upload)
                  .ok());
  HttpServerOptions options = hardening_options();
  options.large_body_bytes = 64 * 1024;  // the bodies below take slots and pooled buffers
  auto server = start_server(std::move(router), options);
  RawConnection raw(server->port());

  auto body_of_size = [](size_t n, char salt) {
    std::string body(n, '\0');
    for (size_t i = 0; i < n; ++i) body[i] = static_cast<char>(i * 31 + salt);
    return body;
  };
  auto hash_field = [](const std::string& body) {
    return "X-Test-Body-Hash: " + hash_hex(body) + "\r\n";
  };
  const std::string large = body_of_size(300'000, 1);
  std::string swapped = large;
  swapped.back() ^= 1;  // the last byte changed: only a digest of every byte sees it
  ASSERT_TRUE(
      raw.send_all(upload_header("7", "good", swapped.size(), hash_field(large)) + swapped));
  EXPECT_EQ(status_of(raw.read_response(3s)), 401);
  EXPECT_EQ(handled.load(), 0);

  // The same body in pieces: the reads split it wherever they fall.
  ASSERT_TRUE(raw.send_all(upload_header("7", "good", large.size(), hash_field(large))));
  for (size_t at = 0; at < large.size(); at += 70'001) {
    ASSERT_TRUE(raw.send_all(large.substr(at, 70'001)));
    std::this_thread::sleep_for(5ms);
  }
  std::string response = raw.read_response(3s);
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), hash_hex(large));

  // A smaller body next, likely in the larger one's buffer: only its own bytes.
  const std::string smaller = body_of_size(100'000, 2);
  ASSERT_TRUE(
      raw.send_all(upload_header("7", "good", smaller.size(), hash_field(smaller)) + smaller));
  response = raw.read_response(3s);
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), hash_hex(smaller));

  // Chunked: no declared length, the same digest over the chunks' payload.
  auto chunked = [](const std::string& body) {
    std::string out;
    for (size_t at = 0; at < body.size(); at += 50'000) {
      const std::string piece = body.substr(at, 50'000);
      char size[32];
      std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
      out += size + piece + "\r\n";
    }
    return out + "0\r\n\r\n";
  };
  const std::string chunked_header =
      "POST /v1/upload HTTP/1.1\r\nHost: t\r\nX-Test-Client: 7\r\nX-Test-Signature: good\r\n"
      "Transfer-Encoding: chunked\r\n";
  ASSERT_TRUE(raw.send_all(chunked_header + hash_field(large) + "\r\n" + chunked(swapped)));
  EXPECT_EQ(status_of(raw.read_response(3s)), 401);
  ASSERT_TRUE(raw.send_all(chunked_header + hash_field(large) + "\r\n" + chunked(large)));
  response = raw.read_response(3s);
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), hash_hex(large));
  EXPECT_EQ(handled.load(), 3);
}

TEST(HttpServerHardening, AStalledUploadWaitsForASlotOnlyUntilTheDeadline) {
  Counters counters;
  HttpServerOptions options = hardening_options();
  options.large_body_bytes = 1024;
  options.max_concurrent_large_bodies = 4;
  options.upload_slot_wait = 300ms;
  auto server = start_server(hardening_router(counters), options);

  // Four authenticated clients start uploads and stall: they hold every slot.
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 4; ++i) {
    stalled.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(stalled.back()->send_all(upload_header(std::to_string(i), "good", 100'000) + "x"));
  }
  let_server_settle();
  RawConnection fifth(server->port());
  const std::string body(4096, 'u');
  ASSERT_TRUE(fifth.send_all(upload_header("9", "good", body.size()) + body));
  const std::string response = fifth.read_response(5s);
  EXPECT_EQ(status_of(response), 503);
  EXPECT_NE(response.find("Retry-After: 1"), std::string::npos);
  EXPECT_NE(body_of(response).find("no upload slot became free in time"), std::string::npos);
  EXPECT_TRUE(fifth.wait_for_close(3s));
  EXPECT_EQ(counters.signed_upload.load(), 0);
}

TEST(HttpServerHardening, UnauthenticatedStalledUploadsNeverTakeAnUploadSlot) {
  Counters counters;
  HttpServerOptions options = hardening_options();
  options.large_body_bytes = 1024;
  options.max_concurrent_large_bodies = 4;
  options.upload_slot_wait = 300ms;
  auto server = start_server(hardening_router(counters), options);

  // Eight forged uploads that stall: twice the slots.
  std::vector<std::unique_ptr<RawConnection>> forged;
  for (int i = 0; i < 8; ++i) {
    forged.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(forged.back()->send_all(upload_header("3", "forged", 100'000) + "x"));
  }
  for (auto& connection : forged) EXPECT_EQ(status_of(connection->read_response(3s)), 401);
  // An honest upload still goes through.
  RawConnection honest(server->port());
  const std::string body(4096, 'u');
  ASSERT_TRUE(honest.send_all(upload_header("3", "good", body.size()) + body));
  const std::string response = honest.read_response(3s);
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), "3:4096");
}

TEST(HttpServerHardening, UnauthenticatedBodiesShareOneByteBudget) {
  Counters counters;
  HttpServerOptions options = hardening_options();
  options.max_unauthenticated_body_bytes = 100'000;
  auto server = start_server(hardening_router(counters), options);
  auto enroll = [](size_t length) {
    return "POST /v1/enroll HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(length) +
           "\r\n\r\n";
  };

  RawConnection holder(server->port());  // declares 60 kB and sends them slowly
  ASSERT_TRUE(holder.send_all(enroll(60'000) + std::string(10'000, 'a')));
  let_server_settle();

  RawConnection over(server->port());  // 60 kB more would exceed 100 kB
  ASSERT_TRUE(over.send_all(enroll(60'000) + std::string(60'000, 'b')));
  const std::string refused = over.read_response(3s);
  EXPECT_EQ(status_of(refused), 503);
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos);
  EXPECT_TRUE(over.wait_for_close(3s));
  // Chunked bodies reserve the route's limit (1 MiB), more than the budget.
  RawConnection chunked(server->port());
  ASSERT_TRUE(
      chunked.send_all("POST /v1/enroll HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_EQ(status_of(chunked.read_response(3s)), 503);

  RawConnection fits(server->port());  // 30 kB more fits
  ASSERT_TRUE(fits.send_all(enroll(30'000) + std::string(30'000, 'c')));
  EXPECT_EQ(body_of(fits.read_response(3s)), "30000");

  // Once the holder's handler has returned, its share is free again.
  ASSERT_TRUE(holder.send_all(std::string(50'000, 'a')));
  EXPECT_EQ(body_of(holder.read_response(3s)), "60000");
  RawConnection again(server->port());
  ASSERT_TRUE(again.send_all(enroll(60'000) + std::string(60'000, 'b')));
  EXPECT_EQ(body_of(again.read_response(3s)), "60000");
  EXPECT_EQ(counters.open_upload.load(), 3);
}

TEST(HttpServerHardening, RotatingTheClientHeaderDoesNotEscapeThePerPeerLimit) {
  Counters counters;
  HttpServerOptions options = hardening_options();
  options.rate_limit = RateLimit{0.001, 3.0};
  options.client_rate_limit = RateLimit{0.001, 3.0};
  auto server = start_server(hardening_router(counters), options);
  RawConnection raw(server->port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(raw.send_all("GET /v1/side-effect HTTP/1.1\r\nHost: t\r\nX-FL-Client: " +
                             std::to_string(100 + i) + "\r\n\r\n"));
    EXPECT_EQ(status_of(raw.read_response(3s)), i < 3 ? 200 : 429) << "request " << i;
  }
  EXPECT_EQ(counters.side_effect.load(), 3);
}

TEST(HttpServerHardening, ForgedRequestsDoNotSpendTheVictimsClientBudget) {
  Counters counters;
  HttpServerOptions options = hardening_options();
  options.rate_limit = RateLimit{0.001, 1000.0};  // the attacker's IP is not the limit here
  options.client_rate_limit = RateLimit{0.001, 2.0};
  auto server = start_server(hardening_router(counters), options);
  for (int i = 0; i < 5; ++i) {  // the attacker names client 7 but cannot sign
    RawConnection attacker(server->port());
    ASSERT_TRUE(attacker.send_all(upload_header("7", "forged", 1) + "x"));
    EXPECT_EQ(status_of(attacker.read_response(3s)), 401);
  }
  RawConnection victim(server->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(victim.send_all(upload_header("7", "good", 1) + "x"));
    EXPECT_EQ(status_of(victim.read_response(3s)), i < 2 ? 200 : 429) << "request " << i;
  }
  EXPECT_EQ(counters.signed_upload.load(), 2);
  // Admins have their own bucket, keyed "admin".
  RawConnection admin(server->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(admin.send_all(
        "POST /v1/admin/publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer admin\r\n"
        "Content-Length: 0\r\n\r\n"));
    EXPECT_EQ(status_of(admin.read_response(3s)), i < 2 ? 200 : 429) << "admin request " << i;
  }
}

// The attack: a front proxy that honours Transfer-Encoding: gzip (or any
// coding we do not) frames the body differently from us; if we read it as
// "no body", the body's bytes become a second request the proxy never saw.
TEST(HttpServerHardening, RefusesTransferEncodingOtherThanChunkedAndNeverRunsTheSmuggledRequest) {
  Counters counters;
  auto server = start_server(hardening_router(counters), hardening_options());
  const std::string smuggled = "GET /v1/side-effect HTTP/1.1\r\nHost: t\r\n\r\n";

  // Control: a request framed by Content-Length followed by the same bytes
  // does run them (they are a pipelined request), so the counter would see it.
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send_all("POST /v1/enroll HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" +
                             smuggled));
    EXPECT_EQ(status_of(raw.read_response(3s)), 200);
    EXPECT_EQ(status_of(raw.read_response(3s)), 200);
    ASSERT_EQ(counters.side_effect.load(), 1);
  }
  const std::vector<std::string> framings = {
      "Transfer-Encoding: gzip\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: chunked, gzip\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n",
      "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: gzip\r\nContent-Length: 0\r\n",
  };
  for (const std::string& framing : framings) {
    RawConnection raw(server->port());
    ASSERT_TRUE(
        raw.send_all("POST /v1/enroll HTTP/1.1\r\nHost: t\r\n" + framing + "\r\n" + smuggled));
    const std::string response = raw.read_response(3s);
    EXPECT_EQ(status_of(response), 400) << framing;
    EXPECT_NE(body_of(response).find("malformed HTTP request"), std::string::npos) << framing;
    EXPECT_TRUE(raw.wait_for_close(3s)) << framing;  // nothing more is answered
  }
  EXPECT_EQ(counters.side_effect.load(), 1);
  EXPECT_EQ(counters.open_upload.load(), 1);

  // Exactly one chunked coding is accepted.
  RawConnection chunked(server->port());
  ASSERT_TRUE(
      chunked.send_all("POST /v1/enroll HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n"
                       "3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_EQ(body_of(chunked.read_response(3s)), "3");
}

TEST(HttpServerHardening, RequiresExactlyOneHostInHttp11) {
  Counters counters;
  auto server = start_server(hardening_router(counters), hardening_options());
  for (const std::string& request :
       {std::string("GET /v1/side-effect HTTP/1.1\r\n\r\n"),
        std::string("GET /v1/side-effect HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        std::string("GET /v1/side-effect HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n")}) {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send_all(request));
    const std::string response = raw.read_response(3s);
    EXPECT_EQ(status_of(response), 400) << request;
    EXPECT_NE(body_of(response).find("Host"), std::string::npos) << request;
  }
  EXPECT_EQ(counters.side_effect.load(), 0);
  RawConnection old(server->port());  // HTTP/1.0 has no Host requirement
  ASSERT_TRUE(old.send_all("GET /v1/side-effect HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(status_of(old.read_response(3s)), 200);
}

// Restores RLIMIT_NOFILE and closes the filler descriptors on every path.
class DescriptorExhaustion {
 public:
  DescriptorExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 1024);
    ::setrlimit(RLIMIT_NOFILE, &low);
    const int source = ::open("/dev/null", O_RDONLY);
    if (source >= 0) fillers_.push_back(source);
    for (;;) {
      const int fd = ::dup(source);
      if (fd < 0) break;
      fillers_.push_back(fd);
    }
    exhausted_ = errno == EMFILE;
  }
  ~DescriptorExhaustion() {
    release();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  bool exhausted() const { return exhausted_; }
  // Frees one descriptor (for the test's own client socket).
  void free_one() {
    ::close(fillers_.back());
    fillers_.pop_back();
  }
  void release() {
    for (int fd : fillers_) ::close(fd);
    fillers_.clear();
  }

 private:
  rlimit saved_{};
  std::vector<int> fillers_;
  bool exhausted_ = false;
};

TEST(HttpServerHardening, BacksOffWhenOutOfDescriptorsKeepsServingAndAcceptsAgain) {
  Counters counters;
  auto server = start_server(hardening_router(counters), hardening_options());
  RawConnection existing(server->port());
  ASSERT_TRUE(existing.send_all("GET /v1/side-effect HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(status_of(existing.read_response(3s)), 200);

  std::unique_ptr<RawConnection> newcomer;
  uint64_t errors_in_stall = 0;
  {
    DescriptorExhaustion exhaustion;
    ASSERT_TRUE(exhaustion.exhausted());
    exhaustion.free_one();
    // Our socket takes the last descriptor; the server's accept() has none.
    newcomer = std::make_unique<RawConnection>(server->port());
    ASSERT_TRUE(newcomer->connected());
    ASSERT_TRUE(newcomer->send_all("GET /v1/side-effect HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::this_thread::sleep_for(500ms);  // the stall; a spinning loop retries thousands of times
    // The existing connection is still served.
    ASSERT_TRUE(existing.send_all("GET /v1/side-effect HTTP/1.1\r\nHost: t\r\n\r\n"));
    EXPECT_EQ(status_of(existing.read_response(3s)), 200);
    errors_in_stall = server->accept_errors();
  }
  EXPECT_GE(errors_in_stall, 1u);
  EXPECT_LE(errors_in_stall, 12u);  // 10 ms doubling: ~6 attempts in 500 ms
  // Descriptors are free again: the waiting connection is accepted and served.
  EXPECT_EQ(status_of(newcomer->read_response(5s)), 200);
  EXPECT_EQ(counters.side_effect.load(), 3);
}

}  // namespace
}  // namespace fl::http
