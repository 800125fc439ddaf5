#include "services/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/resource_quota.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/access/authenticator.h"
#include "services/access/caller.h"
#include "services/app/application.h"
#include "services/domain/monitor.h"
#include "services/grpc/auth_processor.h"
#include "services/grpc/credentials.h"
#include "services/grpc/services.h"
#include "services/log/log.h"
#include "services/server/grpc_log.h"
#include "services/server/metrics.h"
#include "storage/store.h"

namespace aesignal {
namespace {

// Drops the server reflection plugin from one ServerBuilder. The plugin is
// registered process-wide, and the health-only listener must expose nothing
// but grpc.health.v1: it is plaintext and unauthenticated, and reflection
// would hand out every aesignal .proto descriptor.
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    std::erase_if(*plugins, [](const auto& plugin) {
      return plugin->name() == "proto_server_reflection";
    });
  }
};

// The v1 services, as grpc.health.v1 names them.
constexpr const char* kServiceNames[] = {
    v1::TrialService::service_full_name(),
    v1::IngestService::service_full_name(),
    v1::SafetyService::service_full_name(),
    v1::SignalService::service_full_name(),
    v1::AuditService::service_full_name(),
    v1::AdminService::service_full_name(),
};

// With TLS but no principals every caller is an admin: like plaintext (whose
// own rule, in the credentials and the HTTP server, refuses it first), the
// gRPC and HTTP listeners then stay on loopback unless --insecure, which
// warns. The metrics and health listeners serve no data.
absl::Status CheckUnauthenticatedListeners(const ServerOptions& options) {
  if (!options.principals.empty() || options.tls.cert.empty()) {
    return absl::OkStatus();
  }
  const std::pair<const std::string&, const char*> listeners[] = {
      {options.listen, "listen on"}, {options.http_listen, "serve HTTP on"}};
  for (const auto& [listen, what] : listeners) {
    if (listen.empty() || access::IsLoopback(listen)) continue;
    if (!options.allow_insecure) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to ", what, " ", listen,
          " without principals: every caller would be an admin; configure "
          "--principals, or pass --insecure to accept unauthenticated "
          "callers"));
    }
    log::Line(absl::StrCat("WARNING: no principals on ", listen,
                           " (--insecure): anyone who can connect can read "
                           "and write trial data"));
  }
  return absl::OkStatus();
}

