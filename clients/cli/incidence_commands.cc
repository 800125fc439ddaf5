// `aesignal incidence`: the incidence table as a terminal table, CSV or JSON
// (rendering in incidence_format.h).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/commands.h"
#include "clients/cli/incidence_format.h"

namespace aesignal::cli {
namespace {

struct IncidenceFlags {
  std::string trial;
  std::string by = "overall";
  std::string format = "table";
  double confidence = 0.95;
  bool interval = false;
  bool ci = false;
  std::string subset;  // serious, grade3, related, death or aesi:CATEGORY
  bool max_grade = false;
  bool vs_control = false;
  bool trend = false;
  std::string as_of;  // RFC 3339 data cut-off; empty: the current data
};

v1::TermLevel LevelOf(const std::string& by) {
  return by == "pt"    ? v1::TERM_LEVEL_PT
         : by == "soc" ? v1::TERM_LEVEL_SOC
                       : v1::TERM_LEVEL_OVERALL;
}

v1::GetIncidenceRequest RequestOf(const IncidenceFlags& flags) {
  v1::GetIncidenceRequest request;
  request.set_parent(client::TrialName(flags.trial));
  request.set_level(LevelOf(flags.by));
  request.set_confidence_level(flags.confidence);
  request.set_subset(SubsetOfWord(flags.subset));
  request.set_aesi_category(AesiCategoryOfWord(flags.subset));
  request.set_max_grade(flags.max_grade);
  request.set_compare_to_control(flags.vs_control);
  request.set_dose_trend(flags.trend);
  return request;
}

int Incidence(CommandContext& ctx, const IncidenceFlags& flags) {
  v1::GetIncidenceRequest request = RequestOf(flags);
  if (!flags.as_of.empty() &&
      !ParseTimeFlag(ctx, "--as-of", flags.as_of, request.mutable_as_of())) {
    return kExitUsage;
  }
  client::Client c = ctx.MakeClient();
  auto table = c.GetIncidence(request);
  if (!table.ok()) {
    PrintStatus(ctx.io.err, table.status());
    return kExitFailed;
  }
  // On stderr, so that CSV and JSON stay machine-readable.
  WriteCodingCheck(*table, ctx.io.err);
  if (flags.format == "json") {
    ctx.io.out << JsonOf(*table) << "\n";
  } else if (flags.format == "csv") {
    WriteIncidenceCsv(*table, ctx.io.out);
  } else {
    // The table is laid out by the trial's dose groups and timepoints.
    auto trial = c.GetTrial(flags.trial);
    if (!trial.ok()) {
      PrintStatus(ctx.io.err, trial.status());
      return kExitFailed;
    }
    WriteIncidenceTable(*trial, *table,
                        {.interval = flags.interval, .ci = flags.ci},
                        ctx.io.out);
  }
  return kExitOk;
}

}  // namespace

void AddIncidenceCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<IncidenceFlags>();
  auto* incidence = app.add_subcommand(
      "incidence", "subject incidence by term x dose group x timepoint");
  incidence->add_option("--trial", f->trial, "trial id")->required();
  incidence->add_option("--by", f->by, "pt, soc or overall")
      ->capture_default_str()
      ->check(CLI::IsMember({"pt", "soc", "overall"}));
  incidence->add_option("--format", f->format, "table, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
  incidence
      ->add_option("--confidence", f->confidence,
                   "confidence level of the Clopper-Pearson intervals")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 0.9999));
  incidence->add_flag("--interval", f->interval,
                      "table: incidence within each window (of subjects at "
                      "risk) instead of cumulative");
  incidence->add_flag("--ci", f->ci, "table: show the interval in each cell");
  incidence
      ->add_option("--subset", f->subset,
                   absl::StrCat("count only these AEs: ", kSubsetWordsHelp))
      ->check(CheckSubsetWord);
  incidence->add_flag("--max-grade", f->max_grade,
                      "subjects by their highest grade (1-5) per term");
  incidence->add_flag("--vs-control", f->vs_control,
                      "risk difference and relative risk against the "
                      "control group (Miettinen-Nurminen intervals)");
  incidence->add_flag("--trend", f->trend,
                      "one-sided dose-trend p per timepoint (>= 3 groups)");
  incidence->add_option("--as-of", f->as_of,
                        "data cut-off (RFC 3339, e.g. 2026-11-01T00:00:00Z): "
                        "the table from the data as they stood then");
  SetAction(incidence, ctx, [&ctx, f] { return Incidence(ctx, *f); });
}

}  // namespace aesignal::cli
