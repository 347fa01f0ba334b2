// The validated form of proto::SecAggConfig shared by client and server
// sessions: the cohort, its index map, the neighbour graph and the ring.
//
// Both sides refuse a configuration that would be insecure, not merely
// malformed: a threshold at or below half a neighbourhood (see parameters.h,
// requirement 2) or above the neighbourhood size.
//
// Thread-safety: immutable after creation; share it through shared_ptr.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/parameters.h"
#include "base/status.h"
#include "crypto/bytes.h"
#include "crypto/mask_prg.h"
#include "proto/secagg.pb.h"

namespace fl::aggregation::secagg {

// Version 2 added SecAggConfig.prg. A ChaCha20 session stays version 1, so
// clients and servers from before the field keep working with it; any other
// PRG is version 2, which they refuse (they would ignore the unknown field,
// mask with ChaCha20 and the sum would be noise). Every message of a session
// carries the session's version.
inline constexpr uint32_t kProtocolVersion = 2;
inline constexpr uint32_t kOldestProtocolVersion = 1;
uint32_t protocol_version_for(crypto::MaskPrg prg);

// A message body can never need more than this many bytes per neighbour
// (keys, signatures, a 2-share ciphertext and protobuf framing).
inline constexpr size_t kMaxCiphertextBytes = 512;

// Key-derivation purposes (crypto::derive_pair_key): distinct keys per use.
inline constexpr char kShareEncryptionPurpose[] = "fl.secagg.v1.share-encryption";
inline constexpr char kPairwiseMaskPurpose[] = "fl.secagg.v1.pairwise-mask";
inline constexpr char kAdvertiseLabel[] = "fl.secagg.v1.advertise";

// Public keys travel as protobuf bytes fields.
inline bool to_key(const std::string& bytes, crypto::Key32& out) {
  if (bytes.size() != out.size()) return false;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return true;
}
inline std::string key_string(const crypto::Key32& k) { return std::string(k.begin(), k.end()); }

class SessionConfig {
 public:
  static Result<std::shared_ptr<const SessionConfig>> create(const proto::SecAggConfig& proto);

  const proto::SecAggConfig& proto() const { return proto_; }
  crypto::ByteSpan session_id() const {
    return {reinterpret_cast<const uint8_t*>(proto_.session_id().data()),
            proto_.session_id().size()};
  }
  uint32_t cohort_size() const { return static_cast<uint32_t>(cohort_.size()); }
  uint64_t client_id(uint32_t index) const { return cohort_[index]; }
  std::optional<uint32_t> index_of(uint64_t client_id) const;
  // Shamir evaluation point of the client at `index` (never 0).
  static uint64_t share_point(uint32_t index) { return uint64_t{index} + 1; }
  const NeighbourGraph& graph() const { return graph_; }
  uint32_t threshold() const { return proto_.threshold(); }
  uint64_t dimension() const { return proto_.dimension(); }
  crypto::RingBits ring() const { return ring_; }
  crypto::MaskPrg prg() const { return prg_; }
  uint32_t protocol_version() const { return proto_.protocol_version(); }
  size_t input_bytes() const { return dimension() * crypto::ring_element_bytes(ring_); }
  bool has_identities() const { return !identity_keys_.empty(); }
  const crypto::Key32& identity_key(uint32_t index) const { return identity_keys_[index]; }

  // Bytes an identity key signs in round 0.
  crypto::Bytes advertise_message(uint64_t sender, const std::string& encryption_pk,
                                  const std::string& mask_pk) const;

 private:
  SessionConfig(proto::SecAggConfig proto, NeighbourGraph graph)
      : proto_(std::move(proto)), graph_(std::move(graph)) {}
  proto::SecAggConfig proto_;
  NeighbourGraph graph_;
  std::vector<uint64_t> cohort_;
  std::unordered_map<uint64_t, uint32_t> index_;
  std::vector<crypto::Key32> identity_keys_;
  crypto::RingBits ring_ = crypto::RingBits::k32;
  crypto::MaskPrg prg_ = crypto::MaskPrg::kChaCha20;
};

// Builds a configuration from chosen parameters (the coordinator and the
// simulator call this; the cohort is sorted here). The protocol version follows
// from the PRG (protocol_version_for).
proto::SecAggConfig make_config(crypto::ByteSpan session_id, std::vector<uint64_t> cohort,
                                const ProtocolParameters& params, uint64_t dimension,
                                crypto::RingBits ring, crypto::MaskPrg prg,
                                const std::vector<crypto::Key32>& identity_keys = {});

}  // namespace fl::aggregation::secagg
