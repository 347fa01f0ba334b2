#include "coordinator/rounds/round_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>

#include "aggregation/client_update.h"
#include "aggregation/quantization.h"
#include "aggregation/round_aggregator.h"
#include "aggregation/scaffold.h"
#include "aggregation/secagg/session_config.h"
#include "coordinator/registry/evaluation.h"
#include "coordinator/rounds/cohort_selection.h"
#include "model/layout.h"
#include "model/serialization.h"

namespace fl::coordinator {
namespace {

using aggregation::secagg::SecAggServer;
using Stage = SecAggServer::Stage;

constexpr size_t kOutcomesKept = 64;

// How often a selected client polls while it waits for the next stage. Every
// poll is a signed request (an Ed25519 verification on an io thread), so the
// interval grows with the cohort: at most ~1,000 polls a second beyond 200
// clients, 200 ms below. While the round is aggregated no message will come
// at all: clients are told to wait a second between polls.
uint32_t poll_interval_ms(uint32_t cohort) { return std::clamp<uint32_t>(cohort, 200, 2'000); }
constexpr uint32_t kAggregatingPollMs = 1'000;

// Stage labels for metrics: fixed, lower case, no spaces.
std::string_view stage_metric_name(Stage stage) {
  switch (stage) {
    case Stage::kAdvertiseKeys:
      return "advertise_keys";
    case Stage::kShareKeys:
      return "share_keys";
    case Stage::kMaskedInput:
      return "masked_input";
    case Stage::kUnmasking:
      return "unmasking";
    default:
      return "other";
  }
}

}  // namespace

std::string_view phase_name(RoundEngine::Phase phase) {
  switch (phase) {
    case RoundEngine::Phase::kSelecting:
      return "selecting";
    case RoundEngine::Phase::kRunning:
      return "running";
    case RoundEngine::Phase::kAggregating:
      return "aggregating";
    case RoundEngine::Phase::kFinished:
      return "finished";
  }
  return "unknown";
}

Result<std::unique_ptr<RoundEngine>> RoundEngine::create(PopulationConfig config, Store& store,
                                                         crypto::Rng& rng, int64_t now_ms,
                                                         EngineHooks hooks) {
  FL_RETURN_IF_ERROR(validate_population(config));
  std::unique_ptr<RoundEngine> e(new RoundEngine(std::move(config), store, rng, hooks));
  auto failed = store.fail_running_rounds("coordinator restarted during the round", now_ms);
  if (!failed.ok()) return failed.status();
  auto rounds = store.list_rounds(1'000'000);
  if (!rounds.ok()) return rounds.status();
  for (const auto& r : *rounds)
    if (r.population == e->config_.population && r.state == RoundState::kCompleted)
      ++e->rounds_completed_;
  FL_RETURN_IF_ERROR(e->load_global(now_ms));
  FL_RETURN_IF_ERROR(e->load_privacy());
  if (e->config_.dp.enabled() && e->config_.dp.adaptive) {
    double clip = e->config_.dp.adaptive->initial_clip;
    if (auto it = e->global_.metadata.find("dp_clip"); it != e->global_.metadata.end()) {
      const double saved = std::strtod(it->second.c_str(), nullptr);
      if (std::isfinite(saved) && saved > 0) clip = saved;
    }
    auto clipping = aggregation::dp::AdaptiveClipping::resume(*e->config_.dp.adaptive, clip);
    if (!clipping.ok()) return clipping.status();
    e->clipping_ = std::move(*clipping);
  }
  if (e->rounds_completed_ >= e->config_.rounds) {
    e->phase_ = Phase::kFinished;
  } else {
    FL_RETURN_IF_ERROR(e->open_selection(now_ms));
  }
  return e;
}

Status RoundEngine::load_global(int64_t now_ms) {
  auto opt = aggregation::ServerOptimizer::create(config_.optimizer);
  if (!opt.ok()) return opt.status();
  optimizer_ = std::move(*opt);
  auto latest = store_.latest_version(config_.model_name, VersionStage::kPublished);
  if (latest.ok()) return load_version(*latest);
  if (latest.status().code() != ErrorCode::kNotFound) return latest.status();
  auto m = model::create_model(config_.model_spec, config_.init_seed);
  if (!m.ok()) return m.status();
  auto bytes = model::save_model(*m);
  if (!bytes.ok()) return bytes.status();
  NewVersion v;
  v.model = config_.model_name;
  v.created_at_ms = now_ms;
  v.model_bytes = *bytes;
  v.optimizer_state = optimizer_->serialize_state();
  auto id = store_.add_version(v);
  if (!id.ok()) return id.status();
  // The initial model has no metrics for a gate to judge: it is published
  // as the baseline the first trained candidate is compared against.
  if (hooks_.registry) {
    FL_RETURN_IF_ERROR(hooks_.registry->publish(config_.model_name, *id, "initial", now_ms));
  } else {
    FL_RETURN_IF_ERROR(store_.publish(config_.model_name, *id));
  }
  global_ = std::move(*m);
  global_version_ = *id;
  global_bytes_ = std::make_shared<const std::string>(std::move(*bytes));
  global_control_.clear();
  if (config_.scaffold()) global_control_.assign(static_cast<size_t>(global_.params.size()), 0.0f);
  return Status::Ok();
}

Status RoundEngine::load_version(const ModelVersion& version) {
  auto m = model::load_model(version.model_bytes, "registry version " + std::to_string(version.id));
  if (!m.ok()) return m.status();
  if (!(m->spec == config_.model_spec))
    return FailedPrecondition("the registry's model '" + config_.model_name +
                              "' has another architecture than the configuration");
  auto opt = aggregation::ServerOptimizer::create(config_.optimizer);
  if (!opt.ok()) return opt.status();
  if (!version.optimizer_state.empty())
    FL_RETURN_IF_ERROR((*opt)->restore_state(version.optimizer_state));
  std::vector<float> control;
  if (config_.scaffold()) {
    auto c = aggregation::global_control_of(version.optimizer_state,
                                            static_cast<size_t>(m->params.size()));
    if (!c.ok()) return c.status();
    control = std::move(*c);
  }
  global_control_ = std::move(control);
  optimizer_ = std::move(*opt);
  global_ = std::move(*m);
  global_version_ = version.id;
  global_bytes_ = std::make_shared<const std::string>(version.model_bytes);
  return Status::Ok();
}

Status RoundEngine::apply_rebase() {
  const int64_t target = pending_rebase_.exchange(0);
  if (target == 0 || target == global_version_) return Status::Ok();
  auto v = store_.get_version(target);
  if (!v.ok()) return v.status();
  if (v->model != config_.model_name)
    return FailedPrecondition("version " + std::to_string(target) + " is not a version of " +
                              config_.model_name);
  return load_version(*v);
}

Status RoundEngine::open_selection(int64_t now_ms) {
  // A rollback that failed to load leaves training on its current lineage.
  (void)apply_rebase();
  // The budget: no round starts that would take epsilon past dp.max_epsilon,
  // counting it with the expected cohort (the round is checked again with its
  // actual survivors before its sum is unmasked).
  if (std::string refusal =
          budget_refusal(static_cast<uint64_t>(std::ceil(config_.dp.expected_clients())));
      !refusal.empty()) {
    halted_ = std::move(refusal);
    phase_ = Phase::kFinished;
    session_.reset();
    if (hooks_.listener) hooks_.listener->training_halted(halted_);
    return Status::Ok();
  }
  NewRound r;
  r.population = config_.population;
  r.base_version_id = global_version_;
  r.started_at_ms = now_ms;
  auto id = store_.begin_round(r);
  if (!id.ok()) return id.status();
  round_id_ = *id;
  phase_ = Phase::kSelecting;
  selection_deadline_ = now_ms + config_.deadlines.selection_ms;
  pool_.clear();
  pool_set_.clear();
  selected_.clear();
  selected_set_.clear();
  left_set_.clear();
  session_.reset();
  outbox_.clear();
  return Status::Ok();
}

Result<proto::CheckinResponse> RoundEngine::checkin(uint64_t client_id,
                                                    const proto::CheckinRequest& request,
                                                    int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (request.population() != config_.population)
    return NotFound("unknown population '" + request.population() + "'");
  proto::CheckinResponse out;
  if (phase_ == Phase::kFinished) {
    out.set_decision(proto::CheckinResponse::FINISHED);
    return out;
  }
  if (left_set_.count(client_id)) {  // it left this round: the next one
    out.set_decision(proto::CheckinResponse::RETRY_LATER);
    out.set_retry_after_ms(config_.retry_after_ms);
    return out;
  }
  if (selected_set_.count(client_id)) {  // idempotent: a retried check-in
    out.set_decision(proto::CheckinResponse::SELECTED);
    out.set_round_id(static_cast<uint64_t>(round_id_));
    return out;
  }
  if (phase_ == Phase::kSelecting && may_be_selected(client_id)) {
    if (config_.selection.policy == SelectionPolicy::kFirstCome) {
      selected_.push_back(client_id);
      selected_set_.insert(client_id);
      out.set_decision(proto::CheckinResponse::SELECTED);
      out.set_round_id(static_cast<uint64_t>(round_id_));
      if (selected_.size() == config_.selection_target()) {
        start_selected_round(now_ms);
      }
      return out;
    }
    // Uniform: join the pool and come back when the window closes, to learn
    // whether the draw chose you.
    if (pool_set_.insert(client_id).second) pool_.push_back(client_id);
    out.set_decision(proto::CheckinResponse::RETRY_LATER);
    const int64_t until_close = std::max<int64_t>(selection_deadline_ - now_ms, 0);
    out.set_retry_after_ms(static_cast<uint32_t>(std::min<int64_t>(
        until_close + 100 + static_cast<int64_t>(rng_.uniform(500)), UINT32_MAX)));
    return out;
  }
  // Pace steering: spread the retries of unselected clients over the window.
  out.set_decision(proto::CheckinResponse::RETRY_LATER);
  out.set_retry_after_ms(config_.retry_after_ms / 2 +
                         static_cast<uint32_t>(rng_.uniform(config_.retry_after_ms / 2 + 1)));
  return out;
}

// A client chosen in window w sits out until window w + once_in_rounds.
bool RoundEngine::may_be_selected(uint64_t client_id) const {
  if (config_.selection.once_in_rounds <= 1) return true;
  auto it = last_selected_.find(client_id);
  return it == last_selected_.end() ||
         selections_ + 1 >= it->second + config_.selection.once_in_rounds;
}

// selected_ is this window's cohort: remember when each was chosen (for
// once_in_rounds) and start the round.
void RoundEngine::start_selected_round(int64_t now_ms) {
  ++selections_;
  for (uint64_t id : selected_) last_selected_[id] = selections_;
  if (Status s = start_round(now_ms); !s.ok()) fail_round(s.message(), now_ms, "start");
}

// The window's draw: a uniformly random subset of the pool, of the selection
// target's size or the whole pool if smaller.
void RoundEngine::close_selection(int64_t now_ms) {
  if (pool_.size() < config_.min_cohort) {
    selection_deadline_ = now_ms + config_.deadlines.selection_ms;  // keep the pool, wait on
    return;
  }
  if (config_.dp.enabled()) {
    // Poisson sampling at rate q, as the accountant assumes: each check-in
    // joins independently, so the cohort's size varies around q x pool.
    std::vector<uint64_t> drawn = draw_poisson_cohort(pool_, config_.dp.sampling_rate, rng_);
    if (drawn.size() < config_.min_cohort) {
      // Too few for secure aggregation: nothing is released, no privacy is
      // spent; the window goes on and draws afresh when it closes again.
      selection_deadline_ = now_ms + config_.deadlines.selection_ms;
      return;
    }
    selected_ = std::move(drawn);
  } else {
    selected_ = draw_cohort(std::move(pool_), config_.selection_target(), rng_);
  }
  selected_set_.insert(selected_.begin(), selected_.end());
  pool_.clear();
  pool_set_.clear();
  start_selected_round(now_ms);
}

Status RoundEngine::start_round(int64_t now_ms) {
  const uint64_t n = selected_.size();
  aggregation::secagg::ProtocolParameters params;
  aggregation::secagg::ParameterInputs in;
  in.cohort_size = n;
  in.dropout_fraction = config_.expected_dropout;
  in.corrupt_fraction = config_.corrupt_fraction;
  in.graph = config_.graph;
  auto chosen = aggregation::secagg::choose_parameters(in);
  if (chosen.ok()) {
    params = *chosen;
  } else if (!(config_.degree && config_.threshold)) {
    return chosen.status();
  }
  if (config_.degree) params.degree = *config_.degree;
  if (config_.threshold) params.threshold = *config_.threshold;
  if (config_.graph == aggregation::secagg::GraphKind::kComplete) params.degree = n - 1;
  params.graph = config_.graph;
  FL_RETURN_IF_ERROR(aggregation::check_quantization(config_.quantization, n));

  std::vector<crypto::Key32> identities;
  if (config_.require_signed_keys) {
    for (uint64_t id : selected_) {
      auto c = store_.find_client(id);
      if (!c.ok()) return c.status();
      crypto::Key32 k;
      std::copy(c->public_key.begin(), c->public_key.end(), k.begin());
      identities.push_back(k);
    }
  }
  const auto session_id = rng_.key32();
  // What each client sends: with dp on, clipped to dp.clip and unweighted
  // (the mean is over the expected cohort); distributed dp also rotates,
  // rounds and noises it, with this round's public rotation seed.
  round_update_ = aggregation::ClientUpdateConfig{};
  round_update_.quantization = config_.quantization;
  round_update_.l2_clip = config_.l2_clip;
  round_update_.control_variate = config_.scaffold();  // [delta_y, delta_c]
  if (config_.dp.enabled()) {
    round_update_.quantization.max_weight = 0;
    round_update_.l2_clip = config_.dp.clip;
    round_plan_ = {config_.dp.clip, config_.dp.noise_multiplier, 0};
    if (clipping_) {
      // Adaptive clipping: this round's clip, the value noise z_delta left
      // after the count's share of the budget, and each client's bit.
      auto plan = aggregation::dp::plan_adaptive_round(
          config_.dp, clipping_->clip(),
          static_cast<uint64_t>(std::ceil(config_.dp.expected_clients())));
      if (!plan.ok()) return plan.status();
      round_plan_ = *plan;
      round_update_.l2_clip = round_plan_.clip;
      round_update_.unclipped_bit = true;
      round_update_.count_noise_stddev = round_plan_.count_noise_stddev;
    }
    if (config_.dp.mode == aggregation::dp::DpMode::kDistributed) {
      auto d = aggregation::dp::distributed_config(config_.dp,
                                                   static_cast<uint64_t>(global_.params.size()));
      if (!d.ok()) return d.status();
      round_update_.distributed_dp = *d;
      round_update_.rotation_seed = rng_.key32();
    }
    noise_key_ = rng_.key32();
  }
  const uint64_t dim = aggregation::client_input_dimension(
      round_update_, static_cast<uint64_t>(global_.params.size()));
  auto secagg = aggregation::secagg::make_config(
      session_id, selected_, params, dim, config_.quantization.ring, config_.prg, identities);
  secagg.set_reveal_pair_seeds(config_.reveal_pair_seeds);
  SecAggServer::Options session_options;
  session_options.threads = config_.unmask_threads;
  session_options.executor = hooks_.parallel;
  session_options.defer_unmasking = true;  // unmasked by aggregate(), on the executor
  auto session = SecAggServer::create(secagg, session_options);
  if (!session.ok()) return session.status();
  session_ = std::move(*session);
  session_stage_ = session_->stage();
  stage_deadline_ = stage_deadline(now_ms);

  task_.Clear();
  task_.set_round_id(static_cast<uint64_t>(round_id_));
  task_.set_model_version(global_version_);
  *task_.mutable_training() = config_.training;
  // The schedule's round index counts completed rounds, as the simulator's
  // does: a failed round is retried at the same rate.
  task_.mutable_training()->set_learning_rate(static_cast<float>(
      model::round_learning_rate(config_.local_lr_schedule(), rounds_completed_)));
  *task_.mutable_quantization() = aggregation::quantization_plan(round_update_);
  *task_.mutable_secagg() = session_->config().proto();
  task_.set_poll_interval_ms(poll_interval_ms(static_cast<uint32_t>(selected_.size())));
  task_.set_federated_evaluation(config_.federated_evaluation.enabled);
  task_.mutable_control_variate()->Assign(global_control_.begin(), global_control_.end());
  phase_ = Phase::kRunning;
  stage_started_ms_ = now_ms;
  stage_clients_ = static_cast<uint32_t>(selected_.size());
  if (hooks_.listener) hooks_.listener->round_started(round_id_, stage_clients_);
  return Status::Ok();
}

Result<proto::TaskAssignment> RoundEngine::task(uint64_t client_id, int64_t round_id,
                                                int64_t now_ms) {
  (void)now_ms;
  std::lock_guard<std::mutex> lock(mutex_);
  if (round_id != round_id_ || phase_ == Phase::kFinished)
    return FailedPrecondition("round " + std::to_string(round_id) + " is not the current round");
  if (!selected_set_.count(client_id))
    return PermissionDenied("client " + std::to_string(client_id) + " is not in round " +
                            std::to_string(round_id));
  if (phase_ == Phase::kSelecting)
    return Unavailable("round " + std::to_string(round_id) + " is still selecting its cohort");
  return task_;
}

Result<std::shared_ptr<const std::string>> RoundEngine::model_bytes(int64_t version_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (version_id == global_version_) return global_bytes_;
  }
  auto v = store_.get_version(version_id);
  if (!v.ok()) return v.status();
  if (v->model != config_.model_name)
    return NotFound("version " + std::to_string(version_id) + " is not a version of this model");
  return std::make_shared<const std::string>(std::move(v->model_bytes));
}

Result<proto::SecAggExchangeResponse> RoundEngine::exchange(uint64_t client_id, int64_t round_id,
                                                            const proto::SecAggExchange& request,
                                                            int64_t now_ms,
                                                            std::string_view masked_vector) {
  Result<proto::SecAggExchangeResponse> result = [&]() -> Result<proto::SecAggExchangeResponse> {
    std::lock_guard<std::mutex> lock(mutex_);
    proto::SecAggExchangeResponse out;
    const bool current =
        round_id == round_id_ && (phase_ == Phase::kRunning || phase_ == Phase::kAggregating);
    if (!current) {
      auto it = outcomes_.find(round_id);
      if (it == outcomes_.end())
        return FailedPrecondition("round " + std::to_string(round_id) + " is not running");
      if (request.has_message())
        return FailedPrecondition("round " + std::to_string(round_id) + " has ended");
      out.set_state(it->second.state);
      out.set_new_version(it->second.new_version);
      out.set_failure_reason(it->second.reason);
      return out;
    }
    if (!selected_set_.count(client_id))
      return PermissionDenied("client " + std::to_string(client_id) + " is not in round " +
                              std::to_string(round_id));
    if (request.has_message()) {
      if (phase_ == Phase::kAggregating)
        return FailedPrecondition("round " + std::to_string(round_id) +
                                  " has closed its unmasking stage; poll for the outcome");
      auto sent = session_->handle(client_id, request.message(), masked_vector);
      if (!sent.ok()) return sent.status();
      if (request.message().has_abort()) left_set_.insert(client_id);
      route(std::move(*sent));
      after_progress(now_ms);
    }
    if (round_id == round_id_ && (phase_ == Phase::kRunning || phase_ == Phase::kAggregating)) {
      out.set_state(proto::SecAggExchangeResponse::RUNNING);
      if (phase_ == Phase::kAggregating) out.set_poll_after_ms(kAggregatingPollMs);
    } else {
      const Outcome& o = outcomes_[round_id];
      out.set_state(o.state);
      out.set_new_version(o.new_version);
      out.set_failure_reason(o.reason);
    }
    auto it = outbox_.find(client_id);
    if (it != outbox_.end()) {
      for (auto& m : it->second) *out.add_messages() = std::move(m);
      outbox_.erase(it);
    }
    return out;
  }();
  post_aggregation_if_due();
  return result;
}

void RoundEngine::route(std::vector<proto::ServerToClient> messages) {
  for (auto& m : messages) outbox_[m.recipient()].push_back(std::move(m));
}

int64_t RoundEngine::stage_deadline(int64_t now_ms) const {
  switch (session_stage_) {
    case Stage::kAdvertiseKeys:
      return now_ms + config_.deadlines.advertise_keys_ms;
    case Stage::kShareKeys:
      return now_ms + config_.deadlines.share_keys_ms;
    case Stage::kMaskedInput:
      return now_ms + config_.deadlines.masked_input_ms;
    case Stage::kUnmasking:
      return now_ms + config_.deadlines.unmasking_ms;
    default:
      return now_ms;
  }
}

// Called after anything that may move the session: new stage deadlines,
// early close of the masked-input stage, and the end of the round.
void RoundEngine::after_progress(int64_t now_ms) {
  if (!session_) return;
  // With dp the cohort is the Poisson draw: no early close at cohort_size.
  if (session_->stage() == Stage::kMaskedInput && !config_.dp.enabled() &&
      session_->counts().masked_input >= config_.cohort_size) {
    route(session_->close_stage());  // enough reports: stragglers count as dropped
  }
  if (session_->stage() != session_stage_) {
    if (hooks_.listener) {
      // The clients that made it through the stage that just closed.
      const auto c = session_->counts();
      uint32_t clients = 0;
      switch (session_stage_) {
        case Stage::kAdvertiseKeys:
          clients = static_cast<uint32_t>(c.advertised);
          break;
        case Stage::kShareKeys:
          clients = static_cast<uint32_t>(c.shared_keys);
          break;
        case Stage::kMaskedInput:
          clients = static_cast<uint32_t>(c.masked_input);
          break;
        case Stage::kUnmasking:
          clients = static_cast<uint32_t>(c.unmasked);
          break;
        default:
          clients = stage_clients_;
          break;
      }
      const uint32_t dropped = stage_clients_ > clients ? stage_clients_ - clients : 0;
      hooks_.listener->stage_closed(round_id_, stage_metric_name(session_stage_),
                                    static_cast<double>(now_ms - stage_started_ms_) / 1000.0,
                                    clients, dropped);
      stage_clients_ = clients;
    }
    session_stage_ = session_->stage();
    stage_started_ms_ = now_ms;
    stage_deadline_ = stage_deadline(now_ms);
  }
  if (session_->unmasking_ready()) {
    // The slow part leaves this thread: aggregate() runs on the executor.
    phase_ = Phase::kAggregating;
    aggregating_counts_ = session_->counts();
    aggregation_due_at_ = now_ms;
  } else if (session_stage_ == Stage::kAborted) {
    fail_round(session_->abort_reason(), now_ms, "secagg_aborted");
  }
}

void RoundEngine::post_aggregation_if_due() {
  int64_t round_id = 0, now_ms = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!aggregation_due_at_) return;
    now_ms = *aggregation_due_at_;
    aggregation_due_at_.reset();
    round_id = round_id_;
  }
  auto task = [this, round_id, now_ms] { aggregate(round_id, now_ms); };
  if (hooks_.executor) {
    hooks_.executor->post(std::move(task));
  } else {
    task();
  }
}

