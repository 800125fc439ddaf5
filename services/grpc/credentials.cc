#include "services/grpc/credentials.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/access/caller.h"
#include "services/log/log.h"

namespace aesignal::grpc_services {
namespace {

// `flag` names the setting in the message (the operator's config key).
absl::StatusOr<std::string> ReadFile(const std::string& flag,
                                     const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, ": cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& listen, const TlsFiles& tls, bool allow_insecure,
    const std::shared_ptr<AuthProcessor>& auth) {
  if (tls.cert.empty() != tls.key.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key");
  }
  if (tls.cert.empty()) {
    if (auth != nullptr) {
      return absl::FailedPreconditionError(
          "principals are configured but TLS is not: tokens and client "
          "certificates need TLS (--tls_cert, --tls_key)");
    }
    if (!access::IsLoopback(listen)) {
      if (!allow_insecure) {
        return absl::FailedPreconditionError(absl::StrCat(
            "refusing to listen on ", listen,
            " without TLS; configure --tls_cert/--tls_key, or pass "
            "--insecure to accept plaintext"));
      }
      log::Line(absl::StrCat(
          "WARNING: serving plaintext on ", listen,
          " (--insecure): anyone on the network can read and write trial "
          "data"));
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
  auto cert = ReadFile("tls_cert", tls.cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadFile("tls_key", tls.key);
  if (!key.ok()) return key.status();
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca.empty()) {
    auto ca = ReadFile("tls_client_ca", tls.client_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  auto credentials = grpc::SslServerCredentials(options);
  if (auth != nullptr) {
    credentials->SetAuthMetadataProcessor(auth);
  }
  return credentials;
}

}  // namespace aesignal::grpc_services
