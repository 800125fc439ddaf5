// `aesignal subjects enroll|list|show|correct`.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "clients/cli/commands.h"
#include "clients/cli/csv.h"
#include "clients/cli/csv_messages.h"

namespace aesignal::cli {
namespace {

// With --keep-corrected: rows that would undo a stored correction keep the
// stored value instead (a load script run again over its original file).
// A stored dose group other than the row's can only come from a
// correction; a last contact day is kept when the stored version is a
// correction that lowered it below the row's. Notes each kept value.
absl::Status KeepCorrections(CommandContext& ctx, const std::string& trial_id,
                             std::vector<v1::Subject>& subjects) {
  auto stored = ctx.MakeClient().ListAllSubjects(trial_id);
  if (!stored.ok()) return stored.status();
  std::map<std::string, const v1::Subject*> by_id;
  for (const v1::Subject& s : *stored) by_id[s.subject_id()] = &s;
  for (v1::Subject& row : subjects) {
    auto it = by_id.find(row.subject_id());
    if (it == by_id.end()) continue;
    const v1::Subject& now = *it->second;
    if (now.dose_group_id() != row.dose_group_id()) {
      ctx.io.out << row.subject_id() << ": kept dose group "
                 << now.dose_group_id() << " as corrected (the file says "
                 << row.dose_group_id() << ")\n";
      row.set_dose_group_id(now.dose_group_id());
    }
    if (!now.correction_reason().empty() &&
        now.last_contact_day() < row.last_contact_day()) {
      ctx.io.out << row.subject_id() << ": kept last contact day "
                 << now.last_contact_day() << " as corrected (the file says "
                 << row.last_contact_day() << ")\n";
      row.set_last_contact_day(now.last_contact_day());
    }
  }
  return absl::OkStatus();
}

int SubjectsEnroll(CommandContext& ctx, const std::string& trial_id,
                   const std::string& file, bool keep_corrected) {
  std::vector<v1::Subject> subjects;
  std::vector<int> lines;
  if (!ReadCsvMessages(file, ctx.io.err, &subjects, &lines)) {
    ctx.io.err << "nothing enrolled: fix the rows above (enrollment is all "
                  "or nothing)\n";
    return kExitFailed;
  }
  if (keep_corrected) {
    if (absl::Status kept = KeepCorrections(ctx, trial_id, subjects);
        !kept.ok()) {
      PrintStatus(ctx.io.err, kept);
      return kExitFailed;
    }
  }
  auto enrolled = ctx.MakeClient().EnrollSubjects(trial_id, subjects);
  if (!enrolled.ok()) {
    PrintStatus(ctx.io.err, enrolled.status(),
                FileLineLabel(file, "subjects", lines));
    return kExitFailed;
  }
  ctx.io.out << "subjects: " << subjects.size() << " in file; "
             << enrolled->created_count() << " enrolled, "
             << enrolled->updated_count() << " updated (new version), "
             << enrolled->unchanged_count() << " unchanged\n";
  return kExitOk;
}

// "ongoing" for FOLLOW_UP_STATUS_ONGOING.
std::string StatusName(v1::FollowUpStatus s) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::FollowUpStatus_Name(s), "FOLLOW_UP_STATUS_"));
}

// Every field `subjects enroll` reads back, so that the file enrolled again
// is unchanged (a column left out would be cleared by a new version).
void WriteSubjectsCsv(const std::vector<v1::Subject>& subjects,
                      std::ostream& out) {
  out << CsvLine({"subject_id", "site_id", "dose_group_id", "last_contact_day",
                  "status", "withdrawal_reason", "version"})
      << "\n";
  for (const auto& s : subjects) {
    out << CsvLine({s.subject_id(), s.site_id(), s.dose_group_id(),
                    absl::StrCat(s.last_contact_day()), StatusName(s.status()),
                    s.withdrawal_reason(), absl::StrCat(s.version())})
        << "\n";
  }
}

