// gRPC core's own log lines, in the server's operational log.
//
// gRPC writes its errors to stderr in its own format, and a failed TLS
// handshake (a client whose certificate no --tls_client_ca issued, or
// none where one is required; a port scanner) is one such line each: a
// client retrying in a loop floods the log, uncounted. RouteGrpcLog sends
// every gRPC line through log::Line ("grpc: …", timestamped like the
// rest), and failed handshakes through a log::RepeatedEventLog: the first
// at once, then at most one line per interval with how many failed since,
// each counted for aesignal_tls_handshake_failures_total.
//
// Process-wide (gRPC has one log function): call once, before the first
// gRPC server or channel. Thread-safe afterwards.
#ifndef AESIGNAL_SERVICES_SERVER_GRPC_LOG_H_
#define AESIGNAL_SERVICES_SERVER_GRPC_LOG_H_

#include <cstdint>

#include "absl/time/time.h"
#include "services/log/repeated.h"

namespace aesignal {

void RouteGrpcLog(log::RepeatedEventOptions handshake_log = {});

// Failed TLS handshakes since RouteGrpcLog (0 if it was not called).
int64_t TlsHandshakeFailures();

// Logs the handshake failures not logged yet once a line is due (the
// server calls it every few seconds).
void FlushGrpcLog();

}  // namespace aesignal

#endif  // AESIGNAL_SERVICES_SERVER_GRPC_LOG_H_
