// The round engine: check-in and selection, one secure aggregation session
// per round, stage deadlines, and turning the secure sum into the next global
// model version (DESIGN.md section 5, "rounds/").
//
// A round: clients check in; the first ceil(cohort x over-selection) are
// selected, the rest are told when to retry. When the cohort is full (or the
// selection deadline passes with at least min_cohort) the round's secure
// aggregation session starts; selected clients fetch their task, train, and
// exchange protocol messages. The masked-input stage closes once cohort_size
// inputs arrived or at its deadline. When the server session completes, the
// sum is de-quantised into the weighted mean update, the server optimiser
// steps the global weights, and the new version (with the optimiser state) is
// committed with the round's outcome in one store transaction and published,
// before any client is told the round completed. A session that aborts fails
// the round, which is then re-run.
//
// Pure apart from the injected Store: no sockets, no threads, no clock (every
// call takes now_ms; tick() delivers deadlines). The HTTP layer
// (coordinator/service) calls it.
//
// Bad input (unknown round, a client not in the cohort, a protocol message the
// session rejects) returns an error Status and changes nothing.
//
// Thread-safety: every public method takes the engine's mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "aggregation/secagg/server_session.h"
#include "aggregation/server_optimizer.h"
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
// with the engine's lock held: implementations must be quick and must not call
// back into the engine.
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
  // the registry once its federated evaluation concluded, not at commit.
  bool gate_waits_for_federated_evaluation = false;
};

class RoundEngine {
 public:
  enum class Phase { kSelecting, kRunning, kFinished };

  struct Snapshot {
    Phase phase = Phase::kSelecting;
    int64_t round_id = 0;
    int64_t global_version = 0;
    uint32_t rounds_completed = 0;
    uint32_t rounds_failed = 0;
    uint32_t selected = 0;
    aggregation::secagg::SecAggServer::Counts counts;
    std::string secagg_stage;
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
  Result<proto::SecAggExchangeResponse> exchange(uint64_t client_id, int64_t round_id,
                                                 const proto::SecAggExchange& request,
                                                 int64_t now_ms);
  // Federated evaluation: a client of round `round_id` reports its counts
  // for the round's new version. NotFound when the round has no evaluation
  // open (none asked, or concluded); PermissionDenied for a client whose
  // input was not in the round; AlreadyExists for a second report;
  // InvalidArgument for another version or malformed counts. Nothing changes
  // on error.
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
    int64_t deadline_ms = 0;
    bool gate_pending = false;
  };
  void conclude_evaluation(int64_t round_id, int64_t now_ms);

  struct Outcome {
    proto::SecAggExchangeResponse::RoundState state;
    int64_t new_version = 0;
    std::string reason;
  };

  RoundEngine(PopulationConfig config, Store& store, crypto::Rng& rng, EngineHooks hooks)
      : config_(std::move(config)), store_(store), rng_(rng), hooks_(hooks) {}

  Status load_global(int64_t now_ms);
  Status open_selection(int64_t now_ms);
  Status start_round(int64_t now_ms);
  void route(std::vector<proto::ServerToClient> messages);
  void after_progress(int64_t now_ms);
  void finish_round(int64_t now_ms);
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

  int64_t round_id_ = 0;
  int64_t selection_deadline_ = 0;
  std::vector<uint64_t> selected_;
  std::set<uint64_t> selected_set_;
  proto::TaskAssignment task_;
  std::unique_ptr<aggregation::secagg::SecAggServer> session_;
  aggregation::secagg::SecAggServer::Stage session_stage_{};
  int64_t stage_deadline_ = 0;
  int64_t stage_started_ms_ = 0;
  uint32_t stage_clients_ = 0;  // clients in the stage before the current one
  std::map<uint64_t, std::vector<proto::ServerToClient>> outbox_;
  std::map<int64_t, Outcome> outcomes_;
  std::map<int64_t, EvaluationTally>
      evaluations_;  // by round  // recent rounds, for clients polling after the end
};

std::string_view phase_name(RoundEngine::Phase phase);

}  // namespace fl::coordinator
