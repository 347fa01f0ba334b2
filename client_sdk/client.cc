// fl::Client: creation, enrolment, check-in and downloads (see fl/client.h).
// One round's protocol is in round.cc.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "client_sdk/client_impl.h"
#include "client_sdk/identity_file.h"
#include "crypto/bytes.h"
#include "proto/coordinator.pb.h"
#include "protocol/published_model.h"
#include "protocol/request_signer.h"

namespace fl {
namespace {

constexpr std::string_view kProtobuf = "application/x-protobuf";

template <typename F>
auto guarded(std::string_view what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Internal(std::string(what) + ": unexpected exception: " + e.what());
  } catch (...) {
    return Internal(std::string(what) + ": unexpected exception");
  }
}

// The certificate file `fl-coordinator devices certify` wrote.
Result<proto::DeviceCertificate> read_device_certificate(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("device_certificate_file: cannot read " + path);
  std::stringstream bytes;
  bytes << in.rdbuf();
  proto::DeviceCertificate certificate;
  if (bytes.str().size() > 4096 || !certificate.ParseFromString(bytes.str()) ||
      certificate.identity_public_key().size() != 32 || certificate.signature().size() != 64)
    return InvalidArgument("device_certificate_file: " + path +
                           " is not a device certificate (fl-coordinator devices certify)");
  return certificate;
}

Status validate_options(const ClientOptions& o) {
  if (o.identity_file.empty()) return InvalidArgument("identity_file: name the device key file");
  if (o.population.empty()) return InvalidArgument("population: name the population to join");
  if (o.retry.max_attempts < 1) return InvalidArgument("retry.max_attempts must be >= 1");
  // Upper bounds keep every deadline (now + a duration) far from overflow.
  constexpr std::chrono::milliseconds kDay = std::chrono::hours(24);
  constexpr std::chrono::milliseconds kYear = std::chrono::hours(24 * 366);
  if (o.retry.base_delay.count() < 0 || o.retry.max_delay < o.retry.base_delay ||
      o.retry.max_delay > kDay)
    return InvalidArgument("retry delays: need 0 <= base_delay <= max_delay <= 1 day");
  if (o.retry.round_failure_base_delay.count() < 0 ||
      o.retry.round_failure_max_delay < o.retry.round_failure_base_delay ||
      o.retry.round_failure_max_delay > kDay)
    return InvalidArgument(
        "retry.round_failure delays: need 0 <= round_failure_base_delay <= "
        "round_failure_max_delay <= 1 day");
  if (o.timeouts.connect.count() <= 0 || o.timeouts.request.count() <= 0 ||
      o.timeouts.connect > kDay || o.timeouts.request > kDay)
    return InvalidArgument("timeouts must be positive and at most 1 day");
  if (o.round_timeout.count() <= 0 || o.round_timeout > kYear)
    return InvalidArgument("round_timeout must be positive and at most a year");
  if (!o.ca_file.empty() && !o.coordinator.starts_with("https://"))
    return InvalidArgument("ca_file is set but the coordinator URL is not https://");
  if (!o.device_token.empty() && !o.device_certificate_file.empty())
    return InvalidArgument("device_token and device_certificate_file: give one, not both");
  if (!o.device_token.empty() &&
      (o.device_token.size() != 64 ||
       o.device_token.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos))
    return InvalidArgument("device_token: expected 64 hex digits (fl-coordinator devices issue)");
  if (!o.device_certificate_file.empty()) {
    auto certificate = read_device_certificate(o.device_certificate_file);
    if (!certificate.ok()) return certificate.status();
  }
  if (o.client_certificate_file.empty() != o.client_key_file.empty())
    return InvalidArgument(
        "client_certificate_file and client_key_file: set both (mutual TLS) or neither");
  if (!o.client_certificate_file.empty() && !o.coordinator.starts_with("https://"))
    return InvalidArgument(
        "client_certificate_file is set but the coordinator URL is not https://");
  return Status::Ok();
}

}  // namespace

