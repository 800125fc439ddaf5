// The HTTP/JSON routes of the v1 API, in the style of google.api.http
// (AIP-127): each RPC is one HTTP method and one path template whose
// variables are fields of the request message, e.g.
//   GET  /v1/{parent=trials/*}/incidence
//   POST /v1/{parent=trials/*}/reports:submit        body "*"
//   PATCH /v1/{trial.name=trials/*}                  body "trial"
// A template segment is a literal, `*` (one segment) or `**` (the rest); a
// custom method's `:verb` ends the last segment. docs/api.md lists them all.
//
// The table is constant; every function is thread-safe.
#ifndef AESIGNAL_SERVICES_HTTP_ROUTES_H_
#define AESIGNAL_SERVICES_HTTP_ROUTES_H_

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/access/methods.h"

namespace aesignal::http {

// How a route's reply is sent.
enum class RouteKind {
  kUnary,         // one JSON reply
  kServerEvents,  // a watch, as text/event-stream
  kNdjson,        // a bidirectional stream, as newline-delimited JSON
};

struct Route {
  access::Method method = {};
  absl::string_view http_method = "";  // "GET", "POST", "PATCH"
  absl::string_view path = "";         // the template
  // "" (no body; the other fields come from the query), "*" (the whole
  // request message) or the name of one top-level message field.
  absl::string_view body = "";
  RouteKind kind = RouteKind::kUnary;
};

// Every route; each v1 method has exactly one (a test checks this against
// access::kAllMethods).
std::span<const Route> V1Routes();

struct RouteMatch {
  const Route* route = nullptr;
  // Request field path (dotted, proto names) -> value, from the path's
  // variables, percent-decoded.
  std::vector<std::pair<std::string, std::string>> variables = {};
};

// The route for `http_method` and `path` (no query string), or NOT_FOUND.
// When the path matches only under other HTTP methods, *allowed (if not
// null) lists them, so the server can answer 405 with an Allow header.
absl::StatusOr<RouteMatch> MatchRoute(absl::string_view http_method,
                                      absl::string_view path,
                                      std::vector<std::string>* allowed);

// A path the route matches: each `*` of its template as "x1", each `**` as
// "r1/part2" (for tests and documentation).
std::string ExamplePath(const Route& route);

// Percent-decodes one URL component ('+' stays '+'); INVALID_ARGUMENT on a
// malformed escape or an encoded NUL.
absl::StatusOr<std::string> PercentDecode(absl::string_view text);

}  // namespace aesignal::http

#endif  // AESIGNAL_SERVICES_HTTP_ROUTES_H_
