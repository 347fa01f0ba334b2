#include "aggregation/secagg/server_session.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "aggregation/parallel.h"
#include "aggregation/secagg/ring_codec.h"
#include "crypto/aead.h"
#include "crypto/ed25519.h"
#include "crypto/kdf.h"
#include "crypto/mask_prg.h"
#include "crypto/x25519.h"

namespace fl::aggregation::secagg {
namespace {

// Most coordinates per unmasking block: 25,008 x 8 bytes = 195 KiB of running
// sum, which stays in L2 while every mask is applied to it. Every block
// re-keys every mask, so blocks are as large as L2 allows (8,192 cost 5% more
// CPU at 500 x 10^5); the range is cut into equal blocks, each a multiple of 16
// elements so it starts on a cipher block boundary for both ring widths.
constexpr size_t kUnmaskBlock = 25008;

}  // namespace

std::string stage_name(SecAggServer::Stage stage) {
  switch (stage) {
    case SecAggServer::Stage::kAdvertiseKeys:
      return "advertise keys (round 0)";
    case SecAggServer::Stage::kShareKeys:
      return "share keys (round 1)";
    case SecAggServer::Stage::kMaskedInput:
      return "masked input (round 2)";
    case SecAggServer::Stage::kUnmasking:
      return "unmasking (round 3)";
    case SecAggServer::Stage::kCompleted:
      return "completed";
    case SecAggServer::Stage::kAborted:
      return "aborted";
  }
  return "unknown";
}

Result<std::unique_ptr<SecAggServer>> SecAggServer::create(const proto::SecAggConfig& config,
                                                           Options options) {
  auto cfg = SessionConfig::create(config);
  if (!cfg.ok()) return cfg.status();
  if (options.threads == 0) options.threads = 1;
  return std::unique_ptr<SecAggServer>(new SecAggServer(std::move(*cfg), options));
}

SecAggServer::SecAggServer(std::shared_ptr<const SessionConfig> config, Options options)
    : config_(std::move(config)), options_(options) {
  if (options_.executor) {
    executor_ = options_.executor;
  } else if (options_.threads > 1) {
    own_pool_ = std::make_unique<ThreadPool>(options_.threads - 1);
    own_executor_ = std::make_unique<ThreadPoolExecutor>(*own_pool_);
    executor_ = own_executor_.get();
  } else {
    own_executor_ = std::make_unique<InlineExecutor>();
    executor_ = own_executor_.get();
  }
  clients_.resize(config_->cohort_size());
  note_state();
}

SecAggServer::Counts SecAggServer::counts() const {
  Counts c;
  c.cohort = config_->cohort_size();
  for (const auto& r : clients_) {
    c.advertised += r.advertised;
    c.shared_keys += r.shared;
    c.masked_input += r.masked;
    c.unmasked += r.unmasked;
  }
  return c;
}

std::vector<uint64_t> SecAggServer::included_clients() const {
  std::vector<uint64_t> ids;
  for (uint32_t i = 0; i < clients_.size(); ++i)
    if (clients_[i].masked) ids.push_back(config_->client_id(i));
  return ids;
}

size_t SecAggServer::state_bytes() const {
  size_t bytes = sizeof(*this) + clients_.capacity() * sizeof(ClientRecord);
  for (const auto& r : clients_) bytes += r.signature.capacity();
  bytes += inbox_.capacity() * sizeof(inbox_[0]) + inbox_bytes_;
  bytes += sum_.capacity() * sizeof(uint64_t);
  bytes += advertised_keys_.size() * (sizeof(crypto::Key32) + 4 * sizeof(void*));
  for (const auto& list : sent_to_) bytes += sizeof(list) + list.capacity() * sizeof(uint32_t);
  for (const auto& list : peers_) bytes += sizeof(list) + list.capacity() * sizeof(uint32_t);
  bytes +=
      revealed_.capacity() * sizeof(revealed_[0]) + revealed_count_ * sizeof(crypto::ShamirShare);
  bytes += share_marks_.capacity() * sizeof(uint32_t);
  bytes += pair_seeds_.capacity() * sizeof(pair_seeds_[0]) +
           pair_seed_count_ * sizeof(std::pair<uint32_t, crypto::Secret32>);
  return bytes;
}

void SecAggServer::note_state() { peak_state_bytes_ = std::max(peak_state_bytes_, state_bytes()); }

proto::ServerToClient SecAggServer::envelope(uint32_t index) const {
  proto::ServerToClient m;
  m.set_protocol_version(config_->protocol_version());
  m.set_session_id(config_->proto().session_id());
  m.set_recipient(config_->client_id(index));
  return m;
}

Status SecAggServer::check_envelope(uint64_t sender, const proto::ClientToServer& m,
                                    uint32_t& index) const {
  if (m.protocol_version() != config_->protocol_version())
    return InvalidArgument("protocol version " + std::to_string(m.protocol_version()) +
                           " is not this session's (" +
                           std::to_string(config_->protocol_version()) + ")");
  if (m.session_id() != config_->proto().session_id())
    return InvalidArgument("message belongs to another session");
  if (m.sender() != sender)
    return PermissionDenied("message claims sender " + std::to_string(m.sender()) +
                            " but was sent by " + std::to_string(sender));
  auto i = config_->index_of(sender);
  if (!i) return NotFound("client " + std::to_string(sender) + " is not in this cohort");
  index = *i;
  return Status::Ok();
}

Result<std::vector<proto::ServerToClient>> SecAggServer::handle(
    uint64_t sender, const proto::ClientToServer& message, std::string_view masked_vector) {
  uint32_t index = 0;
  FL_RETURN_IF_ERROR(check_envelope(sender, message, index));
  if (!masked_vector.empty() && (message.body_case() != proto::ClientToServer::kMaskedInput ||
                                 !message.masked_input().vector().empty()))
    return InvalidArgument(
        "a masked vector was given with a message that is not an empty masked input");
  if (stage_ == Stage::kCompleted || stage_ == Stage::kAborted)
    return FailedPrecondition("session is " + stage_name(stage_));
  if (unmasking_ready_) return FailedPrecondition("the unmasking stage has closed");
  ClientRecord& me = clients_[index];
  if (me.gone)
    return FailedPrecondition("client " + std::to_string(sender) + " has left the round");

  // Which stage the message belongs to, to tell "too late" from "too early".
  Stage expected;
  switch (message.body_case()) {
    case proto::ClientToServer::kAdvertiseKeys:
      expected = Stage::kAdvertiseKeys;
      break;
    case proto::ClientToServer::kEncryptedShares:
      expected = Stage::kShareKeys;
      break;
    case proto::ClientToServer::kMaskedInput:
      expected = Stage::kMaskedInput;
      break;
    case proto::ClientToServer::kUnmaskingShares:
      expected = Stage::kUnmasking;
      break;
    case proto::ClientToServer::kAbort:
      me.gone = true;
      if (stage_complete()) return advance();
      return std::vector<proto::ServerToClient>{};
    default:
      return InvalidArgument("client message has no body");
  }
  if (expected != stage_)
    return FailedPrecondition("a " + stage_name(expected) + " message arrived during " +
                              stage_name(stage_) +
                              (expected < stage_ ? ": that stage has closed" : ": too early"));
  Status s;
  switch (expected) {
    case Stage::kAdvertiseKeys:
      s = on_advertise(index, message.advertise_keys());
      break;
    case Stage::kShareKeys:
      s = on_shares(index, message.encrypted_shares());
      break;
    case Stage::kMaskedInput:
      s = on_masked_input(index, masked_vector.empty()
                                     ? std::string_view(message.masked_input().vector())
                                     : masked_vector);
      break;
    case Stage::kUnmasking:
      s = on_unmasking(index, message.unmasking_shares());
      break;
    default:
      break;
  }
  if (!s.ok()) return s;
  note_state();
  if (stage_complete()) return advance();
  return std::vector<proto::ServerToClient>{};
}

Status SecAggServer::on_advertise(uint32_t index, const proto::AdvertiseKeys& m) {
  ClientRecord& me = clients_[index];
  if (me.advertised) return AlreadyExists("keys already advertised by this client");
  crypto::Key32 enc, mask;
  if (!to_key(m.encryption_public_key(), enc) || !to_key(m.mask_public_key(), mask))
    return InvalidArgument("advertised public keys must be 32 bytes");
  // Refused here, before the broadcast: a low-order key makes every agreement
  // with it predictable, and once broadcast it would cost every neighbour the
  // edge to this client (client_session.cc); refusing it leaves the client
  // un-advertised, so it is dropped when the stage closes like any silent one.
  if (!crypto::is_acceptable_x25519_public_key(enc) ||
      !crypto::is_acceptable_x25519_public_key(mask))
    return InvalidArgument(
        "advertised public key is a low-order point or not canonically encoded; refused");
  // Keys are canonical (checked above), so equal points are equal bytes. An
  // honest client draws fresh independent pairs: a repeated key is a copy.
  if (enc == mask) return InvalidArgument("encryption and mask public keys must differ");
  if (advertised_keys_.count(enc) || advertised_keys_.count(mask))
    return InvalidArgument("a public key advertised was already advertised in this round");
  if (config_->has_identities()) {
    crypto::Sig64 sig;
    if (m.signature().size() != sig.size())
      return PermissionDenied("key advertisement is not signed");
    std::copy(m.signature().begin(), m.signature().end(), sig.begin());
    const auto msg = config_->advertise_message(config_->client_id(index),
                                                m.encryption_public_key(), m.mask_public_key());
    if (!crypto::ed25519_verify(config_->identity_key(index), msg, sig))
      return PermissionDenied("key advertisement signature does not verify");
  }
  advertised_keys_.insert(enc);
  advertised_keys_.insert(mask);
  me.advertised = true;
  me.encryption_pk = enc;
  me.mask_pk = mask;
  me.signature = m.signature();
  return Status::Ok();
}

Status SecAggServer::on_shares(uint32_t index, const proto::EncryptedShares& m) {
  ClientRecord& me = clients_[index];
  if (!me.advertised) return PermissionDenied("client did not advertise keys in round 0");
  if (me.shared) return AlreadyExists("shares already received from this client");
  // An honest client sends one ciphertext to each neighbour in U1 whose keys it
  // accepted; it omits a neighbour whose broadcast key it refused, and the
  // omission cuts that edge for both ends (see close_key_sharing()).
  std::vector<uint32_t> expected;
  for (uint32_t v : config_->graph().neighbours(index))
    if (clients_[v].advertised) expected.push_back(v);
  std::sort(expected.begin(), expected.end());
  std::vector<uint32_t> got;
  got.reserve(m.shares_size());
  for (const auto& s : m.shares()) {
    auto r = config_->index_of(s.recipient());
    if (!r) return NotFound("share addressed to unknown client " + std::to_string(s.recipient()));
    if (s.ciphertext().size() < crypto::kAeadOverhead ||
        s.ciphertext().size() > kMaxCiphertextBytes)
      return InvalidArgument("ciphertext for client " + std::to_string(s.recipient()) + " has " +
                             std::to_string(s.ciphertext().size()) + " bytes");
    got.push_back(*r);
  }
  std::sort(got.begin(), got.end());
  if (std::adjacent_find(got.begin(), got.end()) != got.end())
    return InvalidArgument("two ciphertexts for the same recipient");
  if (!std::includes(expected.begin(), expected.end(), got.begin(), got.end()))
    return InvalidArgument("shares may go only to the " + std::to_string(expected.size()) +
                           " neighbours that advertised keys");
  if (inbox_.empty()) inbox_.resize(config_->cohort_size());
  if (sent_to_.empty()) sent_to_.resize(config_->cohort_size());
  for (const auto& s : m.shares()) {
    const uint32_t r = *config_->index_of(s.recipient());
    inbox_[r].push_back(Routed{index, s.ciphertext()});
    sent_to_[index].push_back(r);
    inbox_bytes_ += sizeof(Routed) + s.ciphertext().size();
  }
  me.shared = true;
  return Status::Ok();
}

Status SecAggServer::on_masked_input(uint32_t index, std::string_view vector) {
  ClientRecord& me = clients_[index];
  if (!me.shared) return PermissionDenied("client did not share keys in round 1");
  if (me.masked) return AlreadyExists("masked input already received from this client");
  if (vector.size() != config_->input_bytes())
    return InvalidArgument("masked input is " + std::to_string(vector.size()) +
                           " bytes; this session expects " + std::to_string(config_->dimension()) +
                           " elements of " +
                           std::to_string(crypto::ring_element_bytes(config_->ring())) + " bytes");
  if (sum_.empty()) sum_.assign(config_->dimension(), 0);
  FL_RETURN_IF_ERROR(add_ring_vector(vector, config_->ring(), sum_));
  me.masked = true;
  return Status::Ok();
}

Status SecAggServer::on_unmasking(uint32_t index, const proto::UnmaskingShares& m) {
  ClientRecord& me = clients_[index];
  if (!me.masked) return PermissionDenied("client sent no masked input in round 2");
  if (me.unmasked) return AlreadyExists("unmasking shares already received from this client");
  const uint64_t point = SessionConfig::share_point(index);
  // Checked in full before anything is kept. A message carries a share of
  // every peer (hundreds in a complete graph), and most owners already hold
  // t shares late in the stage, so duplicates are found with a marker per
  // owner instead of a sort, and only shares still needed are kept.
  if (++share_mark_ == 0) {  // wrapped: start the markers again
    std::fill(share_marks_.begin(), share_marks_.end(), 0);
    share_mark_ = 1;
  }
  // Shares still needed (their owner holds fewer than t), kept once the whole
  // message is checked; wiped whichever way this returns.
  const uint32_t t = config_->threshold();
  struct Staged {
    std::vector<std::pair<uint32_t, crypto::ShamirShare>> shares;
    ~Staged() {
      for (auto& entry : shares) entry.second.wipe();
    }
  } needed;
  for (const auto& r : m.shares()) {
    auto owner = config_->index_of(r.owner());
    if (!owner) return NotFound("share of unknown client " + std::to_string(r.owner()));
    if (*owner != index && !is_peer(index, *owner))
      return InvalidArgument("client " + std::to_string(r.owner()) +
                             " is not a peer this client exchanged shares with");
    const ClientRecord& o = clients_[*owner];
    if (!o.shared)
      return InvalidArgument("client " + std::to_string(r.owner()) + " shared no keys");
    const auto want =
        o.masked ? proto::RevealedShare::SELF_MASK_SEED : proto::RevealedShare::MASK_SECRET_KEY;
    if (r.kind() != want)
      return InvalidArgument("wrong kind of share for client " + std::to_string(r.owner()));
    auto share = crypto::ShamirShare::parse(
        crypto::ByteSpan(reinterpret_cast<const uint8_t*>(r.share().data()), r.share().size()));
    if (!share.ok()) return share.status();
    const bool mine = share->x == point;
    if (mine && (revealed_.empty() || revealed_[*owner].size() < t))
      needed.shares.emplace_back(*owner, *share);
    share->wipe();
    if (!mine) return InvalidArgument("a client can only reveal its own shares");
    if (share_marks_[*owner] == share_mark_)
      return InvalidArgument("two shares for the same client");
    share_marks_[*owner] = share_mark_;
  }
  // Pairwise seeds: only for peers of this client that dropped before the
  // masked input (those its unmasking request listed as dropped), one each.
  if (!m.pair_seeds().empty() && !config_->proto().reveal_pair_seeds())
    return InvalidArgument(
        "pairwise seeds: this session does not ask for them (reveal_pair_seeds is off)");
  std::vector<std::pair<uint32_t, const std::string*>> seeds;  // (peer, its seed)
  for (const auto& p : m.pair_seeds()) {
    auto peer = config_->index_of(p.peer());
    if (!peer) return NotFound("pairwise seed for unknown client " + std::to_string(p.peer()));
    if (!is_peer(index, *peer) || clients_[*peer].masked)
      return InvalidArgument("pairwise seed for client " + std::to_string(p.peer()) +
                             ", which is not a dropped peer of this client");
    if (p.seed().size() != crypto::Secret32::size())
      return InvalidArgument("pairwise seed for client " + std::to_string(p.peer()) + " is " +
                             std::to_string(p.seed().size()) + " bytes, not 32");
    seeds.emplace_back(*peer, &p.seed());
  }
  std::sort(seeds.begin(), seeds.end());
  if (std::adjacent_find(seeds.begin(), seeds.end(), [](const auto& a, const auto& b) {
        return a.first == b.first;
      }) != seeds.end())
    return InvalidArgument("two pairwise seeds for the same client");
  if (!seeds.empty() && pair_seeds_.empty()) pair_seeds_.resize(config_->cohort_size());
  for (const auto& [peer, bytes] : seeds) {
    crypto::Secret32 seed;
    std::memcpy(seed.data(), bytes->data(), crypto::Secret32::size());
    pair_seeds_[peer].emplace_back(index, seed);
    ++pair_seed_count_;
  }
  if (revealed_.empty()) revealed_.resize(config_->cohort_size());
  for (const auto& [owner, share] : needed.shares) {
    if (revealed_[owner].size() >= t) continue;  // t shares reconstruct; more add nothing
    revealed_[owner].push_back(share);
    ++revealed_count_;
  }
  me.unmasked = true;
  return Status::Ok();
}

bool SecAggServer::is_peer(uint32_t u, uint32_t v) const {
  return u < peers_.size() && std::binary_search(peers_[u].begin(), peers_[u].end(), v);
}

// Round 1 closes. The edges that carry shares and pairwise masks from now on
// are the mutual ones: u sent a ciphertext to v and v to u. An honest client
// omits a neighbour only when it refused that neighbour's key, and then neither
// masks with it nor expects its shares; routing only mutual edges gives both
// ends the same view, so every pairwise mask in the sum has a partner or a
// reconstructible key. A client left with fewer than t - 1 peers could never
// have its secrets reconstructed (and an honest one would refuse to mask), so
// it leaves U2 now, before any masked input depends on it; that can lower its
// peers' counts, hence the loop to a fixed point.
void SecAggServer::close_key_sharing() {
  const uint32_t n = config_->cohort_size();
  const uint32_t t = config_->threshold();
  if (sent_to_.empty()) sent_to_.resize(n);
  for (auto& list : sent_to_) std::sort(list.begin(), list.end());
  auto sent = [&](uint32_t from, uint32_t to) {
    return std::binary_search(sent_to_[from].begin(), sent_to_[from].end(), to);
  };
  peers_.assign(n, {});
  for (uint32_t u = 0; u < n; ++u) {
    if (!clients_[u].shared) continue;
    for (uint32_t v : sent_to_[u])
      if (clients_[v].shared && sent(v, u)) peers_[u].push_back(v);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t u = 0; u < n; ++u) {
      if (!clients_[u].shared || peers_[u].size() + 1 >= t) continue;
      clients_[u].shared = false;
      for (uint32_t v : peers_[u]) std::erase(peers_[v], u);
      peers_[u].clear();
      changed = true;
    }
  }
  sent_to_.clear();
  sent_to_.shrink_to_fit();
}

