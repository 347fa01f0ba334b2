// One connection's request loop (after Beast's example/http/server/async):
// handshake (TLS) -> read header -> framing, route, size, per-peer rate limit,
// authenticate, per-client rate limit, byte budget, upload slot (each may
// refuse: http_server.h lists the answers) -> read body -> check its signed
// digest, handle -> write -> again or close. Every step is a named member
// function running on the connection's strand; the completion handlers hold
// the session alive through shared_from_this.

#include <sodium.h>
#include <sys/mman.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

#include "coordinator/http/response.h"
#include "coordinator/http/server_context.h"
#include "coordinator/http/streamed_body.h"
#include "protocol/signature_scheme.h"

namespace fl::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::string_view kUnmatchedRoute = "unmatched";
// Lingering close: after answering a request whose body we did not read (413,
// 404, ...), keep reading and discarding for a moment before closing, so the
// client's kernel does not receive a reset that destroys our answer before
// the client reads it (the problem nginx's lingering_close solves).
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr size_t kLingerMaxBytes = size_t{1} << 20;
// Bodies above this get a read buffer of up to kLargeReadBytes (ReadBuffer).
constexpr uint64_t kSmallBodyBytes = 16 * 1024;
constexpr size_t kLargeReadBytes = size_t{1} << 20;
// Retry-After for a refusal because the server's unauthenticated byte budget
// is spent: it frees as soon as requests in flight finish.
constexpr auto kBusyRetryAfter = std::chrono::seconds(1);

// Responses are written from a view, so a shared payload is never copied.
using ResponseBody = bhttp::span_body<const char>;
using BodyView = ResponseBody::value_type;

// The connection's read buffer. Beast's http::async_read asks for at most
// 64 KiB per read; a 4 MB upload then costs ~64 reads, each a wakeup of the
// io thread when the bytes trickle in. Beast asks read_size_helper (found by
// argument-dependent lookup, boost/beast/core/impl/read_size.hpp) when the
// buffer type has one: this one lets a read fill all the free capacity, which
// do_read_body() sets per request (at most kLargeReadBytes, at most the body).
//
// Its storage comes straight from mmap above kMappedReadBytes and goes back to
// the kernel when the body is read: a few hundred KiB per upload taken from
// and returned to the heap would leave holes that keep the process's RSS up.
constexpr size_t kMappedReadBytes = 128 * 1024;

template <class T>
struct ReadBufferAllocator {
  using value_type = T;
  ReadBufferAllocator() = default;
  template <class U>
  ReadBufferAllocator(const ReadBufferAllocator<U>&) {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMappedReadBytes) return static_cast<T*>(::operator new(bytes));
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMappedReadBytes) return ::operator delete(p);
    munmap(p, bytes);
  }
  template <class U>
  bool operator==(const ReadBufferAllocator<U>&) const {
    return true;
  }
};

class ReadBuffer : public beast::basic_flat_buffer<ReadBufferAllocator<char>> {};

[[maybe_unused]] std::size_t read_size_helper(ReadBuffer& buffer, std::size_t) {
  const size_t room = buffer.max_size() - buffer.size();
  return std::min(std::max<size_t>(512, buffer.capacity() - buffer.size()), room);
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::partial_message && ec != bhttp::error::end_of_stream;
}

