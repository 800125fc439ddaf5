// `aesignal subjects enroll|list|show`.
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

int SubjectsEnroll(CommandContext& ctx, const std::string& trial_id,
                   const std::string& file) {
  std::vector<v1::Subject> subjects;
  std::vector<int> lines;
  if (!ReadCsvMessages(file, ctx.io.err, &subjects, &lines)) {
    ctx.io.err << "nothing enrolled: fix the rows above (enrollment is all "
                  "or nothing)\n";
    return kExitFailed;
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

void WriteSubjectsCsv(const std::vector<v1::Subject>& subjects,
                      std::ostream& out) {
  out << CsvLine({"subject_id", "site_id", "dose_group_id", "last_contact_day",
                  "status", "version"})
      << "\n";
  for (const auto& s : subjects) {
    out << CsvLine({s.subject_id(), s.site_id(), s.dose_group_id(),
                    absl::StrCat(s.last_contact_day()), StatusName(s.status()),
                    absl::StrCat(s.version())})
        << "\n";
  }
}

void WriteSubjectsTable(const std::vector<v1::Subject>& subjects,
                        std::ostream& out) {
  out << absl::StrFormat("%-14s %-6s %-12s %-16s %-12s %s\n", "subject_id",
                         "site", "dose_group", "last_contact_day", "status",
                         "version");
  for (const auto& s : subjects) {
    out << absl::StrFormat("%-14s %-6s %-12s %-16d %-12s %d\n", s.subject_id(),
                           s.site_id(), s.dose_group_id(), s.last_contact_day(),
                           StatusName(s.status()), s.version());
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
      {"version", "stored", "last_contact_day", "status"}};
  for (const auto& v : subject->history()) {
    rows.push_back({absl::StrCat(v.version()), ShortTime(v.update_time()),
                    absl::StrCat(v.last_contact_day()),
                    StatusName(v.status())});
  }
  PrintColumns(ctx.io.out, rows);
  return kExitOk;
}

struct SubjectsFlags {
  std::string trial;
  std::string subject;
  std::string file;
  std::string format = "table";
  std::string as_of;  // RFC 3339 data cut-off (list)
};

}  // namespace

void AddSubjectsCommands(CLI::App& app, CommandContext& ctx) {
  auto* subjects =
      app.add_subcommand("subjects", "enroll, list and show subjects");
  subjects->require_subcommand(1);
  auto f = std::make_shared<SubjectsFlags>();

  auto* enroll = subjects->add_subcommand(
      "enroll", "enroll or update subjects from CSV (all or nothing)");
  enroll->add_option("--trial", f->trial, "trial id")->required();
  enroll
      ->add_option("--file", f->file,
                   "CSV with columns named as aesignal.v1.Subject fields")
      ->required();
  SetAction(enroll, ctx,
            [&ctx, f] { return SubjectsEnroll(ctx, f->trial, f->file); });

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
}

}  // namespace aesignal::cli
