// The aesignal server as a library: opens the store, serves the gRPC API
// (plus grpc.health.v1 and server reflection), the same API as HTTP/JSON with
// the dashboard (services/http), and shuts down in order.
// main.cc only parses flags and calls Start; tests call Start with
// listen = "127.0.0.1:0" and read port().
//
// Thread-safe. Example:
//   auto server = Server::Start({.listen = "127.0.0.1:0", .data_dir = dir});
//   int port = (*server)->port();
//   (*server)->Shutdown();
#ifndef AESIGNAL_SERVICES_SERVER_SERVER_H_
#define AESIGNAL_SERVICES_SERVER_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/access/role.h"
#include "services/grpc/credentials.h"
#include "services/http/server.h"

namespace grpc {
class CallbackGenericService;
class Server;
}  // namespace grpc

namespace aesignal {
namespace storage {
class Store;
}
namespace domain {
class Monitor;
}
namespace access {
class Authenticator;
}
namespace app {
struct Application;
}
class PrometheusMetrics;
namespace grpc_services {
class TrialServiceImpl;
class IngestServiceImpl;
class SafetyServiceImpl;
class SignalServiceImpl;
class AuditServiceImpl;
class AdminServiceImpl;
}  // namespace grpc_services

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see Server::port()).
  std::string listen = "127.0.0.1:50051";
  // RocksDB data directory; created if missing.
  std::string data_dir = "./var/aesignal";
  // Largest request message accepted; bigger ones fail with
  // RESOURCE_EXHAUSTED before reaching a handler.
  int max_receive_message_bytes = 16 << 20;
  // If set, seed an empty data_dir from this backup (AdminService.CreateBackup)
  // before opening it.
  std::string restore_from = "";
  // TLS (PEM files); with client_ca, mutual TLS. Without TLS the server only
  // listens on loopback unless allow_insecure.
  grpc_services::TlsFiles tls = {};
  bool allow_insecure = false;
  // Principals and roles; empty: no authentication (only sensible on
  // loopback). Non-empty requires TLS.
  std::vector<access::Principal> principals = {};
  // host:port of the HTTP/JSON API, the dashboard, /metrics, /healthz and
  // /readyz (services/http); TLS with the files above; empty: none.
  std::string http_listen = "";
  // Limits and timeouts of the HTTP server (hostile clients).
  http::HttpLimits http_limits = {};
  // Host header names served when authentication is off (besides loopback
  // names): the DNS-rebinding guard of a loopback server.
  std::vector<std::string> http_allowed_hosts = {};
  // Serve the dashboard from this directory instead of the embedded copy.
  std::string web_root = "";
  // host:port of a plaintext operations-only HTTP listener (/metrics,
  // /healthz, /readyz; no API); empty: none.
  std::string metrics_listen = "";
  // host:port of a plaintext listener serving only grpc.health.v1 (for
  // probes that cannot speak TLS, like Kubernetes' grpc probe); empty: none.
  std::string health_listen = "";
  // HTTP/2 keepalive: ping a connection idle this long, drop it if the ping
  // is not answered within keepalive_timeout (dead clients free their
  // streams). Clients may ping no more often than every min_client_ping.
  absl::Duration keepalive = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping = absl::Seconds(10);
  // Memory gRPC may use for all calls' buffers together; past it, new calls
  // and reads wait (back-pressure) instead of growing memory.
  int64_t memory_quota_bytes = int64_t{1} << 30;
  // Memory for the store committer's cache (storage/commit_cache.h); 0: off.
  size_t commit_cache_bytes = size_t{128} << 20;
  // Whether the store pipelines WAL syncs (storage/store.h); benchmarks turn
  // it off to measure what it gains.
  bool pipelined_sync = true;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options);
  // Shuts down (if not yet) and closes the store.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port.
  int port() const { return port_; }
  // The bound port of the operations-only listener (0: none).
  int metrics_port() const;
  // The bound port of the HTTP/JSON API (0: none).
  int http_port() const;
  // The bound port of the health-only listener (0: none).
  int health_port() const { return health_port_; }
  // How long opening the data dir took (no counters are rebuilt on open).
  absl::Duration open_time() const { return open_time_; }
  // Blocks until Shutdown() is called from another thread.
  void Wait();
  // Reports NOT_SERVING on grpc.health.v1 (readiness) while still serving, so
  // load balancers stop routing new calls before Shutdown. Idempotent.
  void BeginDrain();
  // Reports NOT_SERVING, stops accepting calls, lets in-flight calls finish
  // (up to `grace`; acknowledged batches are durable, unacknowledged ones are
  // either committed whole or not at all), then cancels the rest. Watch
  // streams (gRPC and HTTP) end at once, within a poll (0.5 s).
  // Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  domain::Monitor& monitor() { return *monitor_; }
  storage::Store& store() { return *store_; }
  app::Application& application() { return *app_; }

 private:
  Server() = default;
  // The steps of Start, in order.
  absl::Status OpenStore(const ServerOptions& options);
  // MakeServices and StartHttp authenticate with authenticator_ (null: no
  // principals).
  void MakeServices();
  absl::Status StartGrpc(
      const ServerOptions& options,
      const std::shared_ptr<grpc::ServerCredentials>& credentials);
  absl::Status StartHealthOnly(const std::string& listen);
  absl::Status StartHttp(const ServerOptions& options);

  // Destroyed in reverse order: services, application, monitor, metrics,
  // store.
  std::unique_ptr<storage::Store> store_;
  // Null without principals. Declared before metrics_ and the services,
  // which read it.
  std::shared_ptr<const access::Authenticator> authenticator_;
  std::unique_ptr<PrometheusMetrics> metrics_;
  // Flushes the authenticator's refusal summary every few seconds (null
  // authenticator: not started); stopped and joined by the destructor.
  absl::Notification stop_flusher_;
  std::thread failure_log_flusher_;
  std::unique_ptr<domain::Monitor> monitor_;
  std::unique_ptr<app::Application> app_;
  std::unique_ptr<grpc_services::TrialServiceImpl> trial_service_;
  std::unique_ptr<grpc_services::IngestServiceImpl> ingest_service_;
  std::unique_ptr<grpc_services::SafetyServiceImpl> safety_service_;
  std::unique_ptr<grpc_services::SignalServiceImpl> signal_service_;
  std::unique_ptr<grpc_services::AuditServiceImpl> audit_service_;
  std::unique_ptr<grpc_services::AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  // Answers UNIMPLEMENTED for every method on the health-only listener; it
  // outlives health_server_.
  std::unique_ptr<grpc::CallbackGenericService> health_unimplemented_;
  std::unique_ptr<grpc::Server> health_server_;
  // The HTTP gateways and servers (declared last: destroyed before the
  // application layer they call).
  std::atomic<bool> draining_{false};
  // Set by Shutdown; the gRPC watch streams end when they see it.
  std::shared_ptr<std::atomic<bool>> stopping_ =
      std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<http::Gateway> http_gateway_;
  std::unique_ptr<http::HttpServer> http_server_;
  std::unique_ptr<http::Gateway> ops_gateway_;
  std::unique_ptr<http::HttpServer> ops_server_;
  int port_ = 0;
  int health_port_ = 0;
  absl::Duration open_time_;
};

}  // namespace aesignal

#endif  // AESIGNAL_SERVICES_SERVER_SERVER_H_
