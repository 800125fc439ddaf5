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
    v1::BatchAcknowledgement outcome;
    bool ready = false;
  };
  absl::Mutex mu;
  absl::CondVar changed;
  // Responses complete in submission order (the store commits FIFO), so a
  // queue of slots filled by the commit callbacks keeps them ordered.
  std::deque<Slot> slots ABSL_GUARDED_BY(mu);
  // The stream's first request asked for group_acknowledgements.
  bool grouped ABSL_GUARDED_BY(mu) = false;
  bool reading_done ABSL_GUARDED_BY(mu) = false;
  bool write_failed ABSL_GUARDED_BY(mu) = false;
};

// The next response: the first ready slot's outcome, or on a grouped stream
// every ready slot at the front. Pops what it takes.
v1::StreamReportsResponse TakeReady(StreamState& state)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
  v1::StreamReportsResponse response;
  if (!state.grouped) {
    v1::BatchAcknowledgement& outcome = state.slots.front().outcome;
    response.set_batch_id(outcome.batch_id());
    if (outcome.has_error()) {
      response.mutable_error()->Swap(outcome.mutable_error());
    } else {
      response.mutable_result()->Swap(outcome.mutable_result());
    }
    state.slots.pop_front();
    return response;
  }
  while (!state.slots.empty() && state.slots.front().ready) {
    response.add_acknowledgements()->Swap(&state.slots.front().outcome);
    state.slots.pop_front();
  }
  return response;
}

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
      next = TakeReady(state);
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
// queued; null if writing has failed (the stream is over). The first
// request decides whether the stream's acknowledgements are grouped.
StreamState::Slot* NextSlot(StreamState& state,
                            const v1::StreamReportsRequest& request,
                            bool first) {
  absl::MutexLock lock(&state.mu);
  if (first) state.grouped = request.group_acknowledgements();
  while (state.slots.size() >=
             static_cast<size_t>(IngestApp::kMaxInFlightPerStream) &&
         !state.write_failed) {
    state.changed.Wait(&state.mu);
  }
  if (state.write_failed) return nullptr;
  state.slots.emplace_back();
  StreamState::Slot* slot = &state.slots.back();  // deque keeps addresses
  slot->outcome.set_batch_id(request.batch_id());
  return slot;
}

// The outcome of one streamed batch as the stream reports it: the result, or
// a BatchError with the status's google.rpc code (from the status table),
// message and first field violation.
void FillBatchResult(absl::StatusOr<v1::SubmitReportsResponse> result,
                     v1::BatchAcknowledgement* outcome) {
  if (result.ok()) {
    *outcome->mutable_result() = *std::move(result);
    return;
  }
  v1::BatchError* error = outcome->mutable_error();
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
  for (bool first = true; read(&request); first = false) {
    StreamState::Slot* slot = NextSlot(*state, request, first);
    if (slot == nullptr) break;
    v1::SubmitReportsRequest submit;
    submit.set_parent(request.parent());
    submit.mutable_reports()->Swap(request.mutable_reports());
    monitor_.SubmitReportsAsync(
        std::move(submit),
        [state, slot](absl::StatusOr<v1::SubmitReportsResponse> result) {
          absl::MutexLock lock(&state->mu);
          FillBatchResult(std::move(result), &slot->outcome);
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
