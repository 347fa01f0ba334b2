#include "aggregation/secagg/session_config.h"

#include <algorithm>

namespace fl::aggregation::secagg {

namespace {

std::optional<crypto::MaskPrg> mask_prg_of(int value) {
  switch (value) {
    case proto::MASK_PRG_CHACHA20:
      return crypto::MaskPrg::kChaCha20;
    case proto::MASK_PRG_AES256_CTR:
      return crypto::MaskPrg::kAes256Ctr;
    default:
      return std::nullopt;
  }
}

}  // namespace

uint32_t protocol_version_for(crypto::MaskPrg prg) {
  return prg == crypto::MaskPrg::kChaCha20 ? kOldestProtocolVersion : kProtocolVersion;
}

Result<std::shared_ptr<const SessionConfig>> SessionConfig::create(const proto::SecAggConfig& p) {
  if (p.protocol_version() < kOldestProtocolVersion || p.protocol_version() > kProtocolVersion)
    return InvalidArgument("secure aggregation protocol version " +
                           std::to_string(p.protocol_version()) + " is not supported (want " +
                           std::to_string(kOldestProtocolVersion) + " to " +
                           std::to_string(kProtocolVersion) + ")");
  // A PRG this build does not know would give masks that never cancel.
  const std::optional<crypto::MaskPrg> prg = mask_prg_of(p.prg());
  if (!prg)
    return InvalidArgument("prg: mask PRG " + std::to_string(p.prg()) +
                           " is not supported (known: 0 = chacha20, 1 = aes256ctr)");
  if (p.protocol_version() != protocol_version_for(*prg))
    return InvalidArgument("prg: " + std::string(crypto::mask_prg_name(*prg)) +
                           " needs protocol version " + std::to_string(protocol_version_for(*prg)) +
                           ", the config says " + std::to_string(p.protocol_version()));
  if (p.session_id().size() < 16 || p.session_id().size() > 64)
    return InvalidArgument("session id must be 16 to 64 bytes");
  const size_t n = static_cast<size_t>(p.cohort_size());
  if (n < 2) return InvalidArgument("a cohort needs at least 2 clients");
  if (n > 1'000'000) return InvalidArgument("cohort too large");
  for (size_t i = 1; i < n; ++i)
    if (p.cohort(static_cast<int>(i)) <= p.cohort(static_cast<int>(i - 1)))
      return InvalidArgument("cohort ids must be strictly increasing");
  GraphKind kind;
  if (p.graph() == proto::GRAPH_COMPLETE)
    kind = GraphKind::kComplete;
  else if (p.graph() == proto::GRAPH_HARARY)
    kind = GraphKind::kHarary;
  else
    return InvalidArgument("neighbour graph not specified");
  uint32_t degree = p.degree();
  if (kind == GraphKind::kComplete || degree + 1 >= n)
    degree = static_cast<uint32_t>(n - 1);
  else if (degree < 2 || degree % 2 != 0)
    return InvalidArgument("Harary graph degree must be even and at least 2, got " +
                           std::to_string(degree));
  const uint32_t holders = degree + 1;
  if (p.threshold() > holders)
    return InvalidArgument("threshold " + std::to_string(p.threshold()) +
                           " exceeds the neighbourhood of " + std::to_string(holders));
  if (p.threshold() <= holders / 2)
    return InvalidArgument("threshold " + std::to_string(p.threshold()) +
                           " must exceed half the neighbourhood of " + std::to_string(holders) +
                           ", or the server could open both secrets of a client");
  if (p.dimension() == 0 || p.dimension() > (uint64_t{1} << 31))
    return InvalidArgument("dimension must be in [1, 2^31]");
  if (p.ring_bits() != 32 && p.ring_bits() != 64)
    return InvalidArgument("ring must be 32 or 64 bits");
  if (p.identity_keys_size() != 0 && static_cast<size_t>(p.identity_keys_size()) != n)
    return InvalidArgument("identity keys must be absent or one per cohort member");

  std::shared_ptr<SessionConfig> c(new SessionConfig(
      p, NeighbourGraph(kind, static_cast<uint32_t>(n), degree,
                        crypto::ByteSpan(reinterpret_cast<const uint8_t*>(p.session_id().data()),
                                         p.session_id().size()))));
  c->proto_.set_degree(degree);
  c->ring_ = p.ring_bits() == 32 ? crypto::RingBits::k32 : crypto::RingBits::k64;
  c->prg_ = *prg;
  c->cohort_.assign(p.cohort().begin(), p.cohort().end());
  c->index_.reserve(n * 2);
  for (uint32_t i = 0; i < n; ++i) c->index_.emplace(c->cohort_[i], i);
  for (const auto& key : p.identity_keys()) {
    if (key.size() != 32) return InvalidArgument("identity keys are 32 bytes");
    crypto::Key32 k;
    std::copy(key.begin(), key.end(), k.begin());
    c->identity_keys_.push_back(k);
  }
  return std::shared_ptr<const SessionConfig>(std::move(c));
}

std::optional<uint32_t> SessionConfig::index_of(uint64_t client_id) const {
  auto it = index_.find(client_id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

crypto::Bytes SessionConfig::advertise_message(uint64_t sender, const std::string& encryption_pk,
                                               const std::string& mask_pk) const {
  crypto::Bytes m(kAdvertiseLabel, kAdvertiseLabel + sizeof(kAdvertiseLabel) - 1);
  const auto sid = session_id();
  m.push_back(static_cast<uint8_t>(sid.size()));
  m.insert(m.end(), sid.begin(), sid.end());
  for (int i = 0; i < 8; ++i) m.push_back(static_cast<uint8_t>(sender >> (8 * i)));
  m.insert(m.end(), encryption_pk.begin(), encryption_pk.end());
  m.insert(m.end(), mask_pk.begin(), mask_pk.end());
  return m;
}

proto::SecAggConfig make_config(crypto::ByteSpan session_id, std::vector<uint64_t> cohort,
                                const ProtocolParameters& params, uint64_t dimension,
                                crypto::RingBits ring, crypto::MaskPrg prg,
                                const std::vector<crypto::Key32>& identity_keys) {
  proto::SecAggConfig c;
  c.set_protocol_version(protocol_version_for(prg));
  c.set_prg(prg == crypto::MaskPrg::kAes256Ctr ? proto::MASK_PRG_AES256_CTR
                                               : proto::MASK_PRG_CHACHA20);
  c.set_session_id(std::string(session_id.begin(), session_id.end()));
  std::vector<size_t> order(cohort.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cohort[a] < cohort[b]; });
  for (size_t i : order) c.add_cohort(cohort[i]);
  if (!identity_keys.empty())
    for (size_t i : order)
      c.add_identity_keys(std::string(identity_keys[i].begin(), identity_keys[i].end()));
  c.set_graph(params.graph == GraphKind::kComplete ? proto::GRAPH_COMPLETE : proto::GRAPH_HARARY);
  c.set_degree(params.degree);
  c.set_threshold(params.threshold);
  c.set_dimension(dimension);
  c.set_ring_bits(static_cast<uint32_t>(ring));
  return c;
}

}  // namespace fl::aggregation::secagg
