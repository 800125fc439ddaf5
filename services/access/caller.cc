#include "services/access/caller.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace aesignal::access {

Caller CallerOf(const Principal& principal) {
  Caller caller{.principal = principal.name, .role = principal.role};
  if (principal.role == Role::kSite) caller.sites = principal.sites;
  return caller;
}

namespace {

// "ipv4:10.1.2.3" of "ipv4:10.1.2.3:5000": the client's port changes with
// every connection, so with it one person's calls would be recorded under
// as many principals as connections they made.
absl::string_view WithoutPort(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == peer.size()) return peer;
  const absl::string_view port = peer.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) return peer;
  const absl::string_view host = peer.substr(0, colon);
  // A bare IPv6 address ("ipv6:::1") has no port to drop.
  if (absl::StartsWith(host, "ipv6:") && !absl::EndsWith(host, "]"))
    return peer;
  return host;
}

}  // namespace

Caller UnauthenticatedCaller(absl::string_view peer,
                             std::optional<absl::string_view> claimed) {
  Caller caller{.role = Role::kAdmin};
  if (claimed.has_value() && !claimed->empty() && IsLoopback(peer)) {
    caller.principal = std::string(*claimed);
  } else {
    caller.principal = absl::StrCat("peer:", WithoutPort(peer));
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