bool SecAggServer::stage_complete() const {
  for (const auto& r : clients_) {
    if (r.gone) continue;
    switch (stage_) {
      case Stage::kAdvertiseKeys:
        if (!r.advertised) return false;
        break;
      case Stage::kShareKeys:
        if (r.advertised && !r.shared) return false;
        break;
      case Stage::kMaskedInput:
        if (r.shared && !r.masked) return false;
        break;
      case Stage::kUnmasking:
        if (r.masked && !r.unmasked) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

std::vector<proto::ServerToClient> SecAggServer::close_stage() {
  if (stage_ == Stage::kCompleted || stage_ == Stage::kAborted || unmasking_ready_) return {};
  return advance();
}

std::vector<proto::ServerToClient> SecAggServer::abort(std::string reason) {
  std::vector<proto::ServerToClient> out;
  for (uint32_t i = 0; i < clients_.size(); ++i) {
    if (clients_[i].gone || !clients_[i].advertised) continue;
    auto m = envelope(i);
    m.mutable_abort()->set_reason(reason);
    out.push_back(std::move(m));
  }
  stage_ = Stage::kAborted;
  abort_reason_ = std::move(reason);
  inbox_.clear();
  inbox_bytes_ = 0;
  revealed_.clear();
  revealed_count_ = 0;
  pair_seeds_.clear();
  pair_seed_count_ = 0;
  share_marks_ = {};
  return out;
}

std::vector<proto::ServerToClient> SecAggServer::advance() {
  const uint32_t t = config_->threshold();
  const Counts c = counts();
  auto too_few = [&](uint32_t have, const char* what) {
    return abort("only " + std::to_string(have) + " clients " + what + "; the threshold is " +
                 std::to_string(t));
  };
  std::vector<proto::ServerToClient> out;
  switch (stage_) {
    case Stage::kAdvertiseKeys: {
      if (c.advertised < t) return too_few(c.advertised, "advertised keys");
      for (uint32_t u = 0; u < clients_.size(); ++u) {
        if (!clients_[u].advertised || clients_[u].gone) continue;
        auto m = envelope(u);
        auto* req = m.mutable_share_keys();
        for (uint32_t v : config_->graph().neighbours(u)) {
          const ClientRecord& p = clients_[v];
          if (!p.advertised) continue;
          auto* pk = req->add_peers();
          pk->set_client(config_->client_id(v));
          pk->set_encryption_public_key(key_string(p.encryption_pk));
          pk->set_mask_public_key(key_string(p.mask_pk));
          pk->set_signature(p.signature);
        }
        out.push_back(std::move(m));
      }
      stage_ = Stage::kShareKeys;
      break;
    }
    case Stage::kShareKeys: {
      close_key_sharing();
      const uint32_t shared = counts().shared_keys;
      if (shared < t) return too_few(shared, "shared keys with enough peers");
      for (uint32_t v = 0; v < clients_.size(); ++v) {
        if (!clients_[v].shared || clients_[v].gone) continue;
        auto m = envelope(v);
        auto* req = m.mutable_masked_input();
        if (!inbox_.empty())
          for (auto& routed : inbox_[v]) {
            if (!is_peer(v, routed.sender)) continue;
            auto* in = req->add_shares();
            in->set_sender(config_->client_id(routed.sender));
            in->set_ciphertext(std::move(routed.ciphertext));
          }
        out.push_back(std::move(m));
      }
      inbox_.clear();
      inbox_.shrink_to_fit();
      inbox_bytes_ = 0;
      stage_ = Stage::kMaskedInput;
      break;
    }
    case Stage::kMaskedInput: {
      if (c.masked_input < t) return too_few(c.masked_input, "sent masked inputs");
      for (uint32_t v = 0; v < clients_.size(); ++v) {
        if (!clients_[v].masked || clients_[v].gone) continue;
        auto m = envelope(v);
        auto* req = m.mutable_unmasking();
        for (uint32_t u : peers_[v]) {
          if (clients_[u].masked)
            req->add_survivors(config_->client_id(u));
          else
            req->add_dropped(config_->client_id(u));
        }
        out.push_back(std::move(m));
      }
      stage_ = Stage::kUnmasking;
      share_marks_.assign(clients_.size(), 0);  // on_unmasking's duplicate check
      share_mark_ = 0;
      break;
    }
    case Stage::kUnmasking: {
      if (c.unmasked < t) return too_few(c.unmasked, "sent unmasking shares");
      if (options_.defer_unmasking) {
        unmasking_ready_ = true;
        break;
      }
      out = unmask();
      break;
    }
    default:
      break;
  }
  note_state();
  return out;
}

std::vector<proto::ServerToClient> SecAggServer::finish_unmasking() {
  if (!unmasking_ready_) return {};
  unmasking_ready_ = false;
  auto out = unmask();
  note_state();
  return out;
}

std::vector<proto::ServerToClient> SecAggServer::unmask() {
  const uint32_t t = config_->threshold();
  const uint32_t n = config_->cohort_size();
  // Pairwise seeds revealed for each dropped client, sorted by the survivor.
  for (auto& list : pair_seeds_)
    std::sort(list.begin(), list.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  auto revealed_seed = [&](uint32_t u, uint32_t v) -> const crypto::Secret32* {
    if (pair_seeds_.empty()) return nullptr;
    const auto& list = pair_seeds_[u];
    auto it = std::lower_bound(list.begin(), list.end(), v,
                               [](const auto& e, uint32_t key) { return e.first < key; });
    return it != list.end() && it->first == v ? &it->second : nullptr;
  };
  // Every client in U3 has its b to open. A client u in U2 \ U3 has pairwise
  // masks to remove when some peer in U3 masked with it (else no mask of it is
  // in the sum, as for a client whose shares no peer could use); its s is
  // reconstructed only when one of those peers did not reveal the seed s_uv
  // (a peer that sent a masked input and then dropped, or an older client).
  struct Owner {
    uint32_t index;
    bool reconstruct;
  };
  std::vector<Owner> owners;
  for (uint32_t u = 0; u < n; ++u) {
    if (!clients_[u].shared) continue;
    bool needed = clients_[u].masked, reconstruct = clients_[u].masked;
    if (!clients_[u].masked)
      for (uint32_t v : peers_[u])
        if (clients_[v].masked) {
          needed = true;
          if (revealed_seed(u, v) == nullptr) reconstruct = true;
        }
    if (!needed) continue;
    if (reconstruct && (revealed_.empty() || revealed_[u].size() < t)) {
      return abort("cannot unmask client " + std::to_string(config_->client_id(u)) + ": only " +
                   std::to_string(revealed_.empty() ? 0 : revealed_[u].size()) + " of " +
                   std::to_string(t) + " shares arrived");
    }
    owners.push_back(Owner{u, reconstruct});
  }

  // Lagrange coefficients depend only on the holders' points: in a complete
  // graph most owners have the same t holders, so build each set once.
  std::vector<crypto::Secret32> secrets(owners.size());
  std::vector<std::string> failures(owners.size());
  std::map<std::vector<uint64_t>, std::shared_ptr<crypto::LagrangeCoefficients>> cache;
  std::mutex cache_mutex;
  executor_->parallel_for(owners.size(), [&](size_t i) {
    if (!owners[i].reconstruct) return;
    auto& shares = revealed_[owners[i].index];
    std::sort(shares.begin(), shares.end(),
              [](const crypto::ShamirShare& a, const crypto::ShamirShare& b) { return a.x < b.x; });
    std::vector<uint64_t> xs;
    for (const auto& s : shares) xs.push_back(s.x);
    std::shared_ptr<crypto::LagrangeCoefficients> coeffs;
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(xs);
      if (it != cache.end()) coeffs = it->second;
    }
    if (!coeffs) {
      auto built = crypto::LagrangeCoefficients::build(xs);
      if (!built.ok()) {
        failures[i] = built.status().message();
        return;
      }
      coeffs = std::make_shared<crypto::LagrangeCoefficients>(std::move(*built));
      std::lock_guard<std::mutex> lock(cache_mutex);
      cache.emplace(xs, coeffs);
    }
    auto secret = crypto::shamir_reconstruct(shares, *coeffs);
    if (!secret.ok()) {
      failures[i] = secret.status().message();
      return;
    }
    secrets[i] = *secret;
  });
  for (size_t i = 0; i < owners.size(); ++i)
    if (!failures[i].empty()) {
      return abort("cannot reconstruct the secret of client " +
                   std::to_string(config_->client_id(owners[i].index)) + ": " + failures[i]);
    }

  // Masks to remove: -PRG(b_u) for u in U3; for u in U2 \ U3 and each neighbour
  // v in U3, the pairwise mask v added for u: +PRG(s_uv) if v < u, so subtract
  // it. s_uv is the seed v revealed, else derived from the reconstructed s_u.
  struct Mask {
    crypto::Secret32 seed;
    bool subtract;
  };
  std::vector<std::vector<Mask>> per_owner(owners.size());
  std::vector<std::string> bad_key(owners.size());
  std::vector<uint64_t> agreements(owners.size(), 0), seeds_used(owners.size(), 0);
  executor_->parallel_for(owners.size(), [&](size_t i) {
    const uint32_t u = owners[i].index;
    const uint64_t uid = config_->client_id(u);
    if (clients_[u].masked) {
      per_owner[i].push_back(Mask{secrets[i], true});
      return;
    }
    // A reconstructed mask key must match the public key u advertised.
    if (owners[i].reconstruct && crypto::x25519_public_key(secrets[i]) != clients_[u].mask_pk) {
      bad_key[i] = "reconstructed mask key of client " + std::to_string(uid) +
                   " does not match its public key";
      return;
    }
    // Agreements for the neighbours that revealed no seed, all in one batch
    // (eight at a time on CPUs with AVX-512 IFMA: crypto/x25519.h).
    std::vector<crypto::X25519Job> jobs;
    std::vector<uint64_t> job_peer;
    for (uint32_t v : peers_[u]) {
      if (!clients_[v].masked) continue;
      const uint64_t vid = config_->client_id(v);
      if (const crypto::Secret32* seed = revealed_seed(u, v)) {
        per_owner[i].push_back(Mask{*seed, vid < uid});
        ++seeds_used[i];
        continue;
      }
      jobs.push_back({&secrets[i], &clients_[v].mask_pk});
      job_peer.push_back(vid);
    }
    const auto shared = crypto::x25519_agree_batch(jobs);
    agreements[i] = jobs.size();
    for (size_t j = 0; j < jobs.size(); ++j) {
      if (!shared[j]) {  // v's key passed the advertise-time check: cannot happen
        bad_key[i] = "agreement with the mask key of client " + std::to_string(job_peer[j]) +
                     " gave the all-zero point";
        return;
      }
      per_owner[i].push_back(Mask{crypto::derive_pair_key(*shared[j], config_->session_id(), uid,
                                                          job_peer[j], kPairwiseMaskPurpose),
                                  job_peer[j] < uid});
    }
  });
  for (size_t i = 0; i < owners.size(); ++i)
    if (!bad_key[i].empty()) {
      return abort(bad_key[i]);
    }
  stats_.secrets_reconstructed = 0;
  stats_.key_agreements = 0;
  stats_.pair_seeds_used = 0;
  for (size_t i = 0; i < owners.size(); ++i) {
    if (owners[i].reconstruct) ++stats_.secrets_reconstructed;
    stats_.key_agreements += agreements[i];
    stats_.pair_seeds_used += seeds_used[i];
  }
  std::vector<Mask> masks;
  for (auto& list : per_owner)
    for (auto& m : list) masks.push_back(std::move(m));
  per_owner.clear();
  for (const Owner& o : owners)
    if (clients_[o.index].masked) ++stats_.self_masks_removed;
  stats_.pairwise_masks_removed = masks.size() - stats_.self_masks_removed;
  stats_.mask_bytes_expanded = static_cast<uint64_t>(masks.size()) * config_->input_bytes();

  const size_t dim = sum_.size();
  const size_t blocks = (dim + kUnmaskBlock - 1) / kUnmaskBlock;
  const size_t block_size = ((dim + blocks - 1) / blocks + 15) / 16 * 16;
  const crypto::RingBits ring = config_->ring();
  std::vector<crypto::MaskTerm> terms;
  terms.reserve(masks.size());
  for (const Mask& m : masks) terms.push_back({&m.seed, m.subtract});
  executor_->parallel_for(blocks, [&](size_t b) {
    const size_t begin = b * block_size;
    if (begin >= dim) return;
    std::span<uint64_t> slice(sum_.data() + begin, std::min(block_size, dim - begin));
    // Several masks per pass over the slice (crypto/mask_prg.h): the slice is
    // loaded and stored once per group of masks, not once per mask.
    crypto::prg_apply(config_->prg(), ring, terms, slice, begin);
    const uint64_t mask = crypto::ring_mask(ring);
    for (auto& x : slice) x &= mask;
  });
  terms.clear();
  masks.clear();
  revealed_.clear();
  revealed_count_ = 0;
  pair_seeds_.clear();
  pair_seed_count_ = 0;
  share_marks_ = {};
  stage_ = Stage::kCompleted;
  return {};
}

}  // namespace fl::aggregation::secagg
