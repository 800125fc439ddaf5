#include "services/http/gateway.h"

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/access/role.h"
#include "services/errors/errors.h"
#include "services/http/binding.h"
#include "services/http/json.h"
#include "services/http/web_assets.h"

namespace aesignal::http {
namespace {

using app::Application;
using app::CallContext;

// One unary RPC over HTTP: bind, call the facade, print the reply.
using UnaryHandler = std::function<absl::StatusOr<std::string>(
    Application&, const CallContext&, const RouteMatch&, const HttpInput&)>;

template <typename Facade, typename Request, typename Response>
UnaryHandler Handle(Facade Application::*facade,
                    absl::StatusOr<Response> (Facade::*call)(const CallContext&,
                                                             const Request&)) {
  return [facade, call](Application& app, const CallContext& context,
                        const RouteMatch& match,
                        const HttpInput& input) -> absl::StatusOr<std::string> {
    Request request;
    AESIGNAL_RETURN_IF_ERROR(BindRequest(match, input, &request));
    AESIGNAL_ASSIGN_OR_RETURN(Response response,
                              ((app.*facade).*call)(context, request));
    return ToJson(response);
  };
}

// Every unary method, keyed by "Service.Method" (a test checks it covers
// every kUnary route).
const absl::flat_hash_map<std::string, UnaryHandler>& UnaryHandlers() {
  using A = Application;
  static const auto* handlers =
      new absl::flat_hash_map<std::string, UnaryHandler>{
          {"TrialService.CreateTrial",
           Handle(&A::trials, &app::TrialsApp::CreateTrial)},
          {"TrialService.GetTrial",
           Handle(&A::trials, &app::TrialsApp::GetTrial)},
          {"TrialService.ListTrials",
           Handle(&A::trials, &app::TrialsApp::ListTrials)},
          {"TrialService.UpdateTrial",
           Handle(&A::trials, &app::TrialsApp::UpdateTrial)},
          {"TrialService.EnrollSubjects",
           Handle(&A::trials, &app::TrialsApp::EnrollSubjects)},
          {"TrialService.ListSubjects",
           Handle(&A::trials, &app::TrialsApp::ListSubjects)},
          {"TrialService.GetSubject",
           Handle(&A::trials, &app::TrialsApp::GetSubject)},
          {"IngestService.SubmitReports",
           Handle(&A::ingest, &app::IngestApp::SubmitReports)},
          {"SafetyService.GetIncidence",
           Handle(&A::incidence, &app::IncidenceApp::GetIncidence)},
          {"SafetyService.GetReport",
           Handle(&A::incidence, &app::IncidenceApp::GetReport)},
          {"SafetyService.ListReports",
           Handle(&A::incidence, &app::IncidenceApp::ListReports)},
          {"SafetyService.GenerateDsmbReport",
           Handle(&A::reports, &app::DsmbReportApp::GenerateDsmbReport)},
          {"SignalService.PutBaselines",
           Handle(&A::signals, &app::SignalsApp::PutBaselines)},
          {"SignalService.ListBaselines",
           Handle(&A::signals, &app::SignalsApp::ListBaselines)},
          {"SignalService.GetBaseline",
           Handle(&A::signals, &app::SignalsApp::GetBaseline)},
          {"SignalService.ListSignals",
           Handle(&A::signals, &app::SignalsApp::ListSignals)},
          {"SignalService.GetSignal",
           Handle(&A::signals, &app::SignalsApp::GetSignal)},
          {"SignalService.TriageSignal",
           Handle(&A::signals, &app::SignalsApp::TriageSignal)},
          {"SignalService.UpdateSignal",
           Handle(&A::signals, &app::SignalsApp::UpdateSignal)},
          {"SignalService.ListTopics",
           Handle(&A::signals, &app::SignalsApp::ListTopics)},
          {"SignalService.GetTopic",
           Handle(&A::signals, &app::SignalsApp::GetTopic)},
          {"SignalService.TriageTopic",
           Handle(&A::signals, &app::SignalsApp::TriageTopic)},
          {"AuditService.ListAuditRecords",
           Handle(&A::audit, &app::AuditApp::ListAuditRecords)},
          {"AuditService.GetAuditTrail",
           Handle(&A::audit, &app::AuditApp::GetAuditTrail)},
          {"AdminService.CreateBackup",
           Handle(&A::admin, &app::AdminApp::CreateBackup)},
          {"AdminService.VerifyTrial",
           Handle(&A::admin, &app::AdminApp::VerifyTrial)},
      };
  return *handlers;
}

HttpReply TextReply(int status, std::string body) {
  return HttpReply{.status = status,
                   .content_type = "text/plain; charset=utf-8",
                   .body = std::move(body)};
}

HttpReply MethodNotAllowed(const std::vector<std::string>& allowed) {
  HttpReply reply = Gateway::ErrorReply(
      errors::WithErrorInfo(
          absl::UnimplementedError("method not allowed on this path"),
          "METHOD_NOT_ALLOWED"),
      405);
  reply.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  return reply;
}

// The host name of a Host header ("[::1]:8080" -> "[::1]").
absl::string_view HostName(absl::string_view host) {
  if (absl::StartsWith(host, "[")) {
    return host.substr(0, std::min(host.find(']') + 1, host.size()));
  }
  return host.substr(0, host.find(':'));
}

std::string ContentTypeOf(absl::string_view path) {
  if (absl::EndsWith(path, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(path, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(path, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(path, ".svg")) return "image/svg+xml";
  if (absl::EndsWith(path, ".png")) return "image/png";
  if (absl::EndsWith(path, ".json")) return "application/json";
  if (absl::EndsWith(path, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

HttpInput InputOf(const HttpRequest& request) {
  const size_t q = request.target.find('?');
  return HttpInput{.query = q == absl::string_view::npos
                                ? absl::string_view()
                                : request.target.substr(q + 1),
                   .content_type = request.content_type,
                   .body = request.body};
}

Gateway::Gateway(app::Application* app, GatewayOptions options)
    : app_(app), options_(std::move(options)) {}

std::vector<std::pair<std::string, std::string>> Gateway::SecurityHeaders(
    bool tls) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  };
  if (tls) {
    headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  }
  return headers;
}

HttpReply Gateway::ErrorReply(const absl::Status& status, int http_status) {
  JsonError error = ErrorJson(status, http_status);
  HttpReply reply{.status = error.http_status, .body = std::move(error.body)};
  if (error.http_status == 401) {
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aesignal\"");
  }
  return reply;
}

absl::StatusOr<access::Caller> Gateway::Authenticate(
    const HttpRequest& request) const {
  if (options_.authenticator == nullptr) {
    std::optional<absl::string_view> claimed;
    if (!request.claimed_principal.empty()) {
      claimed = request.claimed_principal;
    }
    return access::UnauthenticatedCaller(request.peer, claimed);
  }
  return options_.authenticator->Authenticate(
      access::Credentials{.authorization = std::string(request.authorization),
                          .cert_common_names = request.cert_common_names,
                          .origin = absl::StrCat("HTTP from ", request.peer)});
}

bool Gateway::HostAllowed(absl::string_view host) const {
  if (options_.authenticator != nullptr || options_.ops_only) return true;
  const absl::string_view name = HostName(host);
  if (name == "localhost" || name == "127.0.0.1" || name == "[::1]" ||
      (host.empty())) {
    return true;
  }
  for (const std::string& allowed : options_.allowed_hosts) {
    if (absl::EqualsIgnoreCase(allowed, name) || allowed == "*") return true;
  }
  return false;
}

Gateway::Plan Gateway::PlanFor(const HttpRequest& request) const {
  Plan plan;
  const absl::string_view path =
      request.target.substr(0, request.target.find('?'));
  if (!HostAllowed(request.host)) {
    plan.reply = ErrorReply(errors::WithErrorInfo(
        absl::PermissionDeniedError(
            absl::StrCat("host '", request.host,
                         "' is not served (set --http_allowed_hosts)")),
        "HOST_NOT_ALLOWED"));
    return plan;
  }
  if (!absl::StartsWith(path, "/v1/") || path == "/v1/caller" ||
      options_.ops_only) {
    plan.reply = NonApiReply(path, request);
    return plan;
  }
  std::vector<std::string> allowed;
  absl::StatusOr<RouteMatch> match = MatchRoute(request.method, path, &allowed);
  if (!match.ok()) {
    plan.reply = allowed.empty() ? ErrorReply(match.status())
                                 : MethodNotAllowed(allowed);
    return plan;
  }
  absl::StatusOr<access::Caller> caller = Authenticate(request);
  if (!caller.ok()) {
    plan.reply = ErrorReply(caller.status());
    return plan;
  }
  plan.match = *std::move(match);
  plan.caller = *std::move(caller);
  return plan;
}

std::optional<HttpReply> Gateway::NonApiReply(
    absl::string_view path, const HttpRequest& request) const {
  if (request.method != "GET") return MethodNotAllowed({"GET"});
  if (path == "/healthz") return TextReply(200, "ok\n");
  if (path == "/readyz") {
    const bool ready = !options_.ready || options_.ready();
    return TextReply(ready ? 200 : 503, ready ? "ready\n" : "draining\n");
  }
  if (path == "/metrics") return MetricsReply(request);
  if (options_.ops_only) {
    return ErrorReply(absl::NotFoundError(
        "this port serves only /healthz, /readyz and /metrics"));
  }
  if (path == "/v1/caller") return CallerReply(request);
  return StaticReply(path);
}

HttpReply Gateway::CallerReply(const HttpRequest& request) const {
  absl::StatusOr<access::Caller> caller = Authenticate(request);
  if (!caller.ok()) return ErrorReply(caller.status());
  // Not a v1 message, so assembled here, each string escaped by protobuf's
  // printer. (A google.protobuf.Struct would do, but its map, compiled into
  // Debian's libprotobuf without ThreadSanitizer, crashes when our
  // TSan-built code inserts into it.)
  std::vector<std::string> sites;
  for (const std::string& site : caller->sites) {
    sites.push_back(JsonStringLiteral(site));
  }
  return HttpReply{
      .body = absl::StrCat(
          "{\"principal\":", JsonStringLiteral(caller->principal),
          ",\"role\":", JsonStringLiteral(access::RoleName(caller->role)),
          ",\"sites\":[", absl::StrJoin(sites, ","), "],\"authenticated\":",
          options_.authenticator != nullptr ? "true" : "false", "}")};
}

HttpReply Gateway::MetricsReply(const HttpRequest& request) const {
  if (!options_.metrics) {
    return ErrorReply(absl::NotFoundError("metrics are not enabled"));
  }
  if (options_.authenticator != nullptr) {
    absl::StatusOr<access::Caller> caller = Authenticate(request);
    if (!caller.ok()) return ErrorReply(caller.status());
    if (caller->role != access::Role::kAdmin) {
      return ErrorReply(
          absl::PermissionDeniedError("metrics are for admin principals"));
    }
  }
  return HttpReply{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                   .body = options_.metrics()};
}

HttpReply Gateway::StaticReply(absl::string_view path) const {
  if (path == "/" || path.empty()) path = "/index.html";
  const bool index = path == "/index.html";
  if (!options_.web_root.empty()) {
    if (absl::StrContains(path, "..")) {
      return ErrorReply(absl::NotFoundError("no such file"));
    }
    std::ifstream in(absl::StrCat(options_.web_root, path), std::ios::binary);
    std::ostringstream body;
    if (!in || !(body << in.rdbuf())) {
      return ErrorReply(absl::NotFoundError(absl::StrCat("no file ", path)));
    }
    HttpReply reply{.content_type = ContentTypeOf(path), .body = body.str()};
    reply.headers.emplace_back("Cache-Control", "no-cache");
    return reply;
  }
  for (const WebAsset& asset : EmbeddedWebAssets()) {
    if (absl::string_view(asset.path.data(), asset.path.size()) != path) {
      continue;
    }
    HttpReply reply{.content_type = std::string(asset.content_type),
                    .body = std::string(asset.body)};
    reply.headers.emplace_back("Cache-Control",
                               asset.immutable && !index
                                   ? "public, max-age=31536000, immutable"
                                   : "no-cache");
    reply.headers.emplace_back(
        "ETag", absl::StrCat("\"", std::string(asset.sha256), "\""));
    return reply;
  }
  return ErrorReply(absl::NotFoundError(absl::StrCat("no page ", path)));
}

HttpReply Gateway::Call(const Plan& plan, const HttpRequest& request,
                        const app::CallContext& context) const {
  const auto& handlers = UnaryHandlers();
  const auto it = handlers.find(plan.match.route->method.FullName());
  if (it == handlers.end()) {
    return ErrorReply(absl::InternalError("route without a handler"));
  }
  absl::StatusOr<std::string> body =
      it->second(*app_, context, plan.match, InputOf(request));
  if (!body.ok()) return ErrorReply(body.status());
  HttpReply reply{.body = *std::move(body)};
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace aesignal::http
