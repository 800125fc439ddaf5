#include "aesignal/client/report_streamer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
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
  building_.request.set_group_acknowledgements(true);
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

StreamSummary ReportStreamer::summary() const {
  absl::MutexLock lock(&mu_);
  return summary_;
}

absl::Status ReportStreamer::Add(v1::AdverseEventReport report) {
  if (finished_) {
    return absl::FailedPreconditionError("ReportStreamer: Add after Finish");
  }
  if (!gave_up_.ok()) return gave_up_;
  {
    absl::MutexLock lock(&mu_);
    if (!protocol_error_.ok()) return protocol_error_;
    if (!refusal_.ok()) return refusal_;
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
  {
    absl::MutexLock lock(&mu_);
    // Refused while waiting for room: this batch stays unsent.
    if (!refusal_.ok()) return refusal_;
  }

  Batch batch = std::move(building_);
  building_ = Batch();
  building_.request.set_parent(parent_);
  building_.request.set_group_acknowledgements(true);
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
        return unacked_.size() < limit || stream_ended_ ||
               !protocol_error_.ok();
      };
      mu_.Await(absl::Condition(&ready));
      if (!protocol_error_.ok()) return protocol_error_;
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
    // After a refusal the batches in flight are still drained below.
    if (!sent.ok() && !Refused()) return sent;
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
    if (!protocol_error_.ok()) return protocol_error_;
    if (unacked_.empty()) {
      if (!refusal_.ok()) return refusal_;
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
    if (!protocol_error_.ok()) return protocol_error_;
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

bool ReportStreamer::Refused() const {
  absl::MutexLock lock(&mu_);
  return !refusal_.ok();
}

namespace {

// A BatchError as a status: its code, "field: message", and the details the
// server attached (BadRequest, ResourceInfo) when it sent them.
absl::Status RefusalOf(const v1::BatchError& error) {
  // The server's message names its field ("reports[3].site_id: ...");
  // older ones sent it only in `field`.
  const std::string message =
      error.field().empty() || absl::StartsWith(error.message(), error.field())
          ? error.message()
          : absl::StrCat(error.field(), ": ", error.message());
  absl::Status status(static_cast<absl::StatusCode>(error.code()), message);
  if (error.has_status()) {
    const absl::Status detailed = FromRpcStatus(error.status());
    detailed.ForEachPayload(
        [&](absl::string_view type_url, const absl::Cord& payload) {
          status.SetPayload(type_url, payload);
        });
  }
  return status;
}

}  // namespace

// Under mu_: the refused batch `it`'s reports as outcomes, counted.
std::vector<ReportOutcome> ReportStreamer::RefuseBatch(
    std::deque<Batch>::iterator it, const v1::BatchError& error) {
  const absl::Status refusal = RefusalOf(error);
  if (refusal_.ok()) refusal_ = refusal;
  std::vector<ReportOutcome> outcomes;
  if (on_outcome_ != nullptr) {
    outcomes.reserve(it->request.reports_size());
    for (int i = 0; i < it->request.reports_size(); ++i) {
      ReportOutcome outcome;
      outcome.sequence = it->first_sequence + i;
      outcome.result.set_index(i);
      outcome.batch_error = refusal;
      outcomes.push_back(std::move(outcome));
    }
  }
  summary_.refused += it->request.reports_size();
  ++summary_.batches;
  failures_without_progress_ = 0;
  return outcomes;
}

// Under mu_: the acknowledged batch `it`'s results as outcomes, counted.
std::vector<ReportOutcome> ReportStreamer::AcceptBatch(
    std::deque<Batch>::iterator it, const v1::SubmitReportsResponse& result) {
  summary_.accepted += result.accepted_count();
  summary_.duplicate += result.duplicate_count();
  summary_.superseded += result.superseded_count();
  summary_.rejected += result.rejected_count();
  ++summary_.batches;
  failures_without_progress_ = 0;
  std::vector<ReportOutcome> outcomes;
  if (on_outcome_ != nullptr) {
    outcomes.reserve(result.results_size());
    for (const auto& r : result.results()) {
      ReportOutcome outcome;
      outcome.sequence = it->first_sequence + r.index();
      outcome.result = r;
      outcomes.push_back(std::move(outcome));
    }
  }
  return outcomes;
}

namespace {

// The batches one response acknowledges: its `acknowledgements` (a stream
// that asked for them grouped), or else the response's own fields (one
// batch per response, as servers before grouping always answer).
std::vector<v1::BatchAcknowledgement> AcknowledgementsOf(
    v1::StreamReportsResponse& response) {
  std::vector<v1::BatchAcknowledgement> acks;
  if (response.acknowledgements_size() > 0) {
    acks.reserve(response.acknowledgements_size());
    for (v1::BatchAcknowledgement& ack : *response.mutable_acknowledgements()) {
      acks.push_back(std::move(ack));
    }
    return acks;
  }
  v1::BatchAcknowledgement& ack = acks.emplace_back();
  ack.set_batch_id(response.batch_id());
  if (response.has_error()) ack.mutable_error()->Swap(response.mutable_error());
  if (response.has_result()) {
    ack.mutable_result()->Swap(response.mutable_result());
  }
  return acks;
}

}  // namespace

bool ReportStreamer::Acknowledge(const v1::BatchAcknowledgement& ack) {
  std::vector<ReportOutcome> outcomes;
  int reports = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(
        unacked_.begin(), unacked_.end(),
        [&](const Batch& b) { return b.request.batch_id() == ack.batch_id(); });
    if (it == unacked_.end() ||
        (!ack.has_error() &&
         ack.result().results_size() != it->request.reports_size())) {
      protocol_error_ = absl::InternalError(absl::StrCat(
          "server acknowledged batch ", ack.batch_id(),
          it == unacked_.end() ? ", which is not pending"
                               : " with a wrong number of results"));
      return false;
    }
    reports = it->request.reports_size();
    outcomes = ack.has_error() ? RefuseBatch(it, ack.error())
                               : AcceptBatch(it, ack.result());
    unacked_.erase(it);
  }
  // Outside the lock: the callback may be slow or call added().
  for (const auto& outcome : outcomes) on_outcome_(outcome);
  absl::MutexLock lock(&mu_);
  acknowledged_ += reports;
  return true;
}

void ReportStreamer::ReadLoop(ReportStream* stream) {
  v1::StreamReportsResponse response;
  bool in_protocol = true;
  while (in_protocol && stream->Read(&response)) {
    for (const v1::BatchAcknowledgement& ack : AcknowledgementsOf(response)) {
      in_protocol = Acknowledge(ack);
      if (!in_protocol) break;
    }
  }
  absl::MutexLock lock(&mu_);
  stream_ended_ = true;
}

}  // namespace aesignal::client
