// `aesignal trial create|get|list|amend`.
#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/cli/commands.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

using google::protobuf::util::TimeUtil;

// Reads a proto-JSON aesignal.v1.Trial; false after printing why.
bool ReadTrialJson(CommandContext& ctx, const std::string& file,
                   v1::Trial* trial) {
  std::ifstream in(file);
  if (!in) {
    ctx.io.err << file << ": cannot open file\n";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), trial, options);
  if (!parsed.ok()) {
    ctx.io.err << file << ": not a valid aesignal.v1.Trial in proto JSON: "
               << parsed.message() << "\n";
    return false;
  }
  return true;
}

// Whether `ids` of the file's entries are the first of the stored ones, in
// order (amendments only append dose groups and timepoints).
template <typename Entries, typename Id>
bool StartsWithIds(const Entries& file, const Entries& stored, Id id) {
  if (file.size() > stored.size()) return false;
  for (int i = 0; i < file.size(); ++i) {
    if (id(file[i]) != id(stored[i])) return false;
  }
  return true;
}

// Whether `stored` is the file's trial, perhaps amended since: its dose
// groups and timepoints begin with the file's, and its sites and AESI
// categories include the file's (amendments can only add).
bool IsAmendmentOf(const v1::Trial& stored, const v1::Trial& file) {
  auto group = [](const v1::DoseGroup& g) { return g.dose_group_id(); };
  auto timepoint = [](const v1::Timepoint& t) {
    return std::pair(t.timepoint_id(), t.study_day());
  };
  auto has_site = [&](const v1::Site& site) {
    return std::any_of(
        stored.sites().begin(), stored.sites().end(),
        [&](const v1::Site& s) { return s.site_id() == site.site_id(); });
  };
  auto has_category = [&](const std::string& c) {
    return std::find(stored.aesi_categories().begin(),
                     stored.aesi_categories().end(),
                     c) != stored.aesi_categories().end();
  };
  return StartsWithIds(file.dose_groups(), stored.dose_groups(), group) &&
         StartsWithIds(file.timepoints(), stored.timepoints(), timepoint) &&
         std::all_of(file.sites().begin(), file.sites().end(), has_site) &&
         std::all_of(file.aesi_categories().begin(),
                     file.aesi_categories().end(), has_category);
}

// With `keep_existing`, the file's trial already stored and amended since is
// left as it is instead of refused: what a load script run again over the
// same data wants. Another trial under the same id is still refused.
int TrialCreate(CommandContext& ctx, const std::string& file,
                bool keep_existing) {
  v1::Trial trial;
  if (!ReadTrialJson(ctx, file, &trial)) return kExitFailed;
  client::Client client = ctx.MakeClient();
  auto created = client.CreateTrial(trial);
  if (!created.ok() && keep_existing &&
      absl::IsAlreadyExists(created.status())) {
    auto existing = client.GetTrial(trial.trial_id());
    if (existing.ok() && IsAmendmentOf(*existing, trial)) {
      ctx.io.err << "trial " << existing->trial_id()
                 << " already exists (version " << existing->version()
                 << ", amended from this file): kept as it is\n";
      return kExitOk;
    }
    if (existing.ok()) {
      ctx.io.err << "error: trial " << existing->trial_id()
                 << " already exists (version " << existing->version()
                 << ") and is not " << file
                 << " amended: its dose groups, timepoints, sites or AESI "
                    "categories differ\n";
      return kExitFailed;
    }
    created = existing.status();
  }
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
  out << "created " << TimeUtil::ToString(t.create_time()) << "; version "
      << t.version() << ", updated " << TimeUtil::ToString(t.update_time())
      << "\n";
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
  out << "AESI categories: "
      << (t.aesi_categories().empty()
              ? std::string("none")
              : absl::StrJoin(t.aesi_categories(), ", "))
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

struct AmendFlags {
  std::string trial;
  std::string title;
  std::vector<std::string> dose_groups, timepoints, sites, aesi;
  std::string from_json;
  std::vector<std::string> mask;
};

// What the --add-* flags add, parsed.
struct Additions {
  std::vector<v1::DoseGroup> dose_groups;
  std::vector<v1::Timepoint> timepoints;
  std::vector<v1::Site> sites;
};

// "ID:LABEL:DOSE:UNIT" (the label may itself contain ':').
bool ParseDoseGroup(const std::string& spec, v1::DoseGroup* group) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  double dose;
  if (parts.size() < 4 || parts[0].empty() ||
      !absl::SimpleAtod(parts[parts.size() - 2], &dose)) {
    return false;
  }
  group->set_dose_group_id(parts[0]);
  group->set_label(absl::StrJoin(parts.begin() + 1, parts.end() - 2, ":"));
  group->set_dose_value(dose);
  group->set_dose_unit(parts.back());
  return true;
}

