#include "clients/cli/import/import_command.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "aesignal/client/status.h"
#include "clients/cli/import/adam_mapping.h"
#include "clients/cli/import/dataset.h"

namespace aesignal::cli {
namespace {

using import::ImportPlan;
using import::RowError;

constexpr int kOk = 0;
constexpr int kFailed = 1;
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

void PrintError(std::ostream& err, const absl::Status& status) {
  err << "error: " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << "\n";
  if (auto bad = client::BadRequestOf(status)) {
    for (const auto& v : bad->field_violations()) {
      err << "  " << v.field() << ": " << v.description() << "\n";
    }
  }
}

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

int RunImport(const ImportContext& ctx, const ImportFlags& flags) {
  std::ostream& out = ctx.io->out;
  std::ostream& err = ctx.io->err;
  const absl::Time start = absl::Now();

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
    auto tps = import::ParseTimepoints(flags.timepoints);
    if (!tps.ok()) {
      err << "error: " << tps.status().message() << "\n";
      return kFailed;
    }
    options.timepoints = *std::move(tps);
  }
  if (!flags.mapping.empty()) {
    auto map = import::ColumnMap::ReadFile(flags.mapping);
    if (!map.ok()) {
      err << "error: " << map.status().message() << "\n";
      return kFailed;
    }
    options.columns = *std::move(map);
  }

  // Read and map.
  std::vector<std::string> paths =
      flags.sdtm ? std::vector<std::string>{flags.dm, flags.ex, flags.ae}
                 : std::vector<std::string>{flags.adsl, flags.adae};
  std::vector<import::Dataset> data;
  for (const std::string& path : paths) {
    auto ds = import::ReadDataset(path);
    if (!ds.ok()) {
      err << "error: " << ds.status().message() << "\n";
      return kFailed;
    }
    data.push_back(*std::move(ds));
  }
  absl::StatusOr<ImportPlan> mapped =
      flags.sdtm ? import::MapSdtm(data[0], data[1], data[2], options)
                 : import::MapAdam(data[0], data[1], options);
  if (!mapped.ok()) {
    err << "error: " << mapped.status().message() << "\n";
    return kFailed;
  }
  ImportPlan& plan = *mapped;
  const import::ImportStats& st = plan.stats;
  const std::string& subject_file = paths[0];
  out << subject_file << ": " << st.subject_rows << " subjects, "
      << st.safety_subjects << " in the safety population"
      << (st.not_safety > 0
              ? absl::StrCat(" (", st.not_safety, " outside it, not enrolled)")
              : "")
      << "\n";
  // Counted rows, not errors: a row may have several bad cells.
  std::set<int> bad_lines;
  for (const RowError& e : plan.report_errors) bad_lines.insert(e.line);
  out << plan.ae_file << ": " << st.ae_rows
      << " AE rows: " << st.teae_rows + static_cast<int64_t>(bad_lines.size())
      << " treatment-emergent in the safety population";
  if (st.not_teae > 0) {
    out << ", " << st.not_teae << " not treatment-emergent (skipped)";
  }
  if (st.ae_not_safety > 0) {
    out << ", " << st.ae_not_safety
        << " of subjects outside the safety population (skipped)";
  }
  out << "\n";

  for (const RowError& e : plan.subject_errors) {
    err << import::FormatRowError(e) << "\n";
  }
  if (!plan.subject_errors.empty()) {
    err << "nothing imported: " << plan.subject_errors.size()
        << " problem(s) in the subject data above (the trial design and "
           "enrollment are all or nothing)\n";
    return kFailed;
  }
  for (const RowError& e : plan.report_errors) {
    err << import::FormatRowError(e) << "\n";
  }
  out << "trial " << plan.trial.trial_id() << ": "
      << plan.trial.dose_groups_size() << " dose groups ("
      << GroupList(plan.trial) << "), " << plan.trial.timepoints_size()
      << " timepoints (last "
      << plan.trial.timepoints(plan.trial.timepoints_size() - 1).timepoint_id()
      << ", day "
      << plan.trial.timepoints(plan.trial.timepoints_size() - 1).study_day()
      << "), " << plan.trial.sites_size() << " sites\n";
  for (const std::string& note : plan.notes) out << "note: " << note << "\n";
  if (flags.dry_run) {
    out << "dry run: nothing sent (" << plan.subjects.size() << " subjects, "
        << plan.reports.size() << " reports, " << bad_lines.size()
        << " AE rows rejected)\n";
    return bad_lines.empty() ? kOk : kFailed;
  }

  // Send: trial, subjects, reports.
  client::Client c(client::MakeClientConnection(*ctx.connection));
  auto created = c.CreateTrial(plan.trial);
  if (!created.ok()) {
    PrintError(err, created.status());
    if (created.status().code() == absl::StatusCode::kAlreadyExists) {
      err << "a trial " << plan.trial.trial_id()
          << " with a different design exists (re-importing the same data "
             "with the same options is safe; otherwise choose another "
             "--trial)\n";
    }
    return kFailed;
  }
  int64_t enrolled = 0, updated = 0, unchanged = 0;
  for (size_t i = 0; i < plan.subjects.size(); i += kEnrollChunk) {
    std::vector<v1::Subject> chunk(
        plan.subjects.begin() + i,
        plan.subjects.begin() +
            std::min(plan.subjects.size(), i + kEnrollChunk));
    auto r = c.EnrollSubjects(plan.trial.trial_id(), chunk);
    if (!r.ok()) {
      PrintError(err, r.status());
      return kFailed;
    }
    enrolled += r->created_count();
    updated += r->updated_count();
    unchanged += r->unchanged_count();
  }
  out << "subjects: " << enrolled << " enrolled, " << updated
      << " updated (new version), " << unchanged << " unchanged\n";

