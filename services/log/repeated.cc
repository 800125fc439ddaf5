#include "services/log/repeated.h"

#include <utility>

#include "services/log/log.h"

namespace aesignal::log {

RepeatedEventLog::RepeatedEventLog(RepeatedEventOptions options,
                                   FirstLine first, SummaryLine summary)
    : options_(std::move(options)),
      first_(std::move(first)),
      summary_(std::move(summary)) {}

void RepeatedEventLog::Note(std::string detail) {
  total_.fetch_add(1, std::memory_order_relaxed);
  std::string line;
  {
    absl::MutexLock lock(&mu_);
    ++unlogged_;
    latest_ = std::move(detail);
    line = DueLine(options_.now());
  }
  if (!line.empty()) Write(line);
}

void RepeatedEventLog::Flush() {
  std::string line;
  {
    absl::MutexLock lock(&mu_);
    if (unlogged_ > 0) line = DueLine(options_.now());
  }
  if (!line.empty()) Write(line);
}

std::string RepeatedEventLog::DueLine(absl::Time now) {
  if (now - last_line_ < options_.interval) return "";
  std::string line = last_line_ == absl::InfinitePast()
                         ? first_(latest_)
                         : summary_(unlogged_, last_line_, latest_);
  unlogged_ = 0;
  last_line_ = now;
  return line;
}

void RepeatedEventLog::Write(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    Line(line);
  }
}

}  // namespace aesignal::log
