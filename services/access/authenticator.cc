#include "services/access/authenticator.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/access/principals.h"
#include "services/log/log.h"

namespace aesignal::access {
namespace {

// Constant-time comparison of equal-length strings.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

// Why no principal matched, for the caller and the log. Names nothing
// secret: a token is never echoed, a certificate's common name is (escaped;
// TLS already verified the certificate).
std::string RefusalReason(const Credentials& credentials) {
  if (!credentials.authorization.empty()) {
    if (!absl::StartsWith(credentials.authorization, "Bearer ")) {
      return "the authorization header is not \"Bearer <token>\"";
    }
    return "unknown bearer token";
  }
  if (!credentials.cert_common_names.empty()) {
    return absl::StrCat(
        "client certificate common name '",
        absl::CHexEscape(credentials.cert_common_names.front().substr(0, 128)),
        "' is not a configured principal");
  }
  return "no bearer token or client certificate";
}

}  // namespace

Authenticator::Authenticator(std::vector<Principal> principals,
                             FailureLogOptions failure_log)
    : principals_(std::move(principals)),
      failure_log_(std::move(failure_log)) {}

void Authenticator::NoteFailure(const std::string& reason,
                                const std::string& origin) const {
  failures_.fetch_add(1, std::memory_order_relaxed);
  std::string line;
  {
    absl::MutexLock lock(&log_mu_);
    ++unlogged_;
    latest_ = origin.empty() ? reason : absl::StrCat(reason, ", over ", origin);
    line = DueLine(failure_log_.now());
  }
  if (!line.empty()) WriteLine(line);
}

void Authenticator::FlushFailureLog() const {
  std::string line;
  {
    absl::MutexLock lock(&log_mu_);
    if (unlogged_ > 0) line = DueLine(failure_log_.now());
  }
  if (!line.empty()) WriteLine(line);
}

std::string Authenticator::DueLine(absl::Time now) const {
  if (now - last_line_ < failure_log_.interval) return "";
  std::string line;
  if (last_line_ == absl::InfinitePast()) {
    line = absl::StrCat(
        "refused a call: missing or unknown credentials: ", latest_,
        " (such refusals are logged at most once per ",
        absl::FormatDuration(failure_log_.interval),
        "; aesignal_authentication_failures_total counts each)");
  } else {
    line = absl::StrCat(
        "refused ", unlogged_, unlogged_ == 1 ? " call" : " calls",
        " with missing or unknown credentials since ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", last_line_, absl::UTCTimeZone()),
        " (the latest: ", latest_, ")");
  }
  unlogged_ = 0;
  last_line_ = now;
  return line;
}

void Authenticator::WriteLine(const std::string& line) const {
  if (failure_log_.log) {
    failure_log_.log(line);
  } else {
    log::Line(line);
  }
}

const Principal* Authenticator::ByToken(absl::string_view authorization) const {
  absl::string_view token = authorization;
  if (!absl::ConsumePrefix(&token, "Bearer ")) return nullptr;
  for (const Principal& p : principals_) {
    if (p.token_sha256.empty()) continue;
    const std::string salt = p.token_sha256.substr(0, p.token_sha256.find(':'));
    if (SameSecret(HashToken(salt, std::string(token)), p.token_sha256)) {
      return &p;
    }
  }
  return nullptr;
}

const Principal* Authenticator::ByCommonName(
    absl::string_view common_name) const {
  for (const Principal& p : principals_) {
    if (!p.cert_common_name.empty() && p.cert_common_name == common_name) {
      return &p;
    }
  }
  return nullptr;
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const Credentials& credentials) const {
  const Principal* p = ByToken(credentials.authorization);
  for (const std::string& cn : credentials.cert_common_names) {
    if (p == nullptr) p = ByCommonName(cn);
  }
  if (p == nullptr) {
    const std::string reason = RefusalReason(credentials);
    NoteFailure(reason, credentials.origin);
    return absl::UnauthenticatedError(
        absl::StrCat("missing or unknown credentials: ", reason));
  }
  return CallerOf(*p);
}

std::optional<Caller> Authenticator::CallerNamed(absl::string_view name) const {
  for (const Principal& p : principals_) {
    if (p.name == name) return CallerOf(p);
  }
  return std::nullopt;
}

}  // namespace aesignal::access
