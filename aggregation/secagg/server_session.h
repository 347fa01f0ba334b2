// The server side of secure aggregation, as a sans-I/O state machine.
//
// One session per cohort per round. The coordinator (or the simulator) feeds it
// authenticated client messages and deadline events and sends what it returns;
// the session owns no socket and no clock. Stages:
//
//   kAdvertiseKeys -> kShareKeys -> kMaskedInput -> kUnmasking -> kCompleted
//   any stage -> kAborted (fewer than t clients left, or shares that do not
//   reconstruct)
//
// A stage closes by itself once every client still expected has answered, or
// when close_stage() is called at its deadline. Each close needs at least t
// clients, else the session aborts with a reason and tells the clients.
//
// Memory: the server keeps one running sum of `dimension` ring elements (each
// masked input is added as it arrives and dropped), plus per-client keys, the
// round-1 ciphertexts until they are routed and the revealed shares: O(dim +
// cohort x k), independent of cohort x dim. state_bytes() accounts for it.
//
// Unmasking expands every mask to remove on the executor in Options (or
// inline). The coordinate range is cut into cache-sized blocks and each block
// runs every mask (both PRGs can seek), so the running sum stays in cache and no
// thread needs an accumulator of its own; the result is bit-identical whatever
// runs it. The session never starts a thread inside handle() or close_stage().
// The pairwise seed s_uv of a dropped client u and a survivor v comes from v
// (RevealedPairSeed in proto/secagg.proto); only when v dropped too is it
// derived from u's reconstructed mask key, one X25519 agreement per pair. A
// client that lies about a seed corrupts the sum as a dishonest input would,
// and learns nothing: the server cannot check a seed without that agreement.
//
// One hostile member cannot fail the round: keys that are low-order,
// non-canonical or copies of another client's are refused at advertise time
// (the client stays out of U1); after round 1 only mutual edges (both ends sent
// a ciphertext) carry shares and masks, and a client left with fewer than t - 1
// peers leaves U2 (close_key_sharing()). Clients treat an unusable peer
// message as that peer's shares missing (client_session.h), so the round still
// completes whenever t holders of each needed secret answer.
//
// Bad input (wrong version, session, sender or stage; unknown or duplicate
// client; wrong sizes; shares for the wrong owner or of the wrong kind) is
// rejected with a Status and changes nothing. A duplicated or replayed message
// is rejected as AlreadyExists, so it cannot be counted twice in the sum.
//
// Thread-safety: not thread-safe; serialise calls (the coordinator holds one
// lock per session).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aggregation/parallel.h"
#include "aggregation/secagg/session_config.h"
#include "base/status.h"
#include "crypto/shamir.h"
#include "proto/secagg.pb.h"

namespace fl::aggregation::secagg {

class SecAggServer {
 public:
  enum class Stage { kAdvertiseKeys, kShareKeys, kMaskedInput, kUnmasking, kCompleted, kAborted };

  struct Options {
    // Without an executor: 1 runs the unmasking inline; more makes the session
    // start a pool of threads - 1 workers once, at create() (a convenience for
    // tools and the simulator). Never threads per handle() call.
    unsigned threads = 1;
    // Runs the unmasking (secret reconstruction, mask expansion) when set; it
    // must outlive the session. The coordinator passes its shared pool here.
    ParallelExecutor* executor = nullptr;
    // When the unmasking stage closes, stop there (unmasking_ready() turns
    // true) instead of reconstructing and removing the masks inside
    // handle()/close_stage(); the caller then runs finish_unmasking() where
    // slow work belongs (the coordinator: on its aggregation executor, never
    // on an HTTP io thread).
    bool defer_unmasking = false;
  };

  // Clients that answered each stage: U1 (advertised keys), U2 (shared keys),
  // U3 (sent a masked input: the inputs in the sum), U4 (sent unmasking shares).
  struct Counts {
    uint32_t cohort = 0, advertised = 0, shared_keys = 0, masked_input = 0, unmasked = 0;
  };

  struct UnmaskingStats {
    uint64_t secrets_reconstructed = 0;
    uint64_t self_masks_removed = 0;
    uint64_t pairwise_masks_removed = 0;
    uint64_t mask_bytes_expanded = 0;  // keystream bytes the unmasking had to generate
    uint64_t pair_seeds_used = 0;      // pairwise seeds survivors revealed (no agreement needed)
    uint64_t key_agreements = 0;       // X25519 agreements the server ran for the others
  };

  static Result<std::unique_ptr<SecAggServer>> create(const proto::SecAggConfig& config,
                                                      Options options);

