#include "services/access/caller.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace aesignal::access {

Caller CallerOf(const Principal& principal) {
  Caller caller{.principal = principal.name, .role = principal.role};
  if (principal.role == Role::kSite) caller.sites = principal.sites;
  return caller;
}

Caller UnauthenticatedCaller(absl::string_view peer,
                             std::optional<absl::string_view> claimed) {
  Caller caller{.role = Role::kAdmin};
  if (claimed.has_value() && !claimed->empty() && IsLoopback(peer)) {
    caller.principal = std::string(*claimed);
  } else {
    caller.principal = absl::StrCat("peer:", peer);
  }
  return caller;
}

CallInfo CallOf(const Caller& caller, const Method& method) {
  return CallInfo{.principal = caller.principal,
                  .rpc = method.FullName(),
                  .sites = caller.sites};
}

bool IsLoopback(absl::string_view address) {
  absl::ConsumePrefix(&address, "ipv4:");
  absl::ConsumePrefix(&address, "ipv6:");
  const size_t colon = address.rfind(':');
  const absl::string_view host =
      colon == absl::string_view::npos ? address : address.substr(0, colon);
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
         absl::StartsWith(host, "127.") || host == "[::ffff:127.0.0.1]";
}

}  // namespace aesignal::access