StageCounts RoundEngine::stage_counts() const {
  StageCounts c;
  c.selected = selected_.size();
  if (session_) {
    const auto s = session_->counts();
    c.advertised = s.advertised;
    c.shared_keys = s.shared_keys;
    c.masked_input = s.masked_input;
    c.unmasked = s.unmasked;
  }
  return c;
}

struct RoundEngine::NextVersion {
  NewVersion version;
  std::string bytes;
  model::Model model;
  std::unique_ptr<aggregation::ServerOptimizer> optimizer;
  std::vector<float> global_control;  // SCAFFOLD: the new version's c
  std::vector<uint64_t> included;
  std::optional<PrivacySpend> spend;                          // dp: this round's ledger row
  std::optional<aggregation::dp::AdaptiveClipping> clipping;  // with the next round's clip
  aggregation::dp::RdpComposition privacy;                    // dp: the curve with this round
};

// De-quantises the secure sum and steps a copy of the optimiser. Reads
// global_ and optimizer_ without the lock: nothing else writes them while the
// phase is kAggregating.
Result<RoundEngine::NextVersion> RoundEngine::make_next_version(int64_t now_ms) {
  NextVersion next;
  next.included = session_->included_clients();
  // Steps a copy of the optimiser, so a failed commit leaves it untouched.
  aggregation::RoundAggregatorConfig aggregator;
  aggregator.quantization = round_update_.quantization;
  aggregator.control_variate = round_update_.control_variate;
  aggregator.global_control = global_control_;
  aggregator.population_size = config_.population_size;
  // Central noise from a CSPRNG keyed when the round started (rng_ is the
  // system's CSPRNG in production; seeded in tests).
  crypto::SeededRng noise_rng(noise_key_);
  if (config_.dp.enabled()) {
    aggregator.dp_mode = config_.dp.mode;
    aggregator.noise_multiplier = round_plan_.z_value;
    aggregator.l2_clip = round_plan_.clip;
    aggregator.unclipped_bit = round_update_.unclipped_bit;
    aggregator.count_noise_stddev = round_plan_.count_noise_stddev;
    aggregator.expected_clients = config_.dp.expected_clients();
    aggregator.distributed = round_update_.distributed_dp;
    aggregator.rotation_seed = round_update_.rotation_seed;
    aggregator.noise_rng = &noise_rng;
    next.privacy = privacy_;
    auto spend = round_spend(next.included.size(), next.privacy);
    if (!spend.ok()) return spend.status();
    next.spend = *spend;
  }
  auto stepped = aggregation::aggregate_secure_round(
      std::span<const float>(global_.params.data(), static_cast<size_t>(global_.params.size())),
      session_->result(), next.included.size(), aggregator, *optimizer_);
  if (!stepped.ok()) return stepped.status();
  std::vector<float>& weights = stepped->weights;
  next.optimizer = std::move(stepped->optimizer);
  next.global_control = std::move(stepped->global_control);

  next.model = global_;
  if (clipping_) {
    // The next round's clip, from this round's noised unclipped count.
    next.clipping = clipping_;
    if (!stepped->stats.noised_unclipped_count)
      return Internal("adaptive clipping: the round's sum carries no unclipped count");
    FL_RETURN_IF_ERROR(next.clipping->update(*stepped->stats.noised_unclipped_count,
                                             stepped->stats.unclipped_count_cohort));
    char clip[32];
    std::snprintf(clip, sizeof clip, "%.17g", next.clipping->clip());
    next.model.metadata["dp_clip"] = clip;
  }
  next.model.params =
      Eigen::Map<const Eigen::VectorXf>(weights.data(), static_cast<Eigen::Index>(weights.size()));
  next.model.metadata["round"] = std::to_string(round_id_);
  auto bytes = model::save_model(next.model);
  if (!bytes.ok()) return bytes.status();
  next.bytes = std::move(*bytes);
  NewVersion& v = next.version;
  v.model = config_.model_name;
  v.parent_id = global_version_;
  v.created_at_ms = now_ms;
  v.metrics["clients"] = static_cast<double>(next.included.size());
  v.metrics["total_weight"] = stepped->stats.total_weight;
  if (hooks_.holdout) {
    // Server-side holdout evaluation, so the quality gate has a metric.
    auto counts = evaluation_counts(next.model, *hooks_.holdout);
    if (counts.ok()) {
      auto scored = combine_evaluations(std::span<const EvaluationCounts>(&*counts, 1));
      if (scored.ok())
        for (const auto& [name, value] : *scored) v.metrics[name] = value;
    }
  }
  v.model_bytes = next.bytes;
  v.optimizer_state = next.optimizer->serialize_state();
  if (config_.scaffold()) {
    auto state =
        aggregation::with_global_control(std::move(v.optimizer_state), next.global_control);
    if (!state.ok()) return state.status();
    v.optimizer_state = std::move(*state);
  }
  return next;
}

