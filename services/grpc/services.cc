#include "services/grpc/services.h"

#include <deque>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "services/grpc/status.h"
#include "services/monitor/errors.h"
#include "services/monitor/validation.h"

namespace aesignal::grpc_services {
namespace {

// Copies a StatusOr's value into *out and returns the mapped status.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return ToGrpc(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

// Who is calling: the authenticated principal (and its sites) when the
// server authenticates callers; otherwise the caller's claim in
// `x-aesignal-principal`, else its peer address.
monitor::CallInfo CallInfoOf(const grpc::ServerContext* context,
                             const char* rpc,
                             const Authenticator* authenticator) {
  monitor::CallInfo call;
  call.rpc = rpc;
  if (authenticator != nullptr) {
    if (auto p = authenticator->Identify(*context); p.has_value()) {
      call.principal = p->name;
      if (p->role == Role::kSite) call.sites = p->sites;
      return call;
    }
  }
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("x-aesignal-principal"); it != metadata.end()) {
    call.principal = std::string(it->second.data(), it->second.size());
  } else {
    call.principal = absl::StrCat("peer:", context->peer());
  }
  return call;
}

}  // namespace

grpc::Status TrialServiceImpl::CreateTrial(grpc::ServerContext* context,
                                           const v1::CreateTrialRequest* req,
                                           v1::Trial* resp) {
  return Reply(
      monitor_.CreateTrial(*req, CallInfoOf(context, "TrialService.CreateTrial",
                                            authenticator_.get())),
      resp);
}

grpc::Status TrialServiceImpl::GetTrial(grpc::ServerContext*,
                                        const v1::GetTrialRequest* req,
                                        v1::Trial* resp) {
  return Reply(monitor_.GetTrial(*req), resp);
}

grpc::Status TrialServiceImpl::ListTrials(grpc::ServerContext*,
                                          const v1::ListTrialsRequest* req,
                                          v1::ListTrialsResponse* resp) {
  return Reply(monitor_.ListTrials(*req), resp);
}

grpc::Status TrialServiceImpl::EnrollSubjects(
    grpc::ServerContext* context, const v1::EnrollSubjectsRequest* req,
    v1::EnrollSubjectsResponse* resp) {
  return Reply(monitor_.EnrollSubjects(
                   *req, CallInfoOf(context, "TrialService.EnrollSubjects",
                                    authenticator_.get())),
               resp);
}

grpc::Status TrialServiceImpl::ListSubjects(grpc::ServerContext*,
                                            const v1::ListSubjectsRequest* req,
                                            v1::ListSubjectsResponse* resp) {
  return Reply(monitor_.ListSubjects(*req), resp);
}

grpc::Status IngestServiceImpl::SubmitReports(
    grpc::ServerContext* context, const v1::SubmitReportsRequest* req,
    v1::SubmitReportsResponse* resp) {
  return Reply(monitor_.SubmitReports(
                   *req, CallInfoOf(context, "IngestService.SubmitReports",
                                    authenticator_.get())),
               resp);
}

namespace {

// Per-stream pipeline state, shared with the commit callbacks (which may run
// after the handler has stopped reading) so that it lives as long as any of
// them.
struct StreamState {
  struct Slot {
    v1::StreamReportsResponse response;
    bool ready = false;
  };
  absl::Mutex mu;
  absl::CondVar changed;
  // Responses complete in submission order (the store commits FIFO), so a
  // queue of slots filled by the commit callbacks keeps them ordered.
  std::deque<Slot> slots ABSL_GUARDED_BY(mu);
  bool reading_done ABSL_GUARDED_BY(mu) = false;
  bool write_failed ABSL_GUARDED_BY(mu) = false;
};

void FillBatchResult(absl::StatusOr<v1::SubmitReportsResponse> result,
                     v1::StreamReportsResponse* response) {
  if (result.ok()) {
    *response->mutable_result() = *std::move(result);
    return;
  }
  v1::BatchError* error = response->mutable_error();
  error->set_code(static_cast<int>(result.status().code()));
  error->set_message(std::string(result.status().message()));
  auto violations = monitor::ViolationsOf(result.status());
  if (!violations.empty()) error->set_field(violations[0].field);
}

}  // namespace

