// `aesignal reports submit|list|show|withdraw`: streams a CSV of reports
// through ReportUpload; lists the stored reports; shows one with every
// version; withdraws one entered in error.
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aesignal/client/report_streamer.h"
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
// One line per problem the server named.
std::string Rejection(const std::string& file, const client::ReportOutcome& o,
                      int line, const std::vector<int>& line_of_sequence) {
  std::vector<std::string> lines;
  for (auto [field, reason] : RejectedFields(o.result)) {
    int index;
    std::string rest;
    if (SplitIndexedPath(field, "reports", &index, &rest)) field = rest;
    lines.push_back(
        absl::StrCat(file, ":", line, ": ", field.empty() ? "" : field + ": ",
                     ReasonWithLines(reason, line_of_sequence,
                                     o.sequence - o.result.index())));
  }
  return absl::StrJoin(lines, "\n");
}

struct RowsRead {
  int64_t unreadable = 0;   // rows with bad cells, not sent
  bool csv_broken = false;  // the rest of the file could not be read
};

// Sends every readable row of `reader` to `upload`; unreadable rows and a
// broken file become its problems. Stops early if the stream fails. (The
// file was read through once before: a broken file here means it changed.)
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

// Reads `file` through once, so a problem that stops reading it (a
// malformed quote, a cell that is not UTF-8: the whole file is usually in
// another encoding) is found before any row is sent. Prints it; false then.
bool WholeFileReadable(const std::string& file, std::ostream& err) {
  std::ifstream in(file);
  CsvReader reader(in);
  while (true) {
    auto record = reader.Next();
    if (!record.ok()) {
      err << file << ":" << record.status().message()
          << "\nnothing was sent: correct the file and submit it again\n";
      return false;
    }
    if (!record->has_value()) return true;
  }
}

int ReportsSubmit(CommandContext& ctx, const SubmitFlags& flags) {
  if (std::ifstream(flags.file) && !WholeFileReadable(flags.file, ctx.io.err)) {
    return kExitFailed;
  }
  std::ifstream in(flags.file);
  CsvReader reader(in);
  std::optional<CsvMapping> mapping = ReadCsvHeader(
      flags.file, in, reader, v1::AdverseEventReport::descriptor(), ctx.io.err);
  if (!mapping) return kExitFailed;

  ReportUpload upload(ctx.MakeClient().shared_connection(), flags.trial,
                      {.file = flags.file,
                       .batch_size = flags.batch_size,
                       .window = flags.window,
                       .progress = ctx.io.progress ? &ctx.io.err : nullptr},
                      [&flags](const client::ReportOutcome& o, int line,
                               const std::vector<int>& line_of_sequence) {
                        return Rejection(flags.file, o, line, line_of_sequence);
                      });
  const RowsRead rows = StreamRows(flags.file, reader, *mapping, upload);
  const absl::StatusOr<client::StreamSummary> finished = upload.Finish();
  upload.PrintProblems(ctx.io.err);
  // The counts whatever happened: after an error they say what was stored.
  const client::StreamSummary summary = upload.summary();
  if (!finished.ok()) PrintUploadError(ctx.io.err, finished.status(), summary);
  ctx.io.out << "reports: " << upload.sent() + rows.unreadable
             << " rows; accepted " << summary.accepted << ", duplicate "
             << summary.duplicate << ", superseded " << summary.superseded
             << ", rejected " << summary.rejected + rows.unreadable;
  if (rows.unreadable > 0) {
    ctx.io.out << " (" << rows.unreadable << " unreadable, not sent)";
  }
  if (summary.refused > 0) {
    ctx.io.out << ", in refused batches " << summary.refused;
  }
  ctx.io.out << "\n";
  return !finished.ok() || summary.rejected + rows.unreadable > 0 ||
                 rows.csv_broken
             ? kExitFailed
             : kExitOk;
}

struct ListFlags {
  std::string trial;
  std::string subject, site, dose_group, pt, soc, aesi;
  std::string subset;  // serious, grade3, related, death or aesi:CATEGORY
  bool serious = false, non_serious = false;
  int min_grade = 0;
  int onset_from = 0, onset_to = 0;  // 0: unbounded
  std::string received_after;
  std::string as_of;  // RFC 3339 data cut-off
  std::string order = "received";
  int page_size = 0;
  std::string page_token;
  bool all = false;
  bool include_entered_in_error = false;
  std::string format = "table";
};

