// ReportStreamer: streams adverse-event reports to the server in batches over
// one StreamReports call, with a bounded window of unacknowledged batches,
// safe resending after a broken stream, and a per-report outcome for every
// report added.
//
// Example:
//   ReportStreamer streamer(connection, "NCT02013700", {.batch_size = 500},
//       [](const ReportOutcome& o) {
//         if (o.result.status() == v1::REPORT_STATUS_REJECTED) ...
//       });
//   for (auto& r : reports) {
//     if (absl::Status s = streamer.Add(std::move(r)); !s.ok()) return s;
//   }
//   absl::StatusOr<StreamSummary> summary = streamer.Finish();
//
// Guarantees:
// - Add() blocks while `max_unacked_batches` batches await their ack
//   (back-pressure: memory stays bounded by window x batch size).
// - When the stream breaks with a retryable status (UNAVAILABLE, ABORTED)
//   every unacknowledged batch is resent, in order, on a new stream. The
//   server is idempotent by report_id + version, so a report whose first
//   batch was committed but not acknowledged is reported DUPLICATE on resend
//   and counted once.
// - Every request asks the server to group acknowledgements
//   (StreamReportsRequest.group_acknowledgements): batches durable together
//   come back in one response, which matters when batches are small. Servers
//   that predate grouping answer one response per batch; both are handled.
// - The outcome callback runs once per report, in the order reports were
//   added, from an internal thread, never concurrently with itself.
// - A batch the server refuses as a whole (unknown trial, a report of a site
//   the caller may not submit for, an oversized batch, ...) stores none of
//   its reports: each gets an outcome with `batch_error` set. The server keeps
//   the stream open, so the batches already in flight behind it still get
//   their outcomes (Finish() waits for them); nothing more is sent, and
//   Add()/Finish() return the first refusal. Reports added but not yet sent
//   at the refusal are not sent and get no outcome.
// - Running out of reconnects is returned by Add()/Finish(); batches
//   acknowledged before it are durable.
//
// Thread-safety: Add() and Finish() must be called from one thread (or with
// external synchronisation).
#ifndef AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_REPORT_STREAMER_H_
#define AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_REPORT_STREAMER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aesignal/client/connection.h"

namespace aesignal::client {

// The most reports one SubmitReports or StreamReports message may carry (the
// API's limit, proto/aesignal/v1/ingest_service.proto).
inline constexpr int kMaxReportsPerBatch = 5000;

struct StreamerOptions {
  // Reports per StreamReports message, 1 to kMaxReportsPerBatch (a value
  // outside that range is taken as the nearest end of it).
  int batch_size = 500;
  // Batches sent but not yet acknowledged before Add() blocks.
  int max_unacked_batches = 8;
  // New streams opened after a retryable failure before giving up; the wait
  // before reconnect k is initial_backoff * 2^k, capped at max_backoff.
  int max_reconnects = 8;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

struct ReportOutcome {
  // 0-based position of the report in the order of Add() calls.
  int64_t sequence = 0;
  // The server's result; result.index() is the position within its batch.
  // For a report of a refused batch only `index` is set.
  v1::ReportResult result;
  // Not OK when the server refused the report's whole batch (nothing of it
  // stored): the refusal, with the details the server sent (a BadRequest
  // whose fields are batch-relative, "reports[k].site_id").
  absl::Status batch_error;
};

struct StreamSummary {
  int64_t accepted = 0;
  int64_t duplicate = 0;
  int64_t superseded = 0;
  int64_t rejected = 0;
  int64_t refused = 0;     // reports in batches refused as a whole
  int64_t batches = 0;     // batches acknowledged or refused
  int64_t reconnects = 0;  // streams reopened after a retryable failure
};

class ReportStreamer {
 public:
  using OutcomeCallback = std::function<void(const ReportOutcome&)>;

  // `connection` must outlive nothing: it is shared. `on_outcome` may be null.
  ReportStreamer(std::shared_ptr<ClientConnection> connection,
                 std::string trial_id, StreamerOptions options = {},
                 OutcomeCallback on_outcome = nullptr);
  // Cancels the stream if Finish() was not called; unacknowledged reports
  // may or may not be stored (resubmitting them is safe).
  ~ReportStreamer();
  ReportStreamer(const ReportStreamer&) = delete;
  ReportStreamer& operator=(const ReportStreamer&) = delete;

  // Queues one report; sends a batch when batch_size reports are queued.
  absl::Status Add(v1::AdverseEventReport report);
  // Sends what is queued, waits for every acknowledgement, closes the stream.
  absl::StatusOr<StreamSummary> Finish();

  // Reports added so far, and reports whose outcome has arrived (for
  // progress displays; safe from any thread).
  int64_t added() const;
  int64_t acknowledged() const;
  // The outcomes' counts so far (after Finish(), whatever it returned: all of
  // them; reports added but never sent are in none of the counts).
  StreamSummary summary() const;

 private:
  struct Batch {
    int64_t first_sequence = 0;
    v1::StreamReportsRequest request;
  };

  absl::Status SendBatch();
  // Blocks until fewer than `limit` batches are unacknowledged, recovering
  // from broken streams on the way.
  absl::Status WaitForUnacked(size_t limit);
  // Replaces a broken stream and resends every unacknowledged batch.
  absl::Status Recover();
  void StartStream();
  // The current stream's status: finishes it on the first call only (gRPC
  // aborts the process on a second Finish of one stream).
  absl::Status FinishStream();
  void ReadLoop(ReportStream* stream);
  // Reports one acknowledged batch's outcomes and counts them; false (with
  // protocol_error_ set) if it matches no batch sent.
  bool Acknowledge(const v1::BatchAcknowledgement& ack)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A batch's outcomes once the server answered it; count them.
  std::vector<ReportOutcome> AcceptBatch(
      std::deque<Batch>::iterator it, const v1::SubmitReportsResponse& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<ReportOutcome> RefuseBatch(std::deque<Batch>::iterator it,
                                         const v1::BatchError& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Refused() const;
  void JoinReader();

  const std::shared_ptr<ClientConnection> connection_;
  const std::string parent_;
  const StreamerOptions options_;
  const OutcomeCallback on_outcome_;

  // Owned by the Add()/Finish() thread.
  Batch building_;
  int64_t next_batch_id_ = 1;
  bool writes_done_ = false;
  bool finished_ = false;
  std::unique_ptr<ReportStream> stream_;
  bool stream_finished_ = false;
  absl::Status stream_status_;  // once stream_finished_
  // Why the streamer stopped reconnecting: Add() and Finish() return it.
  absl::Status gave_up_;
  std::thread reader_;

  mutable absl::Mutex mu_;
  std::deque<Batch> unacked_ ABSL_GUARDED_BY(mu_);
  bool stream_ended_ ABSL_GUARDED_BY(mu_) = false;
  // The first batch the server refused; the stream goes on (see above).
  absl::Status refusal_ ABSL_GUARDED_BY(mu_);
  // An acknowledgement that matches no batch sent: the stream is abandoned.
  absl::Status protocol_error_ ABSL_GUARDED_BY(mu_);
  StreamSummary summary_ ABSL_GUARDED_BY(mu_);
  int64_t added_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  // Stream failures since the last acknowledgement (bounds reconnects).
  int failures_without_progress_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aesignal::client

#endif  // AESIGNAL_CLIENTS_CPP_AESIGNAL_CLIENT_REPORT_STREAMER_H_
