// ThreadSanitizer support for Debian's Abseil (tests/tsan.sh links this into
// every executable of the TSan build; nothing else uses it).
//
// libabsl_synchronization is not built with -fsanitize=thread, so TSan does
// not see the happens-before edges of absl::Mutex (used by aesignal and by
// gRPC) and reports every lock-protected access as a race. This file defines
// absl::Mutex's and absl::CondVar's out-of-line entry points in the
// executable, where they take precedence over the shared library's for every
// caller (gRPC included); each forwards to the library's own function
// (dlsym(RTLD_NEXT)) and tells TSan about the ordering: acquire after the
// lock is taken, release before it is given up. Reader locks are treated
// like writer locks (this can hide a race between two readers that write,
// never invent one).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* symbol = dlsym(RTLD_NEXT, mangled);
  if (symbol == nullptr) {
    std::fprintf(stderr, "absl_mutex_annotations: %s not found\n", mangled);
    std::abort();
  }
  Fn fn;
  static_assert(sizeof(fn) == sizeof(symbol));
  std::memcpy(&fn, &symbol, sizeof(fn));
  return fn;
}

#define AESIGNAL_REAL(type, mangled) \
  static const auto real = Real<type>(#mangled)

// absl evaluates a waiter's Condition inside the library, with the mutex
// held but on whichever thread (the waiter, or an unlocking thread), where
// TSan cannot see the lock. Each Condition is therefore passed on wrapped:
// the evaluation acquires the mutex for TSan and releases it after.
struct Annotated {
  const absl::Condition* condition;
  absl::Mutex* mu;
  static bool Eval(void* self) {
    auto* a = static_cast<Annotated*>(self);
    __tsan_acquire(a->mu);
    const bool result = a->condition->Eval();
    __tsan_release(a->mu);
    return result;
  }
};

// absl's deadlock detector keeps its lock graph in uninstrumented code
// under its own spin locks; TSan would report the libc calls it makes
// (memmove, mmap) as races. It is a debugging aid, off here.
const bool kDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace

namespace absl {
inline namespace debian3 {

void Mutex::Lock() {
  AESIGNAL_REAL(void (*)(Mutex*), _ZN4absl7debian35Mutex4LockEv);
  real(this);
  __tsan_acquire(this);
}

void Mutex::ReaderLock() {
  AESIGNAL_REAL(void (*)(Mutex*), _ZN4absl7debian35Mutex10ReaderLockEv);
  real(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() {
  AESIGNAL_REAL(bool (*)(Mutex*), _ZN4absl7debian35Mutex7TryLockEv);
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  AESIGNAL_REAL(bool (*)(Mutex*), _ZN4absl7debian35Mutex13ReaderTryLockEv);
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() {
  AESIGNAL_REAL(void (*)(Mutex*), _ZN4absl7debian35Mutex6UnlockEv);
  __tsan_release(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  AESIGNAL_REAL(void (*)(Mutex*), _ZN4absl7debian35Mutex12ReaderUnlockEv);
  __tsan_release(this);
  real(this);
}

void Mutex::LockWhen(const Condition& cond) {
  AESIGNAL_REAL(void (*)(Mutex*, const Condition&),
                _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  real(this, wrapped);
  __tsan_acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  AESIGNAL_REAL(void (*)(Mutex*, const Condition&),
                _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  real(this, wrapped);
  __tsan_acquire(this);
}

// The *WithTimeout/*WithDeadline variants hold the lock on return whatever
// they return.
bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  AESIGNAL_REAL(
      bool (*)(Mutex*, const Condition&, Duration),
      _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  const bool met = real(this, wrapped, timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  AESIGNAL_REAL(
      bool (*)(Mutex*, const Condition&, Time),
      _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  const bool met = real(this, wrapped, deadline);
  __tsan_acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  AESIGNAL_REAL(
      bool (*)(Mutex*, const Condition&, Duration),
      _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  const bool met = real(this, wrapped, timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  AESIGNAL_REAL(
      bool (*)(Mutex*, const Condition&, Time),
      _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  const bool met = real(this, wrapped, deadline);
  __tsan_acquire(this);
  return met;
}

// Await and CondVar::Wait give the lock up while waiting and take it back.
void Mutex::Await(const Condition& cond) {
  AESIGNAL_REAL(void (*)(Mutex*, const Condition&),
                _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  __tsan_release(this);
  real(this, wrapped);
  __tsan_acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  AESIGNAL_REAL(
      bool (*)(Mutex*, const Condition&, Duration),
      _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  __tsan_release(this);
  const bool met = real(this, wrapped, timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  AESIGNAL_REAL(
      bool (*)(Mutex*, const Condition&, Time),
      _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  Annotated annotated{&cond, this};
  const Condition wrapped(&Annotated::Eval, &annotated);
  __tsan_release(this);
  const bool met = real(this, wrapped, deadline);
  __tsan_acquire(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  AESIGNAL_REAL(void (*)(CondVar*, Mutex*),
                _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE);
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  AESIGNAL_REAL(
      bool (*)(CondVar*, Mutex*, Duration),
      _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE);
  __tsan_release(mu);
  const bool timed_out = real(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  AESIGNAL_REAL(
      bool (*)(CondVar*, Mutex*, Time),
      _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE);
  __tsan_release(mu);
  const bool timed_out = real(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

// Notification: the waiter may return on an atomic flag read in the
// library (or inline in HasBeenNotified, which TSan sees as an acquire of
// the flag's address), so Notify releases both the object and the flag.
void Notification::Notify() {
  AESIGNAL_REAL(void (*)(Notification*),
                _ZN4absl7debian312Notification6NotifyEv);
  __tsan_release(this);
  __tsan_release(&notified_yet_);
  real(this);
}

void Notification::WaitForNotification() const {
  AESIGNAL_REAL(void (*)(const Notification*),
                _ZNK4absl7debian312Notification19WaitForNotificationEv);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  AESIGNAL_REAL(
      bool (*)(const Notification*, Duration),
      _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  AESIGNAL_REAL(
      bool (*)(const Notification*, Time),
      _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE);
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool BlockingCounter::DecrementCount() {
  AESIGNAL_REAL(bool (*)(BlockingCounter*),
                _ZN4absl7debian315BlockingCounter14DecrementCountEv);
  __tsan_release(this);
  return real(this);
}

void BlockingCounter::Wait() {
  AESIGNAL_REAL(void (*)(BlockingCounter*),
                _ZN4absl7debian315BlockingCounter4WaitEv);
  real(this);
  __tsan_acquire(this);
}

}  // namespace debian3
}  // namespace absl
