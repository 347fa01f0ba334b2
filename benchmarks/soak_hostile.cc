// soak_hostile: honest federated rounds under hostile traffic (issue 10,
// "Figures": the hostile soak).
//
//   soak_hostile [--minutes 5] [--coordinator-bin PATH] [--client-bin PATH]
//                [--work-dir DIR] [--seed N] [--rate 25] [--idle-connections 500]
//
// What it runs, all over loopback:
// - one fl-coordinator child (token enrolment, the default), a softmax model
//   on Fashion-MNIST, cohort 10 with 130% over-selection (13 seats, min 10),
//   a 2 s selection window and as many rounds as the soak lasts;
// - 20 honest fl-client children on IID shards, each with its own one-time
//   device token, connecting from 127.0.0.1;
// - one forked hostile child that, for --minutes, connects from 127.0.0.2 (a
//   different peer address, as an outsider would be, so the per-address rate
//   limit it runs into is its own) and plays every attack of issue 10's "Why"
//   list, bounded in rate (--rate request attacks per second), in count (at
//   most --idle-connections idle sockets, 8 stalled uploads at a time) and in
//   time (it stops by itself). One of the 21 device tokens is the hostile's:
//   an enrolled client that checks in like the others and, when selected,
//   advertises a low-order X25519 key or sends garbage protocol messages, and
//   that replays its own signed requests and sends future-dated ones.
//
// Meanwhile this process samples the coordinator's VmRSS and VmHWM
// (/proc/PID/status) every second and checks it is alive (waitpid WNOHANG).
// After the hostile child ends it waits (up to 3 minutes) for one more round
// to complete, reads /metrics and /v1/admin/rounds, stops everything, and
// prints one JSON line. The figures beside their goal (issue 10): every honest
// round completes (rounds_failed 0), zero crashes, zero 5xx served
// (coordinator_5xx, from fl_http_requests_total), and RSS bounded
// (peak_rss_mib beside rss_start_mib). It also counts what the hostile side
// saw: responses by status class per attack kind, attacks the coordinator
// accepted (accepted_attacks: a 2xx to a request that must be refused) and
// smuggled responses (a second response on a connection that carried one
// request).
//
// Exit status: 0 when the coordinator never crashed, served no 5xx, failed no
// round, accepted no attack and answered no smuggled request; 1 otherwise;
// 2 when the soak could not be set up.
//
// Every random choice of the hostile side derives from --seed; the honest
// clients' seeds are 100 + index.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aggregation/secagg/session_config.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"
#include "proto/coordinator.pb.h"
#include "protocol/request_signer.h"

#ifndef FL_COORDINATOR_BIN
#define FL_COORDINATOR_BIN "fl-coordinator"
#endif
#ifndef FL_CLIENT_BIN
#define FL_CLIENT_BIN "fl-client"
#endif

namespace fl {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

constexpr char kAdminToken[] = "soak-hostile-admin-token-0123456789abcdef";
constexpr char kPopulation[] = "soak";
constexpr char kModel[] = "soak-softmax";
constexpr int kHonestClients = 20;
constexpr int kInputDim = 784;  // Fashion-MNIST pixels
constexpr double kMiB = 1024.0 * 1024.0;
constexpr char kHonestAddress[] = "127.0.0.1";
constexpr char kHostileAddress[] = "127.0.0.2";
// Stalled uploads declare this (issue 10: 2 MiB, over the 1 MiB that used to
// skip the upload gate) and send nothing.
constexpr size_t kStalledDeclaredBytes = 2 * 1024 * 1024;
constexpr int kStalledAtOnce = 8;
// Nesting depth of the KServe shape that used to crash the process (issue 10).
constexpr int kDeepNesting = 100'000;

struct Options {
  double minutes = 5;
  std::string coordinator_bin = FL_COORDINATOR_BIN;
  std::string client_bin = FL_CLIENT_BIN;
  std::string work_dir;
  uint64_t seed = 1;
  double rate = 25;
  int idle_connections = 500;
};

// ---- child processes --------------------------------------------------------

pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool wait_for_log(const fs::path& log, const std::string& text, pid_t pid, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (read_file(log).find(text) != std::string::npos) return true;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "unknown";
}

uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// VmRSS and VmHWM of a process in MiB (0 when it is gone).
std::pair<double, double> rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  double rss = 0, hwm = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024.0;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024.0;
  }
  return {rss, hwm};
}

// ---- raw HTTP over loopback -------------------------------------------------

// A socket to the coordinator from `source` (127.0.0.0/8), blocking, with
// send and receive timeouts; -1 when the connection failed.
int connect_from(const char* source, uint16_t port, int timeout_ms) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source, &src.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

struct HttpResponse {
  int status = 0;
  std::string body;
};

// What came back on one connection.
struct Exchange {
  bool connected = false;
  bool send_failed = false;
  std::vector<HttpResponse> responses;  // every complete response, in order
  bool closed = false;                  // the server closed (EOF or reset)
  bool timed_out = false;               // still open when we stopped reading
  int status() const { return responses.empty() ? 0 : responses.front().status; }
  const std::string& body() const {
    static const std::string empty;
    return responses.empty() ? empty : responses.front().body;
  }
};