grpc::Status IngestServiceImpl::StreamReports(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::StreamReportsResponse,
                             v1::StreamReportsRequest>* stream) {
  monitor_.metrics().StreamsChanged("IngestService.StreamReports", +1);
  const absl::Cleanup closed = [this] {
    monitor_.metrics().StreamsChanged("IngestService.StreamReports", -1);
  };
  auto state = std::make_shared<StreamState>();
  const monitor::CallInfo call =
      CallInfoOf(context, "IngestService.StreamReports", authenticator_.get());

  // The writer sends responses in order as they become durable, and drains
  // every slot before exiting, so no callback outlives the handler's stream.
  std::thread writer([state, stream] {
    for (;;) {
      v1::StreamReportsResponse next;
      bool send = false;
      {
        absl::MutexLock lock(&state->mu);
        while (!(!state->slots.empty() && state->slots.front().ready) &&
               !(state->reading_done && state->slots.empty())) {
          state->changed.Wait(&state->mu);
        }
        if (state->slots.empty()) return;
        next = std::move(state->slots.front().response);
        state->slots.pop_front();
        send = !state->write_failed;
        state->changed.SignalAll();
      }
      if (send && !stream->Write(next)) {
        absl::MutexLock lock(&state->mu);
        state->write_failed = true;
        state->changed.SignalAll();
      }
    }
  });

  v1::StreamReportsRequest request;
  while (stream->Read(&request)) {
    StreamState::Slot* slot;
    {
      absl::MutexLock lock(&state->mu);
      // Bound the work one stream can queue: a slow client's further batches
      // wait in gRPC flow control, not in server memory.
      while (state->slots.size() >=
                 static_cast<size_t>(kMaxInFlightPerStream) &&
             !state->write_failed) {
        state->changed.Wait(&state->mu);
      }
      if (state->write_failed) break;
      state->slots.emplace_back();
      slot = &state->slots.back();  // deque keeps element addresses stable
      slot->response.set_batch_id(request.batch_id());
    }
    v1::SubmitReportsRequest submit;
    submit.set_parent(request.parent());
    submit.mutable_reports()->Swap(request.mutable_reports());
    monitor_.SubmitReportsAsync(
        submit,
        [state, slot](absl::StatusOr<v1::SubmitReportsResponse> result) {
          absl::MutexLock lock(&state->mu);
          FillBatchResult(std::move(result), &slot->response);
          slot->ready = true;
          state->changed.SignalAll();
        },
        call);
  }
  {
    absl::MutexLock lock(&state->mu);
    state->reading_done = true;
    state->changed.SignalAll();
  }
  writer.join();
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
  }
  return grpc::Status::OK;
}

grpc::Status SafetyServiceImpl::GetIncidence(grpc::ServerContext*,
                                             const v1::GetIncidenceRequest* req,
                                             v1::GetIncidenceResponse* resp) {
  return Reply(monitor_.GetIncidence(*req), resp);
}

grpc::Status SignalServiceImpl::PutBaselines(grpc::ServerContext* context,
                                             const v1::PutBaselinesRequest* req,
                                             v1::PutBaselinesResponse* resp) {
  return Reply(monitor_.signals().PutBaselines(
                   *req, CallInfoOf(context, "SignalService.PutBaselines",
                                    authenticator_.get())),
               resp);
}

grpc::Status SignalServiceImpl::ListBaselines(
    grpc::ServerContext*, const v1::ListBaselinesRequest* req,
    v1::ListBaselinesResponse* resp) {
  return Reply(monitor_.signals().ListBaselines(*req), resp);
}

