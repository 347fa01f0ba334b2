// The round engine: check-in and selection, one secure aggregation session
// per round, stage deadlines, and turning the secure sum into the next global
// model version (DESIGN.md section 5, "rounds/").
//
// A round: a selection window opens; every eligible client that checks in
// during it joins the pool and is told to come back when the window closes.
// At the close, ceil(cohort x over-selection) clients are drawn uniformly at
// random from the pool (at least min_cohort must have checked in, else the
// window is extended), so an outsider cannot fill the cohort by checking in
// first, and a client selected recently may be made to sit out
// (SelectionConfig::once_in_rounds). Selected clients fetch their task, train
// and exchange protocol messages. The masked-input stage closes once
// cohort_size inputs arrived or at its deadline. When the unmasking stage
// closes, the slow part (reconstructing secrets and removing masks,
// de-quantising, the optimiser step, holdout evaluation, the store commit
// and the quality gate) runs as one task on the injected Executor, never
// inside the call that delivered the last message (an HTTP io thread); the
// new version is committed with the round's outcome in one store transaction
// and published before any client is told the round completed. A session
// that aborts fails the round, which is then re-run.
//
// Pure apart from the injected Store and Executor: no sockets, no threads of
// its own, no clock (every call takes now_ms; tick() delivers deadlines).
// Without an executor (the default) the aggregation task runs on the calling
// thread after the engine's lock is released, so tests stay deterministic.
//
// Bad input (unknown round, a client not in the cohort, a protocol message the
// session rejects) returns an error Status and changes nothing.
//
// Thread-safety: every public method takes the engine's mutex; the
// aggregation task holds it only to publish its result.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aggregation/client_update.h"
#include "aggregation/dp/adaptive_clipping.h"
#include "aggregation/dp/rdp_accountant.h"
#include "aggregation/parallel.h"
#include "aggregation/secagg/server_session.h"
#include "aggregation/server_optimizer.h"
#include "base/executor.h"
#include "base/status.h"
#include "coordinator/registry/evaluation.h"
#include "coordinator/registry/registry.h"
#include "coordinator/rounds/population_config.h"
#include "coordinator/store/store.h"
#include "crypto/rng.h"
#include "model/model.h"
#include "proto/coordinator.pb.h"

namespace fl::coordinator {

// What the engine reports as rounds progress, for metrics and logs. Called
// with the engine's lock held, on the thread of the call that made progress
// or on the aggregation executor: implementations must be quick, thread-safe
// and must not call back into the engine.
class RoundListener {
 public:
  virtual ~RoundListener() = default;
  virtual void round_started(int64_t round_id, uint32_t selected) = 0;
  // A protocol stage closed after `seconds`: `clients` took part in it,
  // `dropped` of the previous stage's clients did not.
  virtual void stage_closed(int64_t round_id, std::string_view stage, double seconds,
                            uint32_t clients, uint32_t dropped) = 0;
  // `aggregation_seconds`: de-quantising, the optimiser step, evaluation and
  // the commit (the unmasking itself is in the unmasking stage's time).
  virtual void round_completed(int64_t round_id, int64_t version, double aggregation_seconds) = 0;
  // `kind` is a short fixed label (metrics); `reason` says what happened.
  virtual void round_failed(int64_t round_id, std::string_view kind, std::string_view reason) = 0;
  // Training stopped before `rounds` completed: the privacy budget
  // (dp.max_epsilon) would be exceeded by another round. `reason` says by how
  // much. The last published version stays published.
  virtual void training_halted(std::string_view reason) { (void)reason; }
  // The federated evaluation of `version` (made by round `round_id`) could
  // not conclude: fewer than federated_evaluation.min_reports valid reports
  // by its deadline, or every client answered and too few were valid.
  // `reason` gives the counts and the last refusal.
  virtual void evaluation_inconclusive(int64_t round_id, int64_t version, std::string_view reason) {
    (void)round_id;
    (void)version;
    (void)reason;
  }
};

// Optional collaborators; each may be null.
struct EngineHooks {
  // Decides which new versions are published (the quality gate). Null: every
  // new version is published as soon as it is committed.
  Registry* registry = nullptr;
  // Scored with every new version before the gate sees it (server-side
  // holdout evaluation: accuracy, precision, recall, f1, loss).
  const model::Dataset* holdout = nullptr;
  RoundListener* listener = nullptr;
  // The gate judges a federated metric (fed_*): a new version is handed to
  // the registry once its federated evaluation concluded, not at commit. An
  // evaluation that cannot conclude still hands it over, by the rule of
  // Registry::consider_without_federated_evaluation (the holdout metric, or
  // held), so no version waits forever.
  bool gate_waits_for_federated_evaluation = false;
  // Runs each round's aggregation (unmasking to publication). Null: inline,
  // on the thread whose call closed the unmasking stage, after the engine's
  // lock is released. Must outlive the engine, and must have run every task
  // it was given before the engine is destroyed.
  Executor* executor = nullptr;
  // Runs the unmasking's parallel loops (secret reconstruction, mask
  // expansion), from inside the aggregation task. Null: the session makes its
  // own pool of config.unmask_threads once per round.
  aggregation::ParallelExecutor* parallel = nullptr;
};

class RoundEngine {
 public:
  // kAggregating: the unmasking stage has closed and the executor is turning
  // the sum into the next version; clients polling are told RUNNING.
  enum class Phase { kSelecting, kRunning, kAggregating, kFinished };