// A principal known only by its certificate's common name can never
// connect when no client CA verifies certificates: refused, so that the
// site it stands for is not locked out without a word. A principal with a
// token as well can still connect; its common name is only dead, which is
// said.
absl::Status CheckCertificatePrincipals(const ServerOptions& options) {
  if (!options.tls.client_ca.empty()) return absl::OkStatus();
  for (const access::Principal& p : options.principals) {
    if (p.cert_common_name.empty()) continue;
    if (p.token_sha256.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "principal '", p.name, "' is identified by cert_common_name '",
          p.cert_common_name,
          "' only, but no --tls_client_ca verifies client certificates: it "
          "could never connect; configure --tls_client_ca, or give it a "
          "token_sha256"));
    }
    log::Line(absl::StrCat("WARNING: principal '", p.name,
                           "' has cert_common_name '", p.cert_common_name,
                           "', unused without --tls_client_ca; it can "
                           "connect with its token only"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Server::OpenStore(const ServerOptions& options) {
  const absl::Time open_start = absl::Now();
  if (!options.restore_from.empty()) {
    absl::StatusOr<storage::Store::Restore> restored =
        storage::Store::RestoreCheckpoint(options.restore_from,
                                          options.data_dir);
    if (!restored.ok()) return restored.status();
    log::Line(restored->already_restored
                  ? absl::StrCat("data dir ", options.data_dir,
                                 " was restored from ", options.restore_from,
                                 " by an earlier start: opened as it is")
                  : absl::StrCat("restored ", options.restore_from, " into ",
                                 options.data_dir, " (", restored->files,
                                 " files, ", restored->bytes, " bytes)"));
  }
  auto store = storage::Store::Open(
      {.path = options.data_dir,
       .commit_cache_bytes = options.commit_cache_bytes,
       .pipelined_sync = options.pipelined_sync,
       .log = [](std::string_view line) {
         log::Line(absl::StrCat("store: ",
                                absl::string_view(line.data(), line.size())));
       }});
  if (!store.ok()) return store.status();
  open_time_ = absl::Now() - open_start;
  store_ = *std::move(store);
  return absl::OkStatus();
}

void Server::MakeServices() {
  monitor_ = std::make_unique<domain::Monitor>(store_.get(), metrics_.get());
  app_ = std::make_unique<app::Application>(monitor_.get());
  const grpc_services::Backend backend{.app = app_.get(),
                                       .authenticator = authenticator_,
                                       .stopping = stopping_};
  trial_service_ = std::make_unique<grpc_services::TrialServiceImpl>(backend);
  ingest_service_ = std::make_unique<grpc_services::IngestServiceImpl>(backend);
  safety_service_ = std::make_unique<grpc_services::SafetyServiceImpl>(backend);
  signal_service_ = std::make_unique<grpc_services::SignalServiceImpl>(backend);
  audit_service_ = std::make_unique<grpc_services::AuditServiceImpl>(backend);
  admin_service_ = std::make_unique<grpc_services::AdminServiceImpl>(backend);
}

absl::Status Server::StartGrpc(
    const ServerOptions& options,
    const std::shared_ptr<grpc::ServerCredentials>& credentials) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &port_);
  // gRPC sets SO_REUSEPORT by default: a second server on the same port
  // would start and the kernel would split connections, and so reports,
  // between two stores. Off, the second bind fails.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.min_client_ping)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  grpc::ResourceQuota quota("aesignald");
  quota.Resize(static_cast<size_t>(options.memory_quota_bytes));
  builder.SetResourceQuota(quota);
  builder.RegisterService(trial_service_.get());
  builder.RegisterService(ingest_service_.get());
  builder.RegisterService(safety_service_.get());
  builder.RegisterService(signal_service_.get());
  builder.RegisterService(audit_service_.get());
  builder.RegisterService(admin_service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  // A status per service as well as overall (""), all SERVING until a drain
  // sets every one to NOT_SERVING.
  for (const char* service : kServiceNames) {
    grpc_server_->GetHealthCheckService()->SetServingStatus(service, true);
  }
  return absl::OkStatus();
}

absl::Status Server::StartHealthOnly(const std::string& listen) {
  // Its own default health service, kept in step by BeginDrain.
  grpc::ServerBuilder health;
  health.SetOption(std::make_unique<WithoutReflection>());
  // A gRPC server needs at least one service of its own to start; the
  // default generic one answers UNIMPLEMENTED to anything but health.
  health_unimplemented_ = std::make_unique<grpc::CallbackGenericService>();
  health.RegisterCallbackGenericService(health_unimplemented_.get());
  health.AddListeningPort(listen, grpc::InsecureServerCredentials(),
                          &health_port_);
  health.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // as StartGrpc
  health_server_ = health.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for health checks on ", listen));
  }
  return absl::OkStatus();
}

