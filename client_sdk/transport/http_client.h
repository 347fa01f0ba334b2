// The SDK's HTTP(S) client: synchronous (the SDK runs on its own thread),
// one keep-alive connection to one coordinator, reused across requests and
// re-opened transparently when the server has closed it.
//
// TLS verifies the server certificate against options.ca_file (or the system
// trust store when empty) and the host name or IP; insecure_skip_verify turns
// verification off and exists for development only. With
// client_certificate_file and client_key_file set, the client presents that
// certificate when the server asks (mutual TLS). When a RequestSigner is
// given, every request (and every transparent re-send) is freshly signed with
// the fl-request-v3 headers.
//
// Errors: Unavailable for network failures and timeouts (worth retrying, see
// send_with_retry.h); PermissionDenied when the server's certificate is not
// trusted (not worth retrying); InvalidArgument for bad options or methods. An
// HTTP error status is not an error here: it is an ok HttpResponse.
//
// Not for: several hosts, pipelining, streaming bodies, proxies. Internal to
// the SDK: the public API (client_sdk/include/fl/) exposes none of this.
//
// Thread-safety: not thread-safe; one client per thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "protocol/request_signer.h"

namespace fl::transport {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool tls = false;
  std::string ca_file;                                // PEM trust anchors; empty: system store
  std::string server_name;                            // name to verify (and SNI); empty: host
  bool insecure_skip_verify = false;                  // development only
  std::string client_certificate_file;                // mutual TLS: PEM chain, leaf first
  std::string client_key_file;                        // mutual TLS: PEM private key
  std::chrono::milliseconds connect_timeout{10'000};  // TCP connect + TLS handshake
  std::chrono::milliseconds write_timeout{30'000};    // whole request
  std::chrono::milliseconds read_timeout{30'000};     // whole response
  size_t max_response_bytes = size_t{256} << 20;      // a published model fits
  std::string user_agent = "fl-client-sdk/0.1";
  // When set and it becomes true (from any thread), the request in progress
  // stops within ~20 ms and send() returns Cancelled; so does every send()
  // while it stays true. The flag must outlive the client.
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  // First header called `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

class HttpClient {
 public:
  // InvalidArgument if the TLS trust anchors or the client certificate or key
  // cannot be loaded, or only one of the two is set.
  static Result<HttpClient> create(HttpClientOptions options,
                                   std::unique_ptr<auth::RequestSigner> signer = nullptr);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // One request, one response. `target` is path plus query. `content_type`
  // empty: no Content-Type header.
  Result<HttpResponse> send(std::string_view method, std::string_view target,
                            std::string_view body = {}, std::string_view content_type = {},
                            const HeaderList& extra_headers = {});

  // Closes the connection; the next send() opens a new one.
  void close();
  // Until reset (nullopt), every send() stops at `deadline` (connecting,
  // resolving, writing or reading) and returns DeadlineExceeded: a bound
  // tighter than the timeouts, for a last request on the way out.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline);
  uint64_t connections_opened() const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::transport