std::string error_text(const transport::HttpResponse& response) {
  // Extracts "error": "..." without a JSON library (the SDK keeps its
  // dependencies small); escapes other than \" and \\ are kept as written.
  const std::string& body = response.body;
  const size_t key = body.find("\"error\"");
  if (key != std::string::npos) {
    size_t i = body.find('"', body.find(':', key + 7) + 1);
    if (i != std::string::npos) {
      std::string out;
      for (++i; i < body.size() && body[i] != '"'; ++i) {
        if (body[i] == '\\' && i + 1 < body.size()) ++i;
        out += body[i];
      }
      return out;
    }
  }
  return body.substr(0, 200);
}

Status status_from_http(std::string_view what, const transport::HttpResponse& response) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(response.status);
  if (std::string text = error_text(response); !text.empty()) message += ": " + text;
  switch (response.status) {
    case 400:
      return InvalidArgument(std::move(message));
    case 401:
    case 403:
      return PermissionDenied(std::move(message));
    case 404:
      return NotFound(std::move(message));
    case 409:
      return FailedPrecondition(std::move(message));
    case 413:
    case 429:
      return ResourceExhausted(std::move(message));
    default:
      if (response.status >= 500) return Unavailable(std::move(message));
      return Internal(std::move(message));
  }
}

void Client::Impl::log(const std::string& line) const {
  if (options.logger) options.logger(line);
}

Result<transport::HttpResponse> Client::Impl::call(transport::HttpClient& http, std::string method,
                                                   std::string target, std::string_view body) {
  transport::OutgoingRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  if (!body.empty()) request.content_type = std::string(kProtobuf);
  request.body = body;
  bytes_up += request.body.size();
  auto response = transport::send_with_retry(http, request, retry, sleep, *rng);
  if (response.ok()) bytes_down += response->body.size();
  return response;
}

Result<transport::HttpResponse> Client::Impl::call_signed(std::string method, std::string target,
                                                          std::string_view body) {
  if (!signed_http) FL_RETURN_IF_ERROR(enroll());
  auto response = call(*signed_http, method, target, body);
  // 401 from an enrolled client: the coordinator lost its enrolment (a fresh
  // database). Enrolling again is safe (same key) and lets the device carry on.
  if (response.ok() && response->status == 401) {
    log("coordinator does not know client " + std::to_string(client_id) + "; enrolling again");
    signed_http.reset();
    FL_RETURN_IF_ERROR(enroll());
    response = call(*signed_http, std::move(method), std::move(target), body);
  }
  return response;
}

Status Client::Impl::enroll() {
  if (!anonymous) {
    auto http = transport::HttpClient::create(http_options);
    if (!http.ok()) return http.status();
    anonymous.emplace(std::move(*http));
  }
  proto::EnrollRequest request;
  request.set_identity_public_key(
      std::string(identity.public_key.begin(), identity.public_key.end()));
  request.set_label(options.label);
  request.set_device_token(options.device_token);
  if (!options.device_certificate_file.empty()) {
    auto certificate = read_device_certificate(options.device_certificate_file);
    if (!certificate.ok()) return certificate.status();
    *request.mutable_device_certificate() = std::move(*certificate);
  }
  auto response = call(*anonymous, "POST", "/v1/enroll", request.SerializeAsString());
  if (!response.ok()) return response.status();
  if (response->status != 200) return status_from_http("enrolment", *response);
  proto::EnrollResponse enrolled;
  if (!enrolled.ParseFromString(response->body))
    return DataLoss("enrolment: the coordinator's answer is not an EnrollResponse");
  client_id = enrolled.client_id();
  // Requests are signed for this coordinator only (fl-request-v3); the
  // audience is kept in memory, in the signer, and learnt again at each start.
  if (enrolled.audience().empty())
    return FailedPrecondition(
        "enrolment: the coordinator did not name its audience (it predates "
        "fl-request-v2 signing); upgrade the coordinator");

  std::unique_ptr<crypto::Rng> nonce_rng;
  if (hooks.rng_seed == 0) {
    nonce_rng = std::make_unique<crypto::SystemRng>();
  } else {
    nonce_rng = std::make_unique<crypto::SeededRng>(hooks.rng_seed, "fl.client.nonce");
  }
  auto signer = std::make_unique<auth::RequestSigner>(
      client_id, identity, enrolled.audience(), auth::system_unix_millis, std::move(nonce_rng));
  auto http = transport::HttpClient::create(http_options, std::move(signer));
  if (!http.ok()) return http.status();
  signed_http.emplace(std::move(*http));
  log("enrolled as client " + std::to_string(client_id));
  return Status::Ok();
}