// The round's slow tail, on the executor: unmask, build and commit the next
// version, let the gate judge it, then (under the lock, briefly) make it the
// global model and open the next selection window. While it runs the phase is
// kAggregating, so no other call touches the session, global_ or optimizer_.
void RoundEngine::aggregate(int64_t round_id, int64_t now_ms) {
  if (config_.dp.enabled()) {
    // Distributed dp: fewer survivors carry less noise. A round whose actual
    // survivors would take epsilon past the budget fails before its sum is
    // unmasked, so nothing about it is released.
    std::string refusal = budget_refusal(session_->included_clients().size());
    if (!refusal.empty()) {
      std::lock_guard<std::mutex> lock(mutex_);
      return fail_round(refusal + "; the sum was not unmasked", now_ms, "privacy_budget");
    }
  }
  std::vector<proto::ServerToClient> aborts = session_->finish_unmasking();
  if (session_->stage() != Stage::kCompleted) {
    std::lock_guard<std::mutex> lock(mutex_);
    route(std::move(aborts));
    fail_round(session_->abort_reason(), now_ms, "secagg_aborted");
    return;
  }
  // Wall time of the server's own work after unmasking, for the metrics only
  // (no decision depends on it, so the engine stays deterministic).
  const auto aggregation_started = std::chrono::steady_clock::now();
  const StageCounts counts = stage_counts();
  auto next = make_next_version(now_ms);
  if (!next.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    return fail_round(next.status().message(), now_ms, "aggregation");
  }
  // The version and the round's outcome are one transaction; the version is
  // published before any client hears that the round completed.
  auto id = store_.complete_round(round_id, counts, next->version, now_ms, next->spend);
  if (!id.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    return fail_round("cannot persist the new version: " + id.status().message(), now_ms,
                      "persist");
  }
  // Without a registry every new version is published. With one, the
  // quality gate decides; a held candidate is not a failed round, and the
  // next round trains on from it (the gate guards what is served, not the
  // training lineage; a rollback rebases training, see rebase_on).
  const bool evaluate = config_.federated_evaluation.enabled;
  if (!hooks_.registry) {
    if (Status s = store_.publish(config_.model_name, *id); !s.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      return fail_round("cannot publish version " + std::to_string(*id) + ": " + s.message(),
                        now_ms, "persist");
    }
  } else if (!(evaluate && hooks_.gate_waits_for_federated_evaluation)) {
    auto decision = hooks_.registry->consider(*id, now_ms);
    (void)decision;  // alerts and publications reach the service through the registry
  }                  // else: the gate runs when the federated evaluation concludes

  std::lock_guard<std::mutex> lock(mutex_);
  global_ = std::move(next->model);
  global_version_ = *id;
  global_bytes_ = std::make_shared<const std::string>(std::move(next->bytes));
  optimizer_ = std::move(next->optimizer);
  global_control_ = std::move(next->global_control);
  if (next->clipping) clipping_ = std::move(next->clipping);
  if (next->spend) {
    privacy_ = std::move(next->privacy);
    ++dp_rounds_;
    dp_epsilon_ = next->spend->epsilon;
  }
  if (evaluate) {
    EvaluationTally& tally = evaluations_[round_id];
    tally.version = *id;
    tally.eligible.insert(next->included.begin(), next->included.end());
    tally.deadline_ms = now_ms + config_.federated_evaluation.deadline_ms;
    tally.gate_pending = hooks_.registry && hooks_.gate_waits_for_federated_evaluation;
  }
  ++rounds_completed_;
  outcomes_[round_id] = Outcome{proto::SecAggExchangeResponse::COMPLETED, *id, ""};
  if (outcomes_.size() > kOutcomesKept) outcomes_.erase(outcomes_.begin());
  session_.reset();
  if (hooks_.listener)
    hooks_.listener->round_completed(
        round_id, *id,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - aggregation_started)
            .count());
  if (rounds_completed_ >= config_.rounds) {
    phase_ = Phase::kFinished;
    return;
  }
  if (Status s = open_selection(now_ms); !s.ok()) phase_ = Phase::kFinished;
}

