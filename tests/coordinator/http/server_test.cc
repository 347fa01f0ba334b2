#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "client_sdk/transport/http_client.h"
#include "coordinator/http/auth_hook.h"
#include "coordinator/http/http_server.h"
#include "crypto/ed25519.h"
#include "tests/coordinator/http/raw_connection.h"

namespace fl::http {
namespace {

using namespace std::chrono_literals;
using testing::body_of;
using testing::RawConnection;
using testing::status_of;
using transport::HttpClient;
using transport::HttpClientOptions;

// A byte string with NULs and high bytes, as a serialized protobuf has.
const std::string kBinary("\x0a\x03\x00\xff\x10\x80\x01\x00", 8);

HttpClient plain_client(uint16_t port, std::unique_ptr<auth::RequestSigner> signer = nullptr) {
  HttpClientOptions options;
  options.port = port;
  options.read_timeout = 5s;
  Result<HttpClient> client = HttpClient::create(options, std::move(signer));
  EXPECT_TRUE(client.ok()) << client.status().to_string();
  return std::move(client).value();
}

std::unique_ptr<HttpServer> start_server(Router router, HttpServerOptions options = {}) {
  auto server = std::make_unique<HttpServer>(std::move(router), std::move(options));
  const Status status = server->start();
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_NE(server->port(), 0);
  return server;
}

Router model_router(std::atomic<int>* upload_calls = nullptr) {
  Router router;
  EXPECT_TRUE(
      router.add("GET", "/v1/model", [](const Request&) { return protobuf_response(kBinary); })
          .ok());
  RouteOptions upload;
  upload.max_body_bytes = 1024;
  EXPECT_TRUE(router
                  .add(
                      "POST", "/v1/rounds/{round}/update",
                      [upload_calls](const Request& request) {
                        if (upload_calls) ++*upload_calls;
                        std::string reply(request.body.rbegin(), request.body.rend());
                        reply += "|round=" + std::string(request.param("round"));
                        reply += "|type=" +
                                 std::string(request.headers.get("content-type").value_or(""));
                        return protobuf_response(reply, 201);
                      },
                      upload)
                  .ok());
  return router;
}

TEST(HttpServer, RoundTripsBinaryBodiesOverPlainTcp) {
  auto server = start_server(model_router());
  HttpClient client = plain_client(server->port());

  Result<transport::HttpResponse> got = client.send("GET", "/v1/model");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, kBinary);
  EXPECT_EQ(got->header("content-type"), "application/x-protobuf");

  Result<transport::HttpResponse> posted =
      client.send("POST", "/v1/rounds/7/update", kBinary, "application/x-protobuf");
  ASSERT_TRUE(posted.ok()) << posted.status().to_string();
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(posted->body,
            std::string(kBinary.rbegin(), kBinary.rend()) + "|round=7|type=application/x-protobuf");
}

TEST(HttpServer, AnswersUnknownPathWith404AndWrongMethodWith405) {
  auto server = start_server(model_router());
  HttpClient client = plain_client(server->port());

  Result<transport::HttpResponse> missing = client.send("GET", "/v1/nothing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->header("Content-Type"), "application/json");
  EXPECT_EQ(missing->body, "{\"error\": \"no route for /v1/nothing\"}");

  Result<transport::HttpResponse> wrong = client.send("DELETE", "/v1/model");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("Allow"), "GET");
  // Neither error cost the keep-alive connection.
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpServer, RefusesAnOversizedBodyFromItsHeaderWithoutReadingIt) {
  std::atomic<int> upload_calls{0};
  auto server = start_server(model_router(&upload_calls));
  RawConnection raw(server->port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      raw.send_all("POST /v1/rounds/1/update HTTP/1.1\r\nHost: t\r\n"
                   "Content-Length: 100000000\r\n\r\nabc"));
  const std::string response = raw.read_response(2s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(status_of(response), 413);
  EXPECT_NE(body_of(response).find("exceeds this route's limit of 1024"), std::string::npos);
  EXPECT_NE(response.find("Connection: close"), std::string::npos);
  EXPECT_EQ(upload_calls.load(), 0);

  // Other clients are still served.
  HttpClient client = plain_client(server->port());
  Result<transport::HttpResponse> ok = client.send("POST", "/v1/rounds/2/update", "small");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 201);
}

TEST(HttpServer, RefusesAChunkedBodyThatGrowsPastTheLimit) {
  auto server = start_server(model_router());
  RawConnection raw(server->port());
  const std::string chunk(800, 'x');
  ASSERT_TRUE(
      raw.send_all("POST /v1/rounds/1/update HTTP/1.1\r\nHost: t\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"
                   "320\r\n" +
                   chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  EXPECT_EQ(status_of(raw.read_response(2s)), 413);
}

TEST(HttpServer, AnswersMalformedRequestsWith400AndKeepsServing) {
  auto server = start_server(model_router());
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send_all("this is not http\r\n\r\n"));
    const std::string response = raw.read_response(2s);
    EXPECT_EQ(status_of(response), 400);
    EXPECT_NE(body_of(response).find("malformed HTTP request"), std::string::npos);
    EXPECT_TRUE(raw.wait_for_close(2s));
  }
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.send_all("GET /v1/model HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n"));
    EXPECT_EQ(status_of(raw.read_response(2s)), 400);
  }
  HttpClient client = plain_client(server->port());
  Result<transport::HttpResponse> ok = client.send("GET", "/v1/model");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST(HttpServer, AnswersAnOversizedHeaderWith431) {
  HttpServerOptions options;
  options.header_limit_bytes = 1024;
  auto server = start_server(model_router(), options);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.send_all("GET /v1/model HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a') +
                           "\r\n\r\n"));
  EXPECT_EQ(status_of(raw.read_response(2s)), 431);
}