  // One message from `sender`, who the transport has authenticated. Returns the
  // messages to send now (non-empty when this message closed a stage).
  // `masked_vector`, when not empty, is the vector of a masked input carried
  // outside `message` (whose masked_input().vector() must then be empty): the
  // coordinator adds it to the sum straight from the request body.
  Result<std::vector<proto::ServerToClient>> handle(uint64_t sender,
                                                    const proto::ClientToServer& message,
                                                    std::string_view masked_vector = {});

  // The current stage's deadline has passed: close it with whoever answered.
  std::vector<proto::ServerToClient> close_stage();

  // With Options::defer_unmasking: the unmasking stage has closed with enough
  // shares and waits for finish_unmasking(); further messages are refused.
  bool unmasking_ready() const { return unmasking_ready_; }
  // Reconstructs the secrets and removes the masks: the session ends
  // kCompleted (or kAborted when shares do not reconstruct). Only when
  // unmasking_ready(); returns the messages to send (aborts).
  std::vector<proto::ServerToClient> finish_unmasking();

  Stage stage() const { return stage_; }
  const std::string& abort_reason() const { return abort_reason_; }
  const SessionConfig& config() const { return *config_; }
  Counts counts() const;
  // The sum of the inputs of the clients in U3, reduced mod 2^ring_bits. Only
  // when stage() == kCompleted.
  std::span<const uint64_t> result() const {
    if (stage_ != Stage::kCompleted) return {};
    return sum_;
  }
  // Ids of the clients whose inputs are in the sum (U3).
  std::vector<uint64_t> included_clients() const;
  const UnmaskingStats& unmasking_stats() const { return stats_; }
  size_t state_bytes() const;
  size_t peak_state_bytes() const { return peak_state_bytes_; }

 private:
  struct ClientRecord {
    bool advertised = false, shared = false, masked = false, unmasked = false, gone = false;
    crypto::Key32 encryption_pk{};
    crypto::Key32 mask_pk{};
    std::string signature;
  };
  struct Routed {
    uint32_t sender;
    std::string ciphertext;
  };

  SecAggServer(std::shared_ptr<const SessionConfig> config, Options options);

  Status check_envelope(uint64_t sender, const proto::ClientToServer& m, uint32_t& index) const;
  Status on_advertise(uint32_t index, const proto::AdvertiseKeys& m);
  Status on_shares(uint32_t index, const proto::EncryptedShares& m);
  Status on_masked_input(uint32_t index, std::string_view vector);
  Status on_unmasking(uint32_t index, const proto::UnmaskingShares& m);
  void close_key_sharing();
  bool is_peer(uint32_t u, uint32_t v) const;
  bool stage_complete() const;
  std::vector<proto::ServerToClient> advance();
  std::vector<proto::ServerToClient> abort(std::string reason);
  std::vector<proto::ServerToClient> unmask();
  proto::ServerToClient envelope(uint32_t index) const;
  void note_state();

  std::shared_ptr<const SessionConfig> config_;
  Options options_;
  std::unique_ptr<ThreadPool> own_pool_;  // only for Options::threads > 1 without an executor
  std::unique_ptr<ParallelExecutor> own_executor_;
  ParallelExecutor* executor_ = nullptr;  // never null after construction
  Stage stage_ = Stage::kAdvertiseKeys;
  bool unmasking_ready_ = false;
  std::string abort_reason_;
  std::vector<ClientRecord> clients_;
  std::set<crypto::Key32> advertised_keys_;     // every key of U1, to refuse copies
  std::vector<std::vector<Routed>> inbox_;      // round-1 ciphertexts by recipient
  std::vector<std::vector<uint32_t>> sent_to_;  // round 1: recipients of each sender
  // From the close of round 1: each U2 client's peers in U2 (mutual edges),
  // sorted. Masks, routed shares and unmasking requests follow these edges.
  std::vector<std::vector<uint32_t>> peers_;
  size_t inbox_bytes_ = 0;
  std::vector<uint64_t> sum_;
  // Revealed shares by owner: of b for owners in U3, of s for owners in U2 \ U3.
  std::vector<std::vector<crypto::ShamirShare>> revealed_;
  size_t revealed_count_ = 0;
  // on_unmasking's duplicate check: owner i was seen in this message when
  // share_marks_[i] == share_mark_ (one increment per message, no clearing).
  std::vector<uint32_t> share_marks_;
  uint32_t share_mark_ = 0;
  // Pairwise seeds revealed at unmasking, by dropped owner u: (survivor v, s_uv)
  // in arrival order. Wiped with the session (Secret32).
  std::vector<std::vector<std::pair<uint32_t, crypto::Secret32>>> pair_seeds_;
  size_t pair_seed_count_ = 0;
  UnmaskingStats stats_;
  size_t peak_state_bytes_ = 0;
};

std::string stage_name(SecAggServer::Stage stage);

}  // namespace fl::aggregation::secagg
