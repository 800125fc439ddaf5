// The HTTP/JSON gateway without the network: what one parsed HTTP request
// means and its reply. The Beast server (server.h) reads requests, asks
// Plan() what to do, runs Call/Watch/StreamReports off its I/O thread and
// writes what they return; the fuzz target and the unit tests drive this
// class directly.
//
// Everything here is adaptation: authentication goes through
// access::Authenticator, authorization and all rules through the
// application layer (app::Application), statuses through errors::ToRpcStatus
// and errors::MappingOf.
//
// Thread-safe (const after construction). `app` and the callbacks must
// outlive the Gateway.
#ifndef AESIGNAL_SERVICES_HTTP_GATEWAY_H_
#define AESIGNAL_SERVICES_HTTP_GATEWAY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/access/authenticator.h"
#include "services/app/application.h"
#include "services/http/binding.h"
#include "services/http/routes.h"

namespace aesignal::http {

// One request as the server read it (views into the server's buffers).
struct HttpRequest {
  absl::string_view method = "";
  absl::string_view target = "";  // path and query, as sent
  absl::string_view host = "";
  absl::string_view authorization = "";
  absl::string_view content_type = "";
  absl::string_view last_event_id = "";
  // X-Aesignal-Principal: a loopback caller's name when authentication is
  // off (as gRPC's x-aesignal-principal).
  absl::string_view claimed_principal = "";
  absl::string_view body = "";
  std::string peer = "";  // "ipv4:127.0.0.1:40312"
  // Common names of a client certificate TLS verified.
  std::vector<std::string> cert_common_names = {};
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body = "";
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// The request's query, content type and body, for BindRequest.
HttpInput InputOf(const HttpRequest& request);

struct GatewayOptions {
  // Null: authentication off (callers are admins, named by their address or,
  // on loopback, by X-Aesignal-Principal).
  std::shared_ptr<const access::Authenticator> authenticator = nullptr;
  // Host header values accepted when authentication is off and the server
  // listens on loopback (a guard against DNS rebinding); loopback names are
  // always accepted.
  std::vector<std::string> allowed_hosts = {};
  // Prometheus text of the server's metrics; empty function: no /metrics.
  std::function<std::string()> metrics = nullptr;
  // Whether the server takes new work (readiness).
  std::function<bool()> ready = nullptr;
  // Serve the dashboard from this directory instead of the embedded copy.
  std::string web_root = "";
  // Only /healthz, /readyz and /metrics (a plaintext operations port: no
  // API, no dashboard, no Host check, /metrics without authentication).
  bool ops_only = false;
};

class Gateway {
 public:
  Gateway(app::Application* app, GatewayOptions options);

  // How to serve a request.
  struct Plan {
    // Set when the request is answered without the application layer (a
    // static file, health, metrics, or an error such as 401/404/405).
    std::optional<HttpReply> reply = std::nullopt;
    // Otherwise: the API route and the authenticated caller.
    RouteMatch match = {};
    access::Caller caller = {};
  };
  // Cheap (no storage access): routing, authentication, static files.
  Plan PlanFor(const HttpRequest& request) const;

  // A unary API call (plan.match.route->kind == kUnary); may block on
  // storage and durability.
  HttpReply Call(const Plan& plan, const HttpRequest& request,
                 const app::CallContext& context) const;

  // A watch (kServerEvents): sends each change as one SSE frame through
  // `write` (false: the client is gone) until the call ends; resumes after
  // Last-Event-ID. Returns the watch's final status (an error before the
  // first frame is the client's error reply).
  absl::Status Watch(const Plan& plan, const HttpRequest& request,
                     const app::CallContext& context,
                     const std::function<bool(std::string)>& write) const;

  // reports:stream (kNdjson): one StreamReportsRequest JSON per body line;
  // sends one StreamReportsResponse JSON line per batch as it becomes
  // durable. A malformed line fails the request before anything is queued.
  absl::Status StreamReports(
      const Plan& plan, const HttpRequest& request,
      const app::CallContext& context,
      const std::function<bool(std::string)>& write) const;

  // Headers every reply carries: a strict Content-Security-Policy,
  // nosniff, no referrer, no framing; HSTS with TLS. No CORS headers.
  static std::vector<std::pair<std::string, std::string>> SecurityHeaders(
      bool tls);

  // The reply for a failed status (Google's JSON error shape), plus
  // WWW-Authenticate on 401.
  static HttpReply ErrorReply(const absl::Status& status, int http_status = 0);

 private:
  std::optional<HttpReply> NonApiReply(absl::string_view path,
                                       const HttpRequest& request) const;
  absl::StatusOr<access::Caller> Authenticate(const HttpRequest& request) const;
  bool HostAllowed(absl::string_view host) const;
  HttpReply CallerReply(const HttpRequest& request) const;
  HttpReply MetricsReply(const HttpRequest& request) const;
  HttpReply StaticReply(absl::string_view path) const;

  app::Application*
      app_;  // not owned; only Call, Watch and StreamReports use it
  GatewayOptions options_;
};

}  // namespace aesignal::http

#endif  // AESIGNAL_SERVICES_HTTP_GATEWAY_H_