void RoundEngine::fail_round(const std::string& reason, int64_t now_ms, std::string_view kind) {
  store_.fail_round(round_id_, reason, stage_counts(), now_ms).ok();
  if (hooks_.listener) hooks_.listener->round_failed(round_id_, kind, reason);
  ++rounds_failed_;
  outcomes_[round_id_] = Outcome{proto::SecAggExchangeResponse::FAILED, 0, reason};
  if (outcomes_.size() > kOutcomesKept) outcomes_.erase(outcomes_.begin());
  // Clients polling the round learn FAILED and the reason; the round is re-run.
  session_.reset();
  if (Status s = open_selection(now_ms); !s.ok()) phase_ = Phase::kFinished;
}

Status RoundEngine::report_evaluation(uint64_t client_id, int64_t round_id,
                                      const proto::EvaluationReport& report, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = evaluations_.find(round_id);
  if (it == evaluations_.end())
    return NotFound("round " + std::to_string(round_id) + " has no federated evaluation open");
  EvaluationTally& tally = it->second;
  if (!tally.eligible.count(client_id))
    return PermissionDenied("client " + std::to_string(client_id) +
                            " did not contribute to round " + std::to_string(round_id));
  if (tally.reported.count(client_id))
    return AlreadyExists("client " + std::to_string(client_id) + " already reported round " +
                         std::to_string(round_id) + "'s evaluation");
  // A refused report is this client's answer: the evaluation need not wait
  // for it until the deadline, and the count and reason reach the operator
  // if too few valid ones arrive.
  const auto refuse = [&](Status why) {
    tally.refused_clients.insert(client_id);
    ++tally.refused;
    tally.last_refusal = why.message();
    const size_t answered = tally.reported.size() + tally.refused_clients.size();
    if (answered >= tally.eligible.size()) conclude_evaluation(round_id, now_ms);
    return why;
  };
  if (report.version() != tally.version)
    return refuse(InvalidArgument("round " + std::to_string(round_id) + " evaluates version " +
                                  std::to_string(tally.version) + ", not " +
                                  std::to_string(report.version())));
  EvaluationCounts counts;
  counts.examples = static_cast<int64_t>(std::min<uint64_t>(report.examples(), INT64_MAX));
  counts.loss_sum = report.loss_sum();
  counts.num_classes = static_cast<int>(report.num_classes());
  for (uint64_t c : report.confusion())
    counts.confusion.push_back(static_cast<int64_t>(std::min<uint64_t>(c, INT64_MAX)));
  counts.squared_error_sum = report.squared_error_sum();
  counts.absolute_error_sum = report.absolute_error_sum();
  if (counts.num_classes != global_.spec.num_classes) {
    const auto kind = [](int classes) {
      return classes == 0 ? std::string("is a regressor (num_classes 0)")
                          : "has " + std::to_string(classes) + " classes";
    };
    return refuse(InvalidArgument("evaluation report of client " + std::to_string(client_id) +
                                  ": the model " + kind(global_.spec.num_classes) +
                                  "; the report " + kind(counts.num_classes)));
  }
  if (auto checked = combine_evaluations(std::span<const EvaluationCounts>(&counts, 1));
      !checked.ok())
    return refuse(InvalidArgument("client " + std::to_string(client_id) + "'s " +
                                  checked.status().message()));
  tally.reported.insert(client_id);
  tally.refused_clients.erase(client_id);  // a corrected report replaces a refused one
  tally.reports.push_back(std::move(counts));
  if (tally.reported.size() + tally.refused_clients.size() >= tally.eligible.size())
    conclude_evaluation(round_id, now_ms);
  return Status::Ok();
}