Result<const std::string*> Client::Impl::cached_model_file(int64_t version) {
  if (version == cached_version) return &cached_model;
  drop_cached_model();  // before the download: never two model files at once
  auto response = call_signed("GET", "/v1/model_versions/" + std::to_string(version));
  if (!response.ok()) return response.status();
  if (response->status != 200)
    return status_from_http("model version " + std::to_string(version), *response);
  cached_version = version;
  cached_model = std::move(response->body);
  return &cached_model;
}

void Client::Impl::drop_cached_model() {
  cached_version = -1;
  std::string().swap(cached_model);
}

Result<std::string> Client::Impl::fetch_model(int64_t version) {
  auto file = cached_model_file(version);
  if (!file.ok()) return file.status();
  return **file;
}

namespace {

// RFC 3986 percent-encoding of everything but unreserved characters, for a
// name put in a query string.
std::string query_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Result<Model> Client::Impl::fetch_published_model() {
  auto response = call_signed("GET", std::string(protocol::kPublishedModelPath) + "?" +
                                         std::string(protocol::kPublishedModelPopulationParam) +
                                         "=" + query_escape(options.population));
  if (!response.ok()) return response.status();
  if (response->status != 200)
    return status_from_http("the published model of '" + options.population + "'", *response);
  // The registry's id is not inside the file (it is assigned after the file
  // is written); the coordinator sends it beside the body.
  int64_t version = 0;
  if (auto header = response->header(protocol::kModelVersionHeader)) {
    const std::string text(*header);
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end == text.c_str() + text.size() && v > 0) version = v;
  }
  if (version == 0)
    return DataLoss("the published model of '" + options.population + "': the answer has no " +
                    std::string(protocol::kModelVersionHeader) +
                    " header; upgrade the coordinator");
  return Model::load(response->body, version);
}

bool Client::Impl::sleep_unless_cancelled(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(cancel_mutex);
  return !cancel_cv.wait_for(lock, delay, [this] { return cancelled.load(); });
}

Status Client::Impl::cancelled_status(const std::string& where) const {
  return Cancelled(where + ": cancelled by the app");
}

std::chrono::milliseconds Client::Impl::note_round_outcome(bool completed) {
  using namespace std::chrono;
  if (completed) {
    consecutive_failures = 0;
    next_attempt = {};
    return milliseconds(0);
  }
  ++consecutive_failures;
  transport::RetryPolicy policy;
  policy.base_delay = options.retry.round_failure_base_delay;
  policy.max_delay = options.retry.round_failure_max_delay;
  const milliseconds wait =
      std::max(transport::backoff_delay(policy, std::min(consecutive_failures, 30), *rng),
               policy.base_delay / 2);
  next_attempt = steady_clock::now() + wait;
  return wait;
}

