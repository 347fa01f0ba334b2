#include "coordinator/http/http_server.h"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <thread>
#include <vector>

#include "coordinator/http/server_context.h"

namespace fl::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
  Impl(Router router, HttpServerOptions options)
      : context(std::move(router), std::move(options)),
        ioc(std::max(1, context.options.io_threads)),
        acceptor(net::make_strand(ioc)),
        accept_backoff_timer(acceptor.get_executor()) {}

  Status load_tls();
  Status listen();
  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);
  void on_accept_error(boost::system::error_code ec);

  // Declaration order is destruction order in reverse: the io_context (and the
  // sessions its pending handlers own) dies before the context they point to.
  ServerContext context;
  net::io_context ioc;
  tcp::acceptor acceptor;
  // Out of descriptors, the pending connection stays in the backlog and the
  // listening socket stays readable: retrying at once would spin a core
  // until a descriptor frees. Retry after a delay that doubles, reset by the
  // next success.
  net::steady_timer accept_backoff_timer;
  std::chrono::milliseconds accept_backoff{0};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

Status HttpServer::Impl::load_tls() {
  const TlsOptions& tls = *context.options.tls;
  context.tls.emplace(net::ssl::context::tls_server);
  net::ssl::context& ssl = *context.tls;
  ssl.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ssl.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ssl.use_certificate_chain_file(tls.certificate_chain_file, ec);
  if (ec)
    return InvalidArgument("cannot load TLS certificate chain '" + tls.certificate_chain_file +
                           "': " + ec.message());
  ssl.use_private_key_file(tls.private_key_file, net::ssl::context::pem, ec);
  if (ec)
    return InvalidArgument("cannot load TLS private key '" + tls.private_key_file +
                           "': " + ec.message());
  if (SSL_CTX_check_private_key(ssl.native_handle()) != 1)
    return InvalidArgument("TLS private key '" + tls.private_key_file +
                           "' does not match the certificate");
  if (!tls.client_ca_file.empty()) {
    ssl.load_verify_file(tls.client_ca_file, ec);
    if (ec)
      return InvalidArgument("cannot load TLS client CA file '" + tls.client_ca_file +
                             "': " + ec.message());
    // Tell clients which CAs are accepted (the CertificateRequest's list).
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ssl.native_handle(), names);
    ssl.set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
    // OpenSSL refuses to resume a verified session without a context id.
    static constexpr unsigned char kSessionContext[] = "fl-coordinator";
    SSL_CTX_set_session_id_context(ssl.native_handle(), kSessionContext,
                                   sizeof(kSessionContext) - 1);
  }
  return Status::Ok();
}

Status HttpServer::Impl::listen() {
  const HttpServerOptions& options = context.options;
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) return InvalidArgument("bad listen address '" + options.address + "': " + ec.message());
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = options.address + ":" + std::to_string(options.port);

  acceptor.open(endpoint.protocol(), ec);
  if (ec) return Unavailable("cannot open a socket for " + where + ": " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return Unavailable("cannot set SO_REUSEADDR on " + where + ": " + ec.message());
  acceptor.bind(endpoint, ec);
  if (ec) return Unavailable("cannot bind " + where + ": " + ec.message());
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("cannot listen on " + where + ": " + ec.message());
  port = acceptor.local_endpoint(ec).port();
  if (ec) return Unavailable("cannot read the bound port of " + where + ": " + ec.message());
  return Status::Ok();
}

void HttpServer::Impl::do_accept() {
  // Each connection gets its own strand, so its handlers never run concurrently.
  acceptor.async_accept(net::make_strand(ioc),
                        [this](boost::system::error_code ec, tcp::socket socket) {
                          on_accept(ec, std::move(socket));
                        });
}

