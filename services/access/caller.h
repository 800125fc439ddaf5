// The caller's identity as every layer below a transport sees it.
//
// A transport authenticates (authenticator.h) and hands the application layer
// a Caller; the application layer authorizes it (policy.h) and passes the
// domain a CallInfo, which the domain records in the audit trail and whose
// `sites` restrict what a site may write.
//
// Plain values; thread-compatible.
#ifndef AESIGNAL_SERVICES_ACCESS_CALLER_H_
#define AESIGNAL_SERVICES_ACCESS_CALLER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/access/methods.h"
#include "services/access/role.h"

namespace aesignal::access {

struct Caller {
  // The audit trail's name for the caller: an authenticated principal, or
  // (authentication off) a loopback caller's claim or the peer address.
  std::string principal = "unknown";
  Role role = Role::kAdmin;
  // The site_ids a kSite caller may write; empty for other roles.
  std::vector<std::string> sites = {};
};

// One call of `rpc` by a caller, as the domain records it.
struct CallInfo {
  std::string principal = "unknown";
  std::string rpc = "";  // "TrialService.CreateTrial"
  // Sites the caller may write (a `site` principal); empty: no restriction.
  std::vector<std::string> sites = {};
};

// The authenticated principal as a caller.
Caller CallerOf(const Principal& principal);

// The caller when the server authenticates nobody (no principals
// configured). Every such caller may call everything, as an admin: the
// server then listens only on loopback unless started with --insecure.
// `peer` is the transport's peer address ("ipv4:127.0.0.1:5000",
// "127.0.0.1:5000", "[::1]:5000"); `claimed` is the name the caller gave
// (gRPC `x-aesignal-principal`), used only when the peer is on loopback —
// a remote caller is never allowed to pick its identity and is recorded as
// "peer:<address>".
Caller UnauthenticatedCaller(absl::string_view peer,
                             std::optional<absl::string_view> claimed);

// The caller making one call of `method`.
CallInfo CallOf(const Caller& caller, const Method& method);

// Whether a listen or peer address ("host:port", optionally prefixed by
// "ipv4:"/"ipv6:", IPv6 hosts in brackets) is on loopback.
bool IsLoopback(absl::string_view address);

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_CALLER_H_