// Splits a byte stream into HTTP/1.1 responses (Content-Length or chunked
// bodies); stops at the first incomplete one.
std::vector<HttpResponse> parse_responses(std::string_view in) {
  std::vector<HttpResponse> out;
  while (true) {
    const size_t head_end = in.find("\r\n\r\n");
    if (head_end == std::string_view::npos || in.rfind("HTTP/1.", 0) != 0) break;
    std::string head(in.substr(0, head_end));
    HttpResponse r;
    r.status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    std::string_view rest = in.substr(head_end + 4);
    if (const size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
      const size_t n = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
      if (rest.size() < n) break;
      r.body = std::string(rest.substr(0, n));
      rest.remove_prefix(n);
    } else if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      bool complete = false;
      while (true) {
        const size_t line_end = rest.find("\r\n");
        if (line_end == std::string_view::npos) break;
        const size_t n = std::strtoull(std::string(rest.substr(0, line_end)).c_str(), nullptr, 16);
        if (rest.size() < line_end + 2 + n + 2) break;
        r.body += rest.substr(line_end + 2, n);
        rest.remove_prefix(line_end + 2 + n + 2);
        if (n == 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
    } else {
      r.body = std::string(rest);
      rest = {};
    }
    out.push_back(std::move(r));
    in = rest;
  }
  return out;
}

// Sends `request` on a new connection from `source` and reads until the
// server closes or `timeout_ms` passes without a byte.
Exchange exchange(const char* source, uint16_t port, std::string_view request,
                  int timeout_ms = 5000) {
  Exchange e;
  const int fd = connect_from(source, port, timeout_ms);
  if (fd < 0) return e;
  e.connected = true;
  if (!send_all(fd, request)) e.send_failed = true;
  std::string in;
  char buf[16384];
  while (in.size() < (8u << 20)) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) {
      e.closed = true;
    } else {
      e.timed_out = true;
    }
    break;
  }
  close(fd);
  e.responses = parse_responses(in);
  return e;
}

std::string http_request(std::string_view method, std::string_view target, uint16_t port,
                         std::string_view body = {}, const std::vector<std::string>& headers = {},
                         bool close_connection = true) {
  std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  r += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& h : headers) r += h + "\r\n";
  if (!body.empty() || method == "POST")
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close_connection) r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

std::optional<std::string> admin_get(uint16_t port, const std::string& target) {
  const Exchange e = exchange(
      kHonestAddress, port,
      http_request("GET", target, port, {}, {std::string("Authorization: Bearer ") + kAdminToken}),
      15000);
  if (e.status() != 200) return std::nullopt;
  return e.body();
}

// ---- the hostile side's bookkeeping -----------------------------------------

class Tally {
 public:
  // `must_refuse`: a 2xx to this kind is an attack the coordinator accepted.
  void note(const std::string& kind, const Exchange& e, bool must_refuse = true) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& k = kinds_[kind];
    ++k["sent"];
    std::string cls;
    if (!e.connected) {
      cls = "connect_failed";
    } else if (e.responses.empty()) {
      cls = e.timed_out ? "no_response_timeout" : "closed_without_response";
    } else {
      cls = std::to_string(e.status() / 100) + "xx";
    }
    ++k[cls];
    if (must_refuse && e.status() / 100 == 2) ++k["accepted"];
    if (e.responses.size() > 1) ++k["extra_responses"];
  }
  void add(const std::string& kind, const std::string& what, int64_t n = 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    kinds_[kind][what] += n;
  }
  json to_json() {
    std::lock_guard<std::mutex> lock(mutex_);
    json j = json::object();
    for (const auto& [kind, counts] : kinds_) {
      json c = json::object();
      for (const auto& [k, v] : counts) c[k] = v;
      j[kind] = c;
    }
    return j;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::map<std::string, int64_t>> kinds_;
};

std::string random_hex(std::mt19937_64& rng, size_t chars) {
  static const char* kHex = "0123456789abcdef";
  std::string s(chars, '0');
  for (auto& c : s) c = kHex[rng() % 16];
  return s;
}

std::string proto_header() { return "Content-Type: application/x-protobuf"; }

// ---- the hostile enrolled client --------------------------------------------

