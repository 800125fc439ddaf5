#include "storage/view_gate.h"

namespace aesignal::storage {

void ViewGate::Enter() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](bool* closed) { return !*closed; }, &closed_));
  ++pinned_;
}

void ViewGate::EnterAgain() {
  absl::MutexLock lock(&mu_);
  ++pinned_;
}

void ViewGate::Leave() {
  absl::MutexLock lock(&mu_);
  --pinned_;
}

bool ViewGate::Close(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  const bool idle = mu_.AwaitWithTimeout(
      absl::Condition(
          +[](int* pinned) { return *pinned == 0; }, &pinned_),
      timeout);
  if (!idle) closed_ = false;
  return idle;
}

void ViewGate::Open() {
  absl::MutexLock lock(&mu_);
  closed_ = false;
}

}  // namespace aesignal::storage
