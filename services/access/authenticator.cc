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
      failure_log_(
          failure_log,
          [interval = failure_log.interval](const std::string& latest) {
            return absl::StrCat(
                "refused a call: missing or unknown credentials: ", latest,
                " (such refusals are logged at most once per ",
                absl::FormatDuration(interval),
                "; aesignal_authentication_failures_total counts each)");
          },
          [](int64_t count, absl::Time since, const std::string& latest) {
            return absl::StrCat("refused ", count,
                                count == 1 ? " call" : " calls",
                                " with missing or unknown credentials since ",
                                absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", since,
                                                 absl::UTCTimeZone()),
                                " (the latest: ", latest, ")");
          }) {}

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
    failure_log_.Note(
        credentials.origin.empty()
            ? reason
            : absl::StrCat(reason, ", over ", credentials.origin));
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
