// fl::Client: a device's or site's membership in federated training.
//
// The application hands it a Trainer; the client does the rest of a round:
// check in until selected, fetch the task and the global model, train on a
// background thread while taking part in secure aggregation (DESIGN.md
// section 3), quantise and mask the update, upload, and follow the round to
// its end. Network failures are retried with backoff; a coordinator restart
// fails the round in progress, which participate() reports, and the app just
// calls participate() again.
//
//   auto client = fl::Client::create(options, std::move(trainer));
//   if (!client.ok()) { log(client.status().to_string()); return; }
//   while (true) {
//     auto report = (*client)->participate(std::chrono::minutes(10));
//     if (!report.ok()) break;  // e.g. failed precondition: population finished
//   }
//
// Errors are values (fl::Status / fl::Result) with a message a person can act
// on; nothing of this SDK throws into the app or aborts the process.
// Secret material (the identity seed, the round's protocol keys) is wiped
// from memory when no longer needed.
//
// Backoff: after a round the client could not finish (a failing Trainer, a
// cancel, a failed round), the next participate() first waits
// RoundReport::retry_after (growing over consecutive failures), so a broken
// device does not hammer the coordinator. Apps that schedule their own work
// (a background job) can read retry_after and call back then.
//
// Thread-safety: one Client is used by one thread at a time (it starts and
// joins its own training thread inside participate()), except cancel(),
// which any thread may call at any time. Separate Clients are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fl/export.h"
#include "fl/model.h"
#include "fl/options.h"
#include "fl/status.h"
#include "fl/trainer.h"

namespace fl {

class Client;
namespace testing {
struct Hooks;
FL_EXPORT Result<std::unique_ptr<Client>> create_client(ClientOptions options,
                                                        std::unique_ptr<Trainer> trainer,
                                                        Hooks hooks);
}  // namespace testing

struct RoundReport {
  uint64_t round_id = 0;
  bool completed = false;     // the round produced a new global version
  int64_t model_version = 0;  // the global version this client trained from
  int64_t new_version = 0;    // when completed
  // Why the round did not complete for this client (coordinator restarted,
  // round failed, this client's input arrived after the cohort was full...).
  std::string failure_reason;
  // The round completed but without this client's masked input: it came after
  // the stage had closed (over-selection made it a straggler; failure_reason
  // has the coordinator's answer).
  bool dropped = false;
  uint64_t examples = 0;
  double train_seconds = 0;
  uint64_t bytes_up = 0;  // request bodies sent during this round
  uint64_t bytes_down = 0;
  // Stages reached, in order: "selected", "task", "model",
  // "advertise_keys", "share_keys", "masked_input", "unmasking", "completed"
  // (or "failed").
  std::vector<std::string> stages;
  std::map<std::string, double> train_metrics;  // from the Trainer
  // Federated evaluation of the new version on local held-out data: sent to
  // the coordinator when it asked for it; otherwise why not.
  bool evaluation_sent = false;
  std::string evaluation_note;
  // How long the next participate() will wait before checking in: 0 after a
  // completed round; a growing backoff after rounds this client could not
  // finish (see RetryOptions::round_failure_base_delay).
  std::chrono::milliseconds retry_after{0};
};

class FL_EXPORT Client {
 public:
  // Validates the options, loads or creates the identity file. Does not
  // contact the coordinator.
  static Result<std::unique_ptr<Client>> create(ClientOptions options,
                                                std::unique_ptr<Trainer> trainer);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Registers this device's identity key with the coordinator. Idempotent:
  // the same key always gets the same client id. participate() calls it when
  // needed.
  Status enroll();
  // 0 until enrolled.
  uint64_t client_id() const;
  // Hex of the Ed25519 public key (safe to log).
  std::string identity_public_key_hex() const;

  // Takes part in one round. Waits up to `max_wait` to be selected (sleeping
  // between check-ins as the coordinator asks); then runs the round to its
  // end, bounded by ClientOptions::round_timeout. Returns a report whether the
  // round completed or failed; an error when no round could be joined:
  // FailedPrecondition "population finished" when the coordinator has no more
  // rounds, Unavailable when it could not be reached, DeadlineExceeded when it
  // did not select this client within max_wait (or the backoff after failed
  // rounds is longer than max_wait), PermissionDenied when it refuses this
  // client, Cancelled after cancel().
  Result<RoundReport> participate(std::chrono::milliseconds max_wait);

  // Stops the call in progress (participate, enroll, a fetch), or the next
  // one when none is: its requests (DNS included) and sleeps stop within
  // ~20 ms, the Trainer's CancellationToken turns true, and a round in
  // progress is left with one last request of at most 2 s telling the
  // coordinator so (a drop-out: the round goes on without it at once); the
  // call returns Cancelled once the Trainer has returned. A round that had
  // already completed returns its report. Later calls run normally.
  // Thread-safe and never blocks, but not concurrently with ~Client().
  void cancel();

  // The model file (fl.proto.ModelFile bytes) of a global version.
  Result<std::string> fetch_model(int64_t version);

  // The model the coordinator currently publishes for this client's
  // population, ready for predict() (an app-defined model, kind custom: for
  // its parameters() and layout() only); its version() is the registry's id.
  // That is what the coordinator serves, not necessarily a round's newest
  // version: the quality gate may hold one back, an operator may roll back.
  // NotFound when the coordinator does not run the population or has
  // published nothing for it. Enrols first if needed; one download per call.
  Result<Model> fetch_published_model();

 private:
  friend Result<std::unique_ptr<Client>> testing::create_client(ClientOptions,
                                                                std::unique_ptr<Trainer>,
                                                                testing::Hooks);
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl
