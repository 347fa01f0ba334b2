#include "client_sdk/transport/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

#include "base/ascii.h"

namespace fl::transport {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
// A request whose body is the caller's bytes, written without a copy (a
// masked input is dimension x ring bytes: 8 MB at 10^6 parameters).
using Request = bhttp::request<bhttp::span_body<const char>>;

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (iequals(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  HttpClientOptions options;
  std::unique_ptr<auth::RequestSigner> signer;
  net::io_context ioc{1};
  std::optional<net::ssl::context> tls;
  // Exactly one is set while connected.
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  uint64_t connections_opened = 0;

  std::string endpoint_name() const { return options.host + ":" + std::to_string(options.port); }
  bool connected() const { return plain.has_value() || secure.has_value(); }
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }

  // Set when a cancellation (or the deadline) stopped the last operation;
  // send() turns it into Cancelled (or DeadlineExceeded).
  bool cancelled_now = false;
  bool deadline_hit = false;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // set_deadline()

  bool cancel_requested() const {
    return options.cancel != nullptr && options.cancel->load(std::memory_order_acquire);
  }

  // Runs the queued asynchronous operation to completion on this thread. The
  // operations are asynchronous so that tcp_stream's timeouts apply, and so
  // that a cancellation or the deadline can stop them: both are polled every
  // 20 ms, and `stop` (cancelling the operation's object) runs here, on the
  // owning thread.
  template <class Stop>
  void run(Stop&& stop) {
    ioc.restart();
    if (options.cancel == nullptr && !deadline) {
      ioc.run();
      return;
    }
    while (!ioc.stopped()) {
      ioc.run_for(std::chrono::milliseconds(20));
      if (ioc.stopped() || cancelled_now) continue;
      const bool late = deadline && std::chrono::steady_clock::now() >= *deadline;
      if (late || cancel_requested()) {
        cancelled_now = true;
        deadline_hit = late;
        stop();
      }
    }
  }
  void run(beast::tcp_stream& stream) {
    run([&stream] { stream.cancel(); });
  }

  void disconnect() {
    if (connected()) {
      error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close();
    }
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  Status connect();
  template <class Stream>
  Result<HttpResponse> exchange(Stream& stream, Request& request, bool* nothing_received);
};

Status HttpClient::Impl::connect() {
  disconnect();
  error_code ec = net::error::would_block;
  // Resolved asynchronously too: a DNS lookup must not outlast a cancel.
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(options.host, std::to_string(options.port),
                         [&](error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                         });
  run([&resolver] { resolver.cancel(); });
  if (cancelled_now) return Cancelled("resolving " + options.host + " cancelled");
  if (ec) return Unavailable("cannot resolve " + options.host + ": " + ec.message());

  beast::tcp_stream stream(ioc);
  stream.expires_after(options.connect_timeout);
  ec = net::error::would_block;
  stream.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { ec = e; });
  run(stream);
  if (ec) return Unavailable("cannot connect to " + endpoint_name() + ": " + ec.message());
  ++connections_opened;
  stream.socket().set_option(tcp::no_delay(true), ec);

  if (!tls) {
    plain.emplace(std::move(stream));
    return Status::Ok();
  }
  secure.emplace(std::move(stream), *tls);
  const std::string& name = options.server_name.empty() ? options.host : options.server_name;
  if (!is_ip_literal(name))  // RFC 6066: SNI carries host names, never addresses
    SSL_set_tlsext_host_name(secure->native_handle(), name.c_str());
  if (!options.insecure_skip_verify) {
    secure->set_verify_mode(net::ssl::verify_peer);
    secure->set_verify_callback(net::ssl::host_name_verification(name));
  }
  beast::get_lowest_layer(*secure).expires_after(options.connect_timeout);
  ec = net::error::would_block;
  secure->async_handshake(net::ssl::stream_base::client, [&](error_code e) { ec = e; });
  run(beast::get_lowest_layer(*secure));
  if (ec) {
    const bool rejected = ec.category() == net::error::get_ssl_category();
    const long verify = SSL_get_verify_result(secure->native_handle());
    disconnect();
    if (rejected) {
      std::string reason = ec.message();
      if (verify != X509_V_OK)
        reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      return PermissionDenied("TLS handshake with " + endpoint_name() + " failed: " + reason);
    }
    return Unavailable("TLS handshake with " + endpoint_name() + " failed: " + ec.message());
  }
  return Status::Ok();
}

template <class Stream>
Result<HttpResponse> HttpClient::Impl::exchange(Stream& stream, Request& request,
                                                bool* nothing_received) {
  *nothing_received = true;
  error_code ec = net::error::would_block;
  lowest().expires_after(options.write_timeout);
  bhttp::async_write(stream, request, [&](error_code e, size_t) { ec = e; });
  run(lowest());
  const error_code write_error = ec;
  // A server may answer before reading the whole body (413, 401) and close;
  // the write then fails, but its answer is waiting to be read, and it is the
  // more useful result (it says not to retry). A timed-out stream is closed.
  if (cancelled_now) return Cancelled("request to " + endpoint_name() + " cancelled");
  if (write_error == beast::error::timeout)
    return Unavailable("sending to " + endpoint_name() + " timed out after " +
                       std::to_string(options.write_timeout.count()) + " ms");

  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.max_response_bytes);
  // Beast reads at most the buffer's free capacity per call (512 bytes when
  // it only ever held headers): 64 KiB keeps a model download to a few
  // hundred reads instead of thousands.
  buffer.reserve(64 * 1024);
  lowest().expires_after(options.read_timeout);
  ec = net::error::would_block;
  bhttp::async_read(stream, buffer, parser, [&](error_code e, size_t) { ec = e; });
  run(lowest());
  *nothing_received = !parser.got_some();
  if (ec && write_error)
    return Unavailable("sending to " + endpoint_name() + " failed: " + write_error.message());
  if (ec) {
    if (ec == beast::error::timeout)
      return Unavailable("no response from " + endpoint_name() + " within " +
                         std::to_string(options.read_timeout.count()) + " ms");
    return Unavailable("reading the response from " + endpoint_name() + " failed: " + ec.message());
  }
  auto message = parser.release();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message)
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  response.body = std::move(message.body());
  if (!message.keep_alive() || write_error) disconnect();
  return response;
}

