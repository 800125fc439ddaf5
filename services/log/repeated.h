// Repeated events of one kind in the operational log — refused credentials,
// failed TLS handshakes — without letting a misconfigured or hostile client
// flood it: the first event is logged at once, later ones at most once per
// interval as one line saying how many came since the last line and what
// the latest was. Every event is counted (for a metric) whether logged or
// not.
//
// Thread-safe.
#ifndef AESIGNAL_SERVICES_LOG_REPEATED_H_
#define AESIGNAL_SERVICES_LOG_REPEATED_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace aesignal::log {

struct RepeatedEventOptions {
  // Receives each line (no trailing newline); log::Line when empty.
  std::function<void(const std::string&)> log = nullptr;
  // The clock that spaces the lines (tests pass their own).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  absl::Duration interval = absl::Minutes(1);
};

class RepeatedEventLog {
 public:
  // The first event's line, from its detail.
  using FirstLine = std::function<std::string(const std::string& detail)>;
  // A later line: `count` events since the line written at `since`, the
  // latest with `detail`.
  using SummaryLine = std::function<std::string(int64_t count, absl::Time since,
                                                const std::string& detail)>;

  RepeatedEventLog(RepeatedEventOptions options, FirstLine first,
                   SummaryLine summary);

  // Counts one event and logs it, or the events since the last line, if a
  // line is due.
  void Note(std::string detail);
  // Logs the events not logged yet once the last line is `interval` old:
  // called every few seconds, so a burst followed by silence is logged too.
  void Flush();
  // Events noted since construction.
  int64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  // The line due at `now` for the events not logged yet, or "".
  std::string DueLine(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Write(const std::string& line) const;

  const RepeatedEventOptions options_;
  const FirstLine first_;
  const SummaryLine summary_;
  std::atomic<int64_t> total_{0};
  absl::Mutex mu_;
  int64_t unlogged_ ABSL_GUARDED_BY(mu_) = 0;
  std::string latest_ ABSL_GUARDED_BY(mu_);
  absl::Time last_line_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace aesignal::log

#endif  // AESIGNAL_SERVICES_LOG_REPEATED_H_
