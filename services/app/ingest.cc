#include "services/app/ingest.h"

#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/mutex.h"
#include "services/errors/errors.h"
#include "services/errors/status_table.h"

namespace aesignal::app {
namespace {

namespace methods = access::methods;

// Per-stream pipeline state, shared with the commit callbacks (which may run
// after the reader has stopped) so that it lives as long as any of them.
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

// Sends responses in order as they become durable and drains every slot
// before returning, so no commit callback outlives the stream.
void WriteInOrder(StreamState& state, const IngestApp::WriteResponse& write) {
  for (;;) {
    v1::StreamReportsResponse next;
    bool send = false;
    {
      absl::MutexLock lock(&state.mu);
      while (!(!state.slots.empty() && state.slots.front().ready) &&
             !(state.reading_done && state.slots.empty())) {
        state.changed.Wait(&state.mu);
      }
      if (state.slots.empty()) return;
      next = std::move(state.slots.front().response);
      state.slots.pop_front();
      send = !state.write_failed;
      state.changed.SignalAll();
    }
    if (send && !write(next)) {
      absl::MutexLock lock(&state.mu);
      state.write_failed = true;
      state.changed.SignalAll();
    }
  }
}

// A slot for the next batch, once fewer than kMaxInFlightPerStream are
// queued; null if writing has failed (the stream is over).
StreamState::Slot* NextSlot(StreamState& state, int64_t batch_id) {
  absl::MutexLock lock(&state.mu);
  while (state.slots.size() >=
             static_cast<size_t>(IngestApp::kMaxInFlightPerStream) &&
         !state.write_failed) {
    state.changed.Wait(&state.mu);
  }
  if (state.write_failed) return nullptr;
  state.slots.emplace_back();
  StreamState::Slot* slot = &state.slots.back();  // deque keeps addresses
  slot->response.set_batch_id(batch_id);
  return slot;
}

// The outcome of one streamed batch as the stream reports it: the result, or
// a BatchError with the status's google.rpc code (from the status table),
// message and first field violation.
void FillBatchResult(absl::StatusOr<v1::SubmitReportsResponse> result,
                     v1::StreamReportsResponse* response) {
  if (result.ok()) {
    *response->mutable_result() = *std::move(result);
    return;
  }
  v1::BatchError* error = response->mutable_error();
  error->set_code(errors::MappingOf(result.status().code()).grpc_code);
  error->set_message(std::string(result.status().message()));
  auto violations = errors::ViolationsOf(result.status());
  if (!violations.empty()) error->set_field(violations[0].field);
  *error->mutable_status() = errors::ToRpcStatus(result.status());
}

}  // namespace

absl::StatusOr<v1::SubmitReportsResponse> IngestApp::SubmitReports(
    const CallContext& context, const v1::SubmitReportsRequest& request) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kSubmitReports));
  return monitor_.SubmitReports(
      request, access::CallOf(context.caller, methods::kSubmitReports));
}

absl::Status IngestApp::StreamReports(const CallContext& context,
                                      const ReadBatch& read,
                                      const WriteResponse& write) {
  AESIGNAL_RETURN_IF_ERROR(BeginCall(context, methods::kStreamReports));
  const std::string kStream = methods::kStreamReports.FullName();
  monitor_.metrics().StreamsChanged(kStream, +1);
  const absl::Cleanup closed = [&] {
    monitor_.metrics().StreamsChanged(kStream, -1);
  };
  auto state = std::make_shared<StreamState>();
  const access::CallInfo call =
      access::CallOf(context.caller, methods::kStreamReports);
  std::thread writer([state, &write] { WriteInOrder(*state, write); });

  v1::StreamReportsRequest request;
  while (read(&request)) {
    StreamState::Slot* slot = NextSlot(*state, request.batch_id());
    if (slot == nullptr) break;
    v1::SubmitReportsRequest submit;
    submit.set_parent(request.parent());
    submit.mutable_reports()->Swap(request.mutable_reports());
    monitor_.SubmitReportsAsync(
        std::move(submit),
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
  if (context.Cancelled()) return absl::CancelledError("stream cancelled");
  return absl::OkStatus();
}

}  // namespace aesignal::app