// "ID:LABEL:DAY" (the label may itself contain ':').
bool ParseTimepoint(const std::string& spec, v1::Timepoint* timepoint) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  int day;
  if (parts.size() < 3 || parts[0].empty() ||
      !absl::SimpleAtoi(parts.back(), &day)) {
    return false;
  }
  timepoint->set_timepoint_id(parts[0]);
  timepoint->set_label(absl::StrJoin(parts.begin() + 1, parts.end() - 1, ":"));
  timepoint->set_study_day(day);
  return true;
}

// Parses the --add-* flags; false after printing a usage error.
bool ParseAdditions(CommandContext& ctx, const AmendFlags& f, Additions* add) {
  for (const auto& spec : f.dose_groups) {
    if (!ParseDoseGroup(spec, &add->dose_groups.emplace_back())) {
      ctx.io.err << "--add-dose-group '" << spec
                 << "': expected ID:LABEL:DOSE:UNIT, e.g. "
                    "D400M:400 × 10⁶ cells:4e8:cells\n";
      return false;
    }
  }
  for (const auto& spec : f.timepoints) {
    if (!ParseTimepoint(spec, &add->timepoints.emplace_back())) {
      ctx.io.err << "--add-timepoint '" << spec
                 << "': expected ID:LABEL:DAY, e.g. Y6:Year 6:2191\n";
      return false;
    }
  }
  for (const auto& spec : f.sites) {
    std::pair<std::string, std::string> id_name =
        absl::StrSplit(spec, absl::MaxSplits(':', 1));
    v1::Site& site = add->sites.emplace_back();
    site.set_site_id(id_name.first);
    site.set_name(id_name.second);
  }
  return true;
}

// Copies the field `path` names ("*": every amendable one) from `from`.
// Other paths are left to the server, which names what can be amended.
void CopyMasked(const v1::Trial& from, const std::string& path, v1::Trial* to) {
  const bool all = path == "*";
  if (all || path == "title") to->set_title(from.title());
  if (all || path == "dose_groups") {
    *to->mutable_dose_groups() = from.dose_groups();
  }
  if (all || path == "timepoints")
    *to->mutable_timepoints() = from.timepoints();
  if (all || path == "sites") *to->mutable_sites() = from.sites();
  if (all || path == "aesi_categories") {
    *to->mutable_aesi_categories() = from.aesi_categories();
  }
  if (all || path == "signal_policy") {
    *to->mutable_signal_policy() = from.signal_policy();
  }
  if (all || path == "meddra_version") {
    to->set_meddra_version(from.meddra_version());
  }
  if (all || path == "ctcae_version") {
    to->set_ctcae_version(from.ctcae_version());
  }
  if (all || path == "grading") to->set_grading(from.grading());
}

void AddPath(std::vector<std::string>* mask, const std::string& path) {
  if (std::find(mask->begin(), mask->end(), path) == mask->end()) {
    mask->push_back(path);
  }
}

// Drops from `added` what `current` already has, saying so: a
// provisioning script run twice adds nothing the second time. An entry
// agrees when every field its flag gave equals the trial's (a field left
// out is not compared); one that disagrees is an error naming both, false.
template <typename Entry, typename IdOf>
bool DropExisting(const google::protobuf::RepeatedPtrField<Entry>& current,
                  const char* flag, const char* what, IdOf id_of,
                  std::vector<Entry>* added, CommandContext& ctx) {
  std::vector<Entry> left;
  for (Entry& entry : *added) {
    auto it = std::find_if(current.begin(), current.end(), [&](const Entry& e) {
      return id_of(e) == id_of(entry);
    });
    if (it == current.end()) {
      left.push_back(std::move(entry));
      continue;
    }
    Entry merged = *it;
    merged.MergeFrom(entry);
    if (!google::protobuf::util::MessageDifferencer::Equals(merged, *it)) {
      ctx.io.err << flag << " " << id_of(entry) << ": the trial has " << what
                 << " " << id_of(entry) << " already, as {"
                 << it->ShortDebugString()
                 << "}; change it with --from-json FILE --mask PATH\n";
      return false;
    }
    ctx.io.out << what << " " << id_of(entry)
               << " is in the trial already: left as it is\n";
  }
  *added = std::move(left);
  return true;
}

