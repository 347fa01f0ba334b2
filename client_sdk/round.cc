// One round of fl::Client after selection: task, global model, background
// training, and the secure aggregation exchange until the round ends.
//
// The protocol's rounds 0 and 1 (key advertisement and share exchange) do not
// depend on the update, so they run while the Trainer works: a slow device
// then costs the cohort only its own training time at the masked-input stage,
// not a serial train-then-talk delay. A masked-input request that arrives
// before training finished is held until the update is ready.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#if defined(__GLIBC__)  // defined by the libc headers above
#include <malloc.h>     // malloc_trim
#endif

#include "aggregation/client_update.h"
#include "aggregation/quantization.h"
#include "aggregation/secagg/client_session.h"
#include "client_sdk/client_impl.h"
#include "crypto/bytes.h"
#include "model/model_file.h"
#include "proto/coordinator.pb.h"

namespace fl {
namespace {

using Clock = std::chrono::steady_clock;
using aggregation::secagg::SecAggClient;

// The Trainer running on its own thread. Its CancellationToken turns true on
// the app's cancel() or when the round ends without it (destruction), which
// then joins the thread: no training outlives participate().
class TrainingJob {
 public:
  TrainingJob(Trainer& trainer, std::span<const float> global, TrainingPlan plan,
              const std::atomic<bool>& app_cancelled) {
    thread_ = std::thread([this, &trainer, global, plan = std::move(plan), &app_cancelled] {
      const auto start = Clock::now();
      std::optional<Result<LocalTrainingResult>> result;
      try {
        result.emplace(trainer.train(global, plan, CancellationToken(&stop_, &app_cancelled)));
      } catch (const std::exception& e) {
        result.emplace(Internal(std::string("the Trainer threw: ") + e.what()));
      } catch (...) {
        result.emplace(Internal("the Trainer threw an exception"));
      }
      std::lock_guard<std::mutex> lock(mutex_);
      seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
      result_ = std::move(result);
    });
  }
  ~TrainingJob() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return result_.has_value();
  }
  // After done(): the result (moved out once) and the wall time.
  Result<LocalTrainingResult> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(*result_);
  }
  double seconds() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seconds_;
  }

 private:
  std::mutex mutex_;
  std::optional<Result<LocalTrainingResult>> result_;
  double seconds_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TrainingPlan to_plan(const proto::TrainingPlan& p) {
  TrainingPlan plan;
  plan.epochs = p.epochs();
  plan.batch_size = p.batch_size();
  plan.learning_rate = p.learning_rate();
  plan.optimizer = p.optimizer();
  plan.momentum = p.momentum();
  plan.weight_decay = p.weight_decay();
  plan.fedprox_mu = p.fedprox_mu();
  plan.seed = p.seed();
  return plan;
}

// Hands memory freed by model-sized buffers back to the system. glibc keeps
// freed blocks of a few MB in its arenas (its mmap threshold rises to 32 MB
// after the first such free), and the training thread's arena is not reused
// by this one: without this, a round's peak RSS at 10^6 parameters is 7 MiB
// higher than what is live at any moment (benchmarks/bench_client_rss).
void release_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::string stage_of(const proto::ClientToServer& m) {
  switch (m.body_case()) {
    case proto::ClientToServer::kAdvertiseKeys:
      return "advertise_keys";
    case proto::ClientToServer::kEncryptedShares:
      return "share_keys";
    case proto::ClientToServer::kMaskedInput:
      return "masked_input";
    case proto::ClientToServer::kUnmaskingShares:
      return "unmasking";
    case proto::ClientToServer::kAbort:
      return "abort";
    default:
      return "unknown";
  }
}

}  // namespace

// Federated evaluation: the round's new version scored on held-out data. The
// download is the next round's global model, so it is cached, not repeated.
// Any failure is noted in the report; the round's outcome stands.
void Client::Impl::send_evaluation(uint64_t round_id, RoundReport& report) {
  auto note = [&](std::string why) {
    report.evaluation_note = std::move(why);
    log("round " + std::to_string(round_id) + ": no evaluation sent: " + report.evaluation_note);
  };
  auto model_file = cached_model_file(report.new_version);
  if (!model_file.ok()) return note(model_file.status().message());
  auto model =
      model::read_model_weights(**model_file, "version " + std::to_string(report.new_version));
  if (!model.ok()) return note(model.status().message());
  if (Status s = trainer->on_global_model(**model_file, report.new_version); !s.ok())
    return note(s.message());
  const std::vector<float> weights = std::move(model->params);
  auto counts = trainer->evaluate_counts(weights);
  if (!counts.ok()) return note(counts.status().message());
  proto::EvaluationReport evaluation;
  evaluation.set_version(report.new_version);
  evaluation.set_examples(counts->examples);
  evaluation.set_loss_sum(counts->loss_sum);
  evaluation.set_num_classes(counts->num_classes);
  for (uint64_t c : counts->confusion) evaluation.add_confusion(c);
  evaluation.set_squared_error_sum(counts->squared_error_sum);
  evaluation.set_absolute_error_sum(counts->absolute_error_sum);
  auto response = call_signed("POST", "/v1/rounds/" + std::to_string(round_id) + "/evaluation",
                              evaluation.SerializeAsString());
  if (!response.ok()) return note(response.status().message());
  if (response->status != 200) return note(status_from_http("evaluation", *response).message());
  report.evaluation_sent = true;
}

