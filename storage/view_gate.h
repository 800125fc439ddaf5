#ifndef AESIGNAL_STORAGE_VIEW_GATE_H_
#define AESIGNAL_STORAGE_VIEW_GATE_H_

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aesignal::storage {

// Lets the store replace its RocksDB instance (Store::Reopen, after a failed
// write) while readers come and go: every view pins the gate while it holds
// the instance's pointers, and a reopen closes the gate, waits until no view
// is pinned, swaps the instance and opens the gate again.
//
// A reopen waits a bounded time: a thread may create a second view while it
// holds one, and would wait at the closed gate for a reopen that waits for
// it, so the reopen gives up instead (and is tried again later).
//
// Thread-safe.
class ViewGate {
 public:
  // Waits while the gate is closed; then pins it.
  void Enter() ABSL_LOCKS_EXCLUDED(mu_);
  // Pins it without waiting, for a copy of a view that holds a pin (the
  // reopen is waiting for that view anyway).
  void EnterAgain() ABSL_LOCKS_EXCLUDED(mu_);
  void Leave() ABSL_LOCKS_EXCLUDED(mu_);

  // Closes the gate to new pins and waits up to `timeout` for the pinned
  // views to go. True once none is pinned (the gate stays closed until
  // Open); false if some still were, and the gate is open again.
  bool Close(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void Open() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  int pinned_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// One view's pin on a ViewGate (none for a default-constructed one).
// Copyable: a copy pins again.
class ViewPin {
 public:
  ViewPin() = default;
  // Takes over a pin already entered on `gate`.
  explicit ViewPin(ViewGate* gate) : gate_(gate) {}
  ViewPin(const ViewPin& other) : gate_(other.gate_) {
    if (gate_ != nullptr) gate_->EnterAgain();
  }
  ViewPin(ViewPin&& other) noexcept
      : gate_(std::exchange(other.gate_, nullptr)) {}
  ViewPin& operator=(ViewPin other) noexcept {
    std::swap(gate_, other.gate_);
    return *this;
  }
  ~ViewPin() {
    if (gate_ != nullptr) gate_->Leave();
  }

 private:
  ViewGate* gate_ = nullptr;
};

}  // namespace aesignal::storage

#endif  // AESIGNAL_STORAGE_VIEW_GATE_H_