grpc::Status SignalServiceImpl::ListSignals(grpc::ServerContext*,
                                            const v1::ListSignalsRequest* req,
                                            v1::ListSignalsResponse* resp) {
  return Reply(monitor_.signals().ListSignals(*req), resp);
}

grpc::Status SignalServiceImpl::GetSignal(grpc::ServerContext*,
                                          const v1::GetSignalRequest* req,
                                          v1::Signal* resp) {
  return Reply(monitor_.signals().GetSignal(*req), resp);
}

grpc::Status SignalServiceImpl::UpdateSignal(grpc::ServerContext* context,
                                             const v1::UpdateSignalRequest* req,
                                             v1::Signal* resp) {
  return Reply(monitor_.signals().UpdateSignal(
                   *req, CallInfoOf(context, "SignalService.UpdateSignal",
                                    authenticator_.get())),
               resp);
}

grpc::Status SignalServiceImpl::WatchSignals(
    grpc::ServerContext* ctx, const v1::WatchSignalsRequest* req,
    grpc::ServerWriter<v1::WatchSignalsResponse>* writer) {
  auto trial_id = monitor::ParseTrialName(req->parent(), "parent");
  if (!trial_id.ok()) return ToGrpc(trial_id.status());
  // Fails with NOT_FOUND for an unknown trial before streaming.
  v1::GetTrialRequest get;
  get.set_name(req->parent());
  if (auto trial = monitor_.GetTrial(get); !trial.ok()) {
    return ToGrpc(trial.status());
  }
  monitor_.metrics().StreamsChanged("SignalService.WatchSignals", +1);
  const absl::Cleanup closed = [this] {
    monitor_.metrics().StreamsChanged("SignalService.WatchSignals", -1);
  };
  int64_t after = req->after_sequence();
  while (!ctx->IsCancelled()) {
    auto changes = monitor_.signals().WaitForChanges(
        *trial_id, after, absl::Now() + absl::Milliseconds(500));
    if (!changes.ok()) return ToGrpc(changes.status());
    for (auto& change : *changes) {
      v1::WatchSignalsResponse response;
      after = change.signal().change_sequence();
      response.set_change_sequence(after);
      *response.mutable_signal() = std::move(*change.mutable_signal());
      *response.mutable_event() = std::move(*change.mutable_event());
      if (!writer->Write(response)) return grpc::Status::CANCELLED;
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status AuditServiceImpl::GetAuditTrail(
    grpc::ServerContext*, const v1::GetAuditTrailRequest* req,
    v1::GetAuditTrailResponse* resp) {
  return Reply(monitor_.GetAuditTrail(*req), resp);
}

grpc::Status AdminServiceImpl::CreateBackup(grpc::ServerContext*,
                                            const v1::CreateBackupRequest* req,
                                            v1::Backup* resp) {
  if (req->destination().empty()) {
    return ToGrpc(monitor::InvalidArgument("destination", "is required"));
  }
  absl::Status status = store_.Checkpoint(req->destination());
  if (!status.ok()) return ToGrpc(status);
  resp->set_destination(req->destination());
  *resp->mutable_create_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(absl::Now()));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::VerifyTrial(grpc::ServerContext*,
                                           const v1::VerifyTrialRequest* req,
                                           v1::VerifyTrialResponse* resp) {
  auto trial_id = monitor::ParseTrialName(req->name(), "name");
  if (!trial_id.ok()) return ToGrpc(trial_id.status());
  absl::Status status = monitor_.VerifyCounters(*trial_id);
  if (!status.ok()) return ToGrpc(status);
  auto signals = monitor_.signals().VerifySignals(*trial_id);
  if (!signals.ok()) return ToGrpc(signals.status());
  resp->set_result(
      absl::StrCat("counters equal a recount from the stored reports; ",
                   *signals, " signals equal a re-evaluation of the counters"));
  return grpc::Status::OK;
}

}  // namespace aesignal::grpc_services