// The request's filters from the flags; false after printing a usage error.
bool ReportFilter(CommandContext& ctx, const ListFlags& f,
                  v1::ListReportsRequest* request) {
  request->set_subject_id(f.subject);
  request->set_site_id(f.site);
  request->set_dose_group_id(f.dose_group);
  request->set_pt(f.pt);
  request->set_soc(f.soc);
  request->set_aesi(f.aesi);
  request->set_subset(SubsetOfWord(f.subset));
  if (const std::string category = AesiCategoryOfWord(f.subset);
      !category.empty()) {
    request->set_aesi(category);
  }
  if (f.serious || f.non_serious) request->set_serious(f.serious);
  request->set_min_grade(f.min_grade);
  request->set_include_entered_in_error(f.include_entered_in_error);
  if (f.onset_from > 0) request->set_onset_day_min(f.onset_from);
  if (f.onset_to > 0) request->set_onset_day_max(f.onset_to);
  if (!f.received_after.empty() &&
      !ParseTimeFlag(ctx, "--received-after", f.received_after,
                     request->mutable_received_after())) {
    return false;
  }
  if (!f.as_of.empty() &&
      !ParseTimeFlag(ctx, "--as-of", f.as_of, request->mutable_as_of())) {
    return false;
  }
  request->set_order_by(f.order == "onset" ? "onset_study_day"
                                           : "receive_time desc");
  request->set_page_size(f.page_size);
  request->set_page_token(f.page_token);
  return true;
}

std::string OnsetText(const v1::ReportVersion& v) {
  if (v.report().has_onset_study_day()) {
    return absl::StrCat(v.report().onset_study_day());
  }
  return absl::StrCat("- (", v.timepoint_id(), ")");
}

// With `entered_in_error_column`, a last column says which reports are
// withdrawn (only listed when asked for).
void WriteReportsTable(const std::vector<v1::Report>& reports,
                       bool entered_in_error_column, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"site", "report", "version", "subject", "group", "onset_day", "pt",
       "grade", "serious", "received"}};
  if (entered_in_error_column) rows[0].push_back("entered_in_error");
  for (const auto& r : reports) {
    const v1::ReportVersion& v = r.current();
    const v1::AdverseEventReport& e = v.report();
    rows.push_back({r.site_id(), r.report_id(), absl::StrCat(e.version()),
                    e.subject_id(), v.dose_group_id(), OnsetText(v), e.pt(),
                    absl::StrCat(e.grade()), e.serious() ? "Y" : "N",
                    ShortTime(v.receive_time())});
    if (entered_in_error_column) {
      rows.back().push_back(e.entered_in_error() ? "Y" : "N");
    }
  }
  PrintColumns(out, rows);
}

// One page (or, with --all, every page) of the listing, in `response`.
absl::Status ReadReports(CommandContext& ctx, const ListFlags& f,
                         const v1::ListReportsRequest& request,
                         v1::ListReportsResponse* response) {
  client::Client c = ctx.MakeClient();
  if (!f.all) {
    auto page = c.ListReports(f.trial, request);
    if (!page.ok()) return page.status();
    *response = *std::move(page);
    return absl::OkStatus();
  }
  auto reports = c.ListAllReports(f.trial, request);
  if (!reports.ok()) return reports.status();
  for (auto& r : *reports) *response->add_reports() = std::move(r);
  response->set_total_size(response->reports_size());
  return absl::OkStatus();
}

int ReportsList(CommandContext& ctx, const ListFlags& f) {
  v1::ListReportsRequest request;
  if (!ReportFilter(ctx, f, &request)) return kExitUsage;
  v1::ListReportsResponse response;
  if (absl::Status s = ReadReports(ctx, f, request, &response); !s.ok()) {
    PrintStatus(ctx.io.err, s);
    return kExitFailed;
  }
  if (f.format == "json") {
    ctx.io.out << JsonOf(response) << "\n";
    return kExitOk;
  }
  WriteReportsTable({response.reports().begin(), response.reports().end()},
                    f.include_entered_in_error, ctx.io.out);
  ctx.io.out << response.reports_size() << " of " << response.total_size()
             << " matching report(s)\n";
  if (!response.next_page_token().empty()) {
    ctx.io.out << "next page: --page-token " << response.next_page_token()
               << " (or --all for every page)\n";
  }
  return kExitOk;
}

std::string SeriousText(const v1::AdverseEventReport& e) {
  if (!e.serious()) return "not serious";
  std::vector<std::string> criteria;
  if (e.death()) criteria.push_back("death");
  if (e.life_threatening()) criteria.push_back("life-threatening");
  if (e.hospitalization()) criteria.push_back("hospitalization");
  if (e.disability()) criteria.push_back("disability");
  if (e.congenital_anomaly()) criteria.push_back("congenital anomaly");
  if (e.medically_important()) criteria.push_back("medically important");
  if (criteria.empty()) return "serious";
  return absl::StrCat("serious (", absl::StrJoin(criteria, ", "), ")");
}

