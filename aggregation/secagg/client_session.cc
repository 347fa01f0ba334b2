#include "aggregation/secagg/client_session.h"

#include <set>

#include "aggregation/secagg/ring_codec.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/mask_prg.h"

namespace fl::aggregation::secagg {
namespace {

void wipe_string(std::string& s) {
  if (!s.empty()) crypto::wipe(s.data(), s.size());
  s.clear();
}

std::string share_string(const crypto::ShamirShare& share) {
  crypto::Bytes b = share.serialize();
  std::string s(b.begin(), b.end());
  crypto::wipe(b.data(), b.size());
  return s;
}

}  // namespace

std::string stage_name(SecAggClient::Stage stage) {
  switch (stage) {
    case SecAggClient::Stage::kIdle:
      return "idle";
    case SecAggClient::Stage::kAdvertised:
      return "advertised keys";
    case SecAggClient::Stage::kSharedKeys:
      return "shared keys";
    case SecAggClient::Stage::kMaskedInputSent:
      return "sent masked input";
    case SecAggClient::Stage::kCompleted:
      return "completed";
    case SecAggClient::Stage::kAborted:
      return "aborted";
  }
  return "unknown";
}

Result<std::unique_ptr<SecAggClient>> SecAggClient::create(
    const proto::SecAggConfig& config, uint64_t self_id, crypto::Rng& rng,
    std::optional<crypto::Ed25519KeyPair> identity) {
  auto cfg = SessionConfig::create(config);
  if (!cfg.ok()) return cfg.status();
  return create(std::move(*cfg), self_id, rng, std::move(identity));
}

Result<std::unique_ptr<SecAggClient>> SecAggClient::create(
    std::shared_ptr<const SessionConfig> cfg, uint64_t self_id, crypto::Rng& rng,
    std::optional<crypto::Ed25519KeyPair> identity) {
  if (!cfg) return InvalidArgument("no session configuration");
  auto index = cfg->index_of(self_id);
  if (!index) return InvalidArgument("client " + std::to_string(self_id) + " is not in the cohort");
  if (cfg->has_identities()) {
    if (!identity)
      return InvalidArgument("the session requires signed key advertisements: give an identity");
    if (identity->public_key != cfg->identity_key(*index))
      return InvalidArgument("identity key does not match the cohort's record for this client");
  }
  return std::unique_ptr<SecAggClient>(
      new SecAggClient(std::move(cfg), self_id, *index, rng, std::move(identity)));
}

SecAggClient::SecAggClient(std::shared_ptr<const SessionConfig> config, uint64_t self_id,
                           uint32_t self_index, crypto::Rng& rng,
                           std::optional<crypto::Ed25519KeyPair> identity)
    : config_(std::move(config)),
      self_id_(self_id),
      self_index_(self_index),
      rng_(rng),
      identity_(std::move(identity)) {}

SecAggClient::~SecAggClient() { wipe_secrets(); }

void SecAggClient::wipe_secrets() {
  encryption_keys_.secret_key = crypto::Secret32();
  mask_keys_.secret_key = crypto::Secret32();
  self_mask_seed_ = crypto::Secret32();
  own_self_mask_share_.wipe();
  for (auto& [id, peer] : peers_) {
    peer.self_mask_share.wipe();
    peer.mask_key_share.wipe();
    peer.share_key = crypto::Secret32();
    peer.mask_seed = crypto::Secret32();
  }
  if (!input_.empty()) crypto::wipe(input_.data(), input_.size() * sizeof(uint64_t));
  input_.clear();
  has_input_ = false;
}

Status SecAggClient::abort(std::string reason) {
  stage_ = Stage::kAborted;
  abort_reason_ = reason;
  wipe_secrets();
  return Aborted(std::move(reason));
}

proto::ClientToServer SecAggClient::leave(std::string reason) {
  proto::ClientToServer m = envelope();
  m.mutable_abort()->set_reason(reason);
  abort(std::move(reason)).ok();
  return m;
}

proto::ClientToServer SecAggClient::envelope() const {
  proto::ClientToServer m;
  m.set_protocol_version(config_->protocol_version());
  m.set_session_id(config_->proto().session_id());
  m.set_sender(self_id_);
  return m;
}

Result<proto::ClientToServer> SecAggClient::start() {
  if (stage_ != Stage::kIdle)
    return FailedPrecondition("session already started (stage: " + stage_name(stage_) + ")");
  encryption_keys_ = crypto::x25519_keypair(rng_);
  mask_keys_ = crypto::x25519_keypair(rng_);
  proto::ClientToServer m = envelope();
  auto* adv = m.mutable_advertise_keys();
  adv->set_encryption_public_key(key_string(encryption_keys_.public_key));
  adv->set_mask_public_key(key_string(mask_keys_.public_key));
  if (identity_) {
    const auto msg =
        config_->advertise_message(self_id_, adv->encryption_public_key(), adv->mask_public_key());
    const auto sig = crypto::ed25519_sign(*identity_, msg);
    adv->set_signature(std::string(sig.begin(), sig.end()));
  }
  stage_ = Stage::kAdvertised;
  return m;
}

Status SecAggClient::set_input(std::vector<uint64_t> input) {
  if (stage_ == Stage::kMaskedInputSent || stage_ == Stage::kCompleted || stage_ == Stage::kAborted)
    return FailedPrecondition("input can no longer be set (stage: " + stage_name(stage_) + ")");
  if (input.size() != config_->dimension())
    return InvalidArgument("input has " + std::to_string(input.size()) + " elements, the session " +
                           std::to_string(config_->dimension()));
  const uint64_t mask = crypto::ring_mask(config_->ring());
  for (uint64_t v : input)
    if ((v & ~mask) != 0) return InvalidArgument("input element outside the ring");
  if (!input_.empty()) crypto::wipe(input_.data(), input_.size() * sizeof(uint64_t));
  input_ = std::move(input);
  has_input_ = true;
  return Status::Ok();
}

Status SecAggClient::check_envelope(const proto::ServerToClient& m) const {
  if (m.protocol_version() != config_->protocol_version())
    return InvalidArgument("protocol version " + std::to_string(m.protocol_version()) +
                           " is not this session's (" +
                           std::to_string(config_->protocol_version()) + ")");
  if (m.session_id() != config_->proto().session_id())
    return InvalidArgument("message belongs to another session");
  if (m.recipient() != self_id_)
    return InvalidArgument("message is addressed to client " + std::to_string(m.recipient()) +
                           ", not " + std::to_string(self_id_));
  return Status::Ok();
}

Result<std::optional<proto::ClientToServer>> SecAggClient::handle(
    const proto::ServerToClient& message) {
  FL_RETURN_IF_ERROR(check_envelope(message));
  if (stage_ == Stage::kAborted) return FailedPrecondition("session was aborted: " + abort_reason_);
  auto wrap = [](Result<proto::ClientToServer> r) -> Result<std::optional<proto::ClientToServer>> {
    if (!r.ok()) return r.status();
    return std::optional<proto::ClientToServer>(std::move(*r));
  };
  auto wrong_stage = [&](const char* what) {
    return FailedPrecondition(std::string(what) +
                              " is not expected now (stage: " + stage_name(stage_) + ")");
  };
  switch (message.body_case()) {
    case proto::ServerToClient::kAbort:
      abort("server aborted the round: " + message.abort().reason()).ok();
      return std::optional<proto::ClientToServer>();
    case proto::ServerToClient::kShareKeys:
      if (stage_ != Stage::kAdvertised) return wrong_stage("the share-keys request");
      return wrap(on_share_keys(message.share_keys()));
    case proto::ServerToClient::kMaskedInput:
      if (stage_ != Stage::kSharedKeys) return wrong_stage("the masked-input request");
      return wrap(on_masked_input(message.masked_input()));
    case proto::ServerToClient::kUnmasking:
      if (stage_ == Stage::kCompleted)
        return abort("server asked to unmask a second time; an honest client answers once");
      if (stage_ != Stage::kMaskedInputSent) return wrong_stage("the unmasking request");
      return wrap(on_unmasking(message.unmasking()));
    case proto::ServerToClient::BODY_NOT_SET:
      break;
  }
  return InvalidArgument("server message has no body");
}

Result<proto::ClientToServer> SecAggClient::on_share_keys(const proto::ShareKeysRequest& request) {
  // Validate everything before changing anything.
  std::map<uint64_t, Peer> peers;
  std::set<uint64_t> listed;
  for (const auto& pk : request.peers()) {
    if (!listed.insert(pk.client()).second)
      return InvalidArgument("peer " + std::to_string(pk.client()) + " listed twice");
    auto index = config_->index_of(pk.client());
    if (!index) return NotFound("peer " + std::to_string(pk.client()) + " is not in the cohort");
    if (*index == self_index_) return InvalidArgument("own keys listed as a peer's");
    if (!config_->graph().adjacent(self_index_, *index))
      return InvalidArgument("client " + std::to_string(pk.client()) + " is not a neighbour");
    Peer peer;
    peer.id = pk.client();
    peer.index = *index;
    if (!to_key(pk.encryption_public_key(), peer.encryption_pk) ||
        !to_key(pk.mask_public_key(), peer.mask_pk))
      return InvalidArgument("peer " + std::to_string(pk.client()) + " has a key of wrong size");
    if (config_->has_identities()) {
      crypto::Sig64 sig;
      if (pk.signature().size() != sig.size())
        return PermissionDenied("peer " + std::to_string(pk.client()) + " keys are not signed");
      std::copy(pk.signature().begin(), pk.signature().end(), sig.begin());
      const auto msg =
          config_->advertise_message(pk.client(), pk.encryption_public_key(), pk.mask_public_key());
      if (!crypto::ed25519_verify(config_->identity_key(*index), msg, sig))
        return PermissionDenied("peer " + std::to_string(pk.client()) +
                                " keys carry a bad signature (substituted keys?)");
    }
    // A low-order or non-canonical key would make the agreement independent of
    // our secret: anyone could read the shares or predict the mask. The server
    // refuses such keys at advertise time, so only a server without that check
    // lets one through; it is one peer's fault, not a reason to end the round.
    // We exclude that peer: no shares to it, no mask with it, and by omitting
    // our ciphertext to it we tell the server, which then routes nothing
    // between us and never lists it to us again (mutual edges, server_session).
    // Our input stays masked by the remaining peers (checked against t below).
    if (!crypto::is_acceptable_x25519_public_key(peer.encryption_pk) ||
        !crypto::is_acceptable_x25519_public_key(peer.mask_pk))
      continue;
    peers.emplace(peer.id, peer);
  }
  // Two agreements per neighbour, all in one batch (eight at a time on CPUs
  // with AVX-512 IFMA: crypto/x25519.h).
  std::vector<crypto::X25519Job> jobs;
  jobs.reserve(2 * peers.size());
  for (const auto& [id, peer] : peers) {
    jobs.push_back({&encryption_keys_.secret_key, &peer.encryption_pk});
    jobs.push_back({&mask_keys_.secret_key, &peer.mask_pk});
  }
  const auto shared = crypto::x25519_agree_batch(jobs);
  size_t job = 0;
  for (auto it = peers.begin(); it != peers.end(); job += 2) {
    Peer& peer = it->second;
    if (!shared[job] || !shared[job + 1]) {  // unreachable after the key check above
      it = peers.erase(it);
      continue;
    }
    peer.share_key = crypto::derive_pair_key(*shared[job], config_->session_id(), self_id_, peer.id,
                                             kShareEncryptionPurpose);
    peer.mask_seed = crypto::derive_pair_key(*shared[job + 1], config_->session_id(), self_id_,
                                             peer.id, kPairwiseMaskPurpose);
    ++it;
  }
  const uint32_t t = config_->threshold();
  if (peers.size() + 1 < t)
    return abort("only " + std::to_string(peers.size()) + " neighbours advertised usable keys; " +
                 std::to_string(t) + " holders are needed to share secrets safely");

  // Draw b and share b and s among the neighbours and ourselves.
  rng_.fill(self_mask_seed_.mutable_bytes());
  std::vector<uint64_t> xs{SessionConfig::share_point(self_index_)};
  for (const auto& [id, peer] : peers) xs.push_back(SessionConfig::share_point(peer.index));
  auto b_shares = crypto::shamir_split(self_mask_seed_, t, xs, rng_);
  auto s_shares = crypto::shamir_split(mask_keys_.secret_key, t, xs, rng_);
  if (!b_shares.ok() || !s_shares.ok())
    return abort("secret sharing failed: " + b_shares.status().message() +
                 s_shares.status().message());
  own_self_mask_share_ = (*b_shares)[0];

  proto::ClientToServer out = envelope();
  auto* shares = out.mutable_encrypted_shares();
  size_t i = 1;
  for (auto& [id, peer] : peers) {
    proto::ShareBundle bundle;
    bundle.set_owner(self_id_);
    bundle.set_holder(id);
    bundle.set_self_mask_seed_share(share_string((*b_shares)[i]));
    bundle.set_mask_secret_key_share(share_string((*s_shares)[i]));
    std::string plain = bundle.SerializeAsString();
    wipe_string(*bundle.mutable_self_mask_seed_share());
    wipe_string(*bundle.mutable_mask_secret_key_share());
    const auto ad = crypto::aead_context(config_->session_id(), 1, self_id_, id);
    const auto sealed = crypto::aead_seal(
        peer.share_key,
        crypto::ByteSpan(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()), ad, rng_);
    wipe_string(plain);
    auto* s = shares->add_shares();
    s->set_recipient(id);
    s->set_ciphertext(std::string(sealed.begin(), sealed.end()));
    ++i;
  }
  for (auto& share : *b_shares) share.wipe();
  for (auto& share : *s_shares) share.wipe();
  peers_ = std::move(peers);
  stage_ = Stage::kSharedKeys;
  return out;
}

Result<proto::ClientToServer> SecAggClient::on_masked_input(
    const proto::MaskedInputRequest& request) {
  // The server routes the ciphertexts of exactly our peers in U2, and we mask
  // with exactly those peers, as the server assumes when it unmasks. A
  // ciphertext that does not decrypt, parse or name the right owner, holder and
  // point is the sender's fault (or a tamperer's) and leaves us without that
  // peer's shares: we still mask with it (keeping the masks consistent with the
  // server's view: dropping the mask would leave the peer's partner mask in the
  // sum with nothing to cancel it, and revealing anything extra to make up for
  // it would break privacy), and at unmasking we give no share for it. The
  // round then survives if t other holders answer for that peer; if none can,
  // the server aborts for want of shares and nothing is exposed. No secret of
  // ours depends on a peer's ciphertext, so this never reveals more.
  struct Received {
    bool usable = false;
    crypto::ShamirShare b, s;
  };
  std::map<uint64_t, Received> received;
  const uint64_t my_point = SessionConfig::share_point(self_index_);
  for (const auto& in : request.shares()) {
    auto it = peers_.find(in.sender());
    if (it == peers_.end())
      return NotFound("shares from client " + std::to_string(in.sender()) +
                      ", which is not a neighbour that advertised keys");
    if (received.count(in.sender()))
      return InvalidArgument("shares from client " + std::to_string(in.sender()) + " listed twice");
    Received& slot = received[in.sender()];
    if (in.ciphertext().size() > kMaxCiphertextBytes) continue;  // unusable
    const Peer& peer = it->second;
    const auto ad = crypto::aead_context(config_->session_id(), 1, peer.id, self_id_);
    auto plain =
        crypto::aead_open(peer.share_key,
                          crypto::ByteSpan(reinterpret_cast<const uint8_t*>(in.ciphertext().data()),
                                           in.ciphertext().size()),
                          ad);
    if (!plain.ok()) continue;  // unusable: tampered, truncated or for another sender
    proto::ShareBundle bundle;
    const bool parsed = bundle.ParseFromArray(plain->data(), static_cast<int>(plain->size()));
    crypto::wipe(plain->data(), plain->size());
    if (!parsed || bundle.owner() != peer.id || bundle.holder() != self_id_) {
      wipe_string(*bundle.mutable_self_mask_seed_share());
      wipe_string(*bundle.mutable_mask_secret_key_share());
      continue;  // unusable
    }
    auto b = crypto::ShamirShare::parse(
        crypto::ByteSpan(reinterpret_cast<const uint8_t*>(bundle.self_mask_seed_share().data()),
                         bundle.self_mask_seed_share().size()));
    auto s = crypto::ShamirShare::parse(
        crypto::ByteSpan(reinterpret_cast<const uint8_t*>(bundle.mask_secret_key_share().data()),
                         bundle.mask_secret_key_share().size()));
    wipe_string(*bundle.mutable_self_mask_seed_share());
    wipe_string(*bundle.mutable_mask_secret_key_share());
    if (!b.ok() || !s.ok() || b->x != my_point || s->x != my_point) {
      if (b.ok()) b->wipe();
      if (s.ok()) s->wipe();
      continue;  // unusable
    }
    slot = Received{true, *b, *s};
  }
  if (!has_input_)
    return FailedPrecondition("no input was set before the masked-input request arrived");
  if (received.size() + 1 < config_->threshold())
    return abort("only " + std::to_string(received.size()) +
                 " neighbours shared keys; masking with fewer than the threshold is unsafe");

  for (auto& [id, r] : received) {
    Peer& peer = peers_[id];
    peer.in_u2 = true;
    peer.holds_shares = r.usable;
    peer.self_mask_share = r.b;
    peer.mask_key_share = r.s;
    r.b.wipe();
    r.s.wipe();
  }
  // y = x + PRG(b) + sum over neighbours v in U2 of (+-) PRG(s_uv), + when u < v.
  std::vector<uint64_t> y = std::move(input_);
  input_.clear();
  has_input_ = false;
  // All masks in one call: prg_apply adds several per pass over y.
  std::vector<crypto::MaskTerm> masks{{&self_mask_seed_, false}};
  masks.reserve(peers_.size() + 1);
  for (const auto& [id, peer] : peers_)
    if (peer.in_u2) masks.push_back({&peer.mask_seed, id < self_id_});
  crypto::prg_apply(config_->prg(), config_->ring(), masks, y);
  proto::ClientToServer out = envelope();
  out.mutable_masked_input()->set_vector(encode_ring_vector(y, config_->ring()));
  crypto::wipe(y.data(), y.size() * sizeof(uint64_t));
  stage_ = Stage::kMaskedInputSent;
  return out;
}

Result<proto::ClientToServer> SecAggClient::on_unmasking(const proto::UnmaskingRequest& request) {
  std::set<uint64_t> survivors, dropped;
  auto check = [&](uint64_t id, std::set<uint64_t>& into) -> Status {
    auto it = peers_.find(id);
    if (it == peers_.end() || !it->second.in_u2)
      return NotFound("client " + std::to_string(id) +
                      " is not a peer this client masked with; it cannot be unmasked here");
    if (!into.insert(id).second)
      return InvalidArgument("client " + std::to_string(id) + " listed twice");
    return Status::Ok();
  };
  for (uint64_t id : request.survivors()) FL_RETURN_IF_ERROR(check(id, survivors));
  for (uint64_t id : request.dropped()) FL_RETURN_IF_ERROR(check(id, dropped));

  // The two checks that keep individual inputs private (Bonawitz et al. 4.2).
  for (uint64_t id : survivors)
    if (dropped.count(id))
      return abort("server asked for both the self-mask share and the mask-key share of client " +
                   std::to_string(id) + "; refusing");
  if (survivors.size() + 1 < config_->threshold())
    return abort("only " + std::to_string(survivors.size() + 1) +
                 " neighbours survived; unmasking a sum of fewer than the threshold would "
                 "expose individual inputs");
  for (uint64_t id : survivors)
    if (peers_[id].revealed == Peer::Revealed::kMaskKey)
      return abort("mask-key share of client " + std::to_string(id) + " was already revealed");
  for (uint64_t id : dropped)
    if (peers_[id].revealed == Peer::Revealed::kSelfMask)
      return abort("self-mask share of client " + std::to_string(id) + " was already revealed");

  proto::ClientToServer out = envelope();
  auto* shares = out.mutable_unmasking_shares();
  auto add = [&](uint64_t owner, proto::RevealedShare::Kind kind,
                 const crypto::ShamirShare& share) {
    auto* r = shares->add_shares();
    r->set_owner(owner);
    r->set_kind(kind);
    r->set_share(share_string(share));
  };
  add(self_id_, proto::RevealedShare::SELF_MASK_SEED, own_self_mask_share_);
  // A peer whose ciphertext was unusable gets no share from us (we hold none).
  for (uint64_t id : survivors) {
    if (peers_[id].holds_shares)
      add(id, proto::RevealedShare::SELF_MASK_SEED, peers_[id].self_mask_share);
    peers_[id].revealed = Peer::Revealed::kSelfMask;
  }
  for (uint64_t id : dropped) {
    if (peers_[id].holds_shares)
      add(id, proto::RevealedShare::MASK_SECRET_KEY, peers_[id].mask_key_share);
    peers_[id].revealed = Peer::Revealed::kMaskKey;
    // With reveal_pair_seeds, the pairwise seed we masked with for this
    // dropped peer, which the server would otherwise re-derive with one X25519
    // agreement from s_u (proto/secagg.proto, RevealedPairSeed; the session's
    // configuration says what that trusts). Sent even when we hold no share.
    if (!config_->proto().reveal_pair_seeds()) continue;
    auto* seed = shares->add_pair_seeds();
    seed->set_peer(id);
    seed->set_seed(std::string(reinterpret_cast<const char*>(peers_[id].mask_seed.data()),
                               crypto::Secret32::size()));
  }
  stage_ = Stage::kCompleted;
  wipe_secrets();
  return out;
}

}  // namespace fl::aggregation::secagg
