// `aesignal incidence`: the incidence table as a terminal table, CSV or JSON
// (rendering in incidence_format.h).
#include <memory>
#include <string>

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
};

v1::TermLevel LevelOf(const std::string& by) {
  return by == "pt"    ? v1::TERM_LEVEL_PT
         : by == "soc" ? v1::TERM_LEVEL_SOC
                       : v1::TERM_LEVEL_OVERALL;
}

int Incidence(CommandContext& ctx, const IncidenceFlags& flags) {
  client::Client c = ctx.MakeClient();
  auto table = c.GetIncidence(flags.trial, LevelOf(flags.by), flags.confidence);
  if (!table.ok()) {
    PrintStatus(ctx.io.err, table.status());
    return kExitFailed;
  }
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
  SetAction(incidence, ctx, [&ctx, f] { return Incidence(ctx, *f); });
}

}  // namespace aesignal::cli
