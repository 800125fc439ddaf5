// The HTTP/1.1 server of aesignald (Boost.Beast): plaintext or TLS, serving
// one Gateway. One I/O thread accepts, reads, parses and writes; unary calls
// run on a small pool (they block on storage and durability), each stream
// (a watch, reports:stream) on a thread of its own pool.
//
// Hostile clients are bounded: header and body size, per-phase timeouts
// (a slow sender is cut off), requests per second and per connection,
// concurrent connections, calls in flight and open streams.
//
// Thread-safe. The Gateway must outlive the server. Example:
//   auto server = HttpServer::Start({.listen = "127.0.0.1:0"}, &gateway);
//   int port = (*server)->port();
#ifndef AESIGNAL_SERVICES_HTTP_SERVER_H_
#define AESIGNAL_SERVICES_HTTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/http/gateway.h"

namespace aesignal::http {

struct HttpLimits {
  int64_t max_header_bytes = 16 << 10;  // 431 beyond
  int64_t max_body_bytes = 16 << 20;    // 413 beyond
  absl::Duration tls_handshake_timeout = absl::Seconds(10);
  // Until a request's whole header has arrived (also the keep-alive idle
  // time): a client sending a byte at a time is cut off.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(60);
  absl::Duration write_timeout = absl::Seconds(30);
  // A unary call's deadline (the application layer sees it).
  absl::Duration request_timeout = absl::Seconds(60);
  // A stream ends after this long; the client resumes (Last-Event-ID).
  absl::Duration stream_timeout = absl::Hours(1);
  // SSE comment sent on an idle stream, keeping proxies from closing it.
  absl::Duration heartbeat = absl::Seconds(15);
  int max_connections = 256;
  int max_requests_per_connection = 1000;
  // Token bucket per connection: 429 with Retry-After when empty.
  double requests_per_second = 200;
  double request_burst = 400;
  int max_calls_in_flight = 64;  // 503 beyond
  int max_streams = 32;          // 503 beyond
  int call_threads = 4;
};

struct HttpTls {
  std::string cert = "";       // PEM chain
  std::string key = "";        // PEM private key
  std::string client_ca = "";  // verify client certificates (mTLS)
  bool require_client_cert = false;
};

// Whether `files` hold a PEM certificate chain and the private key that goes
// with it: INVALID_ARGUMENT naming tls_cert or tls_key otherwise. The
// server checks them before any listener starts, since gRPC then reports
// only that it cannot listen.
absl::Status CheckTlsFiles(const HttpTls& files);

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks one
  HttpTls tls = {};                    // TLS when cert is set
  // Plaintext on a non-loopback address only when true.
  bool allow_insecure = false;
  HttpLimits limits = {};
};

class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, const Gateway* gateway);
  // Shuts down (if not yet).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  bool tls() const;
  // Stops accepting, ends streams (clients resume elsewhere), lets unary
  // calls in flight finish for up to `grace`, then closes every connection.
  // Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aesignal::http

#endif  // AESIGNAL_SERVICES_HTTP_SERVER_H_
