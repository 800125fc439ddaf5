#include "services/access/principals.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"

namespace aesignal::access {
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

// Every key of a principal entry must be one of its fields: a misspelt
// "site:" or "token_sha265:" was ignored, and with it what it said.
absl::Status CheckKeys(const YAML::Node& entry, const std::string& where) {
  static constexpr std::array<std::string_view, 5> kKeys = {
      "name", "role", "sites", "token_sha256", "cert_common_name"};
  if (!entry.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where,
                     ": must be a mapping (name, role, sites, token_sha256, "
                     "cert_common_name)"));
  }
  for (const auto& field : entry) {
    const std::string key = field.first.as<std::string>();
    if (absl::c_find(kKeys, key) == kKeys.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown key '", key,
          "' (name, role, sites, token_sha256, cert_common_name)"));
    }
  }
  return absl::OkStatus();
}

// "SALT:HEX" as HashToken makes it: a non-empty salt, 64 lower-case hex
// digits.
bool IsSaltedHash(std::string_view hash) {
  const size_t colon = hash.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  const std::string_view hex = hash.substr(colon + 1);
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string HashToken(const std::string& salt, const std::string& token) {
  return absl::StrCat(salt, ":", Sha256Hex(salt + token));
}

absl::StatusOr<std::vector<Principal>> LoadPrincipals(const std::string& path) {
  if (std::error_code ec; !std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  // Opened here, not by YAML::LoadFile, whose failure to open reads as a
  // YAML error ("bad file"): an operator must see "permission denied".
  std::ifstream in(path);
  if (!in) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot be read: ", std::strerror(errno)));
  }
  YAML::Node root;
  try {
    root = YAML::Load(in);
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
  std::set<std::string> common_names, tokens;
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node& n = root[i];
    const std::string where = absl::StrCat(path, ": principal ", i + 1);
    try {
      if (absl::Status keys = CheckKeys(n, where); !keys.ok()) return keys;
      Principal p;
      p.name = n["name"] ? n["name"].as<std::string>() : "";
      const std::string role = n["role"] ? n["role"].as<std::string>() : "";
      if (p.name.empty() || !names.insert(p.name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": name: required and unique"));
      }
      const std::optional<Role> parsed = ParseRole(role);
      if (!parsed.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": role: '", role,
            "' is not site, safety_officer, dsmb_member or admin"));
      }
      p.role = *parsed;
      if (n["sites"]) {
        for (const auto& s : n["sites"]) p.sites.push_back(s.as<std::string>());
      }
      if (p.role == Role::kSite && p.sites.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": sites: a site principal needs its site_ids"));
      }
      // Only a site principal is limited to sites: on another role the list
      // would read as a restriction the server does not apply.
      if (p.role != Role::kSite && !p.sites.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": sites: only a site principal has sites; a ",
                         role, " sees and acts on every site"));
      }
      if (n["token_sha256"])
        p.token_sha256 = n["token_sha256"].as<std::string>();
      if (n["cert_common_name"]) {
        p.cert_common_name = n["cert_common_name"].as<std::string>();
        // One certificate, one principal: otherwise the first entry won,
        // whatever its role.
        if (!p.cert_common_name.empty() &&
            !common_names.insert(p.cert_common_name).second) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": cert_common_name: '", p.cert_common_name,
                           "' is another principal's"));
        }
      }
      if (p.token_sha256.empty() && p.cert_common_name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": needs token_sha256 or cert_common_name to authenticate"));
      }
      if (!p.token_sha256.empty() && !IsSaltedHash(p.token_sha256)) {
        // Any other shape can never match a token: that principal would be
        // locked out without a word.
        return absl::InvalidArgumentError(absl::StrCat(
            where,
            ": token_sha256: must be SALT:HEX, a salt without ':' and the 64 "
            "lower-case hex digits of sha256(SALT + token) (aesignal admin "
            "new-token makes the entry)"));
      }
      // One token, one principal, as for certificates: the token would
      // authenticate as the first entry, whatever the second's role.
      if (!p.token_sha256.empty() && !tokens.insert(p.token_sha256).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": token_sha256: the same hash as another principal's"));
      }
      out.push_back(std::move(p));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", e.what()));
    }
  }
  return out;
}

}  // namespace aesignal::access
