#include "aesignal/client/report_streamer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aesignal/client/client.h"
#include "aesignal/client/status.h"

namespace aesignal::client {

ReportStreamer::ReportStreamer(std::shared_ptr<ClientConnection> connection,
                               std::string trial_id, StreamerOptions options,
                               OutcomeCallback on_outcome)
    : connection_(std::move(connection)),
      parent_(TrialName(trial_id)),
      options_(options),
      on_outcome_(std::move(on_outcome)) {
  building_.request.set_parent(parent_);
}

ReportStreamer::~ReportStreamer() {
  if (stream_ == nullptr || finished_) return;
  stream_->Cancel();
  JoinReader();
  FinishStream().IgnoreError();  // CANCELLED, by us
}

int64_t ReportStreamer::added() const {
  absl::MutexLock lock(&mu_);
  return added_;
}

int64_t ReportStreamer::acknowledged() const {
  absl::MutexLock lock(&mu_);
  return acknowledged_;
}

absl::Status ReportStreamer::Add(v1::AdverseEventReport report) {
  if (finished_) {
    return absl::FailedPreconditionError("ReportStreamer: Add after Finish");
  }
  if (!gave_up_.ok()) return gave_up_;
  {
    absl::MutexLock lock(&mu_);
    if (!batch_error_.ok()) return batch_error_;
    ++added_;
  }
  *building_.request.add_reports() = std::move(report);
  if (building_.request.reports_size() >=
      std::clamp(options_.batch_size, 1, kMaxReportsPerBatch)) {
    return SendBatch();
  }
  return absl::OkStatus();
}

absl::Status ReportStreamer::SendBatch() {
  if (stream_ == nullptr) StartStream();
  absl::Status room = WaitForUnacked(
      static_cast<size_t>(std::max(1, options_.max_unacked_batches)));
  if (!room.ok()) return room;

  Batch batch = std::move(building_);
  building_ = Batch();
  building_.request.set_parent(parent_);
  batch.request.set_batch_id(next_batch_id_++);
  {
    absl::MutexLock lock(&mu_);
    building_.first_sequence = added_;
    unacked_.push_back(batch);
  }
  // A failed write means the stream broke; the reader sees the end and the
  // next wait resends this batch on a new stream.
  stream_->Write(batch.request);
  return absl::OkStatus();
}

absl::Status ReportStreamer::WaitForUnacked(size_t limit) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&] {
        return unacked_.size() < limit || stream_ended_ || !batch_error_.ok();
      };
      mu_.Await(absl::Condition(&ready));
      if (!batch_error_.ok()) return batch_error_;
      // An ended stream with nothing pending is the normal end after
      // WritesDone; with batches pending it must be replaced.
      if (!stream_ended_ || (unacked_.empty() && writes_done_)) {
        if (unacked_.size() < limit) return absl::OkStatus();
      }
    }
    absl::Status recovered = Recover();
    if (!recovered.ok()) {
      gave_up_ = recovered;
      return recovered;
    }
  }
}

absl::StatusOr<StreamSummary> ReportStreamer::Finish() {
  if (finished_) {
    return absl::FailedPreconditionError("ReportStreamer: Finish called twice");
  }
  if (!gave_up_.ok()) {
    finished_ = true;  // the stream is finished already
    return gave_up_;
  }
  if (building_.request.reports_size() > 0) {
    absl::Status sent = SendBatch();
    if (!sent.ok()) return sent;
  }
  finished_ = true;
  if (stream_ == nullptr) return StreamSummary{};
  while (true) {
    if (!writes_done_) {
      stream_->WritesDone();
      writes_done_ = true;
    }
    absl::Status drained = WaitForUnacked(1);
    if (!drained.ok()) {
      stream_->Cancel();
      JoinReader();
      FinishStream().IgnoreError();
      return drained;
    }
    // Everything is acknowledged (on a replacement stream, possibly not yet
    // half-closed); the server closes the stream after the half-close.
    if (!writes_done_) {
      stream_->WritesDone();
      writes_done_ = true;
    }
    JoinReader();
    absl::Status status = FinishStream();
    absl::MutexLock lock(&mu_);
    if (!batch_error_.ok()) return batch_error_;
    if (unacked_.empty()) {
      if (!status.ok()) return status;
      return summary_;
    }
    // Acks raced with the end of the stream: go round again.
  }
}

