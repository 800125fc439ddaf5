#include "clients/cli/report_upload.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "aesignal/client/status.h"

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
                [this](const client::ReportOutcome& o) {
                  if (o.result.status() != v1::REPORT_STATUS_REJECTED) return;
                  absl::MutexLock lock(&mu_);
                  const int line = line_of_sequence_[o.sequence];
                  problems_.emplace_back(
                      line, format_rejection_(o, line, line_of_sequence_));
                }) {}

absl::Status ReportUpload::Add(v1::AdverseEventReport report, int line) {
  {
    absl::MutexLock lock(&mu_);
    line_of_sequence_.push_back(line);
  }
  add_status_ = streamer_.Add(std::move(report));
  if (add_status_.ok()) ShowProgress(false);
  return add_status_;
}

void ReportUpload::AddProblem(int line, std::string message) {
  absl::MutexLock lock(&mu_);
  problems_.emplace_back(line, std::move(message));
}

absl::StatusOr<client::StreamSummary> ReportUpload::Finish() {
  absl::StatusOr<client::StreamSummary> summary =
      add_status_.ok() ? streamer_.Finish() : add_status_;
  ShowProgress(true);
  return summary;
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
