// Secret hygiene and the hex helpers used by the known-answer tests.
#include "crypto/bytes.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fl::crypto {
namespace {

TEST(Wipe, LeavesEveryByteOfTheBufferZero) {
  uint8_t buffer[97];
  std::fill(std::begin(buffer), std::end(buffer), uint8_t{0xa5});
  wipe(buffer, sizeof(buffer));
  EXPECT_TRUE(std::all_of(std::begin(buffer), std::end(buffer), [](uint8_t b) { return b == 0; }));
}

TEST(Wipe, TouchesOnlyTheRangeGiven) {
  uint8_t buffer[16];
  std::fill(std::begin(buffer), std::end(buffer), uint8_t{0xff});
  wipe(buffer + 4, 8);
  for (size_t i = 0; i < sizeof(buffer); ++i)
    EXPECT_EQ(buffer[i], (i >= 4 && i < 12) ? 0 : 0xff) << "byte " << i;
}

TEST(Secret32, DefaultIsAllZeroAndCopiesCompareEqual) {
  EXPECT_EQ(Secret32().bytes(), Key32{});
  Key32 key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  const Secret32 a(key);
  const Secret32 b = a;
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == Secret32());
}

TEST(Hex, RoundTripsArbitraryBytes) {
  const Bytes bytes = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(to_hex(bytes), "00017f80abff");
  Bytes parsed;
  ASSERT_TRUE(from_hex("00017f80abff", parsed));
  EXPECT_EQ(parsed, bytes);
  ASSERT_TRUE(from_hex("00017F80ABFF", parsed));
  EXPECT_EQ(parsed, bytes);
}

TEST(Hex, EmptyStringIsEmptyBytes) {
  Bytes out = {1, 2, 3};
  ASSERT_TRUE(from_hex("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(to_hex({}), "");
}

TEST(Hex, RejectsOddLengthAndNonHexDigits) {
  Bytes out;
  EXPECT_FALSE(from_hex("abc", out));
  EXPECT_FALSE(from_hex("zz", out));
  EXPECT_FALSE(from_hex("0g", out));
  EXPECT_FALSE(from_hex("00 1", out));
}

}  // namespace
}  // namespace fl::crypto