void ReportStreamer::StartStream() {
  stream_ = connection_->OpenReportStream();
  stream_finished_ = false;
  stream_status_ = absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    stream_ended_ = false;
  }
  reader_ = std::thread([this, stream = stream_.get()] { ReadLoop(stream); });
}

absl::Status ReportStreamer::FinishStream() {
  if (!stream_finished_) {
    stream_status_ = stream_->Finish();
    stream_finished_ = true;
  }
  return stream_status_;
}

void ReportStreamer::JoinReader() {
  if (reader_.joinable()) reader_.join();
}

absl::Status ReportStreamer::Recover() {
  JoinReader();
  absl::Status status = FinishStream();
  // The client never cancels before Recover, so CANCELLED or OK with batches
  // unacknowledged came from the server side (e.g. a shutdown): reconnect.
  const bool reconnectable = IsRetryable(status) || status.ok() ||
                             status.code() == absl::StatusCode::kCancelled;
  int failures;
  {
    absl::MutexLock lock(&mu_);
    if (!batch_error_.ok()) return batch_error_;
    failures = failures_without_progress_++;
  }
  if (!reconnectable) return status;
  if (failures >= options_.max_reconnects) {
    return absl::Status(
        status.ok() ? absl::StatusCode::kUnavailable : status.code(),
        absl::StrCat(
            "report stream failed ", failures + 1,
            " times without progress; last error: ",
            status.ok() ? "stream closed by server" : status.message()));
  }
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 0; i < failures && backoff < options_.max_backoff; ++i) {
    backoff *= 2;
  }
  absl::SleepFor(std::min(backoff, options_.max_backoff));

  std::vector<v1::StreamReportsRequest> resend;
  {
    absl::MutexLock lock(&mu_);
    ++summary_.reconnects;
    for (const Batch& batch : unacked_) resend.push_back(batch.request);
  }
  StartStream();
  writes_done_ = false;
  for (const auto& request : resend) {
    if (!stream_->Write(request)) break;  // broken again: next wait recovers
  }
  return absl::OkStatus();
}

void ReportStreamer::ReadLoop(ReportStream* stream) {
  v1::StreamReportsResponse response;
  while (stream->Read(&response)) {
    std::vector<ReportOutcome> outcomes;
    {
      absl::MutexLock lock(&mu_);
      if (response.has_error()) {
        const auto& error = response.error();
        batch_error_ = absl::Status(
            static_cast<absl::StatusCode>(error.code()),
            error.field().empty()
                ? error.message()
                : absl::StrCat(error.field(), ": ", error.message()));
        break;
      }
      auto it =
          std::find_if(unacked_.begin(), unacked_.end(), [&](const Batch& b) {
            return b.request.batch_id() == response.batch_id();
          });
      const auto& result = response.result();
      if (it == unacked_.end() ||
          result.results_size() != it->request.reports_size()) {
        batch_error_ = absl::InternalError(absl::StrCat(
            "server acknowledged batch ", response.batch_id(),
            it == unacked_.end() ? ", which is not pending"
                                 : " with a wrong number of results"));
        break;
      }
      summary_.accepted += result.accepted_count();
      summary_.duplicate += result.duplicate_count();
      summary_.superseded += result.superseded_count();
      summary_.rejected += result.rejected_count();
      ++summary_.batches;
      failures_without_progress_ = 0;
      if (on_outcome_ != nullptr) {
        outcomes.reserve(result.results_size());
        for (const auto& r : result.results()) {
          outcomes.push_back({it->first_sequence + r.index(), r});
        }
      }
      unacked_.erase(it);
    }
    // Outside the lock: the callback may be slow or call added().
    for (const auto& outcome : outcomes) on_outcome_(outcome);
    absl::MutexLock lock(&mu_);
    acknowledged_ += response.result().results_size();
  }
  absl::MutexLock lock(&mu_);
  stream_ended_ = true;
}

}  // namespace aesignal::client