void RoundEngine::conclude_evaluation(int64_t round_id, int64_t now_ms) {
  auto node = evaluations_.extract(round_id);
  if (node.empty()) return;
  EvaluationTally& tally = node.mapped();
  const uint32_t min_reports = config_.federated_evaluation.min_reports;
  if (tally.reports.size() < min_reports) {
    std::string why = std::to_string(tally.reports.size()) + " valid report(s) from " +
                      std::to_string(tally.eligible.size()) + " eligible client(s), min_reports " +
                      std::to_string(min_reports);
    if (!tally.refused_clients.empty())
      why += "; " + std::to_string(tally.refused_clients.size()) +
             " client(s) refused, the last: " + tally.last_refusal;
    why += now_ms >= tally.deadline_ms ? "; the deadline passed" : "; every client answered";
    return evaluation_inconclusive(round_id, tally, why, now_ms);
  }
  auto combined = combine_evaluations(tally.reports);
  if (!combined.ok())  // each report was checked on arrival; kept for safety
    return evaluation_inconclusive(round_id, tally, combined.status().message(), now_ms);
  VersionMetrics metrics;
  for (const auto& [name, value] : *combined) metrics["fed_" + name] = value;
  if (!hooks_.registry) {
    (void)store_.update_metrics(tally.version, metrics);
    return;
  }
  if (tally.gate_pending) {
    if (store_.update_metrics(tally.version, metrics).ok())
      (void)hooks_.registry->consider(tally.version, now_ms);
  } else {
    // Records the metrics; rolls back if the served version fell below the floor.
    (void)hooks_.registry->observe(config_.model_name, tally.version, metrics, now_ms);
  }
}

