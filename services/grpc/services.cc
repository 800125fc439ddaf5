#include "services/grpc/services.h"

#include <chrono>

#include "absl/time/clock.h"
#include "services/grpc/auth_processor.h"
#include "services/grpc/status.h"

namespace aesignal::grpc_services {
namespace {

// The call as the application layer sees it: the authenticated caller, the
// deadline (none if gRPC has none) and gRPC's cancellation.
absl::StatusOr<app::CallContext> ContextOf(grpc::ServerContext* context,
                                           const Backend& backend) {
  auto caller = CallerOf(*context, backend.authenticator.get());
  if (!caller.ok()) return caller.status();
  app::CallContext call{.caller = *std::move(caller)};
  const auto deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    call.deadline = absl::FromChrono(deadline);
  }
  call.is_cancelled = [context] { return context->IsCancelled(); };
  return call;
}

// One unary RPC: `call(context)` is the facade method; its value goes into
// *out, its status through the one status mapping.
template <typename Response, typename Call>
grpc::Status Unary(grpc::ServerContext* context, const Backend& backend,
                   Response* out, const Call& call) {
  auto app_context = ContextOf(context, backend);
  if (!app_context.ok()) return ToGrpc(app_context.status());
  absl::StatusOr<Response> result = call(*app_context);
  if (!result.ok()) return ToGrpc(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

// One streaming RPC: `call(context)` drives the stream and returns its
// final status.
template <typename Call>
grpc::Status Streaming(grpc::ServerContext* context, const Backend& backend,
                       const Call& call) {
  auto app_context = ContextOf(context, backend);
  if (!app_context.ok()) return ToGrpc(app_context.status());
  return ToGrpc(call(*app_context));
}

// A watch: as Streaming, but it also ends when the server shuts down, with
// UNAVAILABLE, so that the shutdown does not wait for the watcher and the
// watcher knows to resume on another server (or this one, restarted).
template <typename Call>
grpc::Status Watch(grpc::ServerContext* context, const Backend& backend,
                   const Call& call) {
  auto app_context = ContextOf(context, backend);
  if (!app_context.ok()) return ToGrpc(app_context.status());
  const std::shared_ptr<const std::atomic<bool>> stopping = backend.stopping;
  if (stopping != nullptr) {
    app_context->is_cancelled = [context, stopping] {
      return context->IsCancelled() || stopping->load();
    };
  }
  const absl::Status status = call(*app_context);
  if (!status.ok() && stopping != nullptr && stopping->load() &&
      !context->IsCancelled()) {
    return ToGrpc(absl::UnavailableError(
        "the server is shutting down: watch again with after_sequence = the "
        "last change_sequence received"));
  }
  return ToGrpc(status);
}

using Ctx = app::CallContext;

}  // namespace

grpc::Status TrialServiceImpl::CreateTrial(grpc::ServerContext* context,
                                           const v1::CreateTrialRequest* req,
                                           v1::Trial* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.CreateTrial(c, *req);
  });
}

grpc::Status TrialServiceImpl::GetTrial(grpc::ServerContext* context,
                                        const v1::GetTrialRequest* req,
                                        v1::Trial* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.GetTrial(c, *req);
  });
}

grpc::Status TrialServiceImpl::ListTrials(grpc::ServerContext* context,
                                          const v1::ListTrialsRequest* req,
                                          v1::ListTrialsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.ListTrials(c, *req);
  });
}

grpc::Status TrialServiceImpl::EnrollSubjects(
    grpc::ServerContext* context, const v1::EnrollSubjectsRequest* req,
    v1::EnrollSubjectsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.EnrollSubjects(c, *req);
  });
}

grpc::Status TrialServiceImpl::ListSubjects(grpc::ServerContext* context,
                                            const v1::ListSubjectsRequest* req,
                                            v1::ListSubjectsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.ListSubjects(c, *req);
  });
}

grpc::Status TrialServiceImpl::UpdateTrial(grpc::ServerContext* context,
                                           const v1::UpdateTrialRequest* req,
                                           v1::Trial* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.UpdateTrial(c, *req);
  });
}

grpc::Status TrialServiceImpl::GetSubject(grpc::ServerContext* context,
                                          const v1::GetSubjectRequest* req,
                                          v1::Subject* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->trials.GetSubject(c, *req);
  });
}

grpc::Status IngestServiceImpl::SubmitReports(
    grpc::ServerContext* context, const v1::SubmitReportsRequest* req,
    v1::SubmitReportsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->ingest.SubmitReports(c, *req);
  });
}

grpc::Status IngestServiceImpl::StreamReports(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::StreamReportsResponse,
                             v1::StreamReportsRequest>* stream) {
  return Streaming(context, backend_, [&](const Ctx& c) {
    return backend_.app->ingest.StreamReports(
        c, [stream](v1::StreamReportsRequest* r) { return stream->Read(r); },
        [stream](const v1::StreamReportsResponse& r) {
          return stream->Write(r);
        });
  });
}

