#include "services/access/authenticator.h"

#include "absl/strings/strip.h"
#include "services/access/principals.h"

namespace aesignal::access {
namespace {

// Constant-time comparison of equal-length strings.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace

Authenticator::Authenticator(std::vector<Principal> principals)
    : principals_(std::move(principals)) {}

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
    return absl::UnauthenticatedError(
        "missing or unknown credentials (bearer token or client "
        "certificate)");
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
