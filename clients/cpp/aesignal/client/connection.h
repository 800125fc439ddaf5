// The transport seam of the aesignal client SDK.
//
// ClientConnection is one method per RPC, returning absl::StatusOr; Client and
// ReportStreamer are written against it so tests can substitute a mock
// (aesignal/client/mocks/mock_connection.h) or a fake.
// MakeClientConnection() returns the real gRPC implementation.
//
// Retries: the gRPC implementation retries a unary call that fails with a
// retryable status (IsRetryable: UNAVAILABLE, ABORTED) only if the RPC is
// idempotent, i.e. a resend cannot apply a change twice (the server may have
// applied an attempt whose response was lost). kRetryPolicies below is the
// table, one row per unary RPC:
//
//   reads: every Get* and List* (GetTrial, ListTrials, GetSubject,
//     ListSubjects, GetIncidence, GetReport, ListReports, ListBaselines,
//     GetBaseline, ListSignals, GetSignal, ListAuditRecords, GetAuditTrail)
//     and VerifyTrial (a recount)                              retried
//   CreateTrial (the same content returns the stored trial)    retried
//   EnrollSubjects (an identical subject is left unchanged)    retried
//   SubmitReports (a resent report_id + version is DUPLICATE)  retried
//   PutBaselines (an identical baseline is left unchanged)     retried
//   GenerateDsmbReport (the same report, same content hash;
//     each attempt the server answered is in the audit trail
//     as a report given)                                       retried
//   TriageSignal with a request_id (a retry with the same id
//     returns the signal unchanged; Client::TriageSignal fills
//     one in)                                                  retried
//   TriageSignal without a request_id                          attempted once
//   UpdateTrial (an amendment is not idempotent in general)    attempted once
//   UpdateSignal (deprecated; carries no request id)           attempted once
//   CreateBackup (a retry would find the directory it made)    attempted once
//
// Streams retry at a higher level: ReportStreamer resends unacknowledged
// batches (idempotent by report_id + version) and Client::WatchSignals
// resumes after the last change delivered.
//
// Thread-safety: a ClientConnection is safe to use from many threads at once.
// A ReportStream is a single bidirectional stream: at most one thread may
// Write and one other thread may Read at a time.
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CONNECTION_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_CONNECTION_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>

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

  // RPCs added after the first SDK release. The defaults return
  // UNIMPLEMENTED so that fakes written against the earlier interface still
  // compile; the gRPC implementation and MockClientConnection override all.
  virtual absl::StatusOr<v1::Trial> UpdateTrial(
      const v1::UpdateTrialRequest& request);
  virtual absl::StatusOr<v1::Subject> GetSubject(
      const v1::GetSubjectRequest& request);
  virtual absl::StatusOr<v1::Report> GetReport(
      const v1::GetReportRequest& request);
  virtual absl::StatusOr<v1::ListReportsResponse> ListReports(
      const v1::ListReportsRequest& request);
  virtual absl::StatusOr<v1::DsmbReport> GenerateDsmbReport(
      const v1::GenerateDsmbReportRequest& request);
  virtual absl::StatusOr<v1::Baseline> GetBaseline(
      const v1::GetBaselineRequest& request);
  virtual absl::StatusOr<v1::Signal> TriageSignal(
      const v1::TriageSignalRequest& request);
  virtual absl::StatusOr<v1::ListAuditRecordsResponse> ListAuditRecords(
      const v1::ListAuditRecordsRequest& request);
  virtual absl::StatusOr<v1::ListTopicsResponse> ListTopics(
      const v1::ListTopicsRequest& request);
  virtual absl::StatusOr<v1::SignalTopic> GetTopic(
      const v1::GetTopicRequest& request);
  virtual absl::StatusOr<v1::SignalTopic> TriageTopic(
      const v1::TriageTopicRequest& request);
};

// Whether a unary RPC may be sent again after a retryable failure (see the
// table at the top of this file).
enum class RetryPolicy {
  // Idempotent: retried.
  kIdempotent,
  // Idempotent only when the request carries a request_id: retried then,
  // attempted once otherwise.
  kIdempotentWithRequestId,
  // Not idempotent: attempted once.
  kNotIdempotent,
};

struct RpcRetryPolicy {
  // "Service.Method", e.g. "TrialService.UpdateTrial".
  std::string_view method;
  RetryPolicy policy;
};

// Every unary RPC of aesignal.v1 (client_retry_test checks the table
// against the services in the .proto files and against the gRPC
// implementation's behaviour).
inline constexpr std::array<RpcRetryPolicy, 26> kRetryPolicies = {{
    {"TrialService.CreateTrial", RetryPolicy::kIdempotent},
    {"TrialService.GetTrial", RetryPolicy::kIdempotent},
    {"TrialService.ListTrials", RetryPolicy::kIdempotent},
    {"TrialService.UpdateTrial", RetryPolicy::kNotIdempotent},
    {"TrialService.EnrollSubjects", RetryPolicy::kIdempotent},
    {"TrialService.ListSubjects", RetryPolicy::kIdempotent},
    {"TrialService.GetSubject", RetryPolicy::kIdempotent},
    {"IngestService.SubmitReports", RetryPolicy::kIdempotent},
    {"SafetyService.GetIncidence", RetryPolicy::kIdempotent},
    {"SafetyService.GetReport", RetryPolicy::kIdempotent},
    {"SafetyService.ListReports", RetryPolicy::kIdempotent},
    {"SafetyService.GenerateDsmbReport", RetryPolicy::kIdempotent},
    {"SignalService.PutBaselines", RetryPolicy::kIdempotent},
    {"SignalService.ListBaselines", RetryPolicy::kIdempotent},
    {"SignalService.GetBaseline", RetryPolicy::kIdempotent},
    {"SignalService.ListSignals", RetryPolicy::kIdempotent},
    {"SignalService.GetSignal", RetryPolicy::kIdempotent},
    {"SignalService.TriageSignal", RetryPolicy::kIdempotentWithRequestId},
    {"SignalService.UpdateSignal", RetryPolicy::kNotIdempotent},
    {"SignalService.ListTopics", RetryPolicy::kIdempotent},
    {"SignalService.GetTopic", RetryPolicy::kIdempotent},
    {"SignalService.TriageTopic", RetryPolicy::kIdempotentWithRequestId},
    {"AuditService.ListAuditRecords", RetryPolicy::kIdempotent},
    {"AuditService.GetAuditTrail", RetryPolicy::kIdempotent},
    {"AdminService.CreateBackup", RetryPolicy::kNotIdempotent},
    {"AdminService.VerifyTrial", RetryPolicy::kIdempotent},
}};

// The policy of `method` ("Service.Method"); kNotIdempotent for a method
// not in kRetryPolicies.
RetryPolicy RetryPolicyOf(std::string_view method);

// Whether a failed attempt of `method` may be sent again unchanged;
// `has_request_id` says whether the request carries a request_id.
bool MayRetry(std::string_view method, bool has_request_id);

struct ConnectionOptions {
  // gRPC target, e.g. "127.0.0.1:50051" or "dns:///aesignal.example:443".
  std::string target = "127.0.0.1:50051";
  // Null means insecure (plaintext) credentials.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Deadline of each unary call attempt.
  absl::Duration call_timeout = absl::Seconds(30);
  // Attempts of a unary call of an idempotent RPC (kRetryPolicies) that
  // fails with a retryable status (IsRetryable), with exponential backoff
  // starting at `initial_backoff`. Other RPCs are attempted once.
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
