// `aesignal baselines load|list|show`: the expected incidences signals are
// measured against, from a CSV of Baseline fields or from a baseline library
// of published figures (baseline_library.h).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/baseline_library.h"
#include "clients/cli/commands.h"
#include "clients/cli/csv_messages.h"

namespace aesignal::cli {
namespace {

// Sends `baselines` (read from `file`, item i from line lines[i]) unless
// `dry_run`, and prints what the server did with them.
int SendBaselines(CommandContext& ctx, const std::string& trial_id,
                  const std::string& file,
                  const std::vector<v1::Baseline>& baselines,
                  const std::vector<int>& lines, bool dry_run) {
  if (dry_run) {
    ctx.io.out << "dry run: " << baselines.size()
               << " baseline(s) checked, nothing sent\n";
    return kExitOk;
  }
  auto put = ctx.MakeClient().PutBaselines(trial_id, baselines);
  if (!put.ok()) {
    PrintStatus(ctx.io.err, put.status(),
                FileLineLabel(file, "baselines", lines));
    return kExitFailed;
  }
  ctx.io.out << "baselines: " << baselines.size() << " sent; "
             << put->created_count() << " new, " << put->updated_count()
             << " revised (new version), " << put->unchanged_count()
             << " unchanged\n";
  return kExitOk;
}

int BaselinesLoad(CommandContext& ctx, const std::string& trial_id,
                  const std::string& file, bool dry_run) {
  std::vector<v1::Baseline> baselines;
  std::vector<int> lines;
  if (!ReadCsvMessages(file, ctx.io.err, &baselines, &lines)) {
    ctx.io.err << "nothing loaded: fix the rows above (baselines load all or "
                  "nothing)\n";
    return kExitFailed;
  }
  return SendBaselines(ctx, trial_id, file, baselines, lines, dry_run);
}

std::string TermOf(const LibraryEntry& e) {
  switch (e.level) {
    case EntryLevel::kPt:
      return "PT " + e.pt;
    case EntryLevel::kSoc:
      return "SOC " + e.soc;
    case EntryLevel::kOverall:
      return e.overall_key;
    default:
      return "-";
  }
}

// One row per entry: where it went (or that it was skipped, and why).
void PrintPlan(std::ostream& out, const v1::Trial& trial,
               const std::vector<PlannedBaseline>& plan) {
  std::vector<std::vector<std::string>> rows = {
      {"baseline", "term", "x0/n0", "p0", "follow-up", "timepoint"}};
  std::vector<std::string> skipped;
  for (const auto& p : plan) {
    const LibraryEntry& e = *p.entry;
    if (!p.baseline) {
      skipped.push_back(
          absl::StrCat("  skipped ", p.baseline_id, ": ", p.skip_reason));
      continue;
    }
    const v1::Timepoint& tp = trial.timepoints(p.timepoint);
    rows.push_back(
        {p.baseline_id, TermOf(e), absl::StrCat(*e.x0, "/", *e.n0),
         absl::StrFormat("%.4g", p.baseline->expected_proportion()),
         absl::StrCat(e.follow_up, " (day ", *e.follow_up_day, ")"),
         absl::StrCat("-> ", tp.timepoint_id(), " (day ", tp.study_day(), ")",
                      tp.study_day() < *e.follow_up_day
                          ? absl::StrCat(", the trial's last (ends before day ",
                                         *e.follow_up_day, ")")
                          : "")});
  }
  if (rows.size() > 1) PrintColumns(out, rows);
  for (const auto& line : skipped) out << line << "\n";
}

// `baselines load --library`: reads the whole library before asking the
// server anything, so a bad file sends nothing.
int BaselinesLoadLibrary(CommandContext& ctx, const std::string& trial_id,
                         const std::string& path, bool dry_run) {
  LibraryRead read = ReadBaselineLibrary(path);
  if (!read.library) {
    for (const auto& e : read.errors) ctx.io.err << e << "\n";
    ctx.io.err << "nothing sent: fix the library (baselines load all or "
                  "nothing)\n";
    return kExitFailed;
  }
  auto trial = ctx.MakeClient().GetTrial(trial_id);
  if (!trial.ok()) {
    PrintStatus(ctx.io.err, trial.status());
    return kExitFailed;
  }
  const std::vector<PlannedBaseline> plan = PlanLibrary(*read.library, *trial);
  ctx.io.out << "library " << read.library->id << " (" << path
             << "): " << plan.size()
             << (plan.size() == 1 ? " entry" : " entries")
             << "; each at the first timepoint of " << trial_id
             << " at or after its follow-up day, else the last\n";
  PrintPlan(ctx.io.out, *trial, plan);
  std::vector<v1::Baseline> baselines;
  std::vector<int> lines;
  for (const auto& p : plan) {
    if (!p.baseline) continue;
    baselines.push_back(*p.baseline);
    lines.push_back(p.entry->line);
  }
  if (baselines.empty()) {
    ctx.io.out << "no entry applies to trial " << trial_id
               << "; nothing sent\n";
    return kExitOk;
  }
  return SendBaselines(ctx, trial_id, path, baselines, lines, dry_run);
}

// Two lines: the baseline's identity and expected proportion, then its
// citation.
std::string BaselineText(const v1::Baseline& b) {
  const std::string term = b.level() == v1::TERM_LEVEL_PT    ? b.pt()
                           : b.level() == v1::TERM_LEVEL_SOC ? b.soc()
                                                             : b.overall_key();
  return absl::StrFormat(
      "%-28s v%-2d %-32s %-8s %-6s p0=%.4g%s\n    %s\n", b.baseline_id(),
      b.version(), term, b.dose_group_id().empty() ? "all" : b.dose_group_id(),
      b.timepoint_id().empty() ? "all" : b.timepoint_id(),
      b.expected_proportion(),
      b.source_subjects() > 0
          ? absl::StrCat(" (", b.source_events(), "/", b.source_subjects(), ")")
          : "",
      b.citation());
}

int BaselinesList(CommandContext& ctx, const std::string& trial_id,
                  const std::string& format) {
  auto baselines = ctx.MakeClient().ListBaselines(trial_id);
  if (!baselines.ok()) {
    PrintStatus(ctx.io.err, baselines.status());
    return kExitFailed;
  }
  if (format == "json") {
    v1::ListBaselinesResponse all;
    for (auto& b : *baselines) *all.add_baselines() = b;
    ctx.io.out << JsonOf(all) << "\n";
    return kExitOk;
  }
  for (const auto& b : *baselines) ctx.io.out << BaselineText(b);
  return kExitOk;
}

int BaselinesShow(CommandContext& ctx, const std::string& trial_id,
                  const std::string& baseline_id, const std::string& format) {
  auto baseline = ctx.MakeClient().GetBaseline(trial_id, baseline_id);
  if (!baseline.ok()) {
    PrintStatus(ctx.io.err, baseline.status());
    return kExitFailed;
  }
  if (format == "json") {
    ctx.io.out << JsonOf(*baseline) << "\n";
    return kExitOk;
  }
  ctx.io.out << "baseline " << baseline->baseline_id() << " ("
             << baseline->name() << "): " << baseline->history_size()
             << " version(s), newest first; signals name the version they "
                "used\n";
  for (const auto& v : baseline->history()) {
    ctx.io.out << "  stored " << ShortTime(v.update_time()) << "  "
               << BaselineText(v);
  }
  return kExitOk;
}

struct BaselinesFlags {
  std::string trial;
  std::string baseline;
  std::string file;
  std::string library;
  bool dry_run = false;
  std::string format = "table";
};

void AddLoadCommand(CLI::App& baselines, CommandContext& ctx,
                    std::shared_ptr<BaselinesFlags> f) {
  auto* load = baselines.add_subcommand(
      "load",
      "add or revise baselines from CSV or from a baseline library "
      "(versioned; all or nothing)");
  load->add_option("--trial", f->trial, "trial id")->required();
  auto* source = load->add_option_group("source", "exactly one of");
  source->add_option("--file", f->file,
                     "CSV with columns named as aesignal.v1.Baseline fields");
  source->add_option("--library", f->library,
                     "baseline library (YAML, deploy/baselines/README.md): "
                     "published figures mapped to the trial's timepoints");
  source->require_option(1);
  load->add_flag("--dry-run", f->dry_run,
                 "check and print what would be sent; send nothing");
  SetAction(load, ctx, [&ctx, f] {
    return f->library.empty()
               ? BaselinesLoad(ctx, f->trial, f->file, f->dry_run)
               : BaselinesLoadLibrary(ctx, f->trial, f->library, f->dry_run);
  });
}

}  // namespace

void AddBaselinesCommands(CLI::App& app, CommandContext& ctx) {
  auto* baselines = app.add_subcommand(
      "baselines", "expected incidences signals are measured against");
  baselines->require_subcommand(1);
  auto f = std::make_shared<BaselinesFlags>();

  AddLoadCommand(*baselines, ctx, f);

  auto* list =
      baselines->add_subcommand("list", "current version of every baseline");
  list->add_option("--trial", f->trial, "trial id")->required();
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx,
            [&ctx, f] { return BaselinesList(ctx, f->trial, f->format); });

  auto* show = baselines->add_subcommand(
      "show", "one baseline with every stored version, newest first");
  show->add_option("--trial", f->trial, "trial id")->required();
  show->add_option("--baseline", f->baseline, "baseline id")->required();
  show->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(show, ctx, [&ctx, f] {
    return BaselinesShow(ctx, f->trial, f->baseline, f->format);
  });
}

}  // namespace aesignal::cli