// Never silent, and never leaves a version waiting for the gate: counted and
// logged through the listener, alerted through the registry, and a version
// the gate waits for is judged by the registry's fallback rule.
void RoundEngine::evaluation_inconclusive(int64_t round_id, const EvaluationTally& tally,
                                          const std::string& why, int64_t now_ms) {
  const std::string reason = "federated evaluation of version " + std::to_string(tally.version) +
                             " (round " + std::to_string(round_id) + ") is inconclusive: " + why;
  if (hooks_.listener) hooks_.listener->evaluation_inconclusive(round_id, tally.version, reason);
  if (!hooks_.registry) return;
  if (tally.gate_pending) {
    (void)hooks_.registry->consider_without_federated_evaluation(tally.version, reason, now_ms);
  } else {
    hooks_.registry->alert(config_.model_name, alert_kind::kEvaluationInconclusive, reason);
  }
}

void RoundEngine::tick(int64_t now_ms) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> due;
    for (const auto& [round, tally] : evaluations_)
      if (now_ms >= tally.deadline_ms) due.push_back(round);
    for (int64_t round : due) conclude_evaluation(round, now_ms);
    if (phase_ == Phase::kSelecting && now_ms >= selection_deadline_) {
      if (config_.selection.policy == SelectionPolicy::kUniform) {
        close_selection(now_ms);
      } else if (selected_.size() >= config_.min_cohort) {
        start_selected_round(now_ms);
      } else {
        selection_deadline_ = now_ms + config_.deadlines.selection_ms;  // keep waiting
      }
    } else if (phase_ == Phase::kRunning && session_ && now_ms >= stage_deadline_) {
      route(session_->close_stage());
      after_progress(now_ms);
    }
  }
  post_aggregation_if_due();
}

