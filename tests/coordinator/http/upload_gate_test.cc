#include "coordinator/http/upload_gate.h"

#include <gtest/gtest.h>

namespace fl::http {
namespace {

TEST(UploadGate, ACancelledWaiterIsNeverResumedAndTheSlotGoesToTheNext) {
  UploadGate gate(1);
  ASSERT_FALSE(gate.acquire_or_wait([] {}).has_value());  // took the only slot
  int first_resumed = 0;
  int second_resumed = 0;
  const auto first = gate.acquire_or_wait([&] { ++first_resumed; });
  const auto second = gate.acquire_or_wait([&] { ++second_resumed; });
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(gate.cancel(*first));  // its deadline passed
  EXPECT_EQ(gate.waiting(), 1u);
  gate.release();
  EXPECT_EQ(first_resumed, 0);
  EXPECT_EQ(second_resumed, 1);
  // Handed over already: cancelling reports that the waiter owns a slot.
  EXPECT_FALSE(gate.cancel(*second));
  gate.release();
  EXPECT_FALSE(gate.acquire_or_wait([] {}).has_value());  // the slot is free again
}

}  // namespace
}  // namespace fl::http
