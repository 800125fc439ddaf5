// `aesignal reports submit`: streams a CSV of reports through ReportUpload.
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/commands.h"
#include "clients/cli/csv.h"
#include "clients/cli/csv_mapping.h"
#include "clients/cli/csv_messages.h"
#include "clients/cli/report_upload.h"

namespace aesignal::cli {
namespace {

struct SubmitFlags {
  std::string trial;
  std::string file;
  int batch_size = 500;
  int window = 8;
};

// Rewrites "reports[k]" inside a server reason (an index within the batch)
// as the file line of that report.
std::string ReasonWithLines(std::string reason,
                            const std::vector<int>& line_of_sequence,
                            int64_t batch_start) {
  size_t at = reason.find("reports[");
  if (at == std::string::npos) return reason;
  size_t close = reason.find(']', at);
  int k;
  if (close == std::string::npos ||
      !absl::SimpleAtoi(reason.substr(at + 8, close - at - 8), &k)) {
    return reason;
  }
  const int64_t seq = batch_start + k;
  if (seq < 0 || seq >= static_cast<int64_t>(line_of_sequence.size())) {
    return reason;
  }
  return absl::StrCat(reason.substr(0, at), "line ", line_of_sequence[seq],
                      reason.substr(close + 1));
}

// "FILE:LINE: FIELD: REASON" for a report the server rejected, with the
// batch-relative "reports[k]" paths turned into file positions.
std::string Rejection(const std::string& file, const client::ReportOutcome& o,
                      int line, const std::vector<int>& line_of_sequence) {
  std::string field = o.result.field();
  int index;
  std::string rest;
  if (SplitIndexedPath(field, "reports", &index, &rest)) field = rest;
  return absl::StrCat(file, ":", line, ": ", field.empty() ? "" : field + ": ",
                      ReasonWithLines(o.result.reason(), line_of_sequence,
                                      o.sequence - o.result.index()));
}

struct RowsRead {
  int64_t unreadable = 0;   // rows with bad cells, not sent
  bool csv_broken = false;  // the rest of the file could not be read
};

// Sends every readable row of `reader` to `upload`; unreadable rows and a
// broken file become its problems. Stops early if the stream fails.
RowsRead StreamRows(const std::string& file, CsvReader& reader,
                    const CsvMapping& mapping, ReportUpload& upload) {
  RowsRead rows;
  while (true) {
    auto record = reader.Next();
    if (!record.ok()) {
      upload.AddProblem(std::numeric_limits<int>::max(),
                        absl::StrCat(file, ":", record.status().message(),
                                     " (the rest of the file was not read)"));
      rows.csv_broken = true;
      return rows;
    }
    if (!record->has_value()) return rows;
    v1::AdverseEventReport report;
    auto errors = mapping.Fill((*record)->fields, &report);
    if (!errors.empty()) {
      ++rows.unreadable;
      for (const auto& e : errors) {
        upload.AddProblem((*record)->line,
                          CellErrorText(file, (*record)->line, e));
      }
      continue;
    }
    if (!upload.Add(std::move(report), (*record)->line).ok()) return rows;
  }
}

int ReportsSubmit(CommandContext& ctx, const SubmitFlags& flags) {
  std::ifstream in(flags.file);
  CsvReader reader(in);
  std::optional<CsvMapping> mapping = ReadCsvHeader(
      flags.file, in, reader, v1::AdverseEventReport::descriptor(), ctx.io.err);
  if (!mapping) return kExitFailed;

  ReportUpload upload(ctx.MakeClient().shared_connection(), flags.trial,
                      {.batch_size = flags.batch_size,
                       .window = flags.window,
                       .progress = ctx.io.progress ? &ctx.io.err : nullptr},
                      [&flags](const client::ReportOutcome& o, int line,
                               const std::vector<int>& line_of_sequence) {
                        return Rejection(flags.file, o, line, line_of_sequence);
                      });
  const RowsRead rows = StreamRows(flags.file, reader, *mapping, upload);
  absl::StatusOr<client::StreamSummary> summary = upload.Finish();
  upload.PrintProblems(ctx.io.err);
  if (!summary.ok()) {
    PrintStatus(ctx.io.err, summary.status());
    ctx.io.err << "reports acknowledged before the error are stored; "
                  "resubmitting the file is safe (duplicates are not counted "
                  "twice)\n";
    return kExitFailed;
  }
  ctx.io.out << "reports: " << upload.sent() + rows.unreadable
             << " rows; accepted " << summary->accepted << ", duplicate "
             << summary->duplicate << ", superseded " << summary->superseded
             << ", rejected " << summary->rejected + rows.unreadable;
  if (rows.unreadable > 0) {
    ctx.io.out << " (" << rows.unreadable << " unreadable, not sent)";
  }
  ctx.io.out << "\n";
  return summary->rejected + rows.unreadable > 0 || rows.csv_broken
             ? kExitFailed
             : kExitOk;
}

}  // namespace

void AddReportsCommands(CLI::App& app, CommandContext& ctx) {
  auto* reports = app.add_subcommand("reports", "submit AE reports");
  reports->require_subcommand(1);
  auto f = std::make_shared<SubmitFlags>();
  auto* submit = reports->add_subcommand(
      "submit",
      "stream reports from CSV; prints per-row rejections and the counts");
  submit->add_option("--trial", f->trial, "trial id")->required();
  submit
      ->add_option("--file", f->file,
                   "CSV with columns named as aesignal.v1.AdverseEventReport "
                   "fields")
      ->required();
  submit
      ->add_option("--batch-size", f->batch_size, "reports per streamed batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  submit->add_option("--window", f->window, "unacknowledged batches in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  SetAction(submit, ctx, [&ctx, f] { return ReportsSubmit(ctx, *f); });
}

}  // namespace aesignal::cli
