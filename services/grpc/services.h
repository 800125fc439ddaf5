// gRPC service implementations. Each handler is thin: it calls the Monitor
// and maps the absl::Status to a grpc::Status (status.h).
//
// Thread-safe. `monitor` must outlive the services.
#ifndef AESIGNAL_SERVICES_GRPC_SERVICES_H_
#define AESIGNAL_SERVICES_GRPC_SERVICES_H_

#include "aesignal/v1/admin_service.grpc.pb.h"
#include "aesignal/v1/audit_service.grpc.pb.h"
#include "aesignal/v1/ingest_service.grpc.pb.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "aesignal/v1/signal_service.grpc.pb.h"
#include "aesignal/v1/trial_service.grpc.pb.h"
#include "services/grpc/security.h"
#include "services/monitor/monitor.h"

namespace aesignal::grpc_services {

class TrialServiceImpl final : public v1::TrialService::Service {
 public:
  // `authenticator` (may be null: no authentication) names the caller.
  TrialServiceImpl(monitor::Monitor* monitor,
                   std::shared_ptr<const Authenticator> authenticator = nullptr)
      : monitor_(*monitor), authenticator_(std::move(authenticator)) {}

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

 private:
  monitor::Monitor& monitor_;
  std::shared_ptr<const Authenticator> authenticator_;
};

// StreamReports pipelines: while one batch is being made durable the next is
// already read and queued, up to kMaxInFlightPerStream batches per stream;
// responses go back in request order.
class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  static constexpr int kMaxInFlightPerStream = 16;

  // `authenticator` (may be null: no authentication) names the caller.
  IngestServiceImpl(
      monitor::Monitor* monitor,
      std::shared_ptr<const Authenticator> authenticator = nullptr)
      : monitor_(*monitor), authenticator_(std::move(authenticator)) {}

  grpc::Status SubmitReports(grpc::ServerContext*,
                             const v1::SubmitReportsRequest*,
                             v1::SubmitReportsResponse*) override;
  grpc::Status StreamReports(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::StreamReportsResponse,
                               v1::StreamReportsRequest>*) override;

 private:
  monitor::Monitor& monitor_;
  std::shared_ptr<const Authenticator> authenticator_;
};

class SafetyServiceImpl final : public v1::SafetyService::Service {
 public:
  explicit SafetyServiceImpl(monitor::Monitor* monitor) : monitor_(*monitor) {}

  grpc::Status GetIncidence(grpc::ServerContext*,
                            const v1::GetIncidenceRequest*,
                            v1::GetIncidenceResponse*) override;

 private:
  monitor::Monitor& monitor_;
};

// WatchSignals holds one server thread per watcher and polls for
// cancellation every `kWatchPoll`, so shutdown ends watches promptly.
class SignalServiceImpl final : public v1::SignalService::Service {
 public:
  // `authenticator` (may be null: no authentication) names the caller.
  SignalServiceImpl(
      monitor::Monitor* monitor,
      std::shared_ptr<const Authenticator> authenticator = nullptr)
      : monitor_(*monitor), authenticator_(std::move(authenticator)) {}

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
  grpc::Status UpdateSignal(grpc::ServerContext*,
                            const v1::UpdateSignalRequest*,
                            v1::Signal*) override;
  grpc::Status WatchSignals(
      grpc::ServerContext*, const v1::WatchSignalsRequest*,
      grpc::ServerWriter<v1::WatchSignalsResponse>*) override;

 private:
  monitor::Monitor& monitor_;
  std::shared_ptr<const Authenticator> authenticator_;
};

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(monitor::Monitor* monitor) : monitor_(*monitor) {}

  grpc::Status GetAuditTrail(grpc::ServerContext*,
                             const v1::GetAuditTrailRequest*,
                             v1::GetAuditTrailResponse*) override;

 private:
  monitor::Monitor& monitor_;
};

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  AdminServiceImpl(monitor::Monitor* monitor, storage::Store* store)
      : monitor_(*monitor), store_(*store) {}

  grpc::Status CreateBackup(grpc::ServerContext*,
                            const v1::CreateBackupRequest*,
                            v1::Backup*) override;
  grpc::Status VerifyTrial(grpc::ServerContext*, const v1::VerifyTrialRequest*,
                           v1::VerifyTrialResponse*) override;

 private:
  monitor::Monitor& monitor_;
  storage::Store& store_;
};

}  // namespace aesignal::grpc_services

#endif  // AESIGNAL_SERVICES_GRPC_SERVICES_H_
