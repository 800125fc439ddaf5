#include "clients/cli/report_upload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aesignal/client/status.h"
#include "clients/cli/command_context.h"

namespace aesignal::cli {
namespace {

// Progress is redrawn at most this often (a terminal is slow).
constexpr absl::Duration kProgressInterval = absl::Milliseconds(200);

}  // namespace

std::vector<std::pair<std::string, std::string>> RejectedFields(
    const v1::ReportResult& result) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (auto bad = client::BadRequestOf(client::FromRpcStatus(result.error()))) {
    for (const auto& v : bad->field_violations()) {
      fields.emplace_back(v.field(), v.description());
    }
  }
  if (fields.empty()) fields.emplace_back(result.field(), result.reason());
  return fields;
}

ReportUpload::ReportUpload(std::shared_ptr<client::ClientConnection> connection,
                           std::string trial_id,
                           const ReportUploadOptions& options,
                           RejectionFormatter format_rejection)
    : options_(options),
      format_rejection_(std::move(format_rejection)),
      streamer_(std::move(connection), std::move(trial_id),
                {.batch_size = options.batch_size,
                 .max_unacked_batches = options.window},
                [this](const client::ReportOutcome& o) { NoteOutcome(o); }) {}

void ReportUpload::NoteOutcome(const client::ReportOutcome& o) {
  absl::MutexLock lock(&mu_);
  ++outcomes_;
  if (!o.batch_error.ok()) {
    if (refused_.empty() || refused_.back().last + 1 != o.sequence ||
        o.result.index() == 0) {
      refused_.push_back({o.sequence, o.sequence, o.batch_error});
    } else {
      refused_.back().last = o.sequence;
    }
    return;
  }
  if (o.result.status() != v1::REPORT_STATUS_REJECTED) return;
  const int line = line_of_sequence_[o.sequence];
  problems_.emplace_back(line, format_rejection_(o, line, line_of_sequence_));
}

absl::Status ReportUpload::Add(v1::AdverseEventReport report, int line) {
  {
    absl::MutexLock lock(&mu_);
    line_of_sequence_.push_back(line);
  }
  const int64_t taken = streamer_.added();
  add_status_ = streamer_.Add(std::move(report));
  if (streamer_.added() == taken) {  // refused before taking it
    absl::MutexLock lock(&mu_);
    line_of_sequence_.pop_back();
    first_line_not_taken_ = line;
  }
  if (add_status_.ok()) ShowProgress(false);
  return add_status_;
}

void ReportUpload::AddProblem(int line, std::string message) {
  absl::MutexLock lock(&mu_);
  problems_.emplace_back(line, std::move(message));
}

absl::StatusOr<client::StreamSummary> ReportUpload::Finish() {
  // After a failed Add() too: the batches in flight still get outcomes.
  absl::StatusOr<client::StreamSummary> summary = streamer_.Finish();
  if (summary.ok() && !add_status_.ok()) summary = add_status_;
  ShowProgress(true);
  absl::MutexLock lock(&mu_);
  AddStreamProblems();
  return summary;
}

client::StreamSummary ReportUpload::summary() const {
  return streamer_.summary();
}

void ReportUpload::AddStreamProblems() {
  const std::string& file = options_.file;
  for (const RefusedBatch& batch : refused_) {
    const int first_line = line_of_sequence_[batch.first];
    const int last_line = line_of_sequence_[batch.last];
    int line = first_line;
    std::string what =
        absl::StrCat(absl::StatusCodeToString(batch.refusal.code()), ": ",
                     batch.refusal.message());
    auto bad = client::BadRequestOf(batch.refusal);
    int index;
    std::string field;
    if (bad && bad->field_violations_size() > 0 &&
        SplitIndexedPath(bad->field_violations(0).field(), "reports", &index,
                         &field) &&
        index >= 0 && batch.first + index <= batch.last) {
      line = line_of_sequence_[batch.first + index];
      what = absl::StrCat(field, ": ", bad->field_violations(0).description());
    }
    const int64_t reports = batch.last - batch.first + 1;
    problems_.emplace_back(
        line,
        absl::StrCat(file, ":", line, ": ", what,
                     " (the server refused this row's whole batch, lines ",
                     first_line, "-", last_line, ": none of its ", reports,
                     reports == 1 ? " report is" : " reports are", " stored)"));
  }
  std::optional<int> first_without_outcome = first_line_not_taken_;
  if (outcomes_ < static_cast<int64_t>(line_of_sequence_.size())) {
    first_without_outcome = line_of_sequence_[outcomes_];
  }
  if (first_without_outcome) {
    problems_.emplace_back(
        *first_without_outcome,
        absl::StrCat(file, ":", *first_without_outcome,
                     ": this row and every row after it have no outcome (not "
                     "sent after the error, or sent and not acknowledged, so "
                     "perhaps stored); submitting the file again is safe: "
                     "what is stored comes back as duplicate, never counted "
                     "twice"));
  }
}

void ReportUpload::PrintProblems(std::ostream& err) {
  absl::MutexLock lock(&mu_);
  std::sort(problems_.begin(), problems_.end());
  for (const auto& p : problems_) err << p.second << "\n";
}

int64_t ReportUpload::sent() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(line_of_sequence_.size());
}

void ReportUpload::ShowProgress(bool final) {
  if (options_.progress == nullptr) return;
  if (!final && absl::Now() - last_progress_ < kProgressInterval) return;
  last_progress_ = absl::Now();
  std::ostream& out = *options_.progress;
  out << "\rreports: " << streamer_.added();
  if (options_.total) out << "/" << *options_.total;
  out << " sent, " << streamer_.acknowledged() << " acknowledged" << std::flush;
  if (final) out << "\n";
}

}  // namespace aesignal::cli
