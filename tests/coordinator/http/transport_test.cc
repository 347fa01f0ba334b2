#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "client_sdk/transport/http_client.h"
#include "client_sdk/transport/retry_policy.h"
#include "client_sdk/transport/send_with_retry.h"
#include "coordinator/http/auth_hook.h"
#include "coordinator/http/http_server.h"
#include "crypto/ed25519.h"

namespace fl::transport {
namespace {

using namespace std::chrono_literals;
using http::HttpServer;
using http::HttpServerOptions;
using http::Request;
using http::Router;

HttpClient client_for(uint16_t port, std::unique_ptr<auth::RequestSigner> signer = nullptr,
                      std::chrono::milliseconds read_timeout = 5s) {
  HttpClientOptions options;
  options.port = port;
  options.connect_timeout = 2s;
  options.read_timeout = read_timeout;
  Result<HttpClient> client = HttpClient::create(options, std::move(signer));
  EXPECT_TRUE(client.ok()) << client.status().to_string();
  return std::move(client).value();
}

// A server whose /v1/flaky answers `status` (with Retry-After if given) the
// first `failures` times, then 200.
struct FlakyServer {
  FlakyServer(int failures, int status, std::string retry_after, HttpServerOptions options = {}) {
    Router router;
    EXPECT_TRUE(router
                    .add("POST", "/v1/flaky",
                         [=, this](const Request& request) {
                           if (++calls <= failures) {
                             http::Response response = http::json_error(status, "try again");
                             if (!retry_after.empty())
                               response.headers.set("Retry-After", retry_after);
                             return response;
                           }
                           return http::text_response("ok:" + request.body);
                         })
                    .ok());
    server = std::make_unique<HttpServer>(std::move(router), std::move(options));
    EXPECT_TRUE(server->start().ok());
  }
  std::atomic<int> calls{0};
  std::unique_ptr<HttpServer> server;
};

struct RecordedSleeps {
  std::vector<std::chrono::milliseconds> waits;
  SleepFunction function() {
    return [this](std::chrono::milliseconds d) { waits.push_back(d); };
  }
};

RetryPolicy exact_policy() {
  RetryPolicy policy;
  policy.max_attempts = 4;
  policy.base_delay = 100ms;
  policy.max_delay = 1000ms;
  policy.multiplier = 2.0;
  policy.full_jitter = false;
  return policy;
}

const OutgoingRequest kPost{"POST", "/v1/flaky", "update", "application/x-protobuf", {}};

TEST(SendWithRetry, RetriesA503HonouringRetryAfterThenSucceeds) {
  FlakyServer flaky(2, 503, "2");
  HttpClient client = client_for(flaky.server->port());
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "ok:update");
  EXPECT_EQ(flaky.calls.load(), 3);
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{2000ms, 2000ms}));
}

TEST(SendWithRetry, BacksOffExponentiallyWithoutRetryAfter) {
  FlakyServer flaky(3, 500, "");
  HttpClient client = client_for(flaky.server->port());
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms}));
}

TEST(SendWithRetry, RetriesA429) {
  FlakyServer flaky(1, 429, "1");
  HttpClient client = client_for(flaky.server->port());
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  ASSERT_EQ(send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng)->status, 200);
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{1000ms}));
}

TEST(SendWithRetry, NeverRetriesOtherClientErrors) {
  FlakyServer flaky(1, 400, "");
  HttpClient client = client_for(flaky.server->port());
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(flaky.calls.load(), 1);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST(SendWithRetry, GivesUpWithUnavailableWhenAttemptsRunOut) {
  FlakyServer flaky(100, 503, "");
  HttpClient client = client_for(flaky.server->port());
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status().message().find("failed after 4 attempts; last: HTTP 503"),
            std::string::npos);
  EXPECT_EQ(flaky.calls.load(), 4);
  EXPECT_EQ(sleeps.waits.size(), 3u);
}

TEST(SendWithRetry, StopsWhenRetryAfterExceedsThePolicy) {
  FlakyServer flaky(100, 503, "3600");
  HttpClient client = client_for(flaky.server->port());
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng);
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(flaky.calls.load(), 1);
  EXPECT_TRUE(sleeps.waits.empty());
}

TEST(SendWithRetry, RetriesARefusedConnectionThenReportsUnavailable) {
  uint16_t closed_port;
  {
    // A port that was just bound and released: nothing listens on it.
    HttpServer probe(Router{}, {});
    ASSERT_TRUE(probe.start().ok());
    closed_port = probe.port();
  }
  HttpClient client = client_for(closed_port);
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, kPost, exact_policy(), sleeps.function(), rng);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(
      result.status().message().find("cannot connect to 127.0.0.1:" + std::to_string(closed_port)),
      std::string::npos)
      << result.status().message();
  EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms}));
}