// Removes from `add` and `aesi` what the trial has already (see
// DropExisting); false after printing a disagreement.
bool DropExistingAdditions(const v1::Trial& trial, Additions* add,
                           std::vector<std::string>* aesi,
                           CommandContext& ctx) {
  if (!DropExisting(
          trial.dose_groups(), "--add-dose-group", "dose group",
          [](const v1::DoseGroup& g) { return g.dose_group_id(); },
          &add->dose_groups, ctx) ||
      !DropExisting(
          trial.timepoints(), "--add-timepoint", "timepoint",
          [](const v1::Timepoint& t) { return t.timepoint_id(); },
          &add->timepoints, ctx) ||
      !DropExisting(
          trial.sites(), "--add-site", "site",
          [](const v1::Site& s) { return s.site_id(); }, &add->sites, ctx)) {
    return false;
  }
  std::erase_if(*aesi, [&](const std::string& category) {
    const bool known = std::find(trial.aesi_categories().begin(),
                                 trial.aesi_categories().end(),
                                 category) != trial.aesi_categories().end();
    if (known) {
      ctx.io.out << "AESI category " << category
                 << " is in the trial already: left as it is\n";
    }
    return known;
  });
  return true;
}

// `trial` (the current one) amended by the flags; returns the update mask.
std::vector<std::string> ApplyAmendment(const AmendFlags& f,
                                        const Additions& add,
                                        const std::vector<std::string>& aesi,
                                        const v1::Trial* from_file,
                                        v1::Trial* trial) {
  std::vector<std::string> mask;
  if (from_file != nullptr) {
    for (const auto& path : f.mask) {
      CopyMasked(*from_file, path, trial);
      AddPath(&mask, path);
    }
  }
  if (!f.title.empty()) {
    trial->set_title(f.title);
    AddPath(&mask, "title");
  }
  for (const auto& g : add.dose_groups) *trial->add_dose_groups() = g;
  if (!add.dose_groups.empty()) AddPath(&mask, "dose_groups");
  for (const auto& t : add.timepoints) *trial->add_timepoints() = t;
  if (!add.timepoints.empty()) AddPath(&mask, "timepoints");
  for (const auto& s : add.sites) *trial->add_sites() = s;
  if (!add.sites.empty()) AddPath(&mask, "sites");
  for (const auto& c : aesi) trial->add_aesi_categories(c);
  if (!aesi.empty()) AddPath(&mask, "aesi_categories");
  return mask;
}

// Checks the flags and reads the --from-json file; false after printing a
// usage error.
bool PrepareAmendment(CommandContext& ctx, const AmendFlags& f, Additions* add,
                      std::optional<v1::Trial>* from_file) {
  if (f.from_json.empty() != f.mask.empty()) {
    ctx.io.err << "--from-json and --mask go together: the mask names the "
                  "fields to take from the file\n";
    return false;
  }
  if (f.from_json.empty() && f.title.empty() && f.dose_groups.empty() &&
      f.timepoints.empty() && f.sites.empty() && f.aesi.empty()) {
    ctx.io.err << "nothing to amend: give --title, --add-dose-group, "
                  "--add-timepoint, --add-site, --add-aesi, or --from-json "
                  "FILE --mask PATHS\n";
    return false;
  }
  if (!ParseAdditions(ctx, f, add)) return false;
  if (f.from_json.empty()) return true;
  if (!ReadTrialJson(ctx, f.from_json, &from_file->emplace())) return false;
  const std::string& id = (*from_file)->trial_id();
  if (!id.empty() && id != f.trial) {
    ctx.io.err << f.from_json << ": is trial " << id << ", not " << f.trial
               << "\n";
    return false;
  }
  return true;
}

