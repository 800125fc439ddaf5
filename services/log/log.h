#ifndef AESIGNAL_SERVICES_LOG_LOG_H_
#define AESIGNAL_SERVICES_LOG_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aesignal::log {

// The server's operational log: writes
//   2026-12-04T06:55:36.123Z aesignald: <line>
// to standard error in one write (lines from several threads do not mix),
// which journald, container runtimes and the deploy scripts keep. Every
// module's lines carry the one prefix; what the line is about is in its
// words ("store: …", "refused a call: …").
// Thread-safe.
void Line(absl::string_view line);

// "CODE: message", without the status's payloads (their bytes are for
// clients, and print as escapes).
std::string StatusText(const absl::Status& status);

}  // namespace aesignal::log

#endif  // AESIGNAL_SERVICES_LOG_LOG_H_
