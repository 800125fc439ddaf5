#include "services/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/resource_quota.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/grpc/services.h"
#include "services/monitor/monitor.h"
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

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options) {
  auto server = std::unique_ptr<Server>(new Server());
  const absl::Time open_start = absl::Now();
  if (!options.restore_from.empty()) {
    absl::Status restored = storage::Store::RestoreCheckpoint(
        options.restore_from, options.data_dir);
    if (!restored.ok()) return restored;
  }
  auto store = storage::Store::Open({.path = options.data_dir});
  if (!store.ok()) return store.status();
  server->open_time_ = absl::Now() - open_start;
  server->store_ = *std::move(store);
  if (!options.metrics_listen.empty()) {
    auto metrics =
        PrometheusMetrics::Start(options.metrics_listen, server->store_.get());
    if (!metrics.ok()) return metrics.status();
    server->metrics_ = *std::move(metrics);
  }
  server->monitor_ = std::make_unique<monitor::Monitor>(server->store_.get(),
                                                        server->metrics_.get());
  std::shared_ptr<Authenticator> authenticator;
  if (!options.principals.empty()) {
    authenticator = std::make_shared<Authenticator>(options.principals);
  }
  auto credentials = MakeServerCredentials(
      options.listen, options.tls, options.allow_insecure, authenticator);
  if (!credentials.ok()) return credentials.status();
  server->trial_service_ = std::make_unique<grpc_services::TrialServiceImpl>(
      server->monitor_.get(), authenticator);
  server->ingest_service_ = std::make_unique<grpc_services::IngestServiceImpl>(
      server->monitor_.get(), authenticator);
  server->safety_service_ = std::make_unique<grpc_services::SafetyServiceImpl>(
      server->monitor_.get());
  server->signal_service_ = std::make_unique<grpc_services::SignalServiceImpl>(
      server->monitor_.get(), authenticator);
  server->audit_service_ =
      std::make_unique<grpc_services::AuditServiceImpl>(server->monitor_.get());
  server->admin_service_ = std::make_unique<grpc_services::AdminServiceImpl>(
      server->monitor_.get(), server->store_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *credentials, &server->port_);
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
  builder.RegisterService(server->trial_service_.get());
  builder.RegisterService(server->ingest_service_.get());
  builder.RegisterService(server->safety_service_.get());
  builder.RegisterService(server->signal_service_.get());
  builder.RegisterService(server->audit_service_.get());
  builder.RegisterService(server->admin_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  if (!options.health_listen.empty()) {
    // Its own default health service, kept in step by BeginDrain.
    grpc::ServerBuilder health;
    health.SetOption(std::make_unique<WithoutReflection>());
    // A gRPC server needs at least one service of its own to start; the
    // default generic one answers UNIMPLEMENTED to anything but health.
    server->health_unimplemented_ =
        std::make_unique<grpc::CallbackGenericService>();
    health.RegisterCallbackGenericService(server->health_unimplemented_.get());
    health.AddListeningPort(options.health_listen,
                            grpc::InsecureServerCredentials(),
                            &server->health_port_);
    server->health_server_ = health.BuildAndStart();
    if (server->health_server_ == nullptr || server->health_port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen for health checks on ", options.health_listen));
    }
  }
  return server;
}

Server::~Server() {
  Shutdown();
  // Members are destroyed in reverse order: gRPC server, services, monitor,
  // and last the store, whose destructor drains the commit queue.
}

int Server::metrics_port() const {
  return metrics_ != nullptr ? metrics_->port() : 0;
}

void Server::Wait() {
  if (grpc_server_) grpc_server_->Wait();
}

void Server::BeginDrain() {
  for (grpc::Server* server : {grpc_server_.get(), health_server_.get()}) {
    if (server != nullptr && server->GetHealthCheckService() != nullptr) {
      server->GetHealthCheckService()->SetServingStatus(false);
    }
  }
}

void Server::Shutdown(absl::Duration grace) {
  BeginDrain();
  if (grpc_server_) {
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  }
  if (health_server_) health_server_->Shutdown();
}

}  // namespace aesignal