// X25519 points of small order (RFC 7748 section 7; libsodium's blocklist):
// the identity and a point of order 8. Any agreement with them is predictable.
const std::vector<std::string>& low_order_points() {
  static const std::vector<std::string> points = [] {
    std::string zero(32, '\0');
    const uint8_t order8[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
                                0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
                                0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
    return std::vector<std::string>{zero, std::string(reinterpret_cast<const char*>(order8), 32)};
  }();
  return points;
}

class HostileMember {
 public:
  HostileMember(uint16_t port, Tally& tally, uint64_t seed, std::string token,
                std::string spent_token)
      : port_(port),
        tally_(tally),
        rng_(seed),
        token_(std::move(token)),
        spent_token_(std::move(spent_token)) {
    crypto::SeededRng key_rng(seed, "soak-hostile.identity");
    key_.emplace(crypto::ed25519_keypair(key_rng));
  }

  // Enrols with its own token, then uses the spent tokens again.
  bool enrol() {
    proto::EnrollRequest req;
    req.set_identity_public_key(std::string(key_->public_key.begin(), key_->public_key.end()));
    req.set_label("soak-hostile");
    req.set_device_token(token_);
    const Exchange e = exchange(
        kHostileAddress, port_,
        http_request("POST", "/v1/enroll", port_, req.SerializeAsString(), {proto_header()}));
    tally_.note("control_hostile_enrol", e, false);
    proto::EnrollResponse resp;
    if (e.status() != 200 || !resp.ParseFromString(e.body())) return false;
    client_id_ = resp.client_id();
    audience_ = resp.audience();
    signer_.emplace(
        client_id_, *key_, audience_, [] { return auth::system_unix_millis(); },
        std::make_unique<crypto::SeededRng>(rng_()));
    future_signer_.emplace(
        client_id_, *key_, audience_,
        [] { return auth::system_unix_millis() + 5 * 60 * 1000; },  // 5 minutes ahead
        std::make_unique<crypto::SeededRng>(rng_()));
    return true;
  }

  // Enrolment with an already spent token (its own, then an honest one).
  void reuse_tokens() {
    for (const auto& [kind, token] :
         {std::pair<std::string, std::string>{"enrol_reused_own_token", token_},
          {"enrol_reused_honest_token", spent_token_}}) {
      proto::EnrollRequest req;
      crypto::SeededRng r(rng_());
      const auto other = crypto::ed25519_keypair(r);
      req.set_identity_public_key(std::string(other.public_key.begin(), other.public_key.end()));
      req.set_device_token(token);
      tally_.note(kind, exchange(kHostileAddress, port_,
                                 http_request("POST", "/v1/enroll", port_, req.SerializeAsString(),
                                              {proto_header()})));
    }
  }

  // One pass: check in (and attack the round if selected), a replayed signed
  // request and a future-dated one. Returns the delay before the next pass.
  std::chrono::milliseconds step() {
    proto::CheckinRequest checkin;
    checkin.set_population(kPopulation);
    checkin.set_examples(3000);
    const std::string request =
        signed_request(*signer_, "POST", "/v1/checkin", checkin.SerializeAsString());
    const Exchange first = exchange(kHostileAddress, port_, request);
    tally_.note("control_hostile_checkin", first, false);
    // The same bytes again: same nonce, same timestamp.
    tally_.note("replayed_signed_request", exchange(kHostileAddress, port_, request));
    tally_.note("future_dated_signed_request",
                exchange(kHostileAddress, port_,
                         signed_request(*future_signer_, "POST", "/v1/checkin",
                                        checkin.SerializeAsString())));
    proto::CheckinResponse resp;
    if (first.status() != 200 || !resp.ParseFromString(first.body())) return 1000ms;
    if (resp.decision() == proto::CheckinResponse::SELECTED) {
      current_round.store(resp.round_id());
      attack_round(resp.round_id());
      return 200ms;
    }
    if (resp.decision() == proto::CheckinResponse::FINISHED) return 5000ms;
    return std::chrono::milliseconds(std::clamp<uint32_t>(resp.retry_after_ms(), 200, 5000));
  }

  std::atomic<uint64_t> current_round{1};

 private:
  std::string signed_request(auth::RequestSigner& signer, std::string_view method,
                             const std::string& target, const std::string& body) {
    std::vector<std::string> headers;
    for (const auto& [name, value] : signer.sign(method, target, body))
      headers.push_back(name + ": " + value);
    if (!body.empty()) headers.push_back(proto_header());
    return http_request(method, target, port_, body, headers);
  }

  // Selected: take the task, then send the round's attack (in turn a
  // low-order key, a body that is not a SecAggExchange, a message for a stage
  // that is not open), then follow the round to its end as a member would.
  void attack_round(uint64_t round) {
    const std::string base = "/v1/rounds/" + std::to_string(round);
    proto::TaskAssignment task;
    bool have_task = false;
    for (int attempt = 0; attempt < 40 && !have_task; ++attempt) {
      const Exchange e =
          exchange(kHostileAddress, port_, signed_request(*signer_, "GET", base + "/task", ""));
      tally_.note("control_hostile_task", e, false);
      if (e.status() == 200 && task.ParseFromString(e.body())) have_task = true;
      if (e.status() != 503 && !have_task) return;
      if (!have_task) std::this_thread::sleep_for(250ms);
    }
    if (!have_task) return;
    tally_.add("control_hostile_selected", "rounds");
    auto config = aggregation::secagg::SessionConfig::create(task.secagg());

    proto::SecAggExchange attack;
    proto::ClientToServer* m = attack.mutable_message();
    m->set_protocol_version(task.secagg().protocol_version());
    m->set_session_id(task.secagg().session_id());
    m->set_sender(client_id_);
    std::string body;
    std::string kind;
    switch (selections_++ % 3) {
      case 0: {
        kind = "secagg_low_order_key";
        // Two different low-order points (equal keys are refused for another reason).
        const auto& points = low_order_points();
        const size_t first = rng_() % 2;
        m->mutable_advertise_keys()->set_encryption_public_key(points[first]);
        m->mutable_advertise_keys()->set_mask_public_key(points[1 - first]);
        if (config.ok()) {
          const auto msg =
              (*config)->advertise_message(client_id_, m->advertise_keys().encryption_public_key(),
                                           m->advertise_keys().mask_public_key());
          const auto sig = crypto::ed25519_sign(*key_, msg);
          m->mutable_advertise_keys()->set_signature(std::string(sig.begin(), sig.end()));
        }
        body = attack.SerializeAsString();
        break;
      }
      case 1:
        kind = "secagg_garbage_body";
        body.resize(1024);
        for (auto& c : body) c = static_cast<char>(rng_());
        break;
      default:
        kind = "secagg_wrong_stage_message";
        m->mutable_masked_input()->set_vector(std::string(64, '\x7f'));
        body = attack.SerializeAsString();
        break;
    }
    tally_.note(kind, exchange(kHostileAddress, port_,
                               signed_request(*signer_, "POST", base + "/secagg", body)));
    // Follow the round (empty polls) so the hostile member looks alive.
    const std::string poll = proto::SecAggExchange().SerializeAsString();
    for (int i = 0; i < 120; ++i) {
      const Exchange e = exchange(kHostileAddress, port_,
                                  signed_request(*signer_, "POST", base + "/secagg", poll));
      tally_.note("control_hostile_poll", e, false);
      proto::SecAggExchangeResponse answer;
      if (e.status() != 200 || !answer.ParseFromString(e.body())) break;
      if (answer.state() != proto::SecAggExchangeResponse::RUNNING) break;
      std::this_thread::sleep_for(500ms);
    }
  }

  uint16_t port_;
  Tally& tally_;
  std::mt19937_64 rng_;
  std::string token_, spent_token_;
  std::optional<crypto::Ed25519KeyPair> key_;
  uint64_t client_id_ = 0;
  std::string audience_;
  std::optional<auth::RequestSigner> signer_, future_signer_;
  uint64_t selections_ = 0;
};

// ---- the hostile generator (runs in a forked child) -------------------------

class HostileTraffic {
 public:
  HostileTraffic(const Options& o, uint16_t port, std::string hostile_token,
                 std::string spent_token)
      : options_(o),
        port_(port),
        rng_(o.seed),
        member_(port, tally_, o.seed * 7919 + 1, std::move(hostile_token), std::move(spent_token)) {
    end_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(o.minutes * 60.0));
  }

  json run() {
    std::thread idle([this] { idle_connections(); });
    std::thread stalled([this] { stalled_uploads(); });
    std::thread member([this] { hostile_member(); });
    request_attacks();
    member.join();
    stalled.join();
    idle.join();
    return tally_.to_json();
  }

 private:
  bool running() const { return Clock::now() < end_; }

  void note(const std::string& kind, const std::string& request, int timeout_ms = 5000) {
    tally_.note(kind, exchange(kHostileAddress, port_, request, timeout_ms));
  }

  std::string predict_body(const std::string& value) {
    std::string row;
    for (int i = 0; i < kInputDim; ++i) row += (i ? "," : "") + value;
    return "{\"instances\": [[" + row + "]]}";
  }

  // One of each request attack per pass, paced at --rate.
  void request_attacks() {
    const std::string predict = std::string("/v1/models/") + kModel + ":predict";
    const std::vector<std::pair<std::string, std::function<void()>>> kinds = {
        {"enrol_without_token",
         [&] {
           proto::EnrollRequest req;
           req.set_identity_public_key(random_bytes(32));
           note("enrol_without_token", http_request("POST", "/v1/enroll", port_,
                                                    req.SerializeAsString(), {proto_header()}));
         }},
        {"enrol_garbage_token",
         [&] {
           proto::EnrollRequest req;
           req.set_identity_public_key(random_bytes(32));
           req.set_device_token(random_hex(rng_, 1 + rng_() % 96));
           note("enrol_garbage_token",
                http_request("POST", "/v1/enroll", port_, req.SerializeAsString(),
                             {proto_header(), "X-FL-Client: " + std::to_string(rng_())}));
         }},
        {"kserve_infer_nested_100000_deep",
         [&] {
           std::string shape(kDeepNesting, '[');
           shape += "1" + std::string(kDeepNesting, ']');
           note("kserve_infer_nested_100000_deep",
                http_request("POST", std::string("/v2/models/") + kModel + "/infer", port_,
                             "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":" +
                                 shape + ",\"data\":[1]}]}",
                             {"Content-Type: application/json"}));
         }},
        {"predict_3e38_inputs",
         [&] {
           // Finite inputs near FLT_MAX: whether the logits overflow depends
           // on the weights of the version being served, so a 200 is right
           // when every output is finite; an answer carrying a non-finite
           // output (JSON null, NaN, Infinity) is the bug of issue 10.
           const Exchange e = exchange(kHostileAddress, port_,
                                       http_request("POST", predict, port_, predict_body("3e38"),
                                                    {"Content-Type: application/json"}));
           tally_.note("predict_3e38_inputs", e, false);
           std::string body = e.body();
           std::transform(body.begin(), body.end(), body.begin(), ::tolower);
           if (e.status() / 100 == 2 &&
               (body.find("null") != std::string::npos || body.find("nan") != std::string::npos ||
                body.find("inf") != std::string::npos))
             tally_.add("predict_3e38_inputs", "accepted");
         }},
        {"predict_1e39_inputs",
         [&] {
           note("predict_1e39_inputs", http_request("POST", predict, port_, predict_body("1e39"),
                                                    {"Content-Type: application/json"}));
         }},
        {"predict_invalid_utf8",
         [&] {
           note("predict_invalid_utf8",
                http_request("POST", predict, port_,
                             "{\"signature_name\": \"\xff\xfe\xc0\xaf\", \"instances\": [[\xff]]}",
                             {"Content-Type: application/json"}));
         }},
        {"predict_huge_names",
         [&] {
           // A 6,000-byte model name on the request line, then a 100 KB key.
           note("predict_huge_names",
                http_request("POST", "/v1/models/" + std::string(6000, 'n') + ":predict", port_,
                             predict_body("0"), {"Content-Type: application/json"}));
           note("predict_huge_names",
                http_request("POST", predict, port_,
                             "{\"" + std::string(100'000, 'k') + "\": 1, \"instances\": [[0]]}",
                             {"Content-Type: application/json"}));
         }},
        {"predict_random_model_name",
         [&] {
           note("predict_random_model_name",
                http_request("POST", "/v1/models/m" + random_hex(rng_, 12) + ":predict", port_,
                             predict_body("0"), {"Content-Type: application/json"}));
         }},
        {"smuggling_transfer_encoding",
         [&] {
           static const char* kEncodings[] = {"gzip", "identity", "chunked, gzip"};
           const std::string smuggled = "GET /v1/admin/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
           std::string r = "POST " + predict +
                           " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                           "\r\nContent-Type: application/json\r\n" +
                           "Transfer-Encoding: " + kEncodings[rng_() % 3] + "\r\n\r\n" + smuggled;
           // No Connection: close: RFC 9112 section 6.3 makes the server close.
           const Exchange e = exchange(kHostileAddress, port_, r, 3000);
           tally_.note("smuggling_transfer_encoding", e);
           if (e.responses.size() > 1) tally_.add("smuggling_transfer_encoding", "smuggled");
           if (!e.closed) tally_.add("smuggling_transfer_encoding", "left_open");
         }},
        {"missing_host",
         [&] { note("missing_host", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"); }},
        {"duplicate_host",
         [&] {
           note("duplicate_host",
                "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
                "Connection: close\r\n\r\n");
         }},
        {"rotating_client_id_bad_signature",
         [&] {
           // Ids 1..30 include the honest clients': spending their buckets
           // must not be possible without their keys.
           proto::CheckinRequest c;
           c.set_population(kPopulation);
           const std::string body = c.SerializeAsString();
           note("rotating_client_id_bad_signature",
                http_request("POST", "/v1/checkin", port_, body,
                             {proto_header(), "X-FL-Client: " + std::to_string(1 + rng_() % 30),
                              "X-FL-Timestamp: " + std::to_string(auth::system_unix_millis()),
                              "X-FL-Nonce: " + random_hex(rng_, 32),
                              "X-FL-Body-Hash: " + auth::body_hash_hex(body),
                              "X-FL-Signature: " + random_hex(rng_, 128)}));
         }},
        {"admin_token_guess",
         [&] {
           note("admin_token_guess", http_request("GET", "/v1/admin/rounds", port_, {},
                                                  {"Authorization: Bearer " + random_hex(rng_, 40),
                                                   "X-FL-Client: " + std::to_string(rng_())}));
         }},
    };
    const auto pace = std::chrono::duration<double>(1.0 / std::max(0.1, options_.rate));
    auto next = Clock::now();
    for (size_t i = 0; running(); ++i) {
      kinds[i % kinds.size()].second();
      next += std::chrono::duration_cast<Clock::duration>(pace);
      std::this_thread::sleep_until(next);
    }
  }

  std::string random_bytes(size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng_member_());
    return s;
  }

  // Holds up to --idle-connections sockets that never send a byte, reopening
  // those the server closed (counted: the server's idle timeout at work).
  void idle_connections() {
    std::vector<int> fds;
    while (running()) {
      while (static_cast<int>(fds.size()) < options_.idle_connections && running()) {
        const int fd = connect_from(kHostileAddress, port_, 1000);
        tally_.add("idle_connections", fd >= 0 ? "opened" : "connect_failed");
        if (fd < 0) break;
        fds.push_back(fd);
      }
      std::vector<pollfd> p;
      for (int fd : fds) p.push_back({fd, POLLIN, 0});
      poll(p.data(), p.size(), 2000);
      std::vector<int> open;
      for (const auto& q : p) {
        if (q.revents != 0) {
          char b[256];
          const ssize_t n = recv(q.fd, b, sizeof(b), MSG_DONTWAIT);
          if (n <= 0) {
            tally_.add("idle_connections", "closed_by_server");
            close(q.fd);
            continue;
          }
          tally_.add("idle_connections", "answered_without_request");
        }
        open.push_back(q.fd);
      }
      fds = std::move(open);
      std::this_thread::sleep_for(200ms);  // bounds reconnects if the server closes at once
    }
    for (int fd : fds) close(fd);
  }

  // kStalledAtOnce connections at a time declare a 2 MiB secagg upload and
  // send nothing, half unsigned and half with a bad signature; each waits up
  // to 20 s for the server's answer.
  void stalled_uploads() {
    while (running()) {
      std::vector<std::pair<int, std::string>> conns;
      const std::string target =
          "/v1/rounds/" + std::to_string(member_.current_round.load()) + "/secagg";
      for (int i = 0; i < kStalledAtOnce; ++i) {
        const bool signed_badly = i % 2 == 1;
        const std::string kind =
            signed_badly ? "stalled_upload_bad_signature" : "stalled_upload_unsigned";
        std::string r = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                        "\r\nContent-Type: application/x-protobuf\r\n" +
                        "Content-Length: " + std::to_string(kStalledDeclaredBytes) + "\r\n";
        if (signed_badly)
          r += "X-FL-Client: " + std::to_string(1 + rng_stall_() % 30) +
               "\r\nX-FL-Timestamp: " + std::to_string(auth::system_unix_millis()) +
               "\r\nX-FL-Nonce: " + random_hex(rng_stall_, 32) +
               "\r\nX-FL-Body-Hash: " + random_hex(rng_stall_, 64) +
               "\r\nX-FL-Signature: " + random_hex(rng_stall_, 128) + "\r\n";
        r += "\r\n";
        const int fd = connect_from(kHostileAddress, port_, 20000);
        if (fd < 0 || !send_all(fd, r)) {
          if (fd >= 0) close(fd);
          tally_.note(kind, Exchange{});
          continue;
        }
        conns.emplace_back(fd, kind);
      }
      for (auto& [fd, kind] : conns) {
        Exchange e;
        e.connected = true;
        std::string in;
        char buf[4096];
        while (true) {
          const ssize_t n = recv(fd, buf, sizeof(buf), 0);
          if (n > 0) {
            in.append(buf, static_cast<size_t>(n));
            continue;
          }
          if (n == 0 || errno == ECONNRESET)
            e.closed = true;
          else
            e.timed_out = true;
          break;
        }
        close(fd);
        e.responses = parse_responses(in);
        tally_.note(kind, e);
      }
      std::this_thread::sleep_for(500ms);
    }
  }

  void hostile_member() {
    if (!member_.enrol()) {
      tally_.add("control_hostile_enrol", "failed");
      return;
    }
    for (int i = 0; running(); ++i) {
      if (i % 10 == 0) member_.reuse_tokens();
      std::this_thread::sleep_for(member_.step());
    }
  }

  const Options& options_;
  uint16_t port_;
  std::mt19937_64 rng_;
  std::mt19937_64 rng_member_{rng_() ^ 0x1234};
  std::mt19937_64 rng_stall_{rng_() ^ 0x5678};
  Tally tally_;
  HostileMember member_;
  Clock::time_point end_;
};

// ---- the coordinator's own account ------------------------------------------

struct MetricsSummary {
  json by_code = json::object();
  int64_t served_5xx = 0;
  double rounds_completed = 0;
  double rounds_failed = 0;
  json failed_by_reason = json::object();
};

std::string label_value(const std::string& line, const std::string& label) {
  const size_t at = line.find(label + "=\"");
  if (at == std::string::npos) return "";
  const size_t start = at + label.size() + 2;
  return line.substr(start, line.find('"', start) - start);
}

MetricsSummary read_metrics(uint16_t port) {
  MetricsSummary m;
  const Exchange e = exchange(kHonestAddress, port, http_request("GET", "/metrics", port), 15000);
  std::istringstream in(e.body());
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const double value = std::atof(line.substr(line.rfind(' ') + 1).c_str());
    if (line.rfind("fl_http_requests_total{", 0) == 0) {
      const std::string code = label_value(line, "code");
      m.by_code[code] = m.by_code.value(code, 0.0) + value;
      if (!code.empty() && code[0] == '5') m.served_5xx += static_cast<int64_t>(value);
    } else if (line.rfind("fl_rounds_completed_total", 0) == 0) {
      m.rounds_completed += value;
    } else if (line.rfind("fl_rounds_failed_total", 0) == 0) {
      m.rounds_failed += value;
      if (value > 0) m.failed_by_reason[label_value(line, "reason")] = value;
    }
  }
  return m;
}

int run(const Options& o) {
  const fs::path dir =
      o.work_dir.empty() ? fs::temp_directory_path() / ("soak-hostile-" + std::to_string(getpid()))
                         : fs::path(o.work_dir);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const uint16_t port = free_port();
  std::ofstream(dir / "admin.token") << kAdminToken << "\n";
  {
    std::ofstream cfg(dir / "coordinator.yaml");
    // The honest clients share 127.0.0.1, so its per-address bucket must
    // carry 20 clients' polls; the hostile address gets the same bucket.
    cfg << "listen: {address: 127.0.0.1, port: " << port << ", io_threads: 2}\n"
        << "store: {path: " << (dir / "fl.db").string() << "}\n"
        << "admin_token_file: " << (dir / "admin.token").string() << "\n"
        << "enrollment: {mode: token}\n"
        << "limits: {requests_per_second: 100, burst: 200, ip_requests_per_second: 2000, "
           "ip_burst: 4000}\n"
        << "population:\n"
        << "  name: " << kPopulation << "\n"
        << "  model: {name: " << kModel << ", kind: softmax, input_dim: " << kInputDim
        << ", classes: 10, seed: 1}\n"
        << "  rounds: 100000\n"
        << "  cohort_size: 10\n"
        << "  over_selection: 1.3\n"
        << "  min_cohort: 10\n"
        << "  retry_after_ms: 500\n"
        << "  deadlines_ms: {selection: 2000, advertise_keys: 15000, share_keys: 15000,\n"
        << "                 masked_input: 60000, unmasking: 20000}\n"
        << "  training: {epochs: 1, batch_size: 32, learning_rate: 0.05, optimizer: sgd}\n"
        << "  quantization: {clip: 4.0, bits: 24, ring_bits: 64, max_weight: 100000}\n"
        << "  secure_aggregation: {graph: complete, expected_dropout: 0.2}\n"
        << "  server_optimizer: {kind: fedavg}\n"
        << "serving: {enabled: true, max_batch_rows: 1024}\n";
  }

  const pid_t coordinator =
      spawn({o.coordinator_bin, "--config", (dir / "coordinator.yaml").string()},
            dir / "coordinator.log");
  if (!wait_for_log(dir / "coordinator.log", "listening on", coordinator, 60)) {
    std::cerr << "soak_hostile: the coordinator did not start:\n"
              << read_file(dir / "coordinator.log");
    kill(coordinator, SIGKILL);
    return 2;
  }
  const auto [rss_start, hwm_start] = rss_mib(coordinator);

  // 20 honest tokens and one for the hostile member.
  const fs::path tokens_file = dir / "device-tokens.txt";
  const pid_t issue =
      spawn({o.coordinator_bin, "devices", "issue", "--db", (dir / "fl.db").string(), "--count",
             std::to_string(kHonestClients + 1), "--out", tokens_file.string()},
            dir / "issue.log");
  int issue_status = 0;
  waitpid(issue, &issue_status, 0);
  std::vector<std::string> tokens;
  {
    std::ifstream in(tokens_file);
    for (std::string line; std::getline(in, line);) tokens.push_back(line);
  }
  if (issue_status != 0 || tokens.size() != kHonestClients + 1) {
    std::cerr << "soak_hostile: devices issue failed:\n" << read_file(dir / "issue.log");
    kill(coordinator, SIGKILL);
    return 2;
  }

  std::vector<pid_t> clients;
  for (int i = 0; i < kHonestClients; ++i) {
    clients.push_back(spawn({o.client_bin,
                             "--coordinator",
                             "http://127.0.0.1:" + std::to_string(port),
                             "--device-token",
                             tokens[i],
                             "--identity",
                             (dir / ("client-" + std::to_string(i) + ".key")).string(),
                             "--population",
                             kPopulation,
                             "--data",
                             "fashion-mnist",
                             "--shard",
                             std::to_string(i) + "/" + std::to_string(kHonestClients),
                             "--seed",
                             std::to_string(100 + i),
                             "--threads",
                             "1",
                             "--max-failures",
                             "1000",
                             "--label",
                             "soak-honest-" + std::to_string(i)},
                            dir / ("client-" + std::to_string(i) + ".log")));
  }

  // Every honest client enrols before the attack starts: the hostile member
  // tries client 0's token again, which must be spent by then (an attacker
  // who holds an unspent token is simply a device, not this attack). A
  // client logs "client ID (...)" once enrolled.
  const auto enrol_end = Clock::now() + 120s;
  for (int i = 0; i < kHonestClients && Clock::now() < enrol_end;) {
    if (read_file(dir / ("client-" + std::to_string(i) + ".log")).rfind("client ", 0) == 0) {
      ++i;
    } else {
      std::this_thread::sleep_for(200ms);
    }
  }

  // The hostile generator: a second process, as issue 10 asks.
  const fs::path hostile_report = dir / "hostile.json";
  const pid_t hostile = fork();
  if (hostile == 0) {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    HostileTraffic traffic(o, port, tokens[kHonestClients], tokens[0]);
    const json report = traffic.run();
    std::ofstream(hostile_report) << report.dump() << "\n";
    _exit(0);
  }

  // Sample the coordinator while the hostile child runs.
  double peak_hwm = hwm_start, peak_rss = rss_start;
  bool crashed = false;
  std::string crash;
  std::map<int, std::string> client_exits;
  auto sample = [&] {
    const auto [rss, hwm] = rss_mib(coordinator);
    peak_rss = std::max(peak_rss, rss);
    peak_hwm = std::max(peak_hwm, hwm);
    int status = 0;
    if (!crashed && waitpid(coordinator, &status, WNOHANG) == coordinator) {
      crashed = true;
      crash = describe_exit(status);
    }
    for (int i = 0; i < kHonestClients; ++i) {
      if (client_exits.count(i)) continue;
      if (waitpid(clients[i], &status, WNOHANG) == clients[i])
        client_exits[i] = describe_exit(status);
    }
  };
  int hostile_status = 0;
  while (waitpid(hostile, &hostile_status, WNOHANG) == 0) {
    sample();
    std::this_thread::sleep_for(1s);
  }
  sample();
  // RSS once the attack is over: beside the peak, it shows whether the
  // attack left memory behind.
  const double rss_after_attack = rss_mib(coordinator).first;

  // One more round must complete after the attack ends (3 minutes at most).
  const double completed_at_end = crashed ? 0 : read_metrics(port).rounds_completed;
  const auto recovery_end = Clock::now() + 180s;
  bool recovered = false;
  while (!crashed && Clock::now() < recovery_end) {
    if (read_metrics(port).rounds_completed > completed_at_end) {
      recovered = true;
      break;
    }
    sample();
    std::this_thread::sleep_for(1s);
  }

  MetricsSummary metrics;
  json rounds = json::array();
  if (!crashed) {
    metrics = read_metrics(port);
    if (auto body = admin_get(port, "/v1/admin/rounds")) {
      const auto list = nlohmann::json::parse(*body, nullptr, false);
      if (list.is_object() && list.contains("rounds")) rounds = list["rounds"];
    }
  }
  json failed_rounds = json::array();
  for (const auto& r : rounds)
    if (r.value("state", "") == "failed")
      failed_rounds.push_back(
          {{"id", r.value("id", 0)}, {"reason", r.value("failure_reason", "")}});

  const int running_clients = kHonestClients - static_cast<int>(client_exits.size());
  for (pid_t c : clients) kill(c, SIGTERM);
  for (pid_t c : clients) waitpid(c, nullptr, 0);
  sample();
  if (!crashed) {
    kill(coordinator, SIGTERM);
    waitpid(coordinator, nullptr, 0);
  }

  json hostile_kinds = nlohmann::json::parse(read_file(hostile_report), nullptr, false);
  if (!hostile_kinds.is_object()) hostile_kinds = json::object();
  json sent = json::object();
  json by_class = json::object();
  int64_t accepted = 0, smuggled = 0, extra = 0;
  for (const auto& [kind, counts] : hostile_kinds.items()) {
    if (counts.contains("sent")) sent[kind] = counts["sent"];
    for (const auto& [k, v] : counts.items()) {
      if (k.size() == 3 && k[1] == 'x') by_class[k] = by_class.value(k, 0) + v.get<int64_t>();
      if (k == "closed_without_response" || k == "no_response_timeout" || k == "connect_failed")
        by_class[k] = by_class.value(k, 0) + v.get<int64_t>();
    }
    accepted += counts.value("accepted", 0);
    smuggled += counts.value("smuggled", 0);
    extra += counts.value("extra_responses", 0);
  }
  json exits = json::object();
  for (const auto& [i, how] : client_exits) exits[std::to_string(i)] = how;

  const bool pass = !crashed && metrics.served_5xx == 0 && metrics.rounds_failed == 0 &&
                    failed_rounds.empty() && accepted == 0 && smuggled == 0 && recovered &&
                    WIFEXITED(hostile_status) && WEXITSTATUS(hostile_status) == 0;
  json out = {
      {"minutes", o.minutes},
      {"seed", o.seed},
      {"honest_clients", kHonestClients},
      {"hostile_requests_sent", sent},
      {"hostile_responses_by_class", by_class},
      {"hostile_detail", hostile_kinds},
      {"accepted_attacks", accepted},
      {"smuggled_responses", smuggled},
      {"coordinator_5xx", metrics.served_5xx},
      {"http_requests_by_code", metrics.by_code},
      {"rounds_completed", metrics.rounds_completed},
      {"rounds_failed", metrics.rounds_failed},
      {"rounds_failed_by_reason", metrics.failed_by_reason},
      {"failed_rounds", failed_rounds},
      {"round_completed_after_attack", recovered},
      {"honest_clients_running_at_end", running_clients},
      {"honest_clients_exited_early", exits},
      {"rss_start_mib", rss_start},
      {"rss_after_attack_mib", rss_after_attack},
      {"peak_rss_mib", std::max(peak_hwm, peak_rss)},
      {"crashed", crashed},
      {"crash", crash},
      {"pass", pass},
      {"work_dir", dir.string()},
  };
  std::cout << out.dump() << std::endl;
  return pass ? 0 : 1;
}

}  // namespace
}  // namespace fl

int main(int argc, char** argv) {
  CLI::App app{"soak_hostile: honest federated rounds under hostile traffic (issue 10)"};
  fl::Options o;
  app.add_option("--minutes", o.minutes, "how long the hostile traffic runs")
      ->check(CLI::Range(0.05, 120.0));
  app.add_option("--coordinator-bin", o.coordinator_bin, "fl-coordinator executable");
  app.add_option("--client-bin", o.client_bin, "fl-client executable");
  app.add_option("--work-dir", o.work_dir, "config, store and logs (emptied first)");
  app.add_option("--seed", o.seed, "seeds every hostile choice");
  app.add_option("--rate", o.rate, "request attacks per second")->check(CLI::Range(0.1, 1000.0));
  app.add_option("--idle-connections", o.idle_connections, "idle sockets held open")
      ->check(CLI::Range(0, 5000));
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  return fl::run(o);
}