  std::mutex mu;
  std::vector<std::pair<int, std::string>> rejections;  // (line, message)
  client::StreamerOptions so;
  so.batch_size = flags.batch_size;
  so.max_unacked_batches = flags.window;
  client::ReportStreamer streamer(
      c.shared_connection(), plan.trial.trial_id(), so,
      [&](const client::ReportOutcome& o) {
        if (o.result.status() != v1::REPORT_STATUS_REJECTED) return;
        const int line = plan.report_lines[o.sequence];
        const std::string field = FieldName(o.result.field());
        auto col = plan.field_columns.find(field);
        std::string where = col == plan.field_columns.end()
                                ? field
                                : absl::StrCat(col->second, " (", field, ")");
        std::lock_guard<std::mutex> lock(mu);
        rejections.emplace_back(
            line, absl::StrCat(plan.ae_file, ":", line, ": ",
                               where.empty() ? "" : where + ": ",
                               "rejected by the server: ", o.result.reason()));
      });
  absl::Time last_progress = absl::Now();
  const int64_t total = static_cast<int64_t>(plan.reports.size());
  auto progress = [&](bool final) {
    if (!ctx.io->progress) return;
    if (!final && absl::Now() - last_progress < absl::Milliseconds(200)) return;
    last_progress = absl::Now();
    err << "\rreports: " << streamer.added() << "/" << total << " sent, "
        << streamer.acknowledged() << " acknowledged" << std::flush;
    if (final) err << "\n";
  };
  absl::Status status;
  for (auto& report : plan.reports) {
    status = streamer.Add(std::move(report));
    if (!status.ok()) break;
    progress(false);
  }
  absl::StatusOr<client::StreamSummary> summary =
      status.ok() ? streamer.Finish() : status;
  progress(true);
  std::sort(rejections.begin(), rejections.end());
  for (const auto& r : rejections) err << r.second << "\n";
  if (!summary.ok()) {
    PrintError(err, summary.status());
    err << "reports acknowledged before the error are stored; running the "
           "import again is safe (duplicates are not counted twice)\n";
    return kFailed;
  }
  out << "reports: " << total << " sent; accepted " << summary->accepted
      << ", duplicate " << summary->duplicate << ", superseded "
      << summary->superseded << ", rejected " << summary->rejected;
  if (!bad_lines.empty()) {
    out << "; " << bad_lines.size() << " AE rows not sent (unmappable)";
  }
  out << "\n";
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
    out << "grade: " << st.grade_from_severity
        << " reports graded from AESEV (MILD/MODERATE/SEVERE = 1/2/3; "
           "'grade 3+' means severe)\n";
  }
  if (st.criteria_without_serious > 0) {
    out << "seriousness: " << st.criteria_without_serious
        << " reports have AES* criteria = Y but AESER != Y: AESER kept, "
           "criteria not sent\n";
  }
  if (st.follow_up_from_onset > 0) {
    out << "follow-up: " << st.follow_up_from_onset
        << " subjects' last contact day raised to their last TEAE onset\n";
  }
  out << absl::StrFormat("import: done in %.1f s\n",
                         absl::ToDoubleSeconds(absl::Now() - start));
  return summary->rejected > 0 || !bad_lines.empty() ? kFailed : kOk;
}

void AddCommon(CLI::App* cmd, ImportFlags* f) {
  cmd->add_option("--trial", f->trial, "aesignal trial id ([A-Za-z0-9._-])")
      ->required();
  cmd->add_option("--title", f->title,
                  "trial title (default: STUDYID (imported from ...))");
  cmd->add_option("--dose-order", f->dose_order,
                  "dose groups in ascending order, comma-separated arm names "
                  "(default: by the numeric treatment code, control first)");
  cmd->add_option("--control", f->control,
                  "the control arm (default: the arm named like 'placebo')");
  cmd->add_flag("--no-control", f->no_control, "no control arm");
  cmd->add_option("--timepoints", f->timepoints,
                  "ID:DAY[:LABEL],... (default: weeks 2,4,8,...,26, then "
                  "every 4 weeks, and the last study day in the data)");
  cmd->add_option("--mapping", f->mapping,
                  "column mapping file: lines 'STANDARD = COLUMN'");
  cmd->add_option("--batch-size", f->batch_size, "reports per streamed batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 5000));
  cmd->add_option("--window", f->window, "unacknowledged batches in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--dry-run", f->dry_run,
                "map and check the data, print the summary, send nothing");
}

}  // namespace

void AddImportCommands(CLI::App& app, ImportContext ctx,
                       std::function<int()>* action) {
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
  AddCommon(adam, adam_flags.get());
  adam->callback([ctx, action, adam_flags] {
    *action = [ctx, adam_flags] { return RunImport(ctx, *adam_flags); };
  });

  auto sdtm_flags = std::make_shared<ImportFlags>();
  sdtm_flags->sdtm = true;
  auto* sdtm = import_cmd->add_subcommand(
      "sdtm", "DM + EX + AE: trial, dosed subjects, AEs from the first dose");
  sdtm->add_option("--dm", sdtm_flags->dm, "DM (.csv or .xpt)")->required();
  sdtm->add_option("--ex", sdtm_flags->ex, "EX (.csv or .xpt)")->required();
  sdtm->add_option("--ae", sdtm_flags->ae, "AE (.csv or .xpt)")->required();
  AddCommon(sdtm, sdtm_flags.get());
  sdtm->callback([ctx, action, sdtm_flags] {
    *action = [ctx, sdtm_flags] { return RunImport(ctx, *sdtm_flags); };
  });
}

}  // namespace aesignal::cli
