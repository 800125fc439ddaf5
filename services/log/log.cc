#include "services/log/log.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace aesignal::log {

void Line(absl::string_view line) {
  const std::string text =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " aesignald: ", line, "\n");
  // One write(2): stdio could split a long line between threads.
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n =
        ::write(STDERR_FILENO, text.data() + written, text.size() - written);
    if (n <= 0) return;  // nowhere to log to
    written += static_cast<size_t>(n);
  }
}

std::string StatusText(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                      status.message());
}

}  // namespace aesignal::log
