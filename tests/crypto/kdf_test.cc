// Pair-key derivation: both parties must derive the same key, and a key must
// never be shared across sessions, purposes or pairs.
#include "crypto/kdf.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::crypto {
namespace {

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

Secret32 some_ikm(uint8_t fill) {
  Key32 k;
  k.fill(fill);
  return Secret32(k);
}

TEST(Blake2b256, MatchesReferenceDigestOfTheEmptyMessage) {
  // BLAKE2b with a 32-byte digest (RFC 7693 parameters, outlen = 32).
  EXPECT_EQ(to_hex(blake2b_256({})),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(to_hex(blake2b_256(bytes_of("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(DerivePairKey, IsSymmetricInTheTwoParties) {
  const Secret32 ikm = some_ikm(1);
  const Bytes session = bytes_of("session-7");
  EXPECT_EQ(derive_pair_key(ikm, session, 3, 900, "mask"),
            derive_pair_key(ikm, session, 900, 3, "mask"));
}

TEST(DerivePairKey, ChangesWithSessionPurposePartiesAndInputKey) {
  const Secret32 ikm = some_ikm(1);
  const Bytes session = bytes_of("session-7");
  const Secret32 base = derive_pair_key(ikm, session, 3, 900, "mask");

  EXPECT_NE(base, derive_pair_key(ikm, bytes_of("session-8"), 3, 900, "mask"));
  EXPECT_NE(base, derive_pair_key(ikm, {}, 3, 900, "mask"));
  EXPECT_NE(base, derive_pair_key(ikm, session, 3, 900, "aead"));
  EXPECT_NE(base, derive_pair_key(ikm, session, 3, 900, ""));
  EXPECT_NE(base, derive_pair_key(ikm, session, 4, 900, "mask"));
  EXPECT_NE(base, derive_pair_key(ikm, session, 3, 901, "mask"));
  EXPECT_NE(base, derive_pair_key(some_ikm(2), session, 3, 900, "mask"));
  EXPECT_NE(base, ikm);
}

TEST(DerivePairKey, LengthPrefixesKeepFieldBoundariesApart) {
  // Without length prefixes, purpose "ab" + session "c" and purpose "a" +
  // session "bc" would hash the same bytes.
  const Secret32 ikm = some_ikm(3);
  EXPECT_NE(derive_pair_key(ikm, bytes_of("c"), 1, 2, "ab"),
            derive_pair_key(ikm, bytes_of("bc"), 1, 2, "a"));
}

TEST(DerivePairKey, IsDeterministic) {
  const Secret32 ikm = some_ikm(4);
  EXPECT_EQ(derive_pair_key(ikm, bytes_of("s"), 5, 6, "p"),
            derive_pair_key(ikm, bytes_of("s"), 5, 6, "p"));
}

}  // namespace
}  // namespace fl::crypto