  struct Snapshot {
    Phase phase = Phase::kSelecting;
    int64_t round_id = 0;
    int64_t global_version = 0;
    uint32_t rounds_completed = 0;
    uint32_t rounds_failed = 0;
    uint32_t selected = 0;
    uint32_t pool = 0;  // clients that checked in during the open selection window
    aggregation::secagg::SecAggServer::Counts counts;
    std::string secagg_stage;
    // Differential privacy: epsilon spent so far at dp.target_delta over the
    // ledger's rounds (0 with dp off), and why training halted, if it did.
    double dp_epsilon = 0;
    uint32_t dp_rounds = 0;
    std::string halted;
  };

  // Fails rounds a previous process left running, loads the newest published
  // version of the model (or creates and publishes the initial one), restores
  // the optimiser state, and opens selection for the next round.
  static Result<std::unique_ptr<RoundEngine>> create(PopulationConfig config, Store& store,
                                                     crypto::Rng& rng, int64_t now_ms,
                                                     EngineHooks hooks = {});
  // The next round trains from `version_id` (after a rollback: training that
  // went wrong restarts from the version now served). Lock-free, so a registry
  // callback may call it whatever thread it runs on; applied when the next
  // round opens.
  void rebase_on(int64_t version_id) { pending_rebase_.store(version_id); }

  Result<proto::CheckinResponse> checkin(uint64_t client_id, const proto::CheckinRequest& request,
                                         int64_t now_ms);
  // Unavailable while the round is still selecting (come back shortly).
  Result<proto::TaskAssignment> task(uint64_t client_id, int64_t round_id, int64_t now_ms);
  // The serialized model of a version (the registry's bytes). Shared and
  // immutable: a cohort downloading the global version at once holds one copy.
  Result<std::shared_ptr<const std::string>> model_bytes(int64_t version_id);
  // `masked_vector`: a masked input's vector read in place from the request
  // body (protocol/secagg_exchange_reader.h), or empty when it is in `request`.
  Result<proto::SecAggExchangeResponse> exchange(uint64_t client_id, int64_t round_id,
                                                 const proto::SecAggExchange& request,
                                                 int64_t now_ms,
                                                 std::string_view masked_vector = {});
  // Federated evaluation: a client of round `round_id` reports its counts
  // for the round's new version. NotFound when the round has no evaluation
  // open (none asked, or concluded); PermissionDenied for a client whose
  // input was not in the round; AlreadyExists for a second report;
  // InvalidArgument for another version, counts of the other kind than the
  // model (classification or regression) or malformed counts: the report is
  // refused and counted as the client's answer. The evaluation concludes when
  // every eligible client answered or at its deadline; with fewer than
  // min_reports valid reports it is inconclusive (RoundListener::
  // evaluation_inconclusive, a registry alert, and the gate's fallback).
  Status report_evaluation(uint64_t client_id, int64_t round_id,
                           const proto::EvaluationReport& report, int64_t now_ms);
  // Deadlines: closes a selection or protocol stage whose time is up.
  void tick(int64_t now_ms);

  Snapshot snapshot() const;
  const PopulationConfig& config() const { return config_; }

 private:
  struct EvaluationTally {
    int64_t version = 0;
    std::set<uint64_t> eligible;  // the clients whose input made the version
    std::set<uint64_t> reported;
    std::vector<EvaluationCounts> reports;
    std::set<uint64_t> refused_clients;  // sent a report that was refused
    uint32_t refused = 0;
    std::string last_refusal;
    int64_t deadline_ms = 0;
    bool gate_pending = false;
  };
  void conclude_evaluation(int64_t round_id, int64_t now_ms);
  void evaluation_inconclusive(int64_t round_id, const EvaluationTally& tally,
                               const std::string& why, int64_t now_ms);

  struct Outcome {
    proto::SecAggExchangeResponse::RoundState state;
    int64_t new_version = 0;
    std::string reason;
  };

  RoundEngine(PopulationConfig config, Store& store, crypto::Rng& rng, EngineHooks hooks)
      : config_(std::move(config)), store_(store), rng_(rng), hooks_(hooks) {}