Status RoundEngine::load_privacy() {
  auto ledger = store_.privacy_ledger(config_.population);
  if (!ledger.ok()) return ledger.status();
  const auto dimension = static_cast<uint64_t>(global_.params.size());
  for (const PrivacyLedgerEntry& row : *ledger) {
    FL_RETURN_IF_ERROR(add_round_cost(privacy_, row.spend, dimension));
    ++dp_rounds_;
  }
  if (dp_rounds_ > 0 && config_.dp.enabled())
    dp_epsilon_ = privacy_.epsilon(config_.dp.target_delta).epsilon;
  return Status::Ok();
}

Status RoundEngine::add_round_cost(aggregation::dp::RdpComposition& composition,
                                   const PrivacySpend& spend, uint64_t dimension) const {
  if (spend.mechanism == "central") {
    composition.add_poisson_gaussian(spend.sampling_rate, spend.noise_multiplier);
    return Status::Ok();
  }
  if (spend.mechanism == "distributed") {
    // The encoding the round used, rebuilt from the row: the same z, C,
    // modulus and expected cohort give the same scale and noise shares.
    aggregation::dp::DpConfig c;
    c.mode = aggregation::dp::DpMode::kDistributed;
    c.noise_multiplier = spend.noise_multiplier;
    c.clip = spend.clip;
    c.sampling_rate = spend.sampling_rate;
    c.population_size = static_cast<uint64_t>(
        std::llround(static_cast<double>(spend.expected_clients) / spend.sampling_rate));
    c.target_delta = spend.delta;
    c.bits = spend.bits;
    auto d = aggregation::dp::distributed_config(c, dimension);
    if (!d.ok())
      return Internal("privacy ledger: cannot rebuild a distributed round's encoding: " +
                      d.status().message());
    composition.add_distributed_discrete_gaussian(
        aggregation::dp::accounting_of(*d, spend.survivors, spend.sampling_rate));
    return Status::Ok();
  }
  return Internal("privacy ledger: unknown mechanism '" + spend.mechanism + "'");
}

