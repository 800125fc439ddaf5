#include "clients/cli/import/import_command.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "clients/cli/import/adam_mapping.h"
#include "clients/cli/import/dataset.h"
#include "clients/cli/report_upload.h"

namespace aesignal::cli {
namespace {

using import::ImportPlan;
using import::RowError;

// Subjects per EnrollSubjects call (each call is all or nothing).
constexpr size_t kEnrollChunk = 10000;

struct ImportFlags {
  bool sdtm = false;
  std::string trial;
  std::string title;
  std::string adsl, adae;  // ADaM
  std::string dm, ex, ae;  // SDTM
  std::string dose_order;  // "A,B,C"
  std::string control;
  bool no_control = false;
  std::string timepoints;  // "ID:DAY[:LABEL],..."
  std::string mapping;     // STANDARD = COLUMN file
  int batch_size = 500;
  int window = 8;
  bool dry_run = false;
};

// "reports[12].grade" -> "grade".
std::string FieldName(const std::string& path) {
  const size_t dot = path.find("].");
  return dot == std::string::npos ? path : path.substr(dot + 2);
}

std::string GroupList(const v1::Trial& t) {
  std::vector<std::string> names;
  for (const auto& g : t.dose_groups()) {
    names.push_back(
        absl::StrCat(g.dose_group_id(), g.control() ? " [control]" : ""));
  }
  return absl::StrJoin(names, " < ");
}

absl::StatusOr<import::ImportOptions> OptionsFromFlags(
    const ImportFlags& flags) {
  import::ImportOptions options;
  options.trial_id = flags.trial;
  options.title = flags.title;
  for (absl::string_view name :
       absl::StrSplit(flags.dose_order, ',', absl::SkipWhitespace())) {
    options.dose_order.emplace_back(absl::StripAsciiWhitespace(name));
  }
  if (!flags.control.empty()) options.control = flags.control;
  options.no_control = flags.no_control;
  if (!flags.timepoints.empty()) {
    auto timepoints = import::ParseTimepoints(flags.timepoints);
    if (!timepoints.ok()) return timepoints.status();
    options.timepoints = *std::move(timepoints);
  }
  if (!flags.mapping.empty()) {
    auto columns = import::ColumnMap::ReadFile(flags.mapping);
    if (!columns.ok()) return columns.status();
    options.columns = *std::move(columns);
  }
  return options;
}

// The subject-level file (ADSL or DM) first, then EX (SDTM), then the AEs.
std::vector<std::string> DatasetPaths(const ImportFlags& flags) {
  return flags.sdtm ? std::vector<std::string>{flags.dm, flags.ex, flags.ae}
                    : std::vector<std::string>{flags.adsl, flags.adae};
}

absl::StatusOr<ImportPlan> ReadAndMap(const ImportFlags& flags,
                                      const import::ImportOptions& options) {
  std::vector<import::Dataset> data;
  for (const std::string& path : DatasetPaths(flags)) {
    auto dataset = import::ReadDataset(path);
    if (!dataset.ok()) return dataset.status();
    data.push_back(*std::move(dataset));
  }
  return flags.sdtm ? import::MapSdtm(data[0], data[1], data[2], options)
                    : import::MapAdam(data[0], data[1], options);
}

// File lines of the AE rows that cannot be mapped (a row may have several
// bad cells).
std::set<int> BadReportLines(const ImportPlan& plan) {
  std::set<int> lines;
  for (const RowError& e : plan.report_errors) lines.insert(e.line);
  return lines;
}

// "1 site", "3 sites".
std::string Count(int64_t n, absl::string_view thing) {
  return absl::StrCat(n, " ", thing, n == 1 ? "" : "s");
}

// What was read: subjects and the safety population, AE rows and why some
// are skipped.
void PrintDataSummary(const ImportPlan& plan, const std::string& subject_file,
                      size_t bad_report_rows, std::ostream& out) {
  const import::ImportStats& st = plan.stats;
  out << subject_file << ": " << Count(st.subject_rows, "subject") << ", "
      << st.safety_subjects << " in the safety population"
      << (st.not_safety > 0
              ? absl::StrCat(" (", st.not_safety, " outside it, not enrolled)")
              : "")
      << "\n";
  out << plan.ae_file << ": " << Count(st.ae_rows, "AE row") << ": "
      << st.teae_rows + static_cast<int64_t>(bad_report_rows)
      << " treatment-emergent in the safety population";
  if (st.not_teae > 0) {
    out << ", " << st.not_teae << " not treatment-emergent (skipped)";
  }
  if (st.ae_not_safety > 0) {
    out << ", " << st.ae_not_safety
        << " of subjects outside the safety population (skipped)";
  }
  out << "\n";
}

void PrintTrialSummary(const ImportPlan& plan, std::ostream& out) {
  const v1::Trial& trial = plan.trial;
  const v1::Timepoint& last = trial.timepoints(trial.timepoints_size() - 1);
  out << "trial " << trial.trial_id() << ": "
      << Count(trial.dose_groups_size(), "dose group") << " ("
      << GroupList(trial) << "), "
      << Count(trial.timepoints_size(), "timepoint") << " (last "
      << last.timepoint_id() << ", day " << last.study_day() << "), "
      << Count(trial.sites_size(), "site") << "\n";
  for (const std::string& note : plan.notes) out << "note: " << note << "\n";
}

// Prints the mapping's row errors; false if the subject-level data has any
// (then nothing may be sent).
bool PrintRowErrors(const ImportPlan& plan, std::ostream& err) {
  for (const RowError& e : plan.subject_errors) {
    err << import::FormatRowError(e) << "\n";
  }
  if (!plan.subject_errors.empty()) {
    err << "nothing imported: " << plan.subject_errors.size()
        << " problem(s) in the subject data above (the trial design and "
           "enrollment are all or nothing)\n";
    return false;
  }
  for (const RowError& e : plan.report_errors) {
    err << import::FormatRowError(e) << "\n";
  }
  return true;
}

// A trial imported before Trial.grading existed is this plan's trial but
// for the grading: it gets the grading by an amendment, so that its DSMB
// report stops calling severities CTCAE grades. False if it is another
// trial (or has another grading).
bool AddGradingToEarlierImport(client::Client& c, const v1::Trial& trial,
                               std::ostream& out) {
  if (trial.grading().empty()) return false;
  v1::Trial without = trial;
  without.clear_grading();
  if (!c.CreateTrial(without).ok()) return false;  // not an identical no-op
  auto stored = c.GetTrial(trial.trial_id());
  if (!stored.ok() || !stored->grading().empty()) return false;
  stored->set_grading(trial.grading());
  if (!c.UpdateTrial(*stored, {"grading"}).ok()) return false;
  out << "trial " << trial.trial_id()
      << ": imported earlier without its grading; recorded it (amendment): "
      << trial.grading() << "\n";
  return true;
}

bool CreateTrial(client::Client& c, const v1::Trial& trial, std::ostream& out,
                 std::ostream& err) {
  auto created = c.CreateTrial(trial);
  if (created.ok()) return true;
  if (created.status().code() == absl::StatusCode::kAlreadyExists &&
      AddGradingToEarlierImport(c, trial, out)) {
    return true;
  }
  PrintStatus(err, created.status());
  if (created.status().code() == absl::StatusCode::kAlreadyExists) {
    err << "a trial " << trial.trial_id()
        << " with a different design exists (re-importing the same data "
           "with the same options is safe; otherwise choose another "
           "--trial)\n";
  }
  return false;
}

bool EnrollSubjects(client::Client& c, const ImportPlan& plan,
                    std::ostream& out, std::ostream& err) {
  int64_t enrolled = 0, updated = 0, unchanged = 0;
  const std::vector<v1::Subject>& all = plan.subjects;
  for (size_t i = 0; i < all.size(); i += kEnrollChunk) {
    std::vector<v1::Subject> chunk(
        all.begin() + i, all.begin() + std::min(all.size(), i + kEnrollChunk));
    auto r = c.EnrollSubjects(plan.trial.trial_id(), chunk);
    if (!r.ok()) {
      // "subjects[k]" of this chunk as the subject file's line.
      PrintStatus(
          err, r.status(),
          FileLineLabel(
              plan.subject_file, "subjects",
              std::vector<int>(plan.subject_lines.begin() + i,
                               plan.subject_lines.begin() +
                                   std::min(all.size(), i + kEnrollChunk))));
      return false;
    }
    enrolled += r->created_count();
    updated += r->updated_count();
    unchanged += r->unchanged_count();
  }
  out << "subjects: " << enrolled << " enrolled, " << updated
      << " updated (new version), " << unchanged << " unchanged\n";
  return true;
}

// "AE_FILE:LINE: COLUMN (field): rejected by the server: REASON".
// One line per problem the server named.
std::string Rejection(const ImportPlan& plan, const client::ReportOutcome& o,
                      int line) {
  std::vector<std::string> lines;
  for (const auto& [path, reason] : RejectedFields(o.result)) {
    const std::string field = FieldName(path);
    auto col = plan.field_columns.find(field);
    std::string where = col == plan.field_columns.end()
                            ? field
                            : absl::StrCat(col->second, " (", field, ")");
    lines.push_back(absl::StrCat(plan.ae_file, ":", line, ": ",
                                 where.empty() ? "" : where + ": ",
                                 "rejected by the server: ", reason));
  }
  // The row changed since an earlier import: the import sends every record
  // as version 1, so it cannot send the follow-up the server asks for.
  if (o.result.code() == static_cast<int>(absl::StatusCode::kAlreadyExists)) {
    lines.back() += absl::StrCat(
        " (this record changed since it was imported; the import sends "
        "version 1 only: send the change with `aesignal reports submit` as "
        "version 2, see docs/import.md, \"A later data cut\")");
  }
  return absl::StrJoin(lines, "\n");
}

// Streams the plan's reports; prints the rejections (and, on failure, the
// error). Consumes plan->reports.
absl::StatusOr<client::StreamSummary> SendReports(const CommandContext& ctx,
                                                  client::Client& c,
                                                  const ImportFlags& flags,
                                                  ImportPlan* plan) {
  ReportUpload upload(c.shared_connection(), plan->trial.trial_id(),
                      {.file = plan->ae_file,
                       .batch_size = flags.batch_size,
                       .window = flags.window,
                       .progress = ctx.io.progress ? &ctx.io.err : nullptr,
                       .total = static_cast<int64_t>(plan->reports.size())},
                      [plan](const client::ReportOutcome& o, int line,
                             const std::vector<int>& /*line_of_sequence*/) {
                        return Rejection(*plan, o, line);
                      });
  for (size_t i = 0; i < plan->reports.size(); ++i) {
    if (!upload.Add(std::move(plan->reports[i]), plan->report_lines[i]).ok()) {
      break;
    }
  }
  absl::StatusOr<client::StreamSummary> summary = upload.Finish();
  upload.PrintProblems(ctx.io.err);
  if (!summary.ok()) {
    const client::StreamSummary counts = upload.summary();
    PrintUploadError(ctx.io.err, summary.status(), counts);
    ctx.io.err << "outcomes before the stop: accepted " << counts.accepted
               << ", duplicate " << counts.duplicate << ", superseded "
               << counts.superseded << ", rejected " << counts.rejected
               << ", in refused batches " << counts.refused
               << "; running the import again is safe (duplicates are not "
                  "counted twice)\n";
  }
  return summary;
}

// The imputations and corrections the mapping made, one line each.
void PrintImputations(const import::ImportStats& st, std::ostream& out) {
  for (const auto& [variable, column] : st.absent_ae_columns) {
    const char* meaning =
        variable == "AESER"   ? "every report is counted as not serious"
        : variable == "AEREL" ? "every report's relatedness is unknown"
                              : "every report's outcome is unknown";
    out << "missing: the AE file has no " << column << " column (" << variable
        << "), so " << meaning
        << "; if it holds one under another name, name it in a mapping file "
           "(--mapping)\n";
  }
  if (st.onset_imputed > 0) {
    out << "imputed: " << st.onset_imputed
        << " treatment-emergent AEs without an onset day counted from day 1\n";
  }
  if (st.onset_partial > 0) {
    out << "imputed: " << st.onset_partial
        << " partial onset dates (earliest date of the period, not before the "
           "first dose)\n";
  }
  if (st.grade_from_severity > 0) {
    out << "grade: " << Count(st.grade_from_severity, "report")
        << " graded from AESEV (MILD/MODERATE/SEVERE = 1/2/3; "
           "'grade 3+' means severe)\n";
  }
  if (st.criteria_without_serious > 0) {
    out << "seriousness: " << Count(st.criteria_without_serious, "report")
        << (st.criteria_without_serious == 1 ? " has" : " have")
        << " AES* criteria = Y but AESER != Y: AESER kept, "
           "criteria not sent\n";
  }
  if (const auto& lines = st.fatal_not_serious_lines; !lines.empty()) {
    constexpr size_t kShown = 10;
    std::vector<int> shown(lines.begin(),
                           lines.begin() + std::min(lines.size(), kShown));
    out << "seriousness: "
        << Count(static_cast<int64_t>(lines.size()), "report")
        << (lines.size() == 1 ? " has" : " have")
        << " AEOUT = FATAL but AESER != Y (AE file line"
        << (lines.size() == 1 ? " " : "s ") << absl::StrJoin(shown, ", ")
        << (lines.size() > kShown ? ", ..." : "")
        << "): counted in the death row, not as serious AEs; a fatal AE is "
           "serious by definition (ICH E2A), so check the source\n";
  }
  if (st.follow_up_from_onset > 0) {
    out << "follow-up: " << st.follow_up_from_onset
        << (st.follow_up_from_onset == 1 ? " subject's" : " subjects'")
        << " last contact day raised to their last TEAE onset\n";
  }
}

// Sends the trial, the subjects and the reports, and prints what happened.
int Send(const CommandContext& ctx, const ImportFlags& flags,
         size_t bad_report_rows, absl::Time start, ImportPlan& plan) {
  std::ostream& out = ctx.io.out;
  client::Client c(client::MakeClientConnection(ctx.connection));
  if (!CreateTrial(c, plan.trial, out, ctx.io.err) ||
      !EnrollSubjects(c, plan, out, ctx.io.err)) {
    return kExitFailed;
  }
  const size_t total = plan.reports.size();
  auto summary = SendReports(ctx, c, flags, &plan);
  if (!summary.ok()) return kExitFailed;
  out << "reports: " << total << " sent; accepted " << summary->accepted
      << ", duplicate " << summary->duplicate << ", superseded "
      << summary->superseded << ", rejected " << summary->rejected;
  if (bad_report_rows > 0) {
    out << "; " << Count(bad_report_rows, "AE row") << " not sent (unmappable)";
  }
  out << "\n";
  PrintImputations(plan.stats, out);
  out << absl::StrFormat("import: done in %.1f s\n",
                         absl::ToDoubleSeconds(absl::Now() - start));
  return summary->rejected > 0 || bad_report_rows > 0 ? kExitFailed : kExitOk;
}

int RunImport(const CommandContext& ctx, const ImportFlags& flags) {
  std::ostream& out = ctx.io.out;
  std::ostream& err = ctx.io.err;
  const absl::Time start = absl::Now();
  auto options = OptionsFromFlags(flags);
  if (!options.ok()) {
    err << "error: " << options.status().message() << "\n";
    return kExitFailed;
  }
  absl::StatusOr<ImportPlan> plan = ReadAndMap(flags, *options);
  if (!plan.ok()) {
    err << "error: " << plan.status().message() << "\n";
    return kExitFailed;
  }
  const size_t bad_report_rows = BadReportLines(*plan).size();
  PrintDataSummary(*plan, DatasetPaths(flags)[0], bad_report_rows, out);
  if (!PrintRowErrors(*plan, err)) return kExitFailed;
  PrintTrialSummary(*plan, out);
  if (flags.dry_run) {
    out << "dry run: nothing sent (" << Count(plan->subjects.size(), "subject")
        << ", " << Count(plan->reports.size(), "report") << ", "
        << Count(bad_report_rows, "AE row") << " rejected)\n";
    return bad_report_rows == 0 ? kExitOk : kExitFailed;
  }
  return Send(ctx, flags, bad_report_rows, start, *plan);
}

void AddCommonFlags(CLI::App* cmd, ImportFlags* f) {
  cmd->add_option("--trial", f->trial, "aesignal trial id ([A-Za-z0-9._-])")
      ->required();
  cmd->add_option("--title", f->title,
                  "trial title (default: STUDYID (imported from ...))");
  cmd->add_option("--dose-order", f->dose_order,
                  "dose groups in ascending order, comma-separated arm names "
                  "(default: by the numeric treatment code, control first)");
  auto* control = cmd->add_option(
      "--control", f->control,
      "the control arm (default: the arm named like 'placebo')");
  // Both at once would drop one without a word.
  cmd->add_flag("--no-control", f->no_control, "no control arm")
      ->excludes(control);
  cmd->add_option("--timepoints", f->timepoints,
                  "ID:DAY[:LABEL],... (default: weeks 2,4,8,...,26, then "
                  "every 4 weeks, and the last study day in the data)");
  cmd->add_option("--mapping", f->mapping,
                  "column mapping file: lines 'STANDARD = COLUMN'");
  cmd->add_option("--batch-size", f->batch_size, "reports per streamed batch")
      ->capture_default_str()
      ->check(CLI::Range(1, client::kMaxReportsPerBatch));
  cmd->add_option("--window", f->window, "unacknowledged batches in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--dry-run", f->dry_run,
                "map and check the data, print the summary, send nothing");
}

}  // namespace

void AddImportCommands(CLI::App& app, CommandContext& ctx) {
  auto* import_cmd = app.add_subcommand(
      "import", "import CDISC ADaM or SDTM datasets (.csv or SAS .xpt)");
  import_cmd->require_subcommand(1);

  auto adam_flags = std::make_shared<ImportFlags>();
  auto* adam = import_cmd->add_subcommand(
      "adam", "ADSL + ADAE: trial, safety population, treatment-emergent AEs");
  adam->add_option("--adsl", adam_flags->adsl, "ADSL (.csv or .xpt)")
      ->required();
  adam->add_option("--adae", adam_flags->adae, "ADAE (.csv or .xpt)")
      ->required();
  AddCommonFlags(adam, adam_flags.get());
  SetAction(adam, ctx,
            [&ctx, adam_flags] { return RunImport(ctx, *adam_flags); });

  auto sdtm_flags = std::make_shared<ImportFlags>();
  sdtm_flags->sdtm = true;
  auto* sdtm = import_cmd->add_subcommand(
      "sdtm", "DM + EX + AE: trial, dosed subjects, AEs from the first dose");
  sdtm->add_option("--dm", sdtm_flags->dm, "DM (.csv or .xpt)")->required();
  sdtm->add_option("--ex", sdtm_flags->ex, "EX (.csv or .xpt)")->required();
  sdtm->add_option("--ae", sdtm_flags->ae, "AE (.csv or .xpt)")->required();
  AddCommonFlags(sdtm, sdtm_flags.get());
  SetAction(sdtm, ctx,
            [&ctx, sdtm_flags] { return RunImport(ctx, *sdtm_flags); });
}

}  // namespace aesignal::cli