TEST(HttpServer, DisconnectsAClientThatSendsNothingAfterTheReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  auto server = start_server(model_router(), options);
  RawConnection raw(server->port());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.wait_for_close(3s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(HttpServer, DisconnectsAClientThatStallsMidBody) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  auto server = start_server(model_router(), options);
  RawConnection raw(server->port());
  ASSERT_TRUE(
      raw.send_all("POST /v1/rounds/1/update HTTP/1.1\r\nHost: t\r\n"
                   "Content-Length: 100\r\n\r\nonly-some"));
  EXPECT_TRUE(raw.wait_for_close(3s));
}

TEST(HttpServer, RateLimitsPerPeerWithRetryAfterAndRecoversWithTheClock) {
  std::atomic<int64_t> now_ms{0};
  HttpServerOptions options;
  options.rate_limit = RateLimit{1.0, 3.0};
  options.rate_limit_clock = [&] {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms.load()));
  };
  Router router = model_router();
  RouteOptions probe;
  probe.rate_limited = false;
  ASSERT_TRUE(router
                  .add(
                      "GET", "/healthz", [](const Request&) { return text_response("ok"); }, probe)
                  .ok());
  auto server = start_server(std::move(router), options);
  HttpClient client = plain_client(server->port());

  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.send("GET", "/v1/model")->status, 200);
  Result<transport::HttpResponse> limited = client.send("GET", "/v1/model");
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->header("Retry-After"), "1");
  // A new connection from the same peer shares the bucket.
  EXPECT_EQ(plain_client(server->port()).send("GET", "/v1/model")->status, 429);
  EXPECT_EQ(client.send("GET", "/healthz")->status, 200);  // not rate limited

  now_ms += 1000;
  EXPECT_EQ(client.send("GET", "/v1/model")->status, 200);
  EXPECT_EQ(client.send("GET", "/v1/model")->status, 429);
}

TEST(HttpServer, AuthenticatesSignedClientsAndAdminsPerRouteClass) {
  crypto::SeededRng rng(11);
  const crypto::Ed25519KeyPair key = crypto::ed25519_keypair(rng);
  auto authenticator = std::make_shared<auth::RequestAuthenticator>(
      [&](uint64_t id) -> std::optional<crypto::Key32> {
        if (id == 5) return key.public_key;
        return std::nullopt;
      },
      &auth::system_unix_millis, auth::AuthenticatorOptions{.audience = "test-coordinator"});
  auto admin = std::make_shared<auth::AdminCredential>(
      auth::AdminCredential::from_token("0123456789abcdef-admin").value());

  Router router;
  RouteOptions client_route;
  client_route.auth_class = std::string(kClientAuthClass);
  ASSERT_TRUE(router
                  .add(
                      "POST", "/v1/checkin",
                      [](const Request& request) {
                        return text_response("hello " + std::to_string(*request.client_id));
                      },
                      client_route)
                  .ok());
  RouteOptions admin_route;
  admin_route.auth_class = std::string(kAdminAuthClass);
  ASSERT_TRUE(router
                  .add(
                      "POST", "/v1/admin/publish",
                      [](const Request& request) {
                        return text_response(request.admin ? "published" : "?");
                      },
                      admin_route)
                  .ok());
  HttpServerOptions options;
  options.authorize = make_authorizer(authenticator, admin);
  auto server = start_server(std::move(router), options);

  HttpClient signed_client = plain_client(
      server->port(),
      std::make_unique<auth::RequestSigner>(5, key, "test-coordinator", &auth::system_unix_millis,
                                            std::make_unique<crypto::SeededRng>(3)));
  Result<transport::HttpResponse> hello = signed_client.send("POST", "/v1/checkin", kBinary);
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello 5");

  HttpClient anonymous = plain_client(server->port());
  Result<transport::HttpResponse> refused = anonymous.send("POST", "/v1/checkin", kBinary);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->body, "{\"error\": \"missing header X-FL-Client\"}");
  // A signed client is not an admin.
  EXPECT_EQ(signed_client.send("POST", "/v1/admin/publish")->status, 401);

  EXPECT_EQ(anonymous
                .send("POST", "/v1/admin/publish", "", "",
                      {{"Authorization", "Bearer 0123456789abcdef-admin"}})
                ->body,
            "published");
  Result<transport::HttpResponse> wrong = anonymous.send(
      "POST", "/v1/admin/publish", "", "", {{"Authorization", "Bearer 0123456789abcdef-guess"}});
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->body, "{\"error\": \"wrong admin token\"}");
}

