// ReportUpload: the one streaming driver behind `aesignal reports submit` and
// `aesignal import`. It streams reports over the SDK's ReportStreamer,
// remembers the file line of each report so that the server's rejections can
// be reported as "FILE:LINE: ...", collects those and the caller's own row
// problems in file order, and shows live progress. A batch the server
// refuses as a whole becomes one problem naming its lines; the rows that got
// no outcome (never sent after a refusal, or unacknowledged when the stream
// gave up) one more, from the first of them.
//
// Example:
//   ReportUpload upload(client.shared_connection(), "NCT02013700",
//                       {.batch_size = 500, .progress = &std::cerr},
//                       [&](const client::ReportOutcome& o, int line,
//                           const std::vector<int>& lines) { ... });
//   for (...) {
//     if (!upload.Add(std::move(report), line).ok()) break;
//   }
//   absl::StatusOr<client::StreamSummary> summary = upload.Finish();
//   upload.PrintProblems(std::cerr);
//
// Thread-compatible: Add(), AddProblem(), Finish() and PrintProblems() run on
// one thread; the rejection formatter runs on the streamer's thread, one call
// at a time, under the upload's lock.
#ifndef AESIGNAL_CLIENTS_CLI_REPORT_UPLOAD_H_
#define AESIGNAL_CLIENTS_CLI_REPORT_UPLOAD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aesignal/client/connection.h"
#include "aesignal/client/report_streamer.h"

namespace aesignal::cli {

// A rejected report's problems as {field, reason}: every field violation of
// its error (the server names the first problem of each group of checks),
// else its one field and reason.
std::vector<std::pair<std::string, std::string>> RejectedFields(
    const v1::ReportResult& result);

struct ReportUploadOptions {
  // The file the reports come from, as problems name it ("FILE:LINE: ...").
  std::string file = "";
  int batch_size = 500;
  int window = 8;  // unacknowledged batches in flight
  // Where live progress goes ("\rreports: N sent, M acknowledged"); null for
  // none.
  std::ostream* progress = nullptr;
  // Reports to send, if known in advance: progress then shows "N/TOTAL sent".
  std::optional<int64_t> total = std::nullopt;
};

class ReportUpload {
 public:
  // The message for a report the server rejected: `outcome` as the streamer
  // delivered it, `line` the file line of the report, `line_of_sequence` the
  // file line of every report sent so far (by sequence number).
  using RejectionFormatter =
      std::function<std::string(const client::ReportOutcome& outcome, int line,
                                const std::vector<int>& line_of_sequence)>;

  ReportUpload(std::shared_ptr<client::ClientConnection> connection,
               std::string trial_id, const ReportUploadOptions& options,
               RejectionFormatter format_rejection);

  // Sends `report`, read from file line `line`. After an error nothing more
  // may be added; Finish() returns it.
  absl::Status Add(v1::AdverseEventReport report, int line);
  // A problem found before sending (an unreadable row), listed with the
  // rejections in line order.
  void AddProblem(int line, std::string message);
  // Waits for every acknowledgement (unless Add() failed) and ends the
  // progress line.
  absl::StatusOr<client::StreamSummary> Finish();
  // Prints every problem and rejection, ordered by line, one per line.
  void PrintProblems(std::ostream& err);

  // Reports passed to Add() and taken by the streamer.
  int64_t sent() const;
  // The outcomes' counts (complete after Finish(), whatever it returned).
  client::StreamSummary summary() const;

 private:
  void ShowProgress(bool final);
  void NoteOutcome(const client::ReportOutcome& outcome);
  // The problems Finish() leaves to tell: each refused batch, and the rows
  // without an outcome.
  void AddStreamProblems() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // A batch the server refused: its sequences [first, last] and why.
  struct RefusedBatch {
    int64_t first = 0;
    int64_t last = 0;
    absl::Status refusal;
  };

  const ReportUploadOptions options_;
  const RejectionFormatter format_rejection_;
  absl::Status add_status_;
  absl::Time last_progress_ = absl::Now();

  // Written by Add() before the report is streamed, read by the outcome
  // callback (the streamer's thread) after its acknowledgement.
  mutable absl::Mutex mu_;
  std::vector<int> line_of_sequence_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<int, std::string>> problems_
      ABSL_GUARDED_BY(mu_);  // (line, message)
  std::vector<RefusedBatch> refused_ ABSL_GUARDED_BY(mu_);
  int64_t outcomes_ ABSL_GUARDED_BY(mu_) = 0;
  // The line of a row Add() was given but the streamer did not take (it had
  // stopped); every later row was not read.
  std::optional<int> first_line_not_taken_ ABSL_GUARDED_BY(mu_);

  // Last: its thread calls back into the members above until it is
  // destroyed.
  client::ReportStreamer streamer_;
};

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_REPORT_UPLOAD_H_
