#include "simulations/secagg_round.h"

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

#include "aggregation/parallel.h"
#include "aggregation/secagg/client_session.h"
#include "aggregation/secagg/session_config.h"
#include "crypto/rng.h"

namespace fl::sim {
namespace {

using aggregation::parallel_for;
using aggregation::secagg::SecAggClient;
using aggregation::secagg::SecAggServer;
using Clock = std::chrono::steady_clock;

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

SecAggRoundReport run_secagg_round(const SecAggRoundSpec& spec) {
  SecAggRoundReport report;
  const auto& cfg = spec.config;
  const uint32_t n = static_cast<uint32_t>(cfg.cohort_size());
  auto drop = [&](uint32_t i) { return spec.drops.empty() ? DropPoint::kNone : spec.drops[i]; };

  auto server_or = SecAggServer::create(cfg, {spec.server_threads});
  if (!server_or.ok()) {
    report.status = server_or.status();
    return report;
  }
  SecAggServer& server = **server_or;

  // One validated configuration shared by every client session: a copy per
  // client would hold the cohort's whole neighbour graph n times.
  auto shared = aggregation::secagg::SessionConfig::create(cfg);
  if (!shared.ok()) {
    report.status = shared.status();
    return report;
  }
  std::vector<std::unique_ptr<crypto::SeededRng>> rngs(n);
  std::vector<std::unique_ptr<SecAggClient>> clients(n);
  for (uint32_t i = 0; i < n; ++i) {
    rngs[i] = std::make_unique<crypto::SeededRng>(spec.seed * 1'000'003 + i, "fl.sim.client");
    auto c = SecAggClient::create(*shared, cfg.cohort(static_cast<int>(i)), *rngs[i]);
    if (!c.ok()) {
      report.status = c.status();
      return report;
    }
    clients[i] = std::move(*c);
  }
  std::vector<double> client_ms(n, 0), client_cpu_ms(n, 0), bytes_up(n, 0), bytes_down(n, 0);
  std::vector<bool> took_part(n, false);
  std::mutex server_mutex, sum_mutex;
  std::vector<proto::ServerToClient> outgoing;
  Status first_error;
  auto note_error = [&](const Status& s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  if (spec.compute_plain_sum) report.plain_sum.assign(cfg.dimension(), 0);

  // Hands one reply to the server; collects whatever it sends back.
  auto deliver_to_server = [&](uint32_t i, const proto::ClientToServer& m, int stage) {
    bytes_up[i] += static_cast<double>(m.ByteSizeLong());
    std::lock_guard<std::mutex> lock(server_mutex);
    const auto start = Clock::now();
    const double cpu_start = process_cpu_ms();
    auto r = server.handle(cfg.cohort(static_cast<int>(i)), m);
    report.server_ms[stage] += ms_since(start);
    if (stage == 3) report.unmask_cpu_ms += process_cpu_ms() - cpu_start;
    if (!r.ok()) {
      note_error(r.status());
      return false;
    }
    for (auto& o : *r) outgoing.push_back(std::move(o));
    return true;
  };
  auto close_if_open = [&](SecAggServer::Stage stage, int index) {
    if (server.stage() != stage) return;
    const auto start = Clock::now();
    const double cpu_start = process_cpu_ms();
    for (auto& o : server.close_stage()) outgoing.push_back(std::move(o));
    report.server_ms[index] += ms_since(start);
    if (index == 3) report.unmask_cpu_ms += process_cpu_ms() - cpu_start;
  };

  // Round 0.
  {
    std::vector<uint32_t> live;
    for (uint32_t i = 0; i < n; ++i)
      if (drop(i) != DropPoint::kBeforeAdvertise) live.push_back(i);
    std::vector<std::optional<proto::ClientToServer>> replies(n);
    parallel_for(live.size(), spec.client_threads, [&](size_t k) {
      const uint32_t i = live[k];
      const auto start = Clock::now();
      const double cpu_start = thread_cpu_ms();
      auto m = clients[i]->start();
      client_ms[i] += ms_since(start);
      client_cpu_ms[i] += thread_cpu_ms() - cpu_start;
      took_part[i] = true;
      if (m.ok()) replies[i] = std::move(*m);
    });
    for (uint32_t i : live)
      if (replies[i]) deliver_to_server(i, *replies[i], 0);
    close_if_open(SecAggServer::Stage::kAdvertiseKeys, 0);
  }

  // Rounds 1 to 3: deliver what the server sent, let the clients that are still
  // there answer, and close the stage at its "deadline".
  const SecAggServer::Stage stages[3] = {SecAggServer::Stage::kShareKeys,
                                         SecAggServer::Stage::kMaskedInput,
                                         SecAggServer::Stage::kUnmasking};
  const DropPoint stops[3] = {DropPoint::kBeforeShareKeys, DropPoint::kBeforeMaskedInput,
                              DropPoint::kBeforeUnmasking};
  for (int r = 0; r < 3; ++r) {
    if (server.stage() != stages[r]) break;
    std::vector<proto::ServerToClient> inbox = std::move(outgoing);
    outgoing.clear();
    const bool streaming = stages[r] == SecAggServer::Stage::kMaskedInput;
    std::vector<std::optional<proto::ClientToServer>> replies(inbox.size());
    parallel_for(inbox.size(), spec.client_threads, [&](size_t k) {
      const auto& msg = inbox[k];
      auto idx = std::lower_bound(cfg.cohort().begin(), cfg.cohort().end(), msg.recipient()) -
                 cfg.cohort().begin();
      const uint32_t i = static_cast<uint32_t>(idx);
      bytes_down[i] += static_cast<double>(msg.ByteSizeLong());
      // A client that drops at this stage, or dropped earlier, never answers.
      const DropPoint d = drop(i);
      if (d != DropPoint::kNone && d <= stops[r]) return;
      if (streaming) {
        std::vector<uint64_t> input = spec.make_input(i);
        if (spec.compute_plain_sum && input.size() == report.plain_sum.size()) {
          std::lock_guard<std::mutex> lock(sum_mutex);
          for (size_t j = 0; j < input.size(); ++j) report.plain_sum[j] += input[j];
        }
        note_error(clients[i]->set_input(std::move(input)));
      }
      const auto start = Clock::now();
      const double cpu_start = thread_cpu_ms();
      auto reply = clients[i]->handle(msg);
      client_ms[i] += ms_since(start);
      client_cpu_ms[i] += thread_cpu_ms() - cpu_start;
      if (!reply.ok()) {
        std::lock_guard<std::mutex> lock(server_mutex);
        note_error(reply.status());
        return;
      }
      if (!reply->has_value()) return;
      if (streaming)
        deliver_to_server(i, **reply, 2);  // masked inputs are summed as they arrive
      else
        replies[k] = std::move(*reply);
    });
    for (size_t k = 0; k < inbox.size(); ++k)
      if (replies[k]) {
        auto idx =
            std::lower_bound(cfg.cohort().begin(), cfg.cohort().end(), inbox[k].recipient()) -
            cfg.cohort().begin();
        deliver_to_server(static_cast<uint32_t>(idx), *replies[k], r + 1);
      }
    close_if_open(stages[r], r + 1);
  }
  // Tell clients about an abort, as a real coordinator would.
  for (auto& msg : outgoing) {
    auto idx = std::lower_bound(cfg.cohort().begin(), cfg.cohort().end(), msg.recipient()) -
               cfg.cohort().begin();
    clients[static_cast<size_t>(idx)]->handle(msg).ok();
  }

  if (server.stage() == SecAggServer::Stage::kCompleted) {
    report.status = Status::Ok();
    report.sum.assign(server.result().begin(), server.result().end());
    report.included = server.included_clients();
    if (spec.compute_plain_sum) {
      const uint64_t mask = crypto::ring_mask(server.config().ring());
      for (auto& v : report.plain_sum) v &= mask;
    }
  } else if (server.stage() == SecAggServer::Stage::kAborted) {
    report.status = Aborted(server.abort_reason());
  } else {
    report.status = first_error.ok() ? Internal("round did not finish") : first_error;
  }
  report.counts = server.counts();
  for (uint32_t i = 0; i < n; ++i)
    if (drop(i) != DropPoint::kNone) ++report.dropped[static_cast<int>(drop(i)) - 1];
  double total_ms = 0, total_cpu_ms = 0, up = 0, down = 0;
  uint32_t participants = 0;
  for (uint32_t i = 0; i < n; ++i)
    if (took_part[i]) {
      ++participants;
      total_ms += client_ms[i];
      total_cpu_ms += client_cpu_ms[i];
      up += bytes_up[i];
      down += bytes_down[i];
    }
  if (participants) {
    report.client_ms_mean = total_ms / participants;
    report.client_cpu_ms_mean = total_cpu_ms / participants;
    report.bytes_up_mean = up / participants;
    report.bytes_down_mean = down / participants;
  }
  report.server_peak_state_bytes = server.peak_state_bytes();
  report.unmasking = server.unmasking_stats();
  return report;
}

}  // namespace fl::sim