Result<RoundReport> Client::Impl::participate(std::chrono::milliseconds max_wait) {
  using Clock = std::chrono::steady_clock;
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  bytes_up = bytes_down = 0;
  if (max_wait.count() < 0) return InvalidArgument("participate: max_wait must be >= 0");
  // "Wait forever" (INT64_MAX) as a year: now + max_wait must not overflow.
  max_wait = std::min<milliseconds>(max_wait, std::chrono::hours(24 * 366));
  const auto give_up = Clock::now() + max_wait;
  if (cancelled.load()) return cancelled_status("participate");

  // The backoff after rounds this client could not finish.
  if (const auto now = Clock::now(); next_attempt > now) {
    const auto wait = duration_cast<milliseconds>(next_attempt - now) + milliseconds(1);
    if (next_attempt > give_up)
      return DeadlineExceeded("backing off for " + std::to_string(wait.count()) + " ms after " +
                              std::to_string(consecutive_failures) +
                              " round(s) this client could not finish; max_wait is " +
                              std::to_string(max_wait.count()) + " ms");
    log("backing off " + std::to_string(wait.count()) + " ms after " +
        std::to_string(consecutive_failures) + " unfinished round(s)");
    if (!sleep_unless_cancelled(wait)) return cancelled_status("participate");
  }

  proto::CheckinRequest checkin;
  checkin.set_population(options.population);
  checkin.set_examples(trainer->num_examples());
  const std::string body = checkin.SerializeAsString();

  for (;;) {
    auto response = call_signed("POST", "/v1/checkin", body);
    if (!response.ok()) return response.status();
    if (response->status != 200) return status_from_http("check-in", *response);
    proto::CheckinResponse decision;
    if (!decision.ParseFromString(response->body))
      return DataLoss("check-in: the coordinator's answer is not a CheckinResponse");
    switch (decision.decision()) {
      case proto::CheckinResponse::SELECTED: {
        RoundReport report;
        report.round_id = decision.round_id();
        report.stages.push_back("selected");
        log("selected for round " + std::to_string(report.round_id));
        run_round(decision.round_id(), Clock::now() + options.round_timeout, report);
        report.bytes_up = bytes_up;
        report.bytes_down = bytes_down;
        // A round that completed without this client's late input is no
        // failure of the client's: no backoff.
        report.retry_after = note_round_outcome(report.completed);
        // A cancel that came after the round completed (with this client's
        // input) cancels nothing: the report stands.
        if (cancelled.load() && !report.completed)
          return cancelled_status("round " + std::to_string(report.round_id) +
                                  " (left as a drop-out)");
        return report;
      }
      case proto::CheckinResponse::FINISHED:
        return FailedPrecondition("population finished: '" + options.population +
                                  "' has no more rounds");
      case proto::CheckinResponse::RETRY_LATER: {
        // Jitter (+-20%) keeps devices told the same delay from returning in step.
        const double base = decision.retry_after_ms() > 0 ? decision.retry_after_ms() : 1000.0;
        const auto wait = milliseconds(static_cast<int64_t>(base * (0.8 + 0.4 * rng->uniform01())));
        if (Clock::now() + wait > give_up)
          return DeadlineExceeded("not selected for a round of '" + options.population +
                                  "' within " + std::to_string(max_wait.count()) + " ms");
        log("not selected; checking in again in " + std::to_string(wait.count()) + " ms");
        if (!sleep_unless_cancelled(wait)) return cancelled_status("participate");
        break;
      }
      default:
        return DataLoss("check-in: unknown decision " + std::to_string(decision.decision()));
    }
  }
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(ClientOptions options,
                                               std::unique_ptr<Trainer> trainer) {
  return Impl::create_client(std::move(options), std::move(trainer), testing::Hooks{});
}

Result<std::unique_ptr<Client>> Client::Impl::create_client(ClientOptions options,
                                                            std::unique_ptr<Trainer> trainer,
                                                            testing::Hooks hooks) {
  return guarded("fl::Client::create", [&]() -> Result<std::unique_ptr<Client>> {
    if (!trainer) return InvalidArgument("a Trainer is required");
    FL_RETURN_IF_ERROR(validate_options(options));
    auto url = client_sdk::parse_coordinator_url(options.coordinator);
    if (!url.ok()) return url.status();
    // Plain HTTP exposes the traffic (model updates, enrolment tokens) to
    // anyone on the path; it is accepted only where there is no path.
    if (!url->tls && !client_sdk::is_loopback_host(url->host) && !options.allow_insecure_http)
      return InvalidArgument("coordinator URL '" + options.coordinator +
                             "': plain http:// is refused for a host other than loopback; use "
                             "https://, or set ClientOptions::allow_insecure_http "
                             "(fl-client --allow-insecure-http) for development");

    auto impl = std::make_unique<Impl>();
    impl->url = *url;
    impl->http_options.host = url->host;
    impl->http_options.port = url->port;
    impl->http_options.tls = url->tls;
    impl->http_options.ca_file = options.ca_file;
    impl->http_options.insecure_skip_verify = options.insecure_skip_verify;
    impl->http_options.client_certificate_file = options.client_certificate_file;
    impl->http_options.client_key_file = options.client_key_file;
    impl->http_options.connect_timeout = options.timeouts.connect;
    impl->http_options.write_timeout = options.timeouts.request;
    impl->http_options.read_timeout = options.timeouts.request;
    impl->retry.max_attempts = options.retry.max_attempts;
    impl->retry.base_delay = options.retry.base_delay;
    impl->retry.max_delay = options.retry.max_delay;
    if (hooks.rng_seed == 0) {
      impl->rng = std::make_unique<crypto::SystemRng>();
    } else {
      impl->rng = std::make_unique<crypto::SeededRng>(hooks.rng_seed, "fl.client");
    }
    impl->http_options.cancel = &impl->transport_cancelled;
    auto identity = client_sdk::load_or_create_identity(options.identity_file, *impl->rng);
    if (!identity.ok()) return identity.status();
    impl->identity = identity->key;
    impl->options = std::move(options);
    impl->hooks = std::move(hooks);
    impl->trainer = std::move(trainer);
    if (identity->created) impl->log("created identity " + impl->options.identity_file);
    if (!identity->warning.empty()) impl->log("warning: " + identity->warning);
    // Fail now, not at the first request, on an unreadable CA file.
    auto probe = transport::HttpClient::create(impl->http_options);
    if (!probe.ok()) return probe.status();
    impl->anonymous.emplace(std::move(*probe));
    return std::unique_ptr<Client>(new Client(std::move(impl)));
  });
}

Status Client::enroll() {
  Status s = guarded("fl::Client::enroll", [&]() -> Status {
    if (impl_->signed_http) return Status::Ok();
    return impl_->enroll();
  });
  impl_->consume_cancel(s);
  return s;
}

uint64_t Client::client_id() const { return impl_->client_id; }

std::string Client::identity_public_key_hex() const {
  return crypto::to_hex(impl_->identity.public_key);
}

Result<RoundReport> Client::participate(std::chrono::milliseconds max_wait) {
  auto result = guarded("fl::Client::participate",
                        [&]() -> Result<RoundReport> { return impl_->participate(max_wait); });
  impl_->consume_cancel(result.status());
  return result;
}

// A cancel applies to one call: the one it stopped (or, when none was
// running, the next one, which returns at once).
void Client::Impl::consume_cancel(const Status& status) {
  if (status.code() != ErrorCode::kCancelled) return;
  cancelled.store(false);
  transport_cancelled.store(false);
}

void Client::cancel() {
  {
    // Under the mutex, so a sleeper between its check and its wait is woken.
    std::lock_guard<std::mutex> lock(impl_->cancel_mutex);
    impl_->cancelled.store(true);
    impl_->transport_cancelled.store(true);
  }
  impl_->cancel_cv.notify_all();
}

Result<std::string> Client::fetch_model(int64_t version) {
  auto result = guarded("fl::Client::fetch_model",
                        [&]() -> Result<std::string> { return impl_->fetch_model(version); });
  impl_->consume_cancel(result.status());
  return result;
}

Result<Model> Client::fetch_published_model() {
  auto result = guarded("fl::Client::fetch_published_model",
                        [&]() -> Result<Model> { return impl_->fetch_published_model(); });
  impl_->consume_cancel(result.status());
  return result;
}

}  // namespace fl
