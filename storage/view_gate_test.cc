#include "storage/view_gate.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace aesignal::storage {
namespace {

TEST(ViewGateTest, CloseWaitsForPinnedViewsAndHoldsNewOnesBack) {
  ViewGate gate;
  gate.Enter();
  auto pin = std::make_unique<ViewPin>(&gate);
  ViewPin copy = *pin;  // a copy pins too

  std::thread closer([&] {
    EXPECT_TRUE(gate.Close(absl::Seconds(30)));
    gate.Open();
  });
  absl::SleepFor(absl::Milliseconds(50));
  pin.reset();
  {
    ViewPin moved = std::move(copy);  // the last pin, moved then dropped
  }
  closer.join();

  // While closed, a new view waits until the gate opens.
  ASSERT_TRUE(gate.Close(absl::Seconds(1)));
  std::atomic<bool> entered{false};
  std::thread reader([&] {
    gate.Enter();
    entered = true;
    gate.Leave();
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(entered);
  gate.Open();
  reader.join();
  EXPECT_TRUE(entered);
}

// A view held while another is made: the reopen gives up instead of waiting
// for a reader that waits for it.
TEST(ViewGateTest, CloseGivesUpWhileAViewStaysPinned) {
  ViewGate gate;
  gate.Enter();
  ViewPin held(&gate);
  absl::Notification closing;
  std::thread closer([&] {
    closing.Notify();
    EXPECT_FALSE(gate.Close(absl::Milliseconds(100)));
  });
  closing.WaitForNotification();
  closer.join();
  gate.Enter();  // open again: does not block
  gate.Leave();
}

}  // namespace
}  // namespace aesignal::storage