void PrintReportVersion(const v1::ReportVersion& v, std::ostream& out) {
  const v1::AdverseEventReport& e = v.report();
  out << "version " << e.version() << "  received "
      << ShortTime(v.receive_time()) << " by "
      << (v.submitted_by().empty() ? "(not recorded)" : v.submitted_by())
      << (v.superseded_on_arrival()
              ? "  [history only: a newer version was already stored]"
              : "")
      << "\n";
  out << "  subject " << e.subject_id() << ", dose group " << v.dose_group_id()
      << ", onset day "
      << (e.has_onset_study_day() ? absl::StrCat(e.onset_study_day()) : "-")
      << " (timepoint " << v.timepoint_id() << ")\n";
  out << "  " << e.pt() << " (" << e.soc() << "), grade " << e.grade() << ", "
      << SeriousText(e) << "\n";
  out << "  relatedness "
      << EnumWord(v1::Relatedness_descriptor(), e.relatedness(), "RELATEDNESS_")
      << ", outcome "
      << EnumWord(v1::Outcome_descriptor(), e.outcome(), "OUTCOME_")
      << ", action "
      << EnumWord(v1::ActionTaken_descriptor(), e.action_taken(),
                  "ACTION_TAKEN_")
      << (e.aesi().empty()
              ? ""
              : absl::StrCat("; AESI: ", absl::StrJoin(e.aesi(), ", ")))
      << "\n";
  if (!e.verbatim_term().empty()) {
    out << "  verbatim: " << e.verbatim_term() << "\n";
  }
  if (e.entered_in_error()) {
    out << "  ENTERED IN ERROR: " << e.entered_in_error_reason() << "\n";
  }
}

struct ShowFlags {
  std::string trial, site, report;
  std::string format = "table";
};

int ReportsShow(CommandContext& ctx, const ShowFlags& f) {
  auto report = ctx.MakeClient().GetReport(f.trial, f.site, f.report);
  if (!report.ok()) {
    PrintStatus(ctx.io.err, report.status());
    return kExitFailed;
  }
  if (f.format == "json") {
    ctx.io.out << JsonOf(*report) << "\n";
    return kExitOk;
  }
  const v1::AdverseEventReport& current = report->current().report();
  ctx.io.out << "report " << report->report_id() << " of site "
             << report->site_id() << " (" << report->name()
             << "): " << report->versions_size()
             << " version(s), newest first; "
             << (current.entered_in_error()
                     ? absl::StrCat("version ", current.version(),
                                    " withdraws it as entered in error, so it "
                                    "counts nowhere")
                     : absl::StrCat("the counted one is version ",
                                    current.version()))
             << "\n";
  for (const auto& v : report->versions()) PrintReportVersion(v, ctx.io.out);
  return kExitOk;
}

void AddList(CLI::App& reports, CommandContext& ctx) {
  auto f = std::make_shared<ListFlags>();
  auto* list = reports.add_subcommand(
      "list", "stored reports (current versions), filtered, one page or all");
  list->add_option("--trial", f->trial, "trial id")->required();
  list->add_option("--subject", f->subject, "subject id");
  list->add_option("--site", f->site, "site id");
  list->add_option("--dose-group", f->dose_group, "dose group id");
  list->add_option("--pt", f->pt, "MedDRA preferred term (exact)");
  list->add_option("--soc", f->soc, "MedDRA system organ class (exact)");
  auto* serious = list->add_flag("--serious", f->serious, "serious only");
  list->add_flag("--non-serious", f->non_serious, "non-serious only")
      ->excludes(serious);
  list->add_option("--min-grade", f->min_grade, "CTCAE grade at least")
      ->check(CLI::Range(1, 5));
  auto* aesi =
      list->add_option("--aesi", f->aesi, "carries this AESI category");
  list->add_option("--subset", f->subset,
                   absl::StrCat("only the reports an incidence subset counts: ",
                                kSubsetWordsHelp))
      ->check(CheckSubsetWord)
      ->excludes(aesi);
  list->add_option("--onset-from", f->onset_from, "onset study day at least")
      ->check(CLI::Range(1, 1000000));
  list->add_option("--onset-to", f->onset_to, "onset study day at most")
      ->check(CLI::Range(1, 1000000));
  list->add_option("--received-after", f->received_after,
                   "current version received after (RFC 3339)");
  list->add_option("--as-of", f->as_of,
                   "data cut-off (RFC 3339): each report's version as it "
                   "stood then");
  list->add_option("--order", f->order,
                   "received (newest first) or onset (earliest first)")
      ->capture_default_str()
      ->check(CLI::IsMember({"received", "onset"}));
  list->add_option("--page-size", f->page_size, "reports per page (max 1000)")
      ->check(CLI::Range(1, 1000));
  list->add_option("--page-token", f->page_token, "the page printed last");
  list->add_flag("--all", f->all, "every page")->excludes("--page-token");
  list->add_flag("--include-entered-in-error", f->include_entered_in_error,
                 "also list withdrawn reports (entered in error), marked");
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx, [&ctx, f] { return ReportsList(ctx, *f); });
}