void WriteSubjectsTable(const std::vector<v1::Subject>& subjects,
                        std::ostream& out) {
  out << absl::StrFormat("%-14s %-6s %-12s %-16s %-12s %-7s %s\n", "subject_id",
                         "site", "dose_group", "last_contact_day", "status",
                         "version", "withdrawal_reason");
  for (const auto& s : subjects) {
    out << absl::StrFormat("%-14s %-6s %-12s %-16d %-12s %-7d %s\n",
                           s.subject_id(), s.site_id(), s.dose_group_id(),
                           s.last_contact_day(), StatusName(s.status()),
                           s.version(), s.withdrawal_reason());
  }
}

int SubjectsList(CommandContext& ctx, const std::string& trial_id,
                 const std::string& format, const std::string& as_of) {
  v1::ListSubjectsRequest request;
  request.set_parent(client::TrialName(trial_id));
  if (!as_of.empty() &&
      !ParseTimeFlag(ctx, "--as-of", as_of, request.mutable_as_of())) {
    return kExitUsage;
  }
  auto subjects = ctx.MakeClient().ListAllSubjects(request);
  if (!subjects.ok()) {
    PrintStatus(ctx.io.err, subjects.status());
    return kExitFailed;
  }
  if (format == "json") {
    v1::ListSubjectsResponse all;
    for (auto& s : *subjects) *all.add_subjects() = s;
    ctx.io.out << JsonOf(all) << "\n";
  } else if (format == "csv") {
    WriteSubjectsCsv(*subjects, ctx.io.out);
  } else {
    WriteSubjectsTable(*subjects, ctx.io.out);
  }
  return kExitOk;
}

int SubjectsShow(CommandContext& ctx, const std::string& trial_id,
                 const std::string& subject_id, const std::string& format) {
  auto subject = ctx.MakeClient().GetSubject(trial_id, subject_id);
  if (!subject.ok()) {
    PrintStatus(ctx.io.err, subject.status());
    return kExitFailed;
  }
  if (format == "json") {
    ctx.io.out << JsonOf(*subject) << "\n";
    return kExitOk;
  }
  ctx.io.out << "subject " << subject->subject_id() << " (" << subject->name()
             << "): site " << subject->site_id() << ", dose group "
             << subject->dose_group_id() << "; " << subject->history_size()
             << " version(s), newest first\n";
  std::vector<std::vector<std::string>> rows = {
      {"version", "stored", "dose_group", "last_contact_day", "status",
       "withdrawal_reason", "correction_reason"}};
  for (const auto& v : subject->history()) {
    rows.push_back({absl::StrCat(v.version()), ShortTime(v.update_time()),
                    v.dose_group_id(), absl::StrCat(v.last_contact_day()),
                    StatusName(v.status()), v.withdrawal_reason(),
                    v.correction_reason()});
  }
  PrintColumns(ctx.io.out, rows);
  return kExitOk;
}

struct CorrectFlags {
  std::string trial, subject, dose_group, reason;
  int last_contact_day = 0;  // 0: unchanged
};