void Client::Impl::run_round(uint64_t round_id, Clock::time_point deadline, RoundReport& report) {
  const std::string round = "round " + std::to_string(round_id);
  const std::string exchange_target = "/v1/rounds/" + std::to_string(round_id) + "/secagg";
  std::unique_ptr<SecAggClient> session;
  // Tells the coordinator this client leaves the round (a drop-out now, not
  // at the stage deadline): one attempt of at most kLeaveBudget, also after a
  // cancel; a failure to tell it only costs the others the wait.
  constexpr auto kLeaveBudget = std::chrono::seconds(2);
  // Messages for the coordinator not yet accepted by it, oldest first, and
  // the first one serialized as a SecAggExchange (empty until it is sent).
  std::deque<proto::ClientToServer> outbox;
  std::string front_body;
  auto pop_front = [&] {
    outbox.pop_front();
    std::string().swap(front_body);
  };
  auto leave = [&](const std::string& reason) {
    // A session that produced its last message (unmasking shares) counts as
    // completed, but until the coordinator has that message it still waits
    // for this client: leave then too.
    if (!session || session->stage() == SecAggClient::Stage::kAborted || !signed_http ||
        (session->stage() == SecAggClient::Stage::kCompleted && outbox.empty()))
      return;
    proto::SecAggExchange exchange;
    *exchange.mutable_message() = session->leave(reason);
    transport_cancelled.store(false);
    const std::string body = exchange.SerializeAsString();
    bytes_up += body.size();
    signed_http->set_deadline(Clock::now() + kLeaveBudget);
    auto response = signed_http->send("POST", exchange_target, body, "application/x-protobuf");
    signed_http->set_deadline(std::nullopt);
    if (response.ok()) bytes_down += response->body.size();
    if (response.ok() && response->status == 200)
      log(round + ": told the coordinator this client left the round");
    else
      log(round + ": could not tell the coordinator this client left: " +
          (response.ok() ? status_from_http("leave", *response).message()
                         : response.status().message()));
  };
  auto fail = [&](std::string reason) {
    if (cancelled.load()) reason = "cancelled by the app (" + reason + ")";
    leave(reason.substr(0, 200));
    report.completed = false;
    report.failure_reason = std::move(reason);
    report.stages.push_back("failed");
    log(round + " failed: " + report.failure_reason);
  };

  // ---- the task (503 while the cohort is still being selected) ----------
  proto::TaskAssignment task;
  const std::string task_target = "/v1/rounds/" + std::to_string(round_id) + "/task";
  for (int attempt = 1;; ++attempt) {
    auto response = call_signed("GET", task_target);
    if (response.ok() && response->status == 200) {
      if (!task.ParseFromString(response->body))
        return fail("task: the coordinator's answer is not a TaskAssignment");
      break;
    }
    if (response.ok()) return fail(status_from_http("task", *response).message());
    if (response.status().code() != ErrorCode::kUnavailable || Clock::now() >= deadline)
      return fail(response.status().message());
    log(round + ": task not ready yet (" + response.status().message() + ")");
    sleep(transport::backoff_delay(retry, std::min(attempt, 8), *rng));
  }
  report.stages.push_back("task");
  report.model_version = task.model_version();

  // The session first, so that any failure from here on can be told to the
  // coordinator (leave): the round then goes on without waiting for us.
  {
    std::optional<crypto::Ed25519KeyPair> identity_for_session;
    if (task.secagg().identity_keys_size() > 0) identity_for_session = identity;
    auto created = SecAggClient::create(task.secagg(), client_id, *rng, identity_for_session);
    identity_for_session.reset();
    if (!created.ok()) return fail("secure aggregation: " + created.status().message());
    session = std::move(*created);
  }

  // ---- the global model ---------------------------------------------------
  // Memory: one model file (cached), the global weights and the Trainer's
  // result while it trains; both model-sized copies are freed once the
  // update is built, so the masking and the upload (dimension x ring bytes
  // each) do not stack on them (benchmarks/bench_client_rss).
  auto model_file = cached_model_file(task.model_version());
  if (!model_file.ok()) return fail(model_file.status().message());
  auto global = model::read_model_weights(
      **model_file, "global model version " + std::to_string(task.model_version()));
  if (!global.ok()) return fail(global.status().message());
  std::vector<float> global_weights = std::move(global->params);
  const size_t model_size = global_weights.size();
  if (Status s = trainer->on_global_model(**model_file, task.model_version()); !s.ok())
    return fail("the Trainer refused the global model: " + s.message());
  report.stages.push_back("model");

  auto update_config = aggregation::client_update_config(task.quantization());
  if (!update_config.ok()) return fail("task: quantization: " + update_config.status().message());
  // SCAFFOLD would need c_i kept across rounds (d floats on the device) and
  // the correction c - c_i in every local step, which the Trainer interface
  // cannot take; its upload is also twice as large. Refused, not ignored: a
  // plain update in a SCAFFOLD sum would be read as half model, half control.
  if (task.training().algorithm() == "scaffold" || update_config->control_variate)
    return fail(
        "task: training.algorithm scaffold is not supported by this SDK (no control variate "
        "is kept and the Trainer has no gradient-correction hook); leaving the round");
  const uint64_t dimension =
      aggregation::quantized_dimension(update_config->quantization, model_size);
  if (dimension != task.secagg().dimension())
    return fail("task: the secure aggregation dimension " +
                std::to_string(task.secagg().dimension()) + " does not fit a model of " +
                std::to_string(model_size) + " weights");

  // ---- protocol round 0 right away; training in the background -----------
  auto advertise = session->start();
  if (!advertise.ok()) return fail("secure aggregation: " + advertise.status().message());

  outbox.push_back(std::move(*advertise));
  std::deque<proto::ServerToClient> held;  // masked-input request waiting for the update
  bool input_ready = false;
  // Training failed: this client leaves the round. Safe for the others: the
  // server treats it as a dropout, and only clients whose masked input
  // arrived (U3) are asked for unmasking shares.
  bool left = false;
  TrainingJob training(*trainer, global_weights, to_plan(task.training()), cancelled);
  const auto poll_interval =
      std::chrono::milliseconds(std::clamp<uint32_t>(task.poll_interval_ms(), 10, 60'000));
  int transport_failures = 0;
  std::set<std::string> announced_stages;  // before_stage is told each stage once

  auto handle_server_message = [&](const proto::ServerToClient& message) {
    auto reply = session->handle(message);
    if (!reply.ok()) {
      log(round + ": ignored a server message: " + reply.status().message());
      return;
    }
    if (*reply) outbox.push_back(std::move(**reply));
    if (session->stage() == SecAggClient::Stage::kAborted)
      log(round + ": secure aggregation aborted: " + session->abort_reason());
  };

  // Quantises and hands the update to the session once training is done.
  auto take_update = [&] {
    auto trained = training.take();
    report.train_seconds = training.seconds();
    if (!trained.ok()) {
      left = true;
      report.failure_reason = "local training failed: " + trained.status().message();
      log(round + ": " + report.failure_reason);
      return;
    }
    report.examples = trained->examples;
    report.train_metrics = trained->metrics;
    std::string problem;
    if (trained->weights.size() != model_size)
      problem = "the Trainer returned " + std::to_string(trained->weights.size()) +
                " weights for a model of " + std::to_string(model_size);
    else if (trained->examples == 0)
      problem = "the Trainer reported 0 examples";
    if (problem.empty()) {
      // The model file and the global weights are done with (training has
      // ended): freed before the update's quantised copy is made. The update
      // is computed in place, in the Trainer's result.
      drop_cached_model();
      std::vector<float>& update = trained->weights;
      for (size_t i = 0; i < update.size(); ++i) update[i] -= global_weights[i];
      std::vector<float>().swap(global_weights);
      release_freed_memory();
      if (hooks.inspect_update) {
        // The hook sees the update as aggregated: after the L2 clip.
        auto clear = aggregation::clip_and_weigh(update, trained->examples, *update_config);
        if (clear.ok()) {
          hooks.inspect_update(
              {round_id, client_id, clear->delta, clear->stats.weight, trained->examples});
          crypto::wipe(clear->delta.data(), clear->delta.size() * sizeof(float));
        }
      }
      auto built =
          aggregation::build_client_update(update, trained->examples, *update_config, *rng);
      crypto::wipe(update.data(), update.size() * sizeof(float));
      if (!built.ok()) {
        problem = "client update: " + built.status().message();
      } else {
        if (built->stats.clipped)
          log(round + ": update clipped from L2 norm " + std::to_string(built->stats.l2_norm) +
              " to " + std::to_string(update_config->l2_clip));
        if (Status s = session->set_input(std::move(built->ring)); !s.ok())
          problem = "secure aggregation refused the update: " + s.message();
      }
    }
    crypto::wipe(trained->weights.data(), trained->weights.size() * sizeof(float));
    std::vector<float>().swap(trained->weights);
    release_freed_memory();
    if (!problem.empty()) {
      left = true;
      report.failure_reason = problem;
      log(round + ": " + problem);
      return;
    }
    input_ready = true;
    log(round + ": trained on " + std::to_string(report.examples) + " examples in " +
        std::to_string(report.train_seconds) + " s");
  };

  for (;;) {
    if (cancelled.load())
      return fail("left in stage " + aggregation::secagg::stage_name(session->stage()));
    if (Clock::now() >= deadline) return fail(round + " did not finish within the round timeout");
    if (!input_ready && !left && training.done()) take_update();
    if (input_ready && !held.empty()) {
      for (const auto& m : held) handle_server_message(m);
      held.clear();
    }
    if (left) return fail(report.failure_reason);

    const bool sending = !outbox.empty();
    if (sending) {
      if (hooks.before_stage && announced_stages.insert(stage_of(outbox.front())).second) {
        hooks.before_stage(stage_of(outbox.front()));
        if (cancelled.load()) continue;  // cancelled while the hook ran: send nothing
      }
      if (front_body.empty()) {
        // Serialized once, also for retries; the message is moved in and out
        // of the envelope (no copy), and a masked input's vector, now in the
        // body, is dropped from the message.
        proto::SecAggExchange exchange;
        exchange.mutable_message()->Swap(&outbox.front());
        if (hooks.tamper_message) {
          std::string bytes = exchange.message().SerializeAsString();
          hooks.tamper_message(stage_of(exchange.message()), bytes);
          if (!exchange.mutable_message()->ParseFromString(bytes))
            return fail("testing: tamper_message left bytes that are not a ClientToServer");
        }
        front_body = exchange.SerializeAsString();
        exchange.mutable_message()->Swap(&outbox.front());
        if (outbox.front().has_masked_input())
          std::string().swap(*outbox.front().mutable_masked_input()->mutable_vector());
      }
    }
    // Not sending: an empty SecAggExchange (a poll), which is zero bytes.
    auto response = call_signed("POST", exchange_target, sending ? front_body : std::string_view());
    if (!response.ok()) {
      if (response.status().code() != ErrorCode::kUnavailable)
        return fail(response.status().message());
      // The coordinator may be restarting: keep trying until the round timeout.
      log(round + ": " + response.status().message());
      sleep(transport::backoff_delay(retry, std::min(++transport_failures, 8), *rng));
      continue;
    }
    transport_failures = 0;
    if (response->status != 200) {
      const Status refused = status_from_http("secure aggregation exchange", *response);
      if (!sending || response->status >= 500 || response->status == 401 || response->status == 403)
        return fail(refused.message());
      const std::string stage = stage_of(outbox.front());
      const std::string refusal =
          "the coordinator refused this client's " + stage + " message: " + refused.message();
      // 400, 413 and the like: the message itself was refused (a masked
      // input of the wrong length, a body over the coordinator's limit). The
      // coordinator changed nothing and still waits for a valid one, which
      // this client cannot make: leave the round, so the others go on at
      // once instead of at the stage's deadline. 409 is the stage having
      // closed; 429 is retried by the transport.
      if (response->status != 409 && response->status != 429) return fail(refusal);
      // Our message came too late (a stage closed: over-selection filled the
      // cohort without us). Stop sending it; the round goes on without our
      // input, and we still follow it to its outcome.
      pop_front();
      if (stage == "masked_input") report.dropped = true;
      report.failure_reason = refusal;
      log(round + ": " + refusal);
      continue;
    }
    proto::SecAggExchangeResponse answer;
    if (!answer.ParseFromString(response->body))
      return fail("exchange: the coordinator's answer is not a SecAggExchangeResponse");
    if (sending) {
      const std::string stage = stage_of(outbox.front());
      pop_front();
      report.stages.push_back(stage);
      if (hooks.after_stage) hooks.after_stage(stage);
    }
    for (const auto& message : answer.messages()) {
      if (message.has_masked_input() && !input_ready) {
        held.push_back(message);
      } else {
        handle_server_message(message);
      }
    }
    if (answer.state() == proto::SecAggExchangeResponse::COMPLETED) {
      report.completed = true;
      report.new_version = answer.new_version();
      report.stages.push_back("completed");
      log(round + " completed: new version " + std::to_string(report.new_version));
      if (task.federated_evaluation()) send_evaluation(round_id, report);
      return;
    }
    if (answer.state() == proto::SecAggExchangeResponse::FAILED) {
      session.reset();  // the round is over: nothing to leave
      return fail(answer.failure_reason().empty() ? "the coordinator failed the round"
                                                  : answer.failure_reason());
    }
    if (outbox.empty())
      sleep(std::max(poll_interval, std::chrono::milliseconds(
                                        std::min<uint32_t>(answer.poll_after_ms(), 60'000))));
  }
}

}  // namespace fl