TEST(SendWithRetry, SignsEachAttemptAfreshSoRetriesAreNotReplays) {
  crypto::SeededRng key_rng(5);
  const crypto::Ed25519KeyPair key = crypto::ed25519_keypair(key_rng);
  auto authenticator = std::make_shared<auth::RequestAuthenticator>(
      [&](uint64_t id) -> std::optional<crypto::Key32> {
        if (id == 9) return key.public_key;
        return std::nullopt;
      },
      &auth::system_unix_millis, auth::AuthenticatorOptions{.audience = "test-coordinator"});
  std::atomic<int> calls{0};
  Router router;
  http::RouteOptions signed_route;
  signed_route.auth_class = "client";
  ASSERT_TRUE(router
                  .add(
                      "POST", "/v1/upload",
                      [&](const Request& request) {
                        if (++calls == 1) return http::json_error(503, "busy");
                        return http::text_response("stored for " +
                                                   std::to_string(*request.client_id));
                      },
                      signed_route)
                  .ok());
  HttpServerOptions options;
  options.authorize = http::make_authorizer(authenticator, nullptr);
  HttpServer server(std::move(router), options);
  ASSERT_TRUE(server.start().ok());

  HttpClient client = client_for(
      server.port(),
      std::make_unique<auth::RequestSigner>(9, key, "test-coordinator", &auth::system_unix_millis,
                                            std::make_unique<crypto::SeededRng>(77)));
  RecordedSleeps sleeps;
  crypto::SeededRng rng(1);
  Result<HttpResponse> result =
      send_with_retry(client, {"POST", "/v1/upload", "masked", "application/x-protobuf", {}},
                      exact_policy(), sleeps.function(), rng);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "stored for 9");
  EXPECT_EQ(calls.load(), 2);
}

TEST(HttpClient, ReusesOneKeepAliveConnectionForManyRequests) {
  FlakyServer flaky(0, 503, "");
  HttpClient client = client_for(flaky.server->port());
  for (int i = 0; i < 5; ++i) {
    Result<HttpResponse> result = client.send("POST", "/v1/flaky", std::to_string(i));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->body, "ok:" + std::to_string(i));
  }
  EXPECT_EQ(flaky.server->connections_accepted(), 1u);
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpClient, ReconnectsTransparentlyWhenTheServerClosedAnIdleConnection) {
  HttpServerOptions options;
  options.read_timeout = 100ms;  // also the server's keep-alive idle time
  FlakyServer flaky(0, 503, "", options);
  HttpClient client = client_for(flaky.server->port());
  ASSERT_EQ(client.send("POST", "/v1/flaky", "a")->status, 200);
  std::this_thread::sleep_for(400ms);  // the server drops the idle connection
  Result<HttpResponse> again = client.send("POST", "/v1/flaky", "b");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->body, "ok:b");
  EXPECT_EQ(client.connections_opened(), 2u);
  EXPECT_EQ(flaky.server->connections_accepted(), 2u);
}

TEST(HttpClient, TimesOutASlowServerAsUnavailable) {
  Router router;
  ASSERT_TRUE(router
                  .add("GET", "/slow",
                       [](const Request&) {
                         std::this_thread::sleep_for(500ms);
                         return http::text_response("late");
                       })
                  .ok());
  HttpServer server(std::move(router), {});
  ASSERT_TRUE(server.start().ok());
  HttpClient client = client_for(server.port(), nullptr, 100ms);
  Result<HttpResponse> result = client.send("GET", "/slow");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status().message().find("no response"), std::string::npos);
}

TEST(HttpClient, RejectsBadMethodsAndTargetsBeforeConnecting) {
  HttpClient client = client_for(1);
  EXPECT_EQ(client.send("FETCH!", "/x").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.send("GET", "x").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.connections_opened(), 0u);
}

TEST(RetryPolicy, FullJitterStaysUnderTheCappedExponentialAndIsReproducible) {
  RetryPolicy policy;
  policy.base_delay = 100ms;
  policy.max_delay = 1000ms;
  crypto::SeededRng a(3), b(3);
  bool varied = false;
  for (int retry = 1; retry <= 8; ++retry) {
    const auto cap = std::min<int64_t>(1000, 100 << (retry - 1));
    for (int i = 0; i < 50; ++i) {
      const auto delay = backoff_delay(policy, retry, a);
      EXPECT_EQ(delay, backoff_delay(policy, retry, b));
      EXPECT_GE(delay.count(), 0);
      EXPECT_LE(delay.count(), cap);
      varied |= delay.count() != cap;
    }
  }
  EXPECT_TRUE(varied);
}

TEST(RetryPolicy, ParsesDeltaSecondsRetryAfterOnly) {
  EXPECT_EQ(parse_retry_after("120"), 120'000ms);
  EXPECT_EQ(parse_retry_after(" 0 "), 0ms);
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parse_retry_after("-1").has_value());
  EXPECT_FALSE(parse_retry_after("").has_value());
}

TEST(RetryPolicy, RetriesOnlyTransientStatuses) {
  for (int status : {429, 500, 502, 503, 504}) EXPECT_TRUE(is_retryable_status(status)) << status;
  for (int status : {200, 301, 400, 401, 403, 404, 409, 413, 501, 505})
    EXPECT_FALSE(is_retryable_status(status)) << status;
}

}  // namespace
}  // namespace fl::transport