template <class Stream>
class Session final : public SessionControl, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  template <class... StreamArgs>
  Session(ServerContext& context, std::string peer, StreamArgs&&... args)
      : context_(context),
        stream_(std::forward<StreamArgs>(args)...),
        peer_(std::move(peer)),
        slot_timer_(stream_.get_executor()) {
    std::lock_guard lock(context_.sessions_mu);
    ++context_.open_sessions;  // balanced by the destructor, which runs only if we get here
  }

  ~Session() override {
    release_request_resources();
    std::lock_guard lock(context_.sessions_mu);
    if (registered_) context_.sessions.erase(registry_entry_);
    --context_.open_sessions;
    context_.sessions_cv.notify_all();
  }

  void registered(std::list<std::weak_ptr<SessionControl>>::iterator entry) {
    registry_entry_ = entry;
    registered_ = true;
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::on_run, this->shared_from_this()));
  }

  void begin_shutdown() override {
    net::post(stream_.get_executor(),
              beast::bind_front_handler(&Session::on_shutdown, this->shared_from_this()));
  }

 private:
  enum class State { kHandshake, kReadingHeader, kBusy, kWaitingForSlot, kClosing };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const HttpServerOptions& options() const { return context_.options; }

  void on_run() {
    if constexpr (kTls) {
      state_ = State::kHandshake;
      lowest().expires_after(options().read_timeout);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          beast::bind_front_handler(&Session::on_handshake, this->shared_from_this()));
    } else {
      do_read_header();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return close_now();  // failed or timed-out handshake: nothing to answer
    do_read_header();
  }

  void on_shutdown() {
    // A connection between requests is closed at once; one with a request in
    // progress finishes it (context_.stopping makes its answer close).
    const bool idle = state_ == State::kHandshake ||
                      (state_ == State::kReadingHeader && !(parser_ && parser_->got_some()));
    if (idle) lowest().cancel();
    // A request still waiting for an upload slot has not started: drop it.
    if (state_ == State::kWaitingForSlot && slot_ticket_ &&
        context_.upload_gate.cancel(*slot_ticket_)) {
      slot_ticket_.reset();
      slot_timer_.cancel();
      close_now();
    }
  }

  void do_read_header() {
    if (context_.stopping) return do_close();
    state_ = State::kReadingHeader;
    // Swap, don't assign: assigning an empty Request keeps the previous body's
    // capacity (libstdc++ reuses the buffer), so every keep-alive connection
    // would pin the memory of its largest upload: clients x update size.
    {
      Request fresh;
      std::swap(request_, fresh);
    }
    release_response();  // nor the last response (a model download) while idle
    route_ = nullptr;
    bytes_in_ = 0;
    close_after_response_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().header_limit_bytes));
    // No body limit yet: the route, known once the header is read, sets it.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    lowest().expires_after(options().read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_read_header, this->shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t bytes) {
    bytes_in_ += bytes;
    started_ = std::chrono::steady_clock::now();
    state_ = State::kBusy;
    if (ec) {
      if (ec == bhttp::error::header_limit)
        return send_error(431, "request header exceeds " +
                                   std::to_string(options().header_limit_bytes) + " bytes");
      if (is_parse_error(ec)) return send_error(400, "malformed HTTP request: " + ec.message());
      return close_now();  // end of stream, timeout, reset, cancelled by stop()
    }
    if (!check_framing()) return;
    const auto& header = parser_->get();
    request_.method = std::string(header.method_string());
    request_.target = std::string(header.target());
    const size_t question = request_.target.find('?');
    request_.path = request_.target.substr(0, question);
    if (question != std::string::npos) request_.query = request_.target.substr(question + 1);
    for (const auto& field : header)
      request_.headers.add(std::string(field.name_string()), std::string(field.value()));
    request_.peer_address = peer_;

    Router::Match match = context_.router.match(request_.method, request_.path);
    if (match.kind == Router::Match::Kind::kNotFound)
      return send_error(404, "no route for " + request_.path);
    if (match.kind == Router::Match::Kind::kMethodNotAllowed) {
      std::string allow;
      for (const std::string& method : match.allowed_methods)
        allow += (allow.empty() ? "" : ", ") + method;
      Response response = json_error(405, request_.method + " is not allowed on " + request_.path);
      response.headers.set("Allow", allow);
      return send_response(std::move(response));
    }
    route_ = match.route;
    request_.route = route_->pattern;
    request_.params = std::move(match.params);

    const size_t limit = route_->options.max_body_bytes;
    if (const auto length = parser_->content_length(); length && *length > limit)
      return send_error(413, "request body of " + std::to_string(*length) +
                                 " bytes exceeds this route's limit of " + std::to_string(limit));
    parser_->body_limit(limit);  // also bounds chunked bodies, which declare no length

    // The peer's bucket is spent before authentication, so requests that
    // fail it still count; the client's only after it, so nobody can spend
    // another client's bucket by naming it in a header.
    if (!take_rate_token(context_.rate_limiter, request_.peer_address)) return;
    if (!authenticate()) return;
    if (request_.client_id) {
      if (!take_rate_token(context_.client_rate_limiter,
                           "client:" + std::to_string(*request_.client_id)))
        return;
    } else if (request_.admin) {
      if (!take_rate_token(context_.client_rate_limiter, "admin")) return;
    }

    prepare_body();
    if (parser_->is_done()) return handle_request();
    if (route_->options.auth_class.empty() && !reserve_unauthenticated_body()) return;
    const uint64_t expected = parser_->content_length().value_or(limit);
    if (expected > options().large_body_bytes) return wait_for_upload_slot();
    do_read_body();
  }

  // Once the request may have a body: hash it as it streams in when the
  // signed header declared its digest, and read a large one into a pooled
  // buffer (streamed_body.h).
  void prepare_body() {
    StreamedBody::value_type& body = parser_->get().body();
    if (request_.declared_body_hash) body.hash.emplace();
    body.pool = &context_.body_pool;
    body.pool_above = options().large_body_bytes;
  }

  // RFC 9112 6.3: a request whose body length the server cannot determine
  // (a transfer coding other than a final chunked, which Beast would read as
  // "no body") or could determine two ways (Transfer-Encoding and
  // Content-Length, two Transfer-Encoding fields) must not be answered as if
  // its remaining bytes were the next request: that is request smuggling
  // through any proxy that frames it differently. 400 and close. Host: RFC
  // 9112 3.2 requires exactly one in HTTP/1.1 (and never two).
  bool check_framing() {
    const auto& header = parser_->get();
    const size_t encodings = header.count(bhttp::field::transfer_encoding);
    std::string refusal;
    if (encodings > 1) {
      refusal = "more than one Transfer-Encoding field";
    } else if (encodings == 1) {
      const auto value = header[bhttp::field::transfer_encoding];
      std::string_view coding(value.data(), value.size());
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
        coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
        coding.remove_suffix(1);
      if (header.count(bhttp::field::content_length) != 0)
        refusal = "Transfer-Encoding together with Content-Length";
      else if (!iequals(coding, "chunked"))
        refusal = "unsupported Transfer-Encoding; only chunked is accepted";
    }
    const size_t hosts = header.count(bhttp::field::host);
    if (refusal.empty() && hosts > 1) refusal = "more than one Host field";
    if (refusal.empty() && hosts == 0 && header.version() >= 11)
      refusal = "an HTTP/1.1 request needs a Host field";
    if (refusal.empty()) return true;
    close_after_response_ = true;
    send_error(400, "malformed HTTP request: " + refusal);
    return false;
  }

  // Takes a token from `limiter`'s bucket for `key` on rate-limited routes;
  // false (and a 429 sent) if there is none.
  bool take_rate_token(std::optional<RateLimiter>& limiter, const std::string& key) {
    if (!limiter || !route_->options.rate_limited) return true;
    const RateLimiter::Decision decision = limiter->acquire(key);
    if (decision.allowed) return true;
    Response response = json_error(429, "rate limit exceeded; retry later");
    response.headers.set("Retry-After", RateLimiter::retry_after_seconds(decision.retry_after));
    send_response(std::move(response));
    return false;
  }

  // From the header alone, before any of the body is read or a slot or byte
  // budget taken: an unauthenticated peer costs the server one header's
  // worth of work. A refusal closes (lingering), as the body is unread.
  bool authenticate() {
    const std::string& auth_class = route_->options.auth_class;
    if (auth_class.empty()) return true;
    close_after_response_ = true;  // until authenticated
    if (!options().authorize) {
      send_error(500, "route requires auth but none is configured");
      return false;
    }
    Status status = Status::Ok();
    try {
      status = options().authorize(request_, auth_class);
    } catch (const std::exception& e) {
      report_handler_error(e.what());
      send_error(500, "internal error");
      return false;
    } catch (...) {
      report_handler_error("unknown exception");
      send_error(500, "internal error");
      return false;
    }
    if (!status.ok()) {
      const int code =
          status.code() == ErrorCode::kPermissionDenied ? 401 : http_status_for(status);
      send_error(code, status.message());
      return false;
    }
    close_after_response_ = false;
    return true;
  }

  // Anonymous bodies share one budget, so many connections each sending a
  // route's maximum cannot make the server buffer connections x limit.
  bool reserve_unauthenticated_body() {
    const uint64_t bytes = parser_->content_length().value_or(route_->options.max_body_bytes);
    if (context_.reserve_unauthenticated(bytes)) {
      unauthenticated_reserved_ = bytes;
      return true;
    }
    refuse_busy("server is busy with other uploads; retry later", kBusyRetryAfter);
    return false;
  }

  void refuse_busy(std::string message, std::chrono::milliseconds retry_after) {
    close_after_response_ = true;
    Response response = json_error(503, std::move(message));
    response.headers.set("Retry-After", RateLimiter::retry_after_seconds(retry_after));
    send_response(std::move(response));
  }

  void wait_for_upload_slot() {
    auto self = this->shared_from_this();
    auto resume = [self] {
      net::post(self->stream_.get_executor(),
                beast::bind_front_handler(&Session::on_upload_slot, self));
    };
    const std::optional<UploadGate::Ticket> ticket =
        context_.upload_gate.acquire_or_wait(std::move(resume));
    if (!ticket) {
      holds_upload_slot_ = true;
      return do_read_body();
    }
    // The client is not slow, we are busy: no read timeout while waiting, but
    // a deadline, so requests cannot queue for ever behind stalled uploads.
    state_ = State::kWaitingForSlot;
    slot_ticket_ = ticket;
    lowest().expires_never();
    slot_timer_.expires_after(options().upload_slot_wait);
    slot_timer_.async_wait(
        beast::bind_front_handler(&Session::on_upload_slot_wait_over, this->shared_from_this()));
  }

  void on_upload_slot() {
    slot_ticket_.reset();
    holds_upload_slot_ = true;
    slot_timer_.cancel();
    if (state_ != State::kWaitingForSlot) return release_upload_slot();  // closed meanwhile
    state_ = State::kBusy;
    do_read_body();
  }

  void on_upload_slot_wait_over(beast::error_code ec) {
    if (ec == net::error::operation_aborted || !slot_ticket_) return;
    // cancel() fails if a slot was handed over just now: on_upload_slot is
    // then already posted and proceeds.
    if (!context_.upload_gate.cancel(*slot_ticket_)) return;
    slot_ticket_.reset();
    state_ = State::kBusy;
    refuse_busy("no upload slot became free in time; retry later", options().upload_slot_wait);
  }

  void do_read_body() {
    // Each read fills at most buffer_'s free capacity (ReadBuffer). Left at
    // the header's few hundred bytes, a 4 MB upload would take ~8,000
    // recvmsg calls; give large bodies up to kLargeReadBytes, and give it
    // back once the body is read (idle connections keep only a small buffer).
    const uint64_t expected = parser_->content_length().value_or(route_->options.max_body_bytes);
    if (expected > kSmallBodyBytes) {
      buffer_.reserve(static_cast<size_t>(std::min<uint64_t>(expected, kLargeReadBytes)));
      grew_buffer_ = true;
    } else if (expected > buffer_.capacity() - buffer_.size()) {
      // A small body (a prediction request of a few KB) in one read, not ten.
      buffer_.reserve(buffer_.size() + static_cast<size_t>(expected));
    }
    lowest().expires_after(options().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read_body, this->shared_from_this()));
  }

  void release_upload_slot() {
    if (!holds_upload_slot_) return;
    holds_upload_slot_ = false;
    // The last large upload of a burst: its pooled buffers go back to the
    // allocator, so an idle server holds none (body_buffer_pool.h).
    if (context_.upload_gate.release()) context_.body_pool.clear();
  }

  void release_request_resources() {
    release_upload_slot();
    if (unauthenticated_reserved_ != 0) {
      context_.release_unauthenticated(unauthenticated_reserved_);
      unauthenticated_reserved_ = 0;
    }
  }

  void on_read_body(beast::error_code ec, std::size_t bytes) {
    bytes_in_ += bytes;
    if (ec) release_request_resources();
    if (ec == bhttp::error::body_limit)
      return send_error(413, "request body exceeds this route's limit of " +
                                 std::to_string(route_->options.max_body_bytes) + " bytes");
    if (ec && is_parse_error(ec)) return send_error(400, "malformed HTTP body: " + ec.message());
    if (ec) return close_now();
    handle_request();
  }

  void handle_request() {
    StreamedBody::value_type& body = parser_->get().body();
    request_.body = std::move(body.bytes);
    std::optional<crypto::Key32> digest;
    if (body.hash) digest = body.hash->finish();
    if (grew_buffer_ && buffer_.size() == 0) {
      buffer_.shrink_to_fit();
      grew_buffer_ = false;
    }
    if (!body_matches_declared_hash(digest))
      return send_error(401, "request body does not match its signed hash");
    Response response;
    try {
      response = route_->handler(request_);
    } catch (const std::exception& e) {
      report_handler_error(e.what());
      response = json_error(500, "internal error");
    } catch (...) {
      report_handler_error("unknown exception");
      response = json_error(500, "internal error");
    }
    send_response(std::move(response));
  }

  // The signature covered the header, which names the body's digest; the
  // body is only trusted once it hashes to that digest (`streamed`, computed
  // while it was read; prepare_body() asks for it whenever a digest is
  // declared). Constant time, as the digest is compared against
  // attacker-chosen bytes.
  bool body_matches_declared_hash(const std::optional<crypto::Key32>& streamed) const {
    if (!request_.declared_body_hash) return true;
    const crypto::Key32 digest = streamed ? *streamed : auth::body_hash(request_.body);
    return sodium_memcmp(digest.data(), request_.declared_body_hash->data(), digest.size()) == 0;
  }

  // The exception's text goes to the operator, not to the client: it may name
  // internals (paths, SQL) an attacker should not see.
  void report_handler_error(std::string_view what) {
    if (!options().on_handler_error) return;
    try {
      options().on_handler_error(route_->pattern, what);
    } catch (...) {
    }
  }

  void send_error(int status, std::string message) { send_response(json_error(status, message)); }

  void send_response(Response response) {
    state_ = State::kBusy;
    // The body and its parsed copies are gone once the handler returned
    // (only the method is kept, for the request metrics).
    {
      std::string method = std::move(request_.method);
      Request done;
      std::swap(request_, done);
      request_.method = std::move(method);
      if (done.body.capacity() > options().large_body_bytes)
        context_.body_pool.release(std::move(done.body));
    }
    release_request_resources();
    // Keep the connection only if the request was read to its end and the
    // client wants it; an unread body would be parsed as the next request.
    // Framing we refused, or a peer that failed authentication or was
    // turned away, closes whatever it asked.
    const bool request_complete = parser_ && parser_->is_header_done() && parser_->is_done();
    const bool keep_alive = request_complete && !close_after_response_ &&
                            parser_->get().keep_alive() && !context_.stopping;
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;

    response_.emplace();
    response_->version(version);
    response_->result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty())
      response_->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers.fields()) response_->set(name, value);
    // The body is a view: into the response's own string, or into a shared
    // immutable payload that many connections may be sending at once.
    if (response.shared_body) {
      shared_body_ = std::move(response.shared_body);
      owned_body_.clear();
    } else {
      shared_body_.reset();
      owned_body_ = std::move(response.body);
    }
    const std::string& body = shared_body_ ? *shared_body_ : owned_body_;
    response_->body() = BodyView(body.data(), body.size());
    response_->keep_alive(keep_alive);
    response_->prepare_payload();
    // Lingering only discards bytes: a refused request's remainder is never
    // parsed as another request.
    linger_ = !request_complete || close_after_response_;

    lowest().expires_after(options().write_timeout);
    bhttp::async_write(stream_, *response_,
                       beast::bind_front_handler(&Session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    if (options().on_request) {
      RequestMetrics metrics;
      metrics.route = route_ ? std::string_view(route_->pattern) : kUnmatchedRoute;
      metrics.method = request_.method;
      metrics.status = static_cast<int>(response_->result_int());
      metrics.bytes_in = bytes_in_;
      metrics.bytes_out = bytes;
      metrics.duration = std::chrono::steady_clock::now() - started_;
      try {
        options().on_request(metrics);
      } catch (...) {
        // A metrics sink must not take the connection down.
      }
    }
    if (ec) return close_now();
    const bool keep_alive = response_->keep_alive();
    release_response();
    if (!keep_alive) return do_close();
    do_read_header();
  }

  void release_response() {
    response_.reset();
    shared_body_.reset();
    std::string().swap(owned_body_);
  }

  void do_close() {
    state_ = State::kClosing;
    if constexpr (kTls) {
      // close_notify, bounded; the peer's answer to it is not worth waiting for long.
      lowest().expires_after(kLingerTime);
      stream_.async_shutdown(
          beast::bind_front_handler(&Session::on_tls_shutdown, this->shared_from_this()));
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (!linger_) return close_now();
      lowest().expires_after(kLingerTime);
      do_linger();
    }
  }

  void on_tls_shutdown(beast::error_code) { close_now(); }

  void do_linger() {
    if (!linger_buffer_) linger_buffer_ = std::make_unique<std::array<char, 16 * 1024>>();
    lowest().async_read_some(
        net::buffer(*linger_buffer_),
        beast::bind_front_handler(&Session::on_linger, this->shared_from_this()));
  }

  void on_linger(beast::error_code ec, std::size_t bytes) {
    lingered_bytes_ += bytes;
    if (ec || lingered_bytes_ > kLingerMaxBytes) return close_now();
    do_linger();
  }

  void close_now() {
    state_ = State::kClosing;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  ServerContext& context_;
  Stream stream_;
  std::string peer_;
  ReadBuffer buffer_;
  std::optional<bhttp::request_parser<StreamedBody>> parser_;
  std::optional<bhttp::response<ResponseBody>> response_;
  std::string owned_body_;                          // the body response_ views, or
  std::shared_ptr<const std::string> shared_body_;  // a shared one
  std::chrono::steady_clock::time_point started_{};
  Request request_;
  const Route* route_ = nullptr;
  uint64_t bytes_in_ = 0;
  State state_ = State::kReadingHeader;
  bool linger_ = false;
  size_t lingered_bytes_ = 0;
  // Only a connection that lingers needs somewhere to discard bytes.
  std::unique_ptr<std::array<char, 16 * 1024>> linger_buffer_;
  std::list<std::weak_ptr<SessionControl>>::iterator registry_entry_;
  bool registered_ = false;
  bool holds_upload_slot_ = false;
  std::optional<UploadGate::Ticket> slot_ticket_;  // while waiting for a slot
  net::steady_timer slot_timer_;
  uint64_t unauthenticated_reserved_ = 0;  // of max_unauthenticated_body_bytes
  bool close_after_response_ = false;
  bool grew_buffer_ = false;
};

template <class SessionType>
void register_and_run(ServerContext& context, std::shared_ptr<SessionType> session) {
  {
    std::lock_guard lock(context.sessions_mu);
    context.sessions.push_front(session);
    session->registered(context.sessions.begin());
  }
  session->run();
}

}  // namespace

void start_session(ServerContext& context, tcp::socket socket) {
  beast::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  std::string peer = ec ? std::string() : remote.address().to_string();
  if (context.tls) {
    register_and_run(context, std::make_shared<Session<TlsStream>>(
                                  context, std::move(peer), std::move(socket), *context.tls));
  } else {
    register_and_run(context, std::make_shared<Session<PlainStream>>(context, std::move(peer),
                                                                     std::move(socket)));
  }
}

}  // namespace fl::http
