// IngestService's application facade: one batch at a time, or a stream of
// batches pipelined through the store.
//
// Thread-safe. `monitor` must outlive the facade.
#ifndef AESIGNAL_SERVICES_APP_INGEST_H_
#define AESIGNAL_SERVICES_APP_INGEST_H_

#include <functional>

#include "absl/status/statusor.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "services/app/call_context.h"
#include "services/domain/monitor.h"

namespace aesignal::app {

class IngestApp {
 public:
  // Batches one stream may have queued for durability at once; further
  // batches wait in the transport's flow control, not in server memory.
  static constexpr int kMaxInFlightPerStream = 16;

  explicit IngestApp(domain::Monitor* monitor) : monitor_(*monitor) {}

  absl::StatusOr<v1::SubmitReportsResponse> SubmitReports(
      const CallContext& context, const v1::SubmitReportsRequest& request);

  // Reads the next batch into *request; false at the end of the stream.
  using ReadBatch = std::function<bool(v1::StreamReportsRequest* request)>;
  // Sends one response; false if the caller can no longer receive.
  using WriteResponse =
      std::function<bool(const v1::StreamReportsResponse& response)>;

  // Runs one bidirectional ingest stream: reads batches with `read` (on the
  // calling thread) and queues each for durability at once, so the next is
  // read while one is being committed; `write` sends each batch's outcome, in
  // request order, as it becomes durable: one response per batch, or, if the
  // first request set group_acknowledgements, each response with every
  // outcome ready at the time (from a writer thread this call owns; `read` and
  // `write` may run concurrently, `write` never twice at once). A refused batch
  // gets a BatchError and the stream goes on. Returns when reading ends and
  // every queued batch has been answered (or writing failed): OK, CANCELLED if
  // the caller went away, or the authorization error before anything is read.
  absl::Status StreamReports(const CallContext& context, const ReadBatch& read,
                             const WriteResponse& write);

 private:
  domain::Monitor& monitor_;
};

}  // namespace aesignal::app

#endif  // AESIGNAL_SERVICES_APP_INGEST_H_
