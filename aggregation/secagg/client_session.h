// The client side of secure aggregation, as a sans-I/O state machine.
//
// One session per client per round. It is fed the server's messages and
// returns the messages to send; it owns no socket, thread or clock. Stages
// (DESIGN.md section 3; Bonawitz et al. CCS 2017, figure 4):
//
//   kIdle --start()--> kAdvertised --ShareKeysRequest--> kSharedKeys
//        --MaskedInputRequest--> kMaskedInputSent --UnmaskingRequest--> kCompleted
//   any stage --ServerAbort or a protocol violation--> kAborted
//
// Errors come in three kinds. A message that is malformed or not meant for this
// session now (wrong version, session, recipient or stage; an unknown or
// duplicated peer; a bad identity signature) is rejected with a Status and
// leaves the session exactly as it was. Bad data from ONE peer inside a good
// server message (a low-order key in the broadcast, a share ciphertext that
// does not decrypt, parse or name the right owner) is treated as that peer
// dropping: the peer is excluded (bad key) or its shares are simply not held
// (bad ciphertext); the .cc explains why each keeps the sum and privacy. A well-formed request that
// would break the protocol's guarantees (too few peers to stay private, a peer
// named both survivor and dropout, a second unmasking request) aborts the
// session: an honest client then never reveals anything more.
//
// The security invariant this class enforces: for each peer it reveals at most
// one of the share of the peer's self-mask seed b and the share of the peer's
// mask secret key s, never both, whatever the server asks.
//
// Thread-safety: not thread-safe; one session is driven by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregation/secagg/session_config.h"
#include "base/status.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"
#include "crypto/shamir.h"
#include "crypto/x25519.h"
#include "proto/secagg.pb.h"

namespace fl::aggregation::secagg {

class SecAggClient {
 public:
  enum class Stage { kIdle, kAdvertised, kSharedKeys, kMaskedInputSent, kCompleted, kAborted };

  // `rng` must outlive the session. `identity` signs the key advertisement;
  // required when the configuration carries identity keys.
  static Result<std::unique_ptr<SecAggClient>> create(
      const proto::SecAggConfig& config, uint64_t self_id, crypto::Rng& rng,
      std::optional<crypto::Ed25519KeyPair> identity = std::nullopt);
  // The same with a validated configuration shared by many sessions (the
  // simulator's cohort in one process: one graph, not one per client).
  static Result<std::unique_ptr<SecAggClient>> create(
      std::shared_ptr<const SessionConfig> config, uint64_t self_id, crypto::Rng& rng,
      std::optional<crypto::Ed25519KeyPair> identity = std::nullopt);
  ~SecAggClient();

  // Round 0: generates both key pairs and advertises their public halves.
  Result<proto::ClientToServer> start();

  // The quantised update, `dimension` ring elements. May be given at any time
  // before the masked-input request arrives; it is wiped once masked.
  Status set_input(std::vector<uint64_t> input);

  // Handles one server message. Returns the reply to send, or nullopt when the
  // message needs none (a server abort).
  Result<std::optional<proto::ClientToServer>> handle(const proto::ServerToClient& message);

  // This client leaves the round (its training failed, or the app cancelled):
  // wipes its secrets and returns the ClientAbort that tells the server to
  // count it as a dropout now instead of at the stage deadline. Valid at any
  // stage; the server then needs nothing more from this client (a masked
  // input it already sent is unmasked with the others' shares, as for any
  // client that drops before unmasking).
  proto::ClientToServer leave(std::string reason);

  Stage stage() const { return stage_; }
  const std::string& abort_reason() const { return abort_reason_; }
  uint64_t id() const { return self_id_; }

 private:
  struct Peer {
    uint64_t id = 0;
    uint32_t index = 0;
    crypto::Key32 encryption_pk{};
    crypto::Key32 mask_pk{};
    crypto::Secret32 share_key;           // AEAD key for shares exchanged with this peer
    crypto::Secret32 mask_seed;           // seed of the pairwise mask with this peer
    bool in_u2 = false;                   // the server routed its shares to us: we mask with it
    bool holds_shares = false;            // and they decrypted and parsed: we hold them
    crypto::ShamirShare self_mask_share;  // its b, held by us (valid when holds_shares)
    crypto::ShamirShare mask_key_share;   // its s, held by us (valid when holds_shares)
    enum class Revealed { kNothing, kSelfMask, kMaskKey } revealed = Revealed::kNothing;
  };

  SecAggClient(std::shared_ptr<const SessionConfig> config, uint64_t self_id, uint32_t self_index,
               crypto::Rng& rng, std::optional<crypto::Ed25519KeyPair> identity);

  Status check_envelope(const proto::ServerToClient& m) const;
  Result<proto::ClientToServer> on_share_keys(const proto::ShareKeysRequest& request);
  Result<proto::ClientToServer> on_masked_input(const proto::MaskedInputRequest& request);
  Result<proto::ClientToServer> on_unmasking(const proto::UnmaskingRequest& request);
  Status abort(std::string reason);
  proto::ClientToServer envelope() const;
  void wipe_secrets();

  std::shared_ptr<const SessionConfig> config_;
  uint64_t self_id_;
  uint32_t self_index_;
  crypto::Rng& rng_;
  std::optional<crypto::Ed25519KeyPair> identity_;
  Stage stage_ = Stage::kIdle;
  std::string abort_reason_;

  crypto::X25519KeyPair encryption_keys_;
  crypto::X25519KeyPair mask_keys_;
  crypto::Secret32 self_mask_seed_;          // b
  crypto::ShamirShare own_self_mask_share_;  // our share of our own b
  std::map<uint64_t, Peer> peers_;           // neighbours that advertised keys (U1)
  std::vector<uint64_t> input_;
  bool has_input_ = false;
};

std::string stage_name(SecAggClient::Stage stage);

}  // namespace fl::aggregation::secagg
