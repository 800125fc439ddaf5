#include "services/http/routes.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/errors/errors.h"

namespace aesignal::http {
namespace {

namespace m = access::methods;
using K = RouteKind;

// The v1 API over HTTP. Resource names are AIP-122 paths, so each template
// is the resource name with the collection verbs of AIP-131..136.
constexpr std::array<Route, 30> kRoutes = {{
    {m::kCreateTrial, "POST", "/v1/trials", "trial"},
    {m::kGetTrial, "GET", "/v1/{name=trials/*}", ""},
    {m::kListTrials, "GET", "/v1/trials", ""},
    {m::kUpdateTrial, "PATCH", "/v1/{trial.name=trials/*}", "trial"},
    {m::kEnrollSubjects, "POST", "/v1/{parent=trials/*}/subjects:enroll", "*"},
    {m::kListSubjects, "GET", "/v1/{parent=trials/*}/subjects", ""},
    {m::kGetSubject, "GET", "/v1/{name=trials/*/subjects/*}", ""},
    {m::kSubmitReports, "POST", "/v1/{parent=trials/*}/reports:submit", "*"},
    {m::kStreamReports, "POST", "/v1/{parent=trials/*}/reports:stream", "*",
     K::kNdjson},
    {m::kGetIncidence, "GET", "/v1/{parent=trials/*}/incidence", ""},
    {m::kGetReport, "GET", "/v1/{name=trials/*/sites/*/reports/**}", ""},
    {m::kListReports, "GET", "/v1/{parent=trials/*}/reports", ""},
    {m::kGenerateDsmbReport, "GET", "/v1/{parent=trials/*}/dsmbReport", ""},
    // The same read with the request in a body, so that a coding key
    // stays out of URLs (proxy logs, browser history).
    {m::kGenerateDsmbReport, "POST",
     "/v1/{parent=trials/*}/dsmbReport:generate", "*"},
    {m::kPutBaselines, "POST", "/v1/{parent=trials/*}/baselines:put", "*"},
    {m::kListBaselines, "GET", "/v1/{parent=trials/*}/baselines", ""},
    {m::kGetBaseline, "GET", "/v1/{name=trials/*/baselines/*}", ""},
    {m::kListSignals, "GET", "/v1/{parent=trials/*}/signals", ""},
    {m::kGetSignal, "GET", "/v1/{name=trials/*/signals/*}", ""},
    {m::kTriageSignal, "POST", "/v1/{name=trials/*/signals/*}:triage", "*"},
    {m::kUpdateSignal, "PATCH", "/v1/{name=trials/*/signals/*}", "*"},
    {m::kWatchSignals, "GET", "/v1/{parent=trials/*}/signals:watch", "",
     K::kServerEvents},
    {m::kListTopics, "GET", "/v1/{parent=trials/*}/topics", ""},
    {m::kGetTopic, "GET", "/v1/{name=trials/*/topics/*}", ""},
    {m::kTriageTopic, "POST", "/v1/{name=trials/*/topics/*}:triage", "*"},
    {m::kWatchTopics, "GET", "/v1/{parent=trials/*}/topics:watch", "",
     K::kServerEvents},
    {m::kListAuditRecords, "GET", "/v1/{parent=trials/*}/auditRecords", ""},
    {m::kGetAuditTrail, "GET", "/v1/{parent=trials/*}/auditTrail", ""},
    {m::kCreateBackup, "POST", "/v1/backups", "*"},
    {m::kVerifyTrial, "POST", "/v1/{name=trials/*}:verify", "*"},
}};

// One segment of a compiled template.
struct Segment {
  enum Kind { kLiteral, kOne, kRest } kind = kLiteral;
  std::string literal = "";
  int variable = -1;  // index into CompiledRoute::fields, or -1
};

struct CompiledRoute {
  const Route* route = nullptr;
  std::vector<Segment> segments = {};
  std::vector<std::string> fields = {};  // variable i binds fields[i]
  std::string verb = "";                 // custom method, without ':'
};

// Adds the segments of `pattern` ("trials/*/signals/*", "**" or a literal)
// bound to `variable`.
void AddSegments(absl::string_view pattern, int variable,
                 std::vector<Segment>* out) {
  for (absl::string_view part : absl::StrSplit(pattern, '/')) {
    Segment segment{.variable = variable};
    if (part == "*") {
      segment.kind = Segment::kOne;
    } else if (part == "**") {
      segment.kind = Segment::kRest;
    } else {
      segment.literal = std::string(part);
    }
    out->push_back(std::move(segment));
  }
}

// Compiles one template of the table (trusted input: the table is ours and
// route_test checks every entry compiles to what it says).
CompiledRoute Compile(const Route& route) {
  CompiledRoute compiled{.route = &route};
  absl::string_view path = route.path.substr(1);  // without the leading '/'
  if (const size_t colon = path.rfind(':');
      colon != absl::string_view::npos && path.find('}', colon) == path.npos) {
    compiled.verb = std::string(path.substr(colon + 1));
    path = path.substr(0, colon);
  }
  while (!path.empty()) {
    if (path.front() == '{') {
      const size_t close = path.find('}');
      absl::string_view var = path.substr(1, close - 1);
      const size_t eq = var.find('=');
      compiled.fields.emplace_back(var.substr(0, eq));
      AddSegments(eq == var.npos ? "*" : var.substr(eq + 1),
                  static_cast<int>(compiled.fields.size()) - 1,
                  &compiled.segments);
      path = path.substr(close + 1);
    } else {
      const size_t end = std::min(path.find('/'), path.size());
      AddSegments(path.substr(0, end), -1, &compiled.segments);
      path = path.substr(end);
    }
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  }
  return compiled;
}

const std::vector<CompiledRoute>& CompiledRoutes() {
  static const auto* routes = [] {
    auto* all = new std::vector<CompiledRoute>();
    for (const Route& route : kRoutes) all->push_back(Compile(route));
    return all;
  }();
  return *routes;
}

// Matches the raw (still percent-encoded) segments against `compiled`;
// the captured variables go to *match.
absl::StatusOr<bool> Matches(const CompiledRoute& compiled,
                             std::vector<absl::string_view> raw,
                             RouteMatch* match) {
  if (!compiled.verb.empty()) {
    const std::string suffix = absl::StrCat(":", compiled.verb);
    if (raw.empty() || !absl::EndsWith(raw.back(), suffix)) return false;
    raw.back().remove_suffix(suffix.size());
  }
  std::vector<std::vector<absl::string_view>> captured(compiled.fields.size());
  size_t i = 0;
  for (const Segment& segment : compiled.segments) {
    if (i >= raw.size() || raw[i].empty()) return false;
    if (segment.kind == Segment::kLiteral && raw[i] != segment.literal) {
      return false;
    }
    const size_t end = segment.kind == Segment::kRest ? raw.size() : i + 1;
    for (; i < end; ++i) {
      if (raw[i].empty()) return false;
      if (segment.variable >= 0) captured[segment.variable].push_back(raw[i]);
    }
  }
  if (i != raw.size()) return false;
  match->variables.clear();
  for (size_t v = 0; v < captured.size(); ++v) {
    std::vector<std::string> decoded;
    for (absl::string_view part : captured[v]) {
      AESIGNAL_ASSIGN_OR_RETURN(std::string text, PercentDecode(part));
      decoded.push_back(std::move(text));
    }
    match->variables.emplace_back(compiled.fields[v],
                                  absl::StrJoin(decoded, "/"));
  }
  match->route = compiled.route;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::span<const Route> V1Routes() { return kRoutes; }

std::string ExamplePath(const Route& route) {
  const CompiledRoute compiled = Compile(route);
  std::string path;
  for (const Segment& segment : compiled.segments) {
    absl::StrAppend(&path, "/",
                    segment.kind == Segment::kLiteral ? segment.literal
                    : segment.kind == Segment::kOne   ? "x1"
                                                      : "r1/part2");
  }
  if (!compiled.verb.empty()) absl::StrAppend(&path, ":", compiled.verb);
  return path;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0 || (high == 0 && low == 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad percent-escape in URL at '", text.substr(i, 3), "'"));
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

absl::StatusOr<RouteMatch> MatchRoute(absl::string_view http_method,
                                      absl::string_view path,
                                      std::vector<std::string>* allowed) {
  if (allowed != nullptr) allowed->clear();
  if (path.empty() || path.front() != '/') {
    return absl::NotFoundError("the path must start with '/'");
  }
  const std::vector<absl::string_view> raw =
      absl::StrSplit(path.substr(1), '/');
  // A path that a custom method's route matches names that method: with
  // another HTTP method it is a 405 listing the custom method's, not a
  // standard method on an id ending in ":verb" (`GET .../signals/S1:triage`
  // is not a GetSignal of "S1:triage"). Ids the server makes have no ':'.
  std::vector<std::pair<const CompiledRoute*, RouteMatch>> hits;
  bool verb_hit = false;
  for (const CompiledRoute& compiled : CompiledRoutes()) {
    RouteMatch candidate;
    AESIGNAL_ASSIGN_OR_RETURN(bool hit, Matches(compiled, raw, &candidate));
    if (!hit) continue;
    verb_hit = verb_hit || !compiled.verb.empty();
    hits.emplace_back(&compiled, std::move(candidate));
  }
  for (auto& [compiled, candidate] : hits) {
    if (verb_hit && compiled->verb.empty()) continue;
    if (compiled->route->http_method == http_method) return candidate;
    if (allowed != nullptr) {
      allowed->emplace_back(compiled->route->http_method);
    }
  }
  return absl::NotFoundError(
      absl::StrCat("no API route for ", http_method, " ", path));
}

}  // namespace aesignal::http
