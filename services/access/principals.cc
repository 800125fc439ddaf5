#include "services/grpc/security.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace aesignal {
namespace {

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// Constant-time comparison of equal-length strings.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string HashToken(const std::string& salt, const std::string& token) {
  return absl::StrCat(salt, ":", Sha256Hex(salt + token));
}

bool RoleAllows(Role role, const std::string& method) {
  if (role == Role::kAdmin) return true;
  static const std::set<std::string> kSite = {
      "TrialService.GetTrial", "TrialService.EnrollSubjects",
      "IngestService.SubmitReports", "IngestService.StreamReports"};
  static const std::set<std::string> kOfficer = {
      "TrialService.GetTrial",       "TrialService.ListTrials",
      "TrialService.ListSubjects",   "SafetyService.GetIncidence",
      "SignalService.ListBaselines", "SignalService.ListSignals",
      "SignalService.GetSignal",     "SignalService.UpdateSignal",
      "SignalService.WatchSignals",  "AuditService.GetAuditTrail"};
  return role == Role::kSite ? kSite.count(method) > 0
                             : kOfficer.count(method) > 0;
}

absl::StatusOr<std::vector<Principal>> LoadPrincipals(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not readable YAML: ", e.what()));
  }
  if (!root.IsSequence()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": must be a list of principals"));
  }
  std::vector<Principal> out;
  std::set<std::string> names;
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node& n = root[i];
    const std::string where = absl::StrCat(path, ": principal ", i + 1);
    try {
      Principal p;
      p.name = n["name"] ? n["name"].as<std::string>() : "";
      const std::string role = n["role"] ? n["role"].as<std::string>() : "";
      if (p.name.empty() || !names.insert(p.name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": name: required and unique"));
      }
      if (role == "site") {
        p.role = Role::kSite;
      } else if (role == "safety_officer") {
        p.role = Role::kSafetyOfficer;
      } else if (role == "admin") {
        p.role = Role::kAdmin;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": role: '", role,
                         "' is not site, safety_officer or admin"));
      }
      if (n["sites"]) {
        for (const auto& s : n["sites"]) p.sites.push_back(s.as<std::string>());
      }
      if (p.role == Role::kSite && p.sites.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": sites: a site principal needs its site_ids"));
      }
      if (n["token_sha256"])
        p.token_sha256 = n["token_sha256"].as<std::string>();
      if (n["cert_common_name"]) {
        p.cert_common_name = n["cert_common_name"].as<std::string>();
      }
      if (p.token_sha256.empty() && p.cert_common_name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": needs token_sha256 or cert_common_name to authenticate"));
      }
      if (!p.token_sha256.empty() &&
          p.token_sha256.find(':') == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": token_sha256: must be SALT:HEX"));
      }
      out.push_back(std::move(p));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", e.what()));
    }
  }
  return out;
}

Authenticator::Authenticator(std::vector<Principal> principals)
    : principals_(std::move(principals)) {}

const Principal* Authenticator::ByToken(
    const std::string& authorization) const {
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
    const grpc::AuthContext& context) const {
  for (const auto& cn : context.FindPropertyValues("x509_common_name")) {
    const std::string name(cn.data(), cn.size());
    for (const Principal& p : principals_) {
      if (!p.cert_common_name.empty() && p.cert_common_name == name) return &p;
    }
  }
  return nullptr;
}

grpc::Status Authenticator::Process(const InputMetadata& auth_metadata,
                                    grpc::AuthContext* context, OutputMetadata*,
                                    OutputMetadata*) {
  std::string path, authorization;
  for (const auto& [key, value] : auth_metadata) {
    if (key == ":path") path.assign(value.data(), value.size());
    if (key == "authorization")
      authorization.assign(value.data(), value.size());
  }
  // Health checks and reflection stay open (probes carry no credentials).
  if (absl::StartsWith(path, "/grpc.")) return grpc::Status::OK;
  const Principal* p = ByToken(authorization);
  if (p == nullptr && context != nullptr) p = ByCommonName(*context);
  if (p == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing or unknown credentials (bearer token or "
                        "client certificate)");
  }
  absl::string_view method = path;
  absl::ConsumePrefix(&method, "/aesignal.v1.");
  std::string name(method);
  const size_t slash = name.find('/');
  if (slash != std::string::npos) name[slash] = '.';
  if (!RoleAllows(p->role, name)) {
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("principal '", p->name, "' may not call ", name));
  }
  // The call's own auth context (a child of the connection's): handlers
  // read who was authenticated from here instead of deciding again.
  context->AddProperty(kPrincipalProperty, p->name);
  return grpc::Status::OK;
}

std::optional<Principal> Authenticator::Identify(
    const grpc::ServerContext& context) const {
  const auto auth = context.auth_context();
  if (auth == nullptr) return std::nullopt;
  for (const auto& value : auth->FindPropertyValues(kPrincipalProperty)) {
    const absl::string_view name(value.data(), value.size());
    for (const Principal& p : principals_) {
      if (p.name == name) return p;
    }
  }
  return std::nullopt;
}

bool IsLoopback(const std::string& listen) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& listen, const TlsFiles& tls, bool allow_insecure,
    const std::shared_ptr<Authenticator>& authenticator) {
  if (tls.cert.empty() != tls.key.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key");
  }
  if (tls.cert.empty()) {
    if (authenticator != nullptr) {
      return absl::FailedPreconditionError(
          "principals are configured but TLS is not: tokens and client "
          "certificates need TLS (--tls_cert, --tls_key)");
    }
    if (!IsLoopback(listen)) {
      if (!allow_insecure) {
        return absl::FailedPreconditionError(absl::StrCat(
            "refusing to listen on ", listen,
            " without TLS; configure --tls_cert/--tls_key, or pass "
            "--insecure to accept plaintext"));
      }
      std::fprintf(stderr,
                   "aesignald: WARNING: serving plaintext on %s (--insecure): "
                   "anyone on the network can read and write trial data\n",
                   listen.c_str());
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.require_client_cert && tls.client_ca.empty()) {
    return absl::InvalidArgumentError(
        "requiring client certificates needs the CA that issues them "
        "(--tls_client_ca)");
  }
  // With a client CA, a presented certificate must verify; it is required
  // only on request, so callers may instead authenticate by token.
  grpc::SslServerCredentialsOptions options(
      tls.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
      : tls.require_client_cert
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  auto cert = ReadFile(tls.cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(tls.key);
  if (!key.ok()) return key.status();
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca.empty()) {
    auto ca = ReadFile(tls.client_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  auto credentials = grpc::SslServerCredentials(options);
  if (authenticator != nullptr) {
    credentials->SetAuthMetadataProcessor(authenticator);
  }
  return credentials;
}

}  // namespace aesignal
