// `aesignal baselines load|list|show`: the expected incidences signals are
// measured against.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/commands.h"
#include "clients/cli/csv_messages.h"

namespace aesignal::cli {
namespace {

int BaselinesLoad(CommandContext& ctx, const std::string& trial_id,
                  const std::string& file) {
  std::vector<v1::Baseline> baselines;
  std::vector<int> lines;
  if (!ReadCsvMessages(file, ctx.io.err, &baselines, &lines)) {
    ctx.io.err << "nothing loaded: fix the rows above (baselines load all or "
                  "nothing)\n";
    return kExitFailed;
  }
  auto put = ctx.MakeClient().PutBaselines(trial_id, baselines);
  if (!put.ok()) {
    PrintStatus(ctx.io.err, put.status(),
                FileLineLabel(file, "baselines", lines));
    return kExitFailed;
  }
  ctx.io.out << "baselines: " << baselines.size() << " in file; "
             << put->created_count() << " new, " << put->updated_count()
             << " revised (new version), " << put->unchanged_count()
             << " unchanged\n";
  return kExitOk;
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
  std::string format = "table";
};

}  // namespace

void AddBaselinesCommands(CLI::App& app, CommandContext& ctx) {
  auto* baselines = app.add_subcommand(
      "baselines", "expected incidences signals are measured against");
  baselines->require_subcommand(1);
  auto f = std::make_shared<BaselinesFlags>();

  auto* load = baselines->add_subcommand(
      "load", "add or revise baselines from CSV (versioned; all or nothing)");
  load->add_option("--trial", f->trial, "trial id")->required();
  load->add_option("--file", f->file,
                   "CSV with columns named as aesignal.v1.Baseline fields")
      ->required();
  SetAction(load, ctx,
            [&ctx, f] { return BaselinesLoad(ctx, f->trial, f->file); });

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