TEST(HttpServer, RefusesAuthClassRoutesWhenNoAuthorizerIsConfigured) {
  Router router;
  RouteOptions guarded;
  guarded.auth_class = "client";
  ASSERT_TRUE(
      router
          .add(
              "GET", "/secret", [](const Request&) { return text_response("leak"); }, guarded)
          .ok());
  auto server = start_server(std::move(router));
  HttpClient client = plain_client(server->port());
  EXPECT_EQ(client.send("GET", "/secret")->status, 500);
}

TEST(HttpServer, TurnsAThrowingHandlerIntoAGeneric500AndKeepsServing) {
  Router router = model_router();
  ASSERT_TRUE(router
                  .add("GET", "/boom",
                       [](const Request&) -> Response { throw std::runtime_error("db at /srv/x"); })
                  .ok());
  std::mutex mu;
  std::string reported;
  HttpServerOptions options;
  options.on_handler_error = [&](std::string_view route, std::string_view what) {
    std::lock_guard lock(mu);
    reported = std::string(route) + ": " + std::string(what);
  };
  auto server = start_server(std::move(router), options);
  HttpClient client = plain_client(server->port());
  Result<transport::HttpResponse> boom = client.send("GET", "/boom");
  ASSERT_TRUE(boom.ok());
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(boom->body, "{\"error\": \"internal error\"}");  // no internals leak
  EXPECT_EQ(client.send("GET", "/v1/model")->status, 200);
  std::lock_guard lock(mu);
  EXPECT_EQ(reported, "/boom: db at /srv/x");
}

TEST(HttpServer, AnOversizedUploadGets413NotAConnectionError) {
  // The server refuses from the header and stops reading; the client is still
  // writing. It must still see the 413 (the server lingers, the client reads
  // the early answer after its write fails), so it knows not to retry.
  auto server = start_server(model_router());
  HttpClient client = plain_client(server->port());
  Result<transport::HttpResponse> result =
      client.send("POST", "/v1/rounds/1/update", std::string(8 << 20, 'u'));
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->status, 413);
  EXPECT_EQ(client.send("GET", "/v1/model")->status, 200);
}