// Corrects a subject: its current version once more, with the new dose group
// and/or lower last contact day and the reason. The server refuses a
// "correction" that corrects nothing (e.g. a higher last contact day, which
// `subjects enroll` sends as an update).
int SubjectsCorrect(CommandContext& ctx, const CorrectFlags& f) {
  if (f.dose_group.empty() && f.last_contact_day == 0) {
    ctx.io.err << "nothing to correct: give --dose-group and/or "
                  "--last-contact-day\n";
    return kExitUsage;
  }
  client::Client c = ctx.MakeClient();
  auto stored = c.GetSubject(f.trial, f.subject);
  if (!stored.ok()) {
    PrintStatus(ctx.io.err, stored.status());
    return kExitFailed;
  }
  v1::Subject next = *stored;
  next.clear_history();
  if (!f.dose_group.empty()) next.set_dose_group_id(f.dose_group);
  if (f.last_contact_day != 0) next.set_last_contact_day(f.last_contact_day);
  next.set_correction_reason(f.reason);
  auto enrolled = c.EnrollSubjects(f.trial, {next});
  if (!enrolled.ok()) {
    ctx.io.err << "not corrected:\n";
    PrintStatus(ctx.io.err, enrolled.status(), [](const std::string& field) {
      int index;
      std::string rest;
      return SplitIndexedPath(field, "subjects", &index, &rest) ? rest : field;
    });
    return kExitFailed;
  }
  const v1::Subject& now = enrolled->subjects(0);
  if (enrolled->unchanged_count() == 1) {
    ctx.io.out << "subject " << f.subject << " is already so (version "
               << now.version() << "): nothing changed\n";
    return kExitOk;
  }
  ctx.io.out << "corrected subject " << f.subject << ": version "
             << now.version() << ", dose group " << now.dose_group_id()
             << ", last contact day " << now.last_contact_day()
             << "; its reports count in dose group " << now.dose_group_id()
             << ", earlier versions stay stored\n";
  return kExitOk;
}

void AddCorrect(CLI::App& subjects, CommandContext& ctx) {
  auto f = std::make_shared<CorrectFlags>();
  auto* correct = subjects.add_subcommand(
      "correct",
      "correct a subject's dose group or lower its last contact day (a new "
      "version with the reason; its reports move with it)");
  correct->add_option("--trial", f->trial, "trial id")->required();
  correct->add_option("--subject", f->subject, "subject id")->required();
  correct->add_option("--dose-group", f->dose_group,
                      "the dose group the subject actually received");
  correct
      ->add_option("--last-contact-day", f->last_contact_day,
                   "the right last contact day, lower than the stored one")
      ->check(CLI::PositiveNumber);
  correct->add_option("--reason", f->reason, "why, for the audit trail")
      ->required();
  SetAction(correct, ctx, [&ctx, f] { return SubjectsCorrect(ctx, *f); });
}

struct SubjectsFlags {
  std::string trial;
  std::string subject;
  std::string file;
  std::string format = "table";
  std::string as_of;            // RFC 3339 data cut-off (list)
  bool keep_corrected = false;  // enroll
};

}  // namespace

void AddSubjectsCommands(CLI::App& app, CommandContext& ctx) {
  auto* subjects =
      app.add_subcommand("subjects", "enroll, list, show and correct subjects");
  subjects->require_subcommand(1);
  auto f = std::make_shared<SubjectsFlags>();

  auto* enroll = subjects->add_subcommand(
      "enroll", "enroll or update subjects from CSV (all or nothing)");
  enroll->add_option("--trial", f->trial, "trial id")->required();
  enroll
      ->add_option("--file", f->file,
                   "CSV with columns named as aesignal.v1.Subject fields")
      ->required();
  enroll->add_flag("--keep-corrected", f->keep_corrected,
                   "keep a stored correction (dose group, lowered last "
                   "contact day) where the file still has the old value");
  SetAction(enroll, ctx, [&ctx, f] {
    return SubjectsEnroll(ctx, f->trial, f->file, f->keep_corrected);
  });

  auto* list = subjects->add_subcommand("list", "list subjects");
  list->add_option("--trial", f->trial, "trial id")->required();
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "csv", "json"}));
  list->add_option("--as-of", f->as_of,
                   "data cut-off (RFC 3339): each subject's version as it "
                   "stood then");
  SetAction(list, ctx, [&ctx, f] {
    return SubjectsList(ctx, f->trial, f->format, f->as_of);
  });

  auto* show = subjects->add_subcommand(
      "show", "one subject with every stored version, newest first");
  show->add_option("--trial", f->trial, "trial id")->required();
  show->add_option("--subject", f->subject, "subject id")->required();
  show->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(show, ctx, [&ctx, f] {
    return SubjectsShow(ctx, f->trial, f->subject, f->format);
  });
  AddCorrect(*subjects, ctx);
}

}  // namespace aesignal::cli
