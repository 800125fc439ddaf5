#include "services/server/grpc_log.h"

#include <grpc/support/log.h>

#include <atomic>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/log/log.h"

namespace aesignal {
namespace {

// Set once by RouteGrpcLog and never freed: gRPC may log until the process
// ends.
std::atomic<log::RepeatedEventLog*> handshake_log{nullptr};

// "…SSL routines::certificate verify failed." -> "certificate verify
// failed": OpenSSL's reason, the part an operator acts on.
std::string HandshakeReason(absl::string_view message) {
  const size_t at = message.rfind("::");
  if (at != absl::string_view::npos) message.remove_prefix(at + 2);
  return std::string(absl::StripSuffix(message, "."));
}

void LogGrpcLine(gpr_log_func_args* args) {
  const absl::string_view message = args->message;
  log::RepeatedEventLog* handshakes =
      handshake_log.load(std::memory_order_acquire);
  if (handshakes != nullptr && absl::StrContains(message, "Handshake failed")) {
    handshakes->Note(HandshakeReason(message));
    return;
  }
  absl::string_view file = args->file;
  if (const size_t slash = file.rfind('/'); slash != absl::string_view::npos) {
    file.remove_prefix(slash + 1);
  }
  log::Line(absl::StrCat("grpc ", gpr_log_severity_string(args->severity), ": ",
                         message, " (", file, ":", args->line, ")"));
}

}  // namespace

void RouteGrpcLog(log::RepeatedEventOptions options) {
  const absl::Duration interval = options.interval;
  auto* handshakes = new log::RepeatedEventLog(
      std::move(options),
      [interval](const std::string& reason) {
        return absl::StrCat(
            "a TLS handshake failed: ", reason,
            " (a client without a certificate the server accepts, or not "
            "speaking TLS; such failures are logged at most once per ",
            absl::FormatDuration(interval),
            "; aesignal_tls_handshake_failures_total counts each)");
      },
      [](int64_t count, absl::Time since, const std::string& reason) {
        return absl::StrCat(
            count, count == 1 ? " TLS handshake" : " TLS handshakes",
            " failed since ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", since, absl::UTCTimeZone()),
            " (the latest: ", reason, ")");
      });
  // A previous one is left, not freed: a gRPC thread may be logging to it.
  handshake_log.store(handshakes, std::memory_order_release);
  gpr_set_log_function(LogGrpcLine);
}

int64_t TlsHandshakeFailures() {
  const log::RepeatedEventLog* handshakes =
      handshake_log.load(std::memory_order_acquire);
  return handshakes == nullptr ? 0 : handshakes->total();
}

void FlushGrpcLog() {
  log::RepeatedEventLog* handshakes =
      handshake_log.load(std::memory_order_acquire);
  if (handshakes != nullptr) handshakes->Flush();
}

}  // namespace aesignal
