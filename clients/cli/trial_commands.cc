// `aesignal trial create|get|list`.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cli/commands.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

using google::protobuf::util::TimeUtil;

int TrialCreate(CommandContext& ctx, const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    ctx.io.err << file << ": cannot open file\n";
    return kExitFailed;
  }
  std::stringstream text;
  text << in.rdbuf();
  v1::Trial trial;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), &trial, options);
  if (!parsed.ok()) {
    ctx.io.err << file << ": not a valid aesignal.v1.Trial in proto JSON: "
               << parsed.message() << "\n";
    return kExitFailed;
  }
  auto created = ctx.MakeClient().CreateTrial(trial);
  if (!created.ok()) {
    PrintStatus(ctx.io.err, created.status());
    return kExitFailed;
  }
  ctx.io.out << "trial " << created->trial_id() << " stored ("
             << created->dose_groups_size() << " dose groups, "
             << created->timepoints_size() << " timepoints, "
             << created->sites_size() << " sites; created "
             << TimeUtil::ToString(created->create_time()) << ")\n";
  return kExitOk;
}

void PrintTimepoints(const v1::Trial& t, std::ostream& out) {
  out << "timepoints (window = study days after the previous one, up to "
         "its day):\n";
  int previous = 0;
  for (const auto& tp : t.timepoints()) {
    out << absl::StrFormat("  %-10s %-24s day %d (window %d-%d)\n",
                           tp.timepoint_id(), tp.label(), tp.study_day(),
                           previous + 1, tp.study_day());
    previous = tp.study_day();
  }
}

void PrintTrial(const v1::Trial& t, std::ostream& out) {
  out << "trial " << t.trial_id() << ": " << t.title() << "\n";
  out << "created " << TimeUtil::ToString(t.create_time()) << "\n";
  out << "dose groups (in order):\n";
  for (const auto& g : t.dose_groups()) {
    out << absl::StrFormat("  %-10s %-24s %g %s%s\n", g.dose_group_id(),
                           g.label(), g.dose_value(), g.dose_unit(),
                           g.control() ? "  [control]" : "");
  }
  PrintTimepoints(t, out);
  std::vector<std::string> sites;
  for (const auto& s : t.sites()) {
    sites.push_back(s.name().empty()
                        ? s.site_id()
                        : absl::StrCat(s.site_id(), " (", s.name(), ")"));
  }
  out << "sites: " << absl::StrJoin(sites, ", ") << "\n";
  out << "AESI categories: " << absl::StrJoin(t.aesi_categories(), ", ")
      << "\n";
}

int TrialGet(CommandContext& ctx, const std::string& trial_id,
             const std::string& format) {
  auto trial = ctx.MakeClient().GetTrial(trial_id);
  if (!trial.ok()) {
    PrintStatus(ctx.io.err, trial.status());
    return kExitFailed;
  }
  if (format == "json") {
    ctx.io.out << JsonOf(*trial) << "\n";
  } else {
    PrintTrial(*trial, ctx.io.out);
  }
  return kExitOk;
}

int TrialList(CommandContext& ctx, const std::string& format) {
  auto trials = ctx.MakeClient().ListAllTrials();
  if (!trials.ok()) {
    PrintStatus(ctx.io.err, trials.status());
    return kExitFailed;
  }
  if (format == "json") {
    v1::ListTrialsResponse all;
    for (auto& t : *trials) *all.add_trials() = t;
    ctx.io.out << JsonOf(all) << "\n";
    return kExitOk;
  }
  ctx.io.out << absl::StrFormat("%-16s %-6s %-10s %s\n", "trial_id", "groups",
                                "timepoints", "title");
  for (const auto& t : *trials) {
    ctx.io.out << absl::StrFormat("%-16s %-6d %-10d %s\n", t.trial_id(),
                                  t.dose_groups_size(), t.timepoints_size(),
                                  t.title());
  }
  return kExitOk;
}

struct TrialFlags {
  std::string file;
  std::string trial;
  std::string format = "table";
};

}  // namespace

void AddTrialCommands(CLI::App& app, CommandContext& ctx) {
  auto* trial = app.add_subcommand("trial", "create, show and list trials");
  trial->require_subcommand(1);
  auto f = std::make_shared<TrialFlags>();
  const std::vector<std::string> table_json = {"table", "json"};

  auto* create = trial->add_subcommand(
      "create", "create a trial from a proto-JSON file (idempotent)");
  create->add_option("--file", f->file, "trial JSON (aesignal.v1.Trial)")
      ->required();
  SetAction(create, ctx, [&ctx, f] { return TrialCreate(ctx, f->file); });

  auto* get = trial->add_subcommand("get", "show a trial's design");
  get->add_option("--trial", f->trial, "trial id")->required();
  get->add_option("--format", f->format)->check(CLI::IsMember(table_json));
  SetAction(get, ctx, [&ctx, f] { return TrialGet(ctx, f->trial, f->format); });

  auto* list = trial->add_subcommand("list", "list trials");
  list->add_option("--format", f->format)->check(CLI::IsMember(table_json));
  SetAction(list, ctx, [&ctx, f] { return TrialList(ctx, f->format); });
}

}  // namespace aesignal::cli