void AddShow(CLI::App& reports, CommandContext& ctx) {
  auto f = std::make_shared<ShowFlags>();
  auto* show = reports.add_subcommand(
      "show", "one report with every stored version, newest first");
  show->add_option("--trial", f->trial, "trial id")->required();
  show->add_option("--site", f->site, "site id")->required();
  show->add_option("--report", f->report, "report id")->required();
  show->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(show, ctx, [&ctx, f] { return ReportsShow(ctx, *f); });
}

struct WithdrawFlags {
  std::string trial, site, report, reason;
};

// Withdraws a report as entered in error: its current version once more,
// one version higher, with entered_in_error and the reason. A version sent
// meanwhile by someone else makes this one a conflict, which is reported.
int ReportsWithdraw(CommandContext& ctx, const WithdrawFlags& f) {
  client::Client c = ctx.MakeClient();
  auto report = c.GetReport(f.trial, f.site, f.report);
  if (!report.ok()) {
    PrintStatus(ctx.io.err, report.status());
    return kExitFailed;
  }
  v1::AdverseEventReport next = report->current().report();
  if (next.entered_in_error()) {
    ctx.io.err << "report " << f.report << " of site " << f.site
               << " is already withdrawn (version " << next.version()
               << "): " << next.entered_in_error_reason() << "\n";
    return kExitFailed;
  }
  next.set_version(next.version() + 1);
  next.set_entered_in_error(true);
  next.set_entered_in_error_reason(f.reason);
  auto response = c.SubmitReports(f.trial, {next});
  if (!response.ok()) {
    PrintStatus(ctx.io.err, response.status());
    return kExitFailed;
  }
  const v1::ReportResult& result = response->results(0);
  // DUPLICATE: a retry of this very version, stored the first time.
  if (result.status() != v1::REPORT_STATUS_ACCEPTED &&
      result.status() != v1::REPORT_STATUS_DUPLICATE) {
    for (auto [field, reason] : RejectedFields(result)) {
      int index;
      std::string rest;
      if (SplitIndexedPath(field, "reports", &index, &rest)) field = rest;
      ctx.io.err << "not withdrawn: " << field << ": " << reason << "\n";
    }
    return kExitFailed;
  }
  ctx.io.out << "withdrew report " << f.report << " of site " << f.site
             << ": version " << next.version()
             << " is entered in error and counts nowhere; earlier versions "
                "stay stored\n";
  return kExitOk;
}

void AddWithdraw(CLI::App& reports, CommandContext& ctx) {
  auto f = std::make_shared<WithdrawFlags>();
  auto* withdraw = reports.add_subcommand(
      "withdraw",
      "withdraw a report entered in error (a follow-up version that counts "
      "nowhere; every version stays stored)");
  withdraw->add_option("--trial", f->trial, "trial id")->required();
  withdraw->add_option("--site", f->site, "site id")->required();
  withdraw->add_option("--report", f->report, "report id")->required();
  withdraw->add_option("--reason", f->reason, "why, for the audit trail")
      ->required();
  SetAction(withdraw, ctx, [&ctx, f] { return ReportsWithdraw(ctx, *f); });
}

}  // namespace

void AddReportsCommands(CLI::App& app, CommandContext& ctx) {
  auto* reports = app.add_subcommand(
      "reports", "submit, list, show and withdraw AE reports");
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
      ->check(CLI::Range(1, client::kMaxReportsPerBatch));
  submit->add_option("--window", f->window, "unacknowledged batches in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  SetAction(submit, ctx, [&ctx, f] { return ReportsSubmit(ctx, *f); });
  AddList(*reports, ctx);
  AddShow(*reports, ctx);
  AddWithdraw(*reports, ctx);
}

}  // namespace aesignal::cli