void HttpServer::Impl::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;  // stop()
  if (ec) return on_accept_error(ec);
  accept_backoff = std::chrono::milliseconds(0);
  ++context.connections_accepted;
  bool over_limit;
  {
    std::lock_guard lock(context.sessions_mu);
    over_limit = context.open_sessions >= context.options.max_connections;
  }
  if (over_limit || context.stopping) {
    // Refused by closing: cheaper than an answer, and clients treat it like
    // any other connection failure (retry with backoff).
    boost::system::error_code ignored;
    socket.close(ignored);
  } else {
    try {
      start_session(context, std::move(socket));
    } catch (...) {
      // Out of memory or TLS state for this connection: drop it, keep accepting.
    }
  }
  do_accept();
}

void HttpServer::Impl::on_accept_error(boost::system::error_code ec) {
  // Accept errors must not stop the server. A connection the peer aborted
  // is retried at once; a lack of resources (descriptors, buffers, memory)
  // lasts until something is released, so wait for it.
  ++context.accept_errors;
  constexpr auto kFirstBackoff = std::chrono::milliseconds(10);
  constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
  const int code = ec.category() == boost::system::system_category() ? ec.value() : 0;
  const bool out_of_resources =
      code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
  if (!out_of_resources) return do_accept();
  accept_backoff =
      accept_backoff.count() == 0 ? kFirstBackoff : std::min(accept_backoff * 2, kMaxBackoff);
  accept_backoff_timer.expires_after(accept_backoff);
  accept_backoff_timer.async_wait([this](boost::system::error_code wait_ec) {
    if (wait_ec == net::error::operation_aborted || !acceptor.is_open()) return;  // stop()
    do_accept();
  });
}

HttpServer::HttpServer(Router router, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(router), std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  Impl& impl = *impl_;
  if (impl.started) return FailedPrecondition("HttpServer::start called twice");
  impl.started = true;
  if (impl.context.options.io_threads < 1) return InvalidArgument("io_threads must be at least 1");
  if (impl.context.options.tls) FL_RETURN_IF_ERROR(impl.load_tls());
  FL_RETURN_IF_ERROR(impl.listen());
  impl.do_accept();
  for (int i = 0; i < impl.context.options.io_threads; ++i) {
    impl.threads.emplace_back([&impl] {
      // Handlers catch their own errors; this only keeps a stray exception
      // from terminating the process.
      for (;;) {
        try {
          impl.ioc.run();
          return;
        } catch (...) {
        }
      }
    });
  }
  return Status::Ok();
}

void HttpServer::stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) return;
  impl.stopped = true;
  impl.context.stopping = true;
  net::post(impl.acceptor.get_executor(), [&impl] {
    boost::system::error_code ignored;
    impl.acceptor.close(ignored);
    impl.accept_backoff_timer.cancel();
  });
  std::vector<std::shared_ptr<SessionControl>> live;
  {
    std::lock_guard lock(impl.context.sessions_mu);
    for (const std::weak_ptr<SessionControl>& entry : impl.context.sessions) {
      if (std::shared_ptr<SessionControl> session = entry.lock())
        live.push_back(std::move(session));
    }
  }
  // Outside the lock: dropping the last reference runs a session's destructor,
  // which takes the lock.
  for (const auto& session : live) session->begin_shutdown();
  live.clear();
  {
    std::unique_lock lock(impl.context.sessions_mu);
    impl.context.sessions_cv.wait_for(lock, impl.context.options.stop_grace,
                                      [&] { return impl.context.open_sessions == 0; });
  }
  impl.ioc.stop();
  for (std::thread& thread : impl.threads) thread.join();
  impl.threads.clear();
  impl.context.upload_gate.clear();  // waiters hold their sessions alive
}

uint16_t HttpServer::port() const { return impl_->port; }

uint64_t HttpServer::connections_accepted() const {
  return impl_->context.connections_accepted.load();
}

uint64_t HttpServer::accept_errors() const { return impl_->context.accept_errors.load(); }

size_t HttpServer::open_connections() const {
  std::lock_guard lock(impl_->context.sessions_mu);
  return impl_->context.open_sessions;
}

}  // namespace fl::http