TEST(HttpServer, ClosesConnectionsBeyondTheLimit) {
  HttpServerOptions options;
  options.max_connections = 1;
  auto server = start_server(model_router(), options);
  RawConnection first(server->port());
  // Let the server register the first connection before the second arrives.
  for (int i = 0; i < 200 && server->open_connections() < 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(server->open_connections(), 1u);
  RawConnection second(server->port());
  EXPECT_TRUE(second.wait_for_close(2s));
  ASSERT_TRUE(first.send_all("GET /v1/model HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(status_of(first.read_response(2s)), 200);
}

TEST(HttpServer, ReportsRequestsByRouteAndStatusWithBytes) {
  RequestCounters counters;
  HttpServerOptions options;
  options.on_request = counters.sink();
  auto server = start_server(model_router(), options);
  HttpClient client = plain_client(server->port());
  ASSERT_EQ(client.send("GET", "/v1/model")->status, 200);
  ASSERT_EQ(client.send("GET", "/v1/model")->status, 200);
  ASSERT_EQ(client.send("POST", "/v1/rounds/1/update", "abc")->status, 201);
  ASSERT_EQ(client.send("GET", "/nope")->status, 404);
  server->stop();  // metrics are recorded after the write completes; stop() drains

  const RequestCounters::Snapshot snapshot = counters.snapshot();
  using Key = RequestCounters::Key;
  EXPECT_EQ(snapshot.requests.at(Key{"/v1/model", "GET", 200}), 2u);
  EXPECT_EQ(snapshot.requests.at(Key{"/v1/rounds/{round}/update", "POST", 201}), 1u);
  EXPECT_EQ(snapshot.requests.at(Key{"unmatched", "GET", 404}), 1u);
  EXPECT_GT(snapshot.bytes_in, 4 * 30u);  // four request lines and headers at least
  EXPECT_GT(snapshot.bytes_out, 2 * kBinary.size());
}

TEST(HttpServer, StopLetsAnInFlightRequestFinish) {
  std::promise<void> handler_started;
  Router router;
  ASSERT_TRUE(router
                  .add("POST", "/v1/slow",
                       [&](const Request& request) {
                         handler_started.set_value();
                         std::this_thread::sleep_for(300ms);
                         return text_response("done:" + request.body);
                       })
                  .ok());
  auto server = start_server(std::move(router));
  const uint16_t port = server->port();

  auto reply = std::async(std::launch::async, [port] {
    HttpClient client = plain_client(port);
    return client.send("POST", "/v1/slow", "payload");
  });
  handler_started.get_future().wait();
  RawConnection idle(port);  // an idle keep-alive peer must not hold stop() up
  server->stop();

  Result<transport::HttpResponse> result = reply.get();
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "done:payload");
  EXPECT_EQ(result->header("Connection"), "close");
  EXPECT_TRUE(idle.wait_for_close(1s));
  EXPECT_EQ(server->open_connections(), 0u);
}

// A cohort uploading at once must not make the server hold every body: past
// max_concurrent_large_bodies a large upload waits unread, while small
// requests (polls) are still answered.
TEST(HttpServer, ReadsAtMostTheConfiguredLargeBodiesAtOnceAndKeepsAnsweringPolls) {
  std::mutex mu;
  std::condition_variable cv;
  bool release_first = false;
  std::atomic<int> handled{0};
  Router router;
  RouteOptions upload;
  upload.max_body_bytes = 8 << 20;
  ASSERT_TRUE(router
                  .add(
                      "POST", "/upload",
                      [&](const Request& request) {
                        if (handled++ == 0) {
                          std::unique_lock lock(mu);
                          cv.wait(lock, [&] { return release_first; });
                        }
                        return text_response(std::to_string(request.body.size()));
                      },
                      upload)
                  .ok());
  ASSERT_TRUE(router.add("GET", "/poll", [](const Request&) { return text_response("ok"); }).ok());
  HttpServerOptions options;
  options.io_threads = 2;
  options.large_body_bytes = 1 << 20;
  options.max_concurrent_large_bodies = 1;
  auto server = start_server(std::move(router), options);

  const std::string big(3 << 20, 'x');
  auto first = std::async(std::launch::async, [&] {
    return plain_client(server->port()).send("POST", "/upload", big, "application/octet-stream");
  });
  while (handled.load() == 0) std::this_thread::sleep_for(5ms);
  auto second = std::async(std::launch::async, [&] {
    return plain_client(server->port()).send("POST", "/upload", big, "application/octet-stream");
  });
  // The second upload is held while the first is in its handler...
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(handled.load(), 1);
  // ...but a poll on a free io thread is answered.
  HttpClient poller = plain_client(server->port());
  Result<transport::HttpResponse> poll = poller.send("GET", "/poll");
  ASSERT_TRUE(poll.ok()) << poll.status().to_string();
  EXPECT_EQ(poll->status, 200);
  {
    std::lock_guard lock(mu);
    release_first = true;
  }
  cv.notify_all();
  for (auto* upload_result : {&first, &second}) {
    Result<transport::HttpResponse> got = upload_result->get();
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->body, std::to_string(big.size()));
  }
  EXPECT_EQ(handled.load(), 2);
}

TEST(HttpServer, SendsASharedBodyToManyClientsUnchanged) {
  auto payload = std::make_shared<const std::string>(std::string(2 << 20, '\x7f') + kBinary);
  Router router;
  ASSERT_TRUE(
      router.add("GET", "/model", [payload](const Request&) { return protobuf_response(payload); })
          .ok());
  auto server = start_server(std::move(router));
  std::vector<std::future<Result<transport::HttpResponse>>> downloads;
  for (int i = 0; i < 6; ++i)
    downloads.push_back(std::async(std::launch::async, [&] {
      HttpClient client = plain_client(server->port());
      auto once = client.send("GET", "/model");
      if (!once.ok()) return once;
      return client.send("GET", "/model");  // again on the kept-alive connection
    }));
  for (auto& download : downloads) {
    Result<transport::HttpResponse> got = download.get();
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->body, *payload);
  }
}

TEST(HttpServer, ReportsBindFailuresAsValues) {
  auto first = start_server(model_router());
  HttpServerOptions options;
  options.port = first->port();
  HttpServer second(model_router(), options);
  const Status status = second.start();
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(status.message().find("cannot bind 127.0.0.1:" + std::to_string(first->port())),
            std::string::npos);

  HttpServerOptions bad_address;
  bad_address.address = "not-an-ip";
  EXPECT_EQ(HttpServer(model_router(), bad_address).start().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fl::http
