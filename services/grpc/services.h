// The gRPC transport's service classes: one per v1 service, each RPC a few
// lines that build the call's app::CallContext (caller, deadline,
// cancellation), call the matching application facade and map its status
// (status.h). No authorization, no status translation of their own, no
// storage and no loops beyond reading and writing a stream.
//
// Thread-safe. The Application must outlive the services.
#ifndef AESIGNAL_SERVICES_GRPC_SERVICES_H_
#define AESIGNAL_SERVICES_GRPC_SERVICES_H_

#include <atomic>
#include <memory>

#include "aesignal/v1/admin_service.grpc.pb.h"
#include "aesignal/v1/audit_service.grpc.pb.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "services/access/authenticator.h"
#include "services/app/application.h"

namespace aesignal::grpc_services {

// What every service class adapts to: the application layer, and the
// authenticator that names callers (null: authentication off).
struct Backend {
  app::Application* app = nullptr;
  std::shared_ptr<const access::Authenticator> authenticator = nullptr;
  // Set when the server shuts down (may be null: never): watch streams then
  // end UNAVAILABLE at their next poll instead of holding the shutdown for
  // its whole grace period.
  std::shared_ptr<const std::atomic<bool>> stopping = nullptr;
};

class TrialServiceImpl final : public v1::TrialService::Service {
 public:
  explicit TrialServiceImpl(Backend backend) : backend_(std::move(backend)) {}

  grpc::Status CreateTrial(grpc::ServerContext*, const v1::CreateTrialRequest*,
                           v1::Trial*) override;
  grpc::Status GetTrial(grpc::ServerContext*, const v1::GetTrialRequest*,
                        v1::Trial*) override;
  grpc::Status ListTrials(grpc::ServerContext*, const v1::ListTrialsRequest*,
                          v1::ListTrialsResponse*) override;
  grpc::Status EnrollSubjects(grpc::ServerContext*,
                              const v1::EnrollSubjectsRequest*,
                              v1::EnrollSubjectsResponse*) override;
  grpc::Status ListSubjects(grpc::ServerContext*,
                            const v1::ListSubjectsRequest*,
                            v1::ListSubjectsResponse*) override;
  grpc::Status UpdateTrial(grpc::ServerContext*, const v1::UpdateTrialRequest*,
                           v1::Trial*) override;
  grpc::Status GetSubject(grpc::ServerContext*, const v1::GetSubjectRequest*,
                          v1::Subject*) override;

 private:
  Backend backend_;
};

// StreamReports pipelines (app::IngestApp::StreamReports): while one batch
// is being made durable the next is already read.
class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  explicit IngestServiceImpl(Backend backend) : backend_(std::move(backend)) {}

  grpc::Status SubmitReports(grpc::ServerContext*,
                             const v1::SubmitReportsRequest*,
                             v1::SubmitReportsResponse*) override;
  grpc::Status StreamReports(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::StreamReportsResponse,
                               v1::StreamReportsRequest>*) override;

 private:
  Backend backend_;
};

class SafetyServiceImpl final : public v1::SafetyService::Service {
 public:
  explicit SafetyServiceImpl(Backend backend) : backend_(std::move(backend)) {}

  grpc::Status GetIncidence(grpc::ServerContext*,
                            const v1::GetIncidenceRequest*,
                            v1::GetIncidenceResponse*) override;
  grpc::Status GetReport(grpc::ServerContext*, const v1::GetReportRequest*,
                         v1::Report*) override;
  grpc::Status ListReports(grpc::ServerContext*, const v1::ListReportsRequest*,
                           v1::ListReportsResponse*) override;
  grpc::Status GenerateDsmbReport(grpc::ServerContext*,
                                  const v1::GenerateDsmbReportRequest*,
                                  v1::DsmbReport*) override;

 private:
  Backend backend_;
};

// WatchSignals holds one server thread per watcher; the application layer
// polls for cancellation (app::SignalsApp::kWatchPoll), so shutdown ends
// watches promptly.
class SignalServiceImpl final : public v1::SignalService::Service {
 public:
  explicit SignalServiceImpl(Backend backend) : backend_(std::move(backend)) {}

  grpc::Status PutBaselines(grpc::ServerContext*,
                            const v1::PutBaselinesRequest*,
                            v1::PutBaselinesResponse*) override;
  grpc::Status ListBaselines(grpc::ServerContext*,
                             const v1::ListBaselinesRequest*,
                             v1::ListBaselinesResponse*) override;
  grpc::Status ListSignals(grpc::ServerContext*, const v1::ListSignalsRequest*,
                           v1::ListSignalsResponse*) override;
  grpc::Status GetSignal(grpc::ServerContext*, const v1::GetSignalRequest*,
                         v1::Signal*) override;
  grpc::Status GetBaseline(grpc::ServerContext*, const v1::GetBaselineRequest*,
                           v1::Baseline*) override;
  grpc::Status TriageSignal(grpc::ServerContext*,
                            const v1::TriageSignalRequest*,
                            v1::Signal*) override;
  grpc::Status UpdateSignal(grpc::ServerContext*,
                            const v1::UpdateSignalRequest*,
                            v1::Signal*) override;
  grpc::Status WatchSignals(
      grpc::ServerContext*, const v1::WatchSignalsRequest*,
      grpc::ServerWriter<v1::WatchSignalsResponse>*) override;
  grpc::Status ListTopics(grpc::ServerContext*, const v1::ListTopicsRequest*,
                          v1::ListTopicsResponse*) override;
  grpc::Status GetTopic(grpc::ServerContext*, const v1::GetTopicRequest*,
                        v1::SignalTopic*) override;
  grpc::Status TriageTopic(grpc::ServerContext*, const v1::TriageTopicRequest*,
                           v1::SignalTopic*) override;
  grpc::Status WatchTopics(
      grpc::ServerContext*, const v1::WatchTopicsRequest*,
      grpc::ServerWriter<v1::WatchTopicsResponse>*) override;

 private:
  Backend backend_;
};

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(Backend backend) : backend_(std::move(backend)) {}

  grpc::Status ListAuditRecords(grpc::ServerContext*,
                                const v1::ListAuditRecordsRequest*,
                                v1::ListAuditRecordsResponse*) override;
  grpc::Status GetAuditTrail(grpc::ServerContext*,
                             const v1::GetAuditTrailRequest*,
                             v1::GetAuditTrailResponse*) override;

 private:
  Backend backend_;
};

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(Backend backend) : backend_(std::move(backend)) {}

  grpc::Status CreateBackup(grpc::ServerContext*,
                            const v1::CreateBackupRequest*,
                            v1::Backup*) override;
  grpc::Status VerifyTrial(grpc::ServerContext*, const v1::VerifyTrialRequest*,
                           v1::VerifyTrialResponse*) override;

 private:
  Backend backend_;
};

}  // namespace aesignal::grpc_services

#endif  // AESIGNAL_SERVICES_GRPC_SERVICES_H_