int TrialAmend(CommandContext& ctx, const AmendFlags& f) {
  Additions add;
  std::optional<v1::Trial> from_file;
  if (!PrepareAmendment(ctx, f, &add, &from_file)) return kExitUsage;
  client::Client c = ctx.MakeClient();
  auto current = c.GetTrial(f.trial);
  if (!current.ok()) {
    PrintStatus(ctx.io.err, current.status());
    return kExitFailed;
  }
  v1::Trial trial = *current;
  std::vector<std::string> aesi = f.aesi;
  if (!DropExistingAdditions(trial, &add, &aesi, ctx)) {
    ctx.io.err << "trial " << f.trial << " unchanged (version "
               << current->version() << ")\n";
    return kExitFailed;
  }
  const std::vector<std::string> mask =
      ApplyAmendment(f, add, aesi, from_file ? &*from_file : nullptr, &trial);
  if (mask.empty()) {
    ctx.io.out << "trial " << f.trial << " unchanged (version "
               << current->version() << "): nothing new to add\n";
    return kExitOk;
  }
  auto amended = c.UpdateTrial(trial, mask);
  if (!amended.ok()) {
    PrintStatus(ctx.io.err, amended.status());
    ctx.io.err << "trial " << f.trial << " unchanged (version "
               << current->version() << ")\n";
    return kExitFailed;
  }
  ctx.io.out << "trial " << amended->trial_id() << " amended ("
             << absl::StrJoin(mask, ", ") << "): version " << current->version()
             << " -> " << amended->version() << "\n";
  PrintTrial(*amended, ctx.io.out);
  return kExitOk;
}

void AddAmend(CLI::App& trial, CommandContext& ctx) {
  auto f = std::make_shared<AmendFlags>();
  auto* amend = trial.add_subcommand(
      "amend",
      "protocol amendment: add dose groups, timepoints, sites, AESI "
      "categories, change the title, or take fields from a JSON file");
  amend->add_option("--trial", f->trial, "trial id")->required();
  amend->add_option("--title", f->title, "new title");
  amend->add_option("--add-dose-group", f->dose_groups,
                    "ID:LABEL:DOSE:UNIT, after the existing groups");
  amend->add_option("--add-timepoint", f->timepoints,
                    "ID:LABEL:DAY, after the last study day");
  amend->add_option("--add-site", f->sites, "ID or ID:NAME");
  amend->add_option("--add-aesi", f->aesi, "AESI category");
  amend->add_option("--from-json", f->from_json,
                    "trial JSON (as `trial get --format json` prints) whose "
                    "--mask fields replace the current ones");
  amend
      ->add_option("--mask", f->mask,
                   "fields to take from --from-json: title, dose_groups, "
                   "timepoints, sites, aesi_categories, signal_policy, "
                   "meddra_version, ctcae_version, grading or *")
      ->delimiter(',');
  SetAction(amend, ctx, [&ctx, f] { return TrialAmend(ctx, *f); });
}

struct TrialFlags {
  std::string file;
  bool keep_existing = false;
  std::string trial;
  std::string format = "table";
};

}  // namespace

void AddTrialCommands(CLI::App& app, CommandContext& ctx) {
  auto* trial =
      app.add_subcommand("trial", "create, show, list and amend trials");
  trial->require_subcommand(1);
  auto f = std::make_shared<TrialFlags>();
  const std::vector<std::string> table_json = {"table", "json"};

  auto* create = trial->add_subcommand(
      "create", "create a trial from a proto-JSON file (idempotent)");
  create->add_option("--file", f->file, "trial JSON (aesignal.v1.Trial)")
      ->required();
  create->add_flag("--keep-existing", f->keep_existing,
                   "if this file's trial is already stored (amended or not), "
                   "keep it and succeed");
  SetAction(create, ctx,
            [&ctx, f] { return TrialCreate(ctx, f->file, f->keep_existing); });

  auto* get = trial->add_subcommand("get", "show a trial's design");
  get->add_option("--trial", f->trial, "trial id")->required();
  get->add_option("--format", f->format)->check(CLI::IsMember(table_json));
  SetAction(get, ctx, [&ctx, f] { return TrialGet(ctx, f->trial, f->format); });

  auto* list = trial->add_subcommand("list", "list trials");
  list->add_option("--format", f->format)->check(CLI::IsMember(table_json));
  SetAction(list, ctx, [&ctx, f] { return TrialList(ctx, f->format); });

  AddAmend(*trial, ctx);
}

}  // namespace aesignal::cli