Result<HttpClient> HttpClient::create(HttpClientOptions options,
                                      std::unique_ptr<auth::RequestSigner> signer) {
  auto impl = std::make_unique<Impl>();
  if (options.port == 0) return InvalidArgument("HttpClientOptions.port is not set");
  if (options.tls) {
    impl->tls.emplace(net::ssl::context::tls_client);
    net::ssl::context& ssl = *impl->tls;
    ssl.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                    net::ssl::context::no_tlsv1_1);
    SSL_CTX_set_min_proto_version(ssl.native_handle(), TLS1_2_VERSION);
    error_code ec;
    if (!options.ca_file.empty()) {
      ssl.load_verify_file(options.ca_file, ec);
      if (ec)
        return InvalidArgument("cannot load CA file '" + options.ca_file + "': " + ec.message());
    } else {
      ssl.set_default_verify_paths(ec);
      if (ec) return InvalidArgument("cannot load the system trust store: " + ec.message());
    }
    if (options.client_certificate_file.empty() != options.client_key_file.empty())
      return InvalidArgument("client certificate and key: set both (mutual TLS) or neither");
    if (!options.client_certificate_file.empty()) {
      ssl.use_certificate_chain_file(options.client_certificate_file, ec);
      if (ec)
        return InvalidArgument("cannot load client certificate '" +
                               options.client_certificate_file + "': " + ec.message());
      ssl.use_private_key_file(options.client_key_file, net::ssl::context::pem, ec);
      if (ec)
        return InvalidArgument("cannot load client key '" + options.client_key_file +
                               "': " + ec.message());
      if (SSL_CTX_check_private_key(ssl.native_handle()) != 1)
        return InvalidArgument("client key '" + options.client_key_file +
                               "' does not match the client certificate");
    }
  } else if (!options.client_certificate_file.empty() || !options.client_key_file.empty()) {
    return InvalidArgument("a client certificate needs TLS (https)");
  }
  impl->options = std::move(options);
  impl->signer = std::move(signer);
  return HttpClient(std::move(impl));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() {
  if (impl_) impl_->disconnect();
}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

void HttpClient::close() { impl_->disconnect(); }

void HttpClient::set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
  impl_->deadline = deadline;
}

uint64_t HttpClient::connections_opened() const { return impl_->connections_opened; }

Result<HttpResponse> HttpClient::send(std::string_view method, std::string_view target,
                                      std::string_view body, std::string_view content_type,
                                      const HeaderList& extra_headers) {
  Impl& impl = *impl_;
  const bhttp::verb verb = bhttp::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == bhttp::verb::unknown)
    return InvalidArgument("unknown HTTP method '" + std::string(method) + "'");
  if (target.empty() || target[0] != '/')
    return InvalidArgument("request target must start with '/', got '" + std::string(target) + "'");

  const auto cancelled = [&] {
    impl.cancelled_now = false;
    impl.disconnect();
    if (std::exchange(impl.deadline_hit, false))
      return DeadlineExceeded(std::string(method) + " " + std::string(target) +
                              ": no answer within the caller's deadline");
    return Cancelled(std::string(method) + " " + std::string(target) + " cancelled");
  };
  if (impl.deadline && std::chrono::steady_clock::now() >= *impl.deadline) {
    impl.deadline_hit = true;
    return cancelled();
  }
  if (impl.cancel_requested()) return cancelled();
  try {
    // A kept-alive connection may have been closed by the server while idle;
    // that shows as a failure before any response byte, and then the request
    // is sent once more on a fresh connection (as browsers and Go's net/http do).
    for (int round = 0;; ++round) {
      const bool reused = impl.connected();
      if (!reused) {
        Status connected = impl.connect();
        if (impl.cancelled_now) return cancelled();
        if (!connected.ok()) return connected;
      }

      Request request(verb, std::string(target), 11);
      request.set(bhttp::field::host, impl.endpoint_name());
      request.set(bhttp::field::user_agent, impl.options.user_agent);
      if (!content_type.empty()) request.set(bhttp::field::content_type, std::string(content_type));
      for (const auto& [name, value] : extra_headers) request.set(name, value);
      if (impl.signer) {
        for (const auto& [name, value] : impl.signer->sign(method, target, body))
          request.set(name, value);
      }
      request.body() = {body.data(), body.size()};  // written from the caller's buffer
      request.keep_alive(true);
      request.prepare_payload();

      bool nothing_received = true;
      Result<HttpResponse> result = impl.plain
                                        ? impl.exchange(*impl.plain, request, &nothing_received)
                                        : impl.exchange(*impl.secure, request, &nothing_received);
      if (impl.cancelled_now) return cancelled();
      if (result.ok()) return result;
      impl.disconnect();
      if (!(reused && nothing_received && round == 0)) return result;
    }
  } catch (const std::exception& e) {
    // Asio reports allocation and similar failures by throwing; never past us.
    impl.disconnect();
    return Internal(std::string("HTTP client failure: ") + e.what());
  }
}

}  // namespace fl::transport