Result<PrivacySpend> RoundEngine::round_spend(uint64_t survivors,
                                              aggregation::dp::RdpComposition& composition) const {
  const aggregation::dp::DpConfig& dp = config_.dp;
  PrivacySpend spend;
  spend.mechanism = std::string(aggregation::dp::dp_mode_name(dp.mode));
  spend.sampling_rate = dp.sampling_rate;
  spend.noise_multiplier = dp.noise_multiplier;
  // The clip this round asked for (adaptive: the adapted one). With adaptive
  // clipping the value and count queries together are one Gaussian
  // mechanism of multiplier z (Andrew et al. 2021, Thm. 1): z is charged.
  spend.clip = clipping_ ? round_plan_.clip : dp.clip;
  if (clipping_ && !(spend.clip > 0)) spend.clip = clipping_->clip();
  spend.expected_clients = static_cast<uint64_t>(std::ceil(dp.expected_clients()));
  spend.survivors = survivors;
  spend.bits = dp.mode == aggregation::dp::DpMode::kDistributed ? dp.bits : 0;
  spend.delta = dp.target_delta;
  FL_RETURN_IF_ERROR(
      add_round_cost(composition, spend, static_cast<uint64_t>(global_.params.size())));
  const auto eps = composition.epsilon(dp.target_delta);
  spend.epsilon = eps.epsilon;
  spend.order = eps.order;
  return spend;
}

std::string RoundEngine::budget_refusal(uint64_t survivors) const {
  const aggregation::dp::DpConfig& dp = config_.dp;
  if (!dp.enabled() || !(dp.max_epsilon > 0)) return "";
  aggregation::dp::RdpComposition next = privacy_;
  auto spend = round_spend(survivors, next);
  if (!spend.ok()) return "privacy budget: " + spend.status().message();
  if (spend->epsilon <= dp.max_epsilon) return "";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "privacy budget: another round (%llu inputs) would take epsilon from %.4g to "
                "%.4g at delta %g, past dp.max_epsilon %g, after %u accounted rounds",
                static_cast<unsigned long long>(survivors), dp_epsilon_, spend->epsilon,
                dp.target_delta, dp.max_epsilon, dp_rounds_);
  return buf;
}

RoundEngine::Snapshot RoundEngine::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Snapshot s;
  s.phase = phase_;
  s.round_id = round_id_;
  s.global_version = global_version_;
  s.rounds_completed = rounds_completed_;
  s.rounds_failed = rounds_failed_;
  s.selected = static_cast<uint32_t>(selected_.size());
  s.pool = static_cast<uint32_t>(pool_.size());
  s.dp_epsilon = dp_epsilon_;
  s.dp_rounds = dp_rounds_;
  s.halted = halted_;
  if (phase_ == Phase::kAggregating) {
    // The aggregation task owns the session now: report what it closed with.
    s.counts = aggregating_counts_;
    s.secagg_stage = "aggregating";
  } else if (session_) {
    s.counts = session_->counts();
    s.secagg_stage = aggregation::secagg::stage_name(session_->stage());
  }
  return s;
}

}  // namespace fl::coordinator