  Status load_global(int64_t now_ms);
  Status open_selection(int64_t now_ms);
  bool may_be_selected(uint64_t client_id) const;
  void close_selection(int64_t now_ms);
  void start_selected_round(int64_t now_ms);
  Status start_round(int64_t now_ms);
  // After a call under the lock: posts the aggregation task if that call
  // closed the unmasking stage. Call with the lock released.
  void post_aggregation_if_due();
  void aggregate(int64_t round_id, int64_t now_ms);
  void route(std::vector<proto::ServerToClient> messages);
  void after_progress(int64_t now_ms);
  struct NextVersion;
  Result<NextVersion> make_next_version(int64_t now_ms);
  // Differential privacy. The accountant's curve is rebuilt from the store's
  // ledger at start, so the budget holds across restarts.
  Status load_privacy();
  // Adds one round of `spend`'s mechanism to `composition`.
  Status add_round_cost(aggregation::dp::RdpComposition& composition, const PrivacySpend& spend,
                        uint64_t dimension) const;
  // What a round with `survivors` inputs costs, on top of the ledger so far.
  Result<PrivacySpend> round_spend(uint64_t survivors,
                                   aggregation::dp::RdpComposition& composition) const;
  // Empty when the next round fits dp.max_epsilon; else why not.
  std::string budget_refusal(uint64_t survivors) const;
  void fail_round(const std::string& reason, int64_t now_ms, std::string_view kind = "secagg");
  Status apply_rebase();
  Status load_version(const ModelVersion& version);
  int64_t stage_deadline(int64_t now_ms) const;
  StageCounts stage_counts() const;

  PopulationConfig config_;
  Store& store_;
  crypto::Rng& rng_;
  EngineHooks hooks_;
  std::atomic<int64_t> pending_rebase_{0};
  mutable std::mutex mutex_;

  Phase phase_ = Phase::kSelecting;
  uint32_t rounds_completed_ = 0;
  uint32_t rounds_failed_ = 0;
  model::Model global_;
  int64_t global_version_ = 0;
  std::shared_ptr<const std::string> global_bytes_;
  std::unique_ptr<aggregation::ServerOptimizer> optimizer_;
  // SCAFFOLD (training.algorithm: scaffold): the global control variate c of
  // global_version_, saved in each version's optimizer state and sent in every
  // task; empty otherwise.
  std::vector<float> global_control_;

  int64_t round_id_ = 0;
  int64_t selection_deadline_ = 0;
  // The open window's check-ins, in arrival order (the draw is uniform, so the
  // order only makes the draw reproducible from the seed).
  std::vector<uint64_t> pool_;
  std::set<uint64_t> pool_set_;
  uint64_t selections_ = 0;                     // selection windows closed so far
  std::map<uint64_t, uint64_t> last_selected_;  // client -> the window that chose it
  std::vector<uint64_t> selected_;
  std::set<uint64_t> selected_set_;
  // Selected clients that left this round with a ClientAbort (their training
  // failed or their app cancelled): told to check in again later, not
  // re-admitted to a round whose protocol already counts them as gone.
  std::set<uint64_t> left_set_;
  proto::TaskAssignment task_;
  std::unique_ptr<aggregation::secagg::SecAggServer> session_;
  aggregation::secagg::SecAggServer::Stage session_stage_{};
  int64_t stage_deadline_ = 0;
  int64_t stage_started_ms_ = 0;
  uint32_t stage_clients_ = 0;  // clients in the stage before the current one
  std::map<uint64_t, std::vector<proto::ServerToClient>> outbox_;
  // Set under the lock when the unmasking stage closed; taken by
  // post_aggregation_if_due(). aggregating_counts_ is the session's counts
  // at that moment (the task owns the session until it publishes).
  std::optional<int64_t> aggregation_due_at_;
  aggregation::secagg::SecAggServer::Counts aggregating_counts_;
  std::map<int64_t, Outcome> outcomes_;  // recent rounds, for clients polling after the end
  std::map<int64_t, EvaluationTally> evaluations_;  // by round
  // Differential privacy (config_.dp): the composed RDP curve of the
  // ledger's rounds, their count, this round's client update settings (the
  // distributed encoding's rotation seed is fresh per round) and the key of
  // the central noise's CSPRNG, drawn from rng_ when the round starts.
  aggregation::dp::RdpComposition privacy_;
  uint32_t dp_rounds_ = 0;
  double dp_epsilon_ = 0;
  aggregation::ClientUpdateConfig round_update_;
  crypto::Key32 noise_key_{};
  // Adaptive clipping (dp.adaptive_clipping): the clip each round asks for,
  // stepped from the round's noised unclipped count; it travels in each new
  // version's metadata ("dp_clip"), so a restart resumes from the loaded one.
  std::optional<aggregation::dp::AdaptiveClipping> clipping_;
  aggregation::dp::AdaptiveRoundPlan round_plan_;
  std::string halted_;
};

std::string_view phase_name(RoundEngine::Phase phase);

}  // namespace fl::coordinator
