// Authentication: which configured principal presented these credentials.
//
// A bearer token (stored only as a salted SHA-256, compared in constant time)
// or the common name of a client certificate the transport's TLS has already
// verified. Transports extract the credentials and call Authenticate; gRPC
// does it in an AuthMetadataProcessor (services/grpc/auth_processor.h).
//
// Refused credentials are counted (failures(), exported as
// aesignal_authentication_failures_total) and logged, at most one line per
// log_interval so a client retrying with a bad token cannot flood the log; a
// line says how many were refused since the previous one and why the latest
// was. Secrets are never logged.
//
// Thread-safe: the principals are immutable after construction; the failure
// count and its log are guarded.
#ifndef AESIGNAL_SERVICES_ACCESS_AUTHENTICATOR_H_
#define AESIGNAL_SERVICES_ACCESS_AUTHENTICATOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/access/caller.h"
#include "services/access/role.h"
#include "services/log/repeated.h"

namespace aesignal::access {

struct Credentials {
  // The `authorization` header ("Bearer <token>"); may be empty.
  std::string authorization = "";
  // Common names of the caller's verified client certificate, if any.
  std::vector<std::string> cert_common_names = {};
  // Where the call came from, for the log of refusals only: "HTTP from
  // ipv4:10.0.0.7:51544", or "gRPC" (gRPC's authentication hook is not
  // given the client's address).
  std::string origin = "";
};

// Where the Authenticator reports refused credentials (log, clock,
// interval between lines).
using FailureLogOptions = log::RepeatedEventOptions;

class Authenticator {
 public:
  explicit Authenticator(std::vector<Principal> principals,
                         FailureLogOptions failure_log = {});

  // The principal the credentials name (a token first, then a certificate),
  // or UNAUTHENTICATED saying what was wrong (never echoing a token).
  absl::StatusOr<Caller> Authenticate(const Credentials& credentials) const;

  // Calls refused by Authenticate since construction.
  int64_t failures() const { return failure_log_.total(); }

  // Logs the refusals not logged yet, once the last line is `interval` old:
  // the server calls it every few seconds, so that a burst followed by
  // silence is reported too (NoteFailure logs only when a refusal comes).
  void FlushFailureLog() const { failure_log_.Flush(); }

  // The caller for a principal authenticated earlier on this server (a
  // transport that records only the name between authentication and the
  // handler), or nullopt if there is no such principal.
  std::optional<Caller> CallerNamed(absl::string_view name) const;

 private:
  const Principal* ByToken(absl::string_view authorization) const;
  const Principal* ByCommonName(absl::string_view common_name) const;
  std::vector<Principal> principals_;
  // Counts every refusal; logs the first, then one line per interval.
  mutable log::RepeatedEventLog failure_log_;
};

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_AUTHENTICATOR_H_
