// The transport seam of the aesignal client SDK.
//
// ClientConnection is one method per RPC, returning absl::StatusOr; Client and
// ReportStreamer are written against it so tests can substitute a mock
// (aesignal/client/mocks/mock_connection.h) or a fake.
// MakeClientConnection() returns the real gRPC implementation.
//
// Thread-safety: a ClientConnection is safe to use from many threads at once.
// A ReportStream is a single bidirectional stream: at most one thread may
// Write and one other thread may Read at a time.
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CONNECTION_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aesignal/v1/admin_service.pb.h"
#include "aesignal/v1/audit_service.pb.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/signal_service.pb.h"
#include "aesignal/v1/trial_service.pb.h"
#include "grpcpp/security/credentials.h"

namespace aesignal::client {

// One StreamReports call.
class ReportStream {
 public:
  virtual ~ReportStream() = default;
  // Sends one batch. False if the stream is broken (Finish() tells why).
  virtual bool Write(const v1::StreamReportsRequest& request) = 0;
  // Blocks for the next batch response. False when the stream has ended.
  virtual bool Read(v1::StreamReportsResponse* response) = 0;
  // Half-closes: no more writes. The server answers what it has received.
  virtual void WritesDone() = 0;
  // After Read() returned false: the final status of the call.
  virtual absl::Status Finish() = 0;
  // Aborts the call; a blocked Read() returns false. Safe from any thread.
  virtual void Cancel() = 0;
};

// One WatchSignals call.
class SignalWatch {
 public:
  virtual ~SignalWatch() = default;
  // Blocks for the next change. False when the call has ended.
  virtual bool Read(v1::WatchSignalsResponse* response) = 0;
  // After Read() returned false: the final status of the call.
  virtual absl::Status Finish() = 0;
  // Aborts the call; a blocked Read() returns false. Safe from any thread.
  virtual void Cancel() = 0;
};

class ClientConnection {
 public:
  virtual ~ClientConnection() = default;

  virtual absl::StatusOr<v1::Trial> CreateTrial(
      const v1::CreateTrialRequest& request) = 0;
  virtual absl::StatusOr<v1::Trial> GetTrial(
      const v1::GetTrialRequest& request) = 0;
  virtual absl::StatusOr<v1::ListTrialsResponse> ListTrials(
      const v1::ListTrialsRequest& request) = 0;
  virtual absl::StatusOr<v1::EnrollSubjectsResponse> EnrollSubjects(
      const v1::EnrollSubjectsRequest& request) = 0;
  virtual absl::StatusOr<v1::ListSubjectsResponse> ListSubjects(
      const v1::ListSubjectsRequest& request) = 0;
  virtual absl::StatusOr<v1::SubmitReportsResponse> SubmitReports(
      const v1::SubmitReportsRequest& request) = 0;
  virtual absl::StatusOr<v1::GetIncidenceResponse> GetIncidence(
      const v1::GetIncidenceRequest& request) = 0;
  virtual absl::StatusOr<v1::PutBaselinesResponse> PutBaselines(
      const v1::PutBaselinesRequest& request) = 0;
  virtual absl::StatusOr<v1::ListBaselinesResponse> ListBaselines(
      const v1::ListBaselinesRequest& request) = 0;
  virtual absl::StatusOr<v1::ListSignalsResponse> ListSignals(
      const v1::ListSignalsRequest& request) = 0;
  virtual absl::StatusOr<v1::Signal> GetSignal(
      const v1::GetSignalRequest& request) = 0;
  virtual absl::StatusOr<v1::Signal> UpdateSignal(
      const v1::UpdateSignalRequest& request) = 0;
  virtual absl::StatusOr<v1::GetAuditTrailResponse> GetAuditTrail(
      const v1::GetAuditTrailRequest& request) = 0;
  virtual absl::StatusOr<v1::Backup> CreateBackup(
      const v1::CreateBackupRequest& request) = 0;
  virtual absl::StatusOr<v1::VerifyTrialResponse> VerifyTrial(
      const v1::VerifyTrialRequest& request) = 0;
  // Opens a WatchSignals call that ends at `deadline` (DEADLINE_EXCEEDED).
  virtual std::unique_ptr<SignalWatch> WatchSignals(
      const v1::WatchSignalsRequest& request, absl::Time deadline) = 0;
  // Opens a StreamReports call. Never null; a stream that could not be
  // opened fails on first use.
  virtual std::unique_ptr<ReportStream> OpenReportStream() = 0;
  // grpc.health.v1 Check of the whole server: true if SERVING, false if
  // NOT_SERVING (draining or shutting down); an error if unreachable.
  virtual absl::StatusOr<bool> CheckHealth() {
    return absl::UnimplementedError("CheckHealth");
  }
};

struct ConnectionOptions {
  // gRPC target, e.g. "127.0.0.1:50051" or "dns:///aesignal.example:443".
  std::string target = "127.0.0.1:50051";
  // Null means insecure (plaintext) credentials.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Deadline of each unary call attempt.
  absl::Duration call_timeout = absl::Seconds(30);
  // Attempts of a unary call that fails with a retryable status
  // (IsRetryable), with exponential backoff starting at `initial_backoff`.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  // Largest response accepted (incidence pages can be large).
  int max_receive_message_bytes = 64 << 20;
  // Sent as `authorization: Bearer <token>` on every call when not empty
  // (servers with principals configured require it, over TLS).
  std::string bearer_token;
  // Sent as `x-aesignal-principal` on every call: who the audit trail
  // records on a server that authenticates nobody, and only for calls from
  // its own machine (loopback); ignored otherwise. Empty: not sent.
  std::string principal;
};

// TLS channel credentials from PEM files: `ca` verifies the server (empty:
// the system roots); `cert` and `key` (both or neither) present a client
// certificate for mutual TLS.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentials(
    const std::string& ca, const std::string& cert, const std::string& key);

// The gRPC implementation. Channel creation is lazy: this never fails, and
// an unreachable server surfaces as UNAVAILABLE on the first call.
std::shared_ptr<ClientConnection> MakeClientConnection(
    const ConnectionOptions& options);

}  // namespace aesignal::client

#endif  // AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CONNECTION_H_