grpc::Status SafetyServiceImpl::GetIncidence(grpc::ServerContext* context,
                                             const v1::GetIncidenceRequest* req,
                                             v1::GetIncidenceResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->incidence.GetIncidence(c, *req);
  });
}

grpc::Status SafetyServiceImpl::GetReport(grpc::ServerContext* context,
                                          const v1::GetReportRequest* req,
                                          v1::Report* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->incidence.GetReport(c, *req);
  });
}

grpc::Status SafetyServiceImpl::ListReports(grpc::ServerContext* context,
                                            const v1::ListReportsRequest* req,
                                            v1::ListReportsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->incidence.ListReports(c, *req);
  });
}

grpc::Status SafetyServiceImpl::GenerateDsmbReport(
    grpc::ServerContext* context, const v1::GenerateDsmbReportRequest* req,
    v1::DsmbReport* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->reports.GenerateDsmbReport(c, *req);
  });
}

grpc::Status SignalServiceImpl::PutBaselines(grpc::ServerContext* context,
                                             const v1::PutBaselinesRequest* req,
                                             v1::PutBaselinesResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.PutBaselines(c, *req);
  });
}

grpc::Status SignalServiceImpl::ListBaselines(
    grpc::ServerContext* context, const v1::ListBaselinesRequest* req,
    v1::ListBaselinesResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.ListBaselines(c, *req);
  });
}

grpc::Status SignalServiceImpl::ListSignals(grpc::ServerContext* context,
                                            const v1::ListSignalsRequest* req,
                                            v1::ListSignalsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.ListSignals(c, *req);
  });
}

grpc::Status SignalServiceImpl::GetSignal(grpc::ServerContext* context,
                                          const v1::GetSignalRequest* req,
                                          v1::Signal* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.GetSignal(c, *req);
  });
}

grpc::Status SignalServiceImpl::GetBaseline(grpc::ServerContext* context,
                                            const v1::GetBaselineRequest* req,
                                            v1::Baseline* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.GetBaseline(c, *req);
  });
}

grpc::Status SignalServiceImpl::TriageSignal(grpc::ServerContext* context,
                                             const v1::TriageSignalRequest* req,
                                             v1::Signal* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.TriageSignal(c, *req);
  });
}

grpc::Status SignalServiceImpl::UpdateSignal(grpc::ServerContext* context,
                                             const v1::UpdateSignalRequest* req,
                                             v1::Signal* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.UpdateSignal(c, *req);
  });
}

grpc::Status SignalServiceImpl::ListTopics(grpc::ServerContext* context,
                                           const v1::ListTopicsRequest* req,
                                           v1::ListTopicsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.ListTopics(c, *req);
  });
}

grpc::Status SignalServiceImpl::GetTopic(grpc::ServerContext* context,
                                         const v1::GetTopicRequest* req,
                                         v1::SignalTopic* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.GetTopic(c, *req);
  });
}

grpc::Status SignalServiceImpl::TriageTopic(grpc::ServerContext* context,
                                            const v1::TriageTopicRequest* req,
                                            v1::SignalTopic* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->signals.TriageTopic(c, *req);
  });
}

grpc::Status SignalServiceImpl::WatchTopics(
    grpc::ServerContext* context, const v1::WatchTopicsRequest* req,
    grpc::ServerWriter<v1::WatchTopicsResponse>* writer) {
  return Watch(context, backend_, [&](const Ctx& c) {
    return backend_.app->signals.WatchTopics(
        c, *req, [writer](const v1::WatchTopicsResponse& r) {
          return writer->Write(r);
        });
  });
}

grpc::Status SignalServiceImpl::WatchSignals(
    grpc::ServerContext* context, const v1::WatchSignalsRequest* req,
    grpc::ServerWriter<v1::WatchSignalsResponse>* writer) {
  return Watch(context, backend_, [&](const Ctx& c) {
    return backend_.app->signals.WatchSignals(
        c, *req, [writer](const v1::WatchSignalsResponse& r) {
          return writer->Write(r);
        });
  });
}

grpc::Status AuditServiceImpl::ListAuditRecords(
    grpc::ServerContext* context, const v1::ListAuditRecordsRequest* req,
    v1::ListAuditRecordsResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->audit.ListAuditRecords(c, *req);
  });
}

grpc::Status AuditServiceImpl::GetAuditTrail(
    grpc::ServerContext* context, const v1::GetAuditTrailRequest* req,
    v1::GetAuditTrailResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->audit.GetAuditTrail(c, *req);
  });
}

grpc::Status AdminServiceImpl::CreateBackup(grpc::ServerContext* context,
                                            const v1::CreateBackupRequest* req,
                                            v1::Backup* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->admin.CreateBackup(c, *req);
  });
}

grpc::Status AdminServiceImpl::VerifyTrial(grpc::ServerContext* context,
                                           const v1::VerifyTrialRequest* req,
                                           v1::VerifyTrialResponse* resp) {
  return Unary(context, backend_, resp, [&](const Ctx& c) {
    return backend_.app->admin.VerifyTrial(c, *req);
  });
}

}  // namespace aesignal::grpc_services