absl::Status Server::StartHttp(const ServerOptions& options) {
  const PrometheusMetrics* metrics = metrics_.get();
  http::GatewayOptions gateway{
      .authenticator = authenticator_,
      .allowed_hosts = options.http_allowed_hosts,
      .metrics = [metrics] { return metrics->Scrape(); },
      .ready = [this] { return !draining_.load(); },
      .web_root = options.web_root};
  http::HttpLimits limits = options.http_limits;
  limits.max_body_bytes = options.max_receive_message_bytes;
  const http::HttpTls tls{
      .cert = options.tls.cert,
      .key = options.tls.key,
      .client_ca = options.tls.client_ca,
      .require_client_cert = options.tls.require_client_cert};
  if (!options.http_listen.empty()) {
    http_gateway_ = std::make_unique<http::Gateway>(app_.get(), gateway);
    auto started =
        http::HttpServer::Start({.listen = options.http_listen,
                                 .tls = tls,
                                 .allow_insecure = options.allow_insecure,
                                 .limits = limits},
                                http_gateway_.get());
    if (!started.ok()) return started.status();
    http_server_ = *std::move(started);
  }
  if (!options.metrics_listen.empty()) {
    // Plaintext, operations only (like the health-only gRPC listener): a
    // scraper inside the cluster needs no certificate.
    gateway.authenticator = nullptr;
    gateway.ops_only = true;
    ops_gateway_ = std::make_unique<http::Gateway>(app_.get(), gateway);
    auto started = http::HttpServer::Start({.listen = options.metrics_listen,
                                            .allow_insecure = true,
                                            .limits = limits},
                                           ops_gateway_.get());
    if (!started.ok()) {
      return absl::Status(
          started.status().code(),
          absl::StrCat("metrics listener: ", started.status().message()));
    }
    ops_server_ = *std::move(started);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options) {
  auto server = std::unique_ptr<Server>(new Server());
  if (absl::Status opened = server->OpenStore(options); !opened.ok()) {
    return opened;
  }
  std::shared_ptr<grpc_services::AuthProcessor> auth;
  if (!options.principals.empty()) {
    server->authenticator_ =
        std::make_shared<access::Authenticator>(options.principals);
    auth =
        std::make_shared<grpc_services::AuthProcessor>(server->authenticator_);
  }
  // Refusals and failed handshakes followed by silence are logged too.
  server->failure_log_flusher_ = std::thread([raw = server.get()] {
    while (
        !raw->stop_flusher_.WaitForNotificationWithTimeout(absl::Seconds(5))) {
      if (raw->authenticator_ != nullptr) {
        raw->authenticator_->FlushFailureLog();
      }
      FlushGrpcLog();
    }
  });
  server->metrics_ = PrometheusMetrics::Create(server->store_.get(),
                                               server->authenticator_.get());
  auto credentials = grpc_services::MakeServerCredentials(
      options.listen, options.tls, options.allow_insecure, auth);
  if (!credentials.ok()) return credentials.status();
  if (!options.tls.cert.empty()) {
    if (absl::Status tls = http::CheckTlsFiles(
            {.cert = options.tls.cert, .key = options.tls.key});
        !tls.ok()) {
      return tls;
    }
  }
  if (absl::Status open = CheckUnauthenticatedListeners(options); !open.ok()) {
    return open;
  }
  if (absl::Status known = CheckCertificatePrincipals(options); !known.ok()) {
    return known;
  }
  server->MakeServices();
  // Counting-rule upgrades (a row added to or changed in what reports count
  // in, recounted from the stored reports when the store is opened) must
  // have succeeded, and a store counted by a newer rule is refused: serving
  // tables counted by two rules would be wrong, not just incomplete.
  if (absl::Status counted = server->monitor_->counting_upgrade_status();
      !counted.ok()) {
    return counted;
  }
  // Stores written before signal ids were URL-safe are upgraded before the
  // first call can name a signal.
  if (auto renamed = server->monitor_->signals().UpgradeSignalIds();
      !renamed.ok()) {
    return renamed.status();
  }
  // Topics raised before topics existed get their records (and triage).
  if (auto created = server->monitor_->signals().UpgradeTopics();
      !created.ok()) {
    return created.status();
  }
  if (absl::Status started = server->StartGrpc(options, *credentials);
      !started.ok()) {
    return started;
  }
  if (!options.health_listen.empty()) {
    if (absl::Status started = server->StartHealthOnly(options.health_listen);
        !started.ok()) {
      return started;
    }
  }
  if (absl::Status started = server->StartHttp(options); !started.ok()) {
    return started;
  }
  return server;
}

Server::~Server() {
  Shutdown();
  stop_flusher_.Notify();
  if (failure_log_flusher_.joinable()) failure_log_flusher_.join();
  // Members are destroyed in reverse order: gRPC server, services, the
  // application layer, monitor, and last the store, whose destructor drains the
  // commit queue.
}

int Server::metrics_port() const {
  return ops_server_ != nullptr ? ops_server_->port() : 0;
}

int Server::http_port() const {
  return http_server_ != nullptr ? http_server_->port() : 0;
}

void Server::Wait() {
  if (grpc_server_) grpc_server_->Wait();
}

void Server::BeginDrain() {
  draining_ = true;  // /readyz answers 503
  for (grpc::Server* server : {grpc_server_.get(), health_server_.get()}) {
    if (server != nullptr && server->GetHealthCheckService() != nullptr) {
      server->GetHealthCheckService()->SetServingStatus(false);
    }
  }
}

void Server::Shutdown(absl::Duration grace) {
  BeginDrain();
  stopping_->store(true);  // watch streams end at their next poll
  if (http_server_) http_server_->Shutdown(grace);
  if (ops_server_) ops_server_->Shutdown(absl::ZeroDuration());
  if (grpc_server_) {
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  }
  if (health_server_) health_server_->Shutdown();
}

}  // namespace aesignal
