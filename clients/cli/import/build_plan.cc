// BuildPlan (mapping_steps.h): the trial design (dose groups in order, the
// control arm, sites, timepoints), the subjects and the reports, from the
// subjects and AEs either standard read.
#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/import/mapping_steps.h"

namespace aesignal::cli::import {
namespace {

// An arm of the safety population, with its numeric codes.
struct Arm {
  std::string text;
  std::set<double> codes;
  std::string unit;
  int first_line = 0;
};
using Arms = std::map<std::string, Arm>;  // by arm text

// A dose in an arm label: "Drug 10 mg" -> (10, "mg").
std::optional<std::pair<double, std::string>> DoseInLabel(
    absl::string_view label) {
  for (size_t i = 0; i < label.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(label[i]))) continue;
    if (i > 0 && absl::ascii_isalnum(static_cast<unsigned char>(label[i - 1])))
      continue;
    size_t j = i;
    while (j < label.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(label[j])) ||
            label[j] == '.')) {
      ++j;
    }
    double value;
    if (!absl::SimpleAtod(label.substr(i, j - i), &value)) continue;
    size_t k = j;
    while (k < label.size() && label[k] == ' ') ++k;
    size_t u = k;
    while (u < label.size() &&
           (absl::ascii_isalpha(static_cast<unsigned char>(label[u])) ||
            label[u] == '/')) {
      ++u;
    }
    return std::make_pair(value, std::string(label.substr(k, u - k)));
  }
  return std::nullopt;
}

int KeywordRank(absl::string_view label) {
  const std::string l = absl::AsciiStrToLower(label);
  if (absl::StrContains(l, "low")) return 0;
  if (absl::StrContains(l, "mid") || absl::StrContains(l, "medium")) return 1;
  if (absl::StrContains(l, "high")) return 2;
  return 3;
}

bool IsPlacebo(absl::string_view arm) {
  return absl::StrContains(absl::AsciiStrToLower(arm), "placebo");
}

Arms CollectArms(const std::vector<SubjectIn>& subjects) {
  Arms arms;
  for (const SubjectIn& s : subjects) {
    Arm& a = arms[s.arm];
    if (a.text.empty()) {
      a.text = s.arm;
      a.first_line = s.line;
      a.unit = s.dose_unit;
    }
    if (s.arm_n) a.codes.insert(*s.arm_n);
  }
  return arms;
}

// The arm named `name` (its text or its id, any case), or nullptr.
const Arm* FindArm(const Arms& arms, absl::string_view name) {
  for (const auto& [text, a] : arms) {
    if (absl::EqualsIgnoreCase(text, name) ||
        absl::EqualsIgnoreCase(SanitizeId(text), name)) {
      return &a;
    }
  }
  return nullptr;
}

// "'A', 'B'" for messages.
std::string ArmList(const Arms& arms) {
  std::vector<std::string> names;
  for (const auto& [text, a] : arms) {
    names.push_back(absl::StrCat("'", text, "'"));
  }
  return absl::StrJoin(names, ", ");
}

// Whether every arm has exactly one numeric code (then they order the arms);
// notes the arms that have several.
bool CodesUsable(const Arms& arms, std::vector<std::string>* notes) {
  bool usable = true;
  for (const auto& [text, a] : arms) {
    if (a.codes.size() != 1) usable = false;
    if (a.codes.size() > 1) {
      notes->push_back(absl::StrCat(
          "arm '", text, "' has several numeric codes (",
          absl::StrJoin(a.codes, ", "), "): dose order taken from the labels"));
    }
  }
  return usable;
}

// The control arm(s): --control, else every arm named like "placebo".
absl::StatusOr<std::set<std::string>> ControlArms(
    const Arms& arms, const ImportOptions& options) {
  std::set<std::string> control;
  if (options.no_control) return control;
  if (options.control) {
    const Arm* a = FindArm(arms, *options.control);
    if (a == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--control '", *options.control,
          "' is not an arm of the safety population (arms: ", ArmList(arms),
          ")"));
    }
    control.insert(a->text);
    return control;
  }
  for (const auto& [text, a] : arms) {
    if (IsPlacebo(text)) control.insert(text);
  }
  return control;
}

// --dose-order: every arm, once each.
absl::StatusOr<std::vector<const Arm*>> OrderFromOption(
    const Arms& arms, const std::vector<std::string>& dose_order) {
  std::vector<const Arm*> order;
  std::set<std::string> seen;
  for (const std::string& name : dose_order) {
    const Arm* a = FindArm(arms, name);
    if (a == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--dose-order: '", name,
          "' is not an arm of the safety population (arms: ", ArmList(arms),
          ")"));
    }
    if (!seen.insert(a->text).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dose-order: '", name, "' is listed twice"));
    }
    order.push_back(a);
  }
  if (order.size() != arms.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--dose-order must list every arm of the safety population (arms: ",
        ArmList(arms), ")"));
  }
  return order;
}

// Control first, then by numeric code (or the dose in the label), then by
// low/mid/high in the label, then by name.
std::vector<const Arm*> InferOrder(const Arms& arms,
                                   const std::set<std::string>& control,
                                   bool codes_usable,
                                   std::vector<std::string>* notes) {
  std::vector<const Arm*> order;
  for (const auto& [text, a] : arms) order.push_back(&a);
  auto key = [&](const Arm* a) {
    const bool is_control = control.count(a->text) > 0;
    double dose = std::numeric_limits<double>::infinity();
    if (codes_usable) {
      dose = *a->codes.begin();
    } else if (auto d = DoseInLabel(a->text)) {
      dose = d->first;
    }
    return std::make_tuple(!is_control, dose, KeywordRank(a->text), a->text);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const Arm* x, const Arm* y) { return key(x) < key(y); });
  if (!codes_usable && arms.size() > 1) {
    notes->push_back(absl::StrCat(
        "dose order inferred from the arm labels (no numeric treatment "
        "code): ",
        absl::StrJoin(order, " < ",
                      [](std::string* out, const Arm* a) {
                        absl::StrAppend(out, a->text);
                      }),
        "; pass --dose-order to set it"));
  }
  return order;
}

// Codes are doses unless they look like 0,1,2.. / 1,2,3.. rank codes (or
// are negative).
bool CodesAreDoses(const Arms& arms, bool codes_usable) {
  if (!codes_usable) return false;
  std::vector<double> codes;
  for (const auto& [text, a] : arms) codes.push_back(*a.codes.begin());
  std::sort(codes.begin(), codes.end());
  bool ranks = true;
  for (size_t i = 0; i < codes.size(); ++i) {
    ranks = ranks && (codes[i] == static_cast<double>(i) ||
                      codes[i] == static_cast<double>(i + 1));
  }
  bool doses = !(ranks && codes.size() > 1);
  for (double c : codes) doses = doses && c >= 0;
  return doses;
}

// Adds the dose groups in `order`; returns the dose group id of each arm.
std::map<std::string, std::string> AddDoseGroups(
    const std::vector<const Arm*>& order, const std::set<std::string>& control,
    bool codes_are_doses, v1::Trial* trial) {
  std::map<std::string, std::string> group_of_arm;
  std::set<std::string> ids;
  for (const Arm* a : order) {
    v1::DoseGroup* g = trial->add_dose_groups();
    std::string id = SanitizeId(a->text);
    for (int n = 2; !ids.insert(id).second; ++n) {
      id = absl::StrCat(SanitizeId(a->text).substr(0, 60), "-", n);
    }
    g->set_dose_group_id(id);
    g->set_label(a->text);
    g->set_control(control.count(a->text) > 0);
    if (codes_are_doses) {
      g->set_dose_value(*a->codes.begin());
      g->set_dose_unit(a->unit);
    } else if (auto d = DoseInLabel(a->text)) {
      g->set_dose_value(d->first);
      g->set_dose_unit(d->second);
    }
    group_of_arm[a->text] = id;
  }
  return group_of_arm;
}

// Why the server would refuse `id` as a subject id, or "" (the API's rule,
// docs/api.md "Resource names": 1-64 bytes of printable UTF-8, no '/', no
// space at either end). Checked before anything is sent: the trial is
// created first, and enrollment refused afterwards would leave it without
// its subjects.
std::string SubjectIdProblem(absl::string_view id) {
  constexpr size_t kMaxIdBytes = 64;
  if (id.size() > kMaxIdBytes) {
    return absl::StrCat("is ", id.size(), " bytes; a subject id is at most ",
                        kMaxIdBytes);
  }
  if (absl::StrContains(id, '/')) {
    return "contains '/', which a subject id may not (it is part of the "
           "subject's resource name)";
  }
  if (id.front() == ' ' || id.back() == ' ') {
    return "starts or ends with a space, which a subject id may not";
  }
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return "contains a control character";
  }
  return "";
}

// The trial's site ids. Two SITEIDs that make the same id (`01/A` and
// `01 A` both give `01-A`) would merge two sites, and with them what each
// site's principal may see: a subject error naming both.
std::set<std::string> SitesOf(const std::vector<SubjectIn>& subjects,
                              ImportPlan* plan) {
  std::map<std::string, const SubjectIn*> first;  // site id -> its first row
  std::set<std::string> reported;
  for (const SubjectIn& s : subjects) {
    auto [it, inserted] = first.emplace(s.site, &s);
    const SubjectIn& earlier = *it->second;
    if (inserted || earlier.site_text == s.site_text ||
        !reported.insert(s.site_text).second) {
      continue;
    }
    plan->subject_errors.push_back(RowError{
        .file = s.file,
        .line = s.line,
        .column = "SITEID",
        .reason =
            absl::StrCat("'", s.site_text, "' and '", earlier.site_text,
                         "' (line ", earlier.line, ") would both be site id '",
                         s.site, "'; give the sites distinct ids")});
  }
  std::set<std::string> sites;
  for (const auto& [site, subject] : first) sites.insert(site);
  return sites;
}

// Adds the subjects; their follow-up is the treatment duration, at least
// the last TEAE onset, at least 1. Returns the last follow-up day.
int64_t AddSubjects(const std::vector<SubjectIn>& subjects,
                    const std::vector<AeIn>& aes,
                    const std::map<std::string, std::string>& group_of_arm,
                    ImportPlan* plan) {
  std::map<std::string, int64_t> last_onset;
  for (const AeIn& ae : aes) {
    int64_t& last = last_onset[ae.subject->id];
    last = std::max<int64_t>(last, ae.report.onset_study_day());
  }
  int64_t last_day = 1;
  for (const SubjectIn& s : subjects) {
    if (std::string problem = SubjectIdProblem(s.id); !problem.empty()) {
      plan->subject_errors.push_back(
          RowError{.file = s.file,
                   .line = s.line,
                   .column = "USUBJID",
                   .reason = absl::StrCat("'", s.id, "' ", problem)});
    }
    v1::Subject& out = plan->subjects.emplace_back();
    plan->subject_lines.push_back(s.line);
    plan->subject_file = s.file;
    out.set_subject_id(s.id);
    out.set_site_id(s.site);
    out.set_dose_group_id(group_of_arm.at(s.arm));
    int64_t day = s.duration.value_or(0);
    auto it = last_onset.find(s.id);
    const int64_t onset = it == last_onset.end() ? 0 : it->second;
    if (onset > day) {
      day = onset;
      ++plan->stats.follow_up_from_onset;
    }
    day = std::clamp<int64_t>(day, 1, std::numeric_limits<int32_t>::max());
    out.set_last_contact_day(static_cast<int32_t>(day));
    out.set_status(s.status);
    out.set_withdrawal_reason(s.withdrawal_reason);
    last_day = std::max(last_day, day);
  }
  plan->stats.safety_subjects = static_cast<int64_t>(plan->subjects.size());
  return last_day;
}

// --timepoints, else the defaults up to the last follow-up day.
void AddTimepoints(const ImportOptions& options, int64_t last_day,
                   v1::Trial* trial) {
  if (!options.timepoints.empty()) {
    for (const auto& tp : options.timepoints) *trial->add_timepoints() = tp;
    return;
  }
  for (auto& tp : DefaultTimepoints(
           static_cast<int>(std::min<int64_t>(last_day, 1 << 30)))) {
    *trial->add_timepoints() = std::move(tp);
  }
}

void AddReports(std::vector<AeIn>& aes,
                const std::map<std::string, std::string>& group_of_arm,
                ImportPlan* plan) {
  for (AeIn& ae : aes) {
    ae.report.set_site_id(ae.subject->site);
    ae.report.set_dose_group_id(group_of_arm.at(ae.subject->arm));
    plan->reports.push_back(std::move(ae.report));
    plan->report_lines.push_back(ae.line);
  }
  plan->stats.teae_rows = static_cast<int64_t>(plan->reports.size());
}

// The AESI categories the reports carry (ADAE's customized queries, CQnnNAM).
// Without any, the trial gets none rather than the server's defaults: this
// data could never fill them, and an AESI row would show 0 subjects for
// events that were simply not coded.
void AddAesiCategories(ImportPlan* plan) {
  std::map<std::string, int64_t> reports_of;
  for (const v1::AdverseEventReport& r : plan->reports) {
    for (const std::string& c : r.aesi()) ++reports_of[c];
  }
  if (plan->stats.aesi_names_unusable > 0) {
    plan->notes.push_back(absl::StrCat(
        "AESI: ", plan->stats.aesi_names_unusable,
        " CQnnNAM cells have no letter or digit to name a category; their "
        "AEs are reported without it"));
  }
  if (reports_of.empty()) {
    plan->trial.set_no_aesi_categories(true);
    plan->notes.push_back(
        "AESI: the AEs carry no customized-query name (CQnnNAM), so the "
        "trial has no AESI rows (a category added later with trial amend "
        "--add-aesi counts only the reports sent with it)");
    return;
  }
  std::vector<std::string> counted;
  for (const auto& [category, reports] : reports_of) {
    plan->trial.add_aesi_categories(category);
    counted.push_back(absl::StrCat(category, " (", reports, " reports)"));
  }
  plan->notes.push_back(absl::StrCat("AESI categories from CQnnNAM: ",
                                     absl::StrJoin(counted, ", ")));
}

// The dose groups, in order, with their control flags; notes how the order
// was found.
absl::StatusOr<std::map<std::string, std::string>> AddArms(
    const Arms& arms, const ImportOptions& options, ImportPlan* plan) {
  const bool codes_usable = CodesUsable(arms, &plan->notes);
  absl::StatusOr<std::set<std::string>> control = ControlArms(arms, options);
  if (!control.ok()) return control.status();
  absl::StatusOr<std::vector<const Arm*>> order;
  if (options.dose_order.empty()) {
    order = InferOrder(arms, *control, codes_usable, &plan->notes);
  } else {
    order = OrderFromOption(arms, options.dose_order);
    if (!order.ok()) return order.status();
  }
  return AddDoseGroups(*order, *control, CodesAreDoses(arms, codes_usable),
                       &plan->trial);
}

// The trial's grading when AESEV gave some grades (MapSeverity): the DSMB
// report must not print a severity as a CTCAE grade. Empty when every
// grade is AETOXGR's.
std::string Grading(int64_t from_severity, size_t reports) {
  if (from_severity == 0) return "";
  constexpr char kScale[] =
      "severity (AESEV): MILD = 1, MODERATE = 2, SEVERE = 3, LIFE "
      "THREATENING = 4, FATAL = 5";
  return static_cast<size_t>(from_severity) < reports
             ? absl::StrCat("CTCAE grade (AETOXGR) where recorded, else ",
                            kScale)
             : kScale;
}

}  // namespace

absl::Status BuildPlan(const Population& pop, std::vector<AeIn>& aes,
                       const ImportOptions& options, absl::string_view source,
                       ImportPlan* plan) {
  const Arms arms = CollectArms(pop.subjects);
  if (arms.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no subject in the safety population: nothing to import (",
                     source, ")"));
  }
  v1::Trial& trial = plan->trial;
  trial.set_trial_id(options.trial_id);
  trial.set_title(
      !options.title.empty()
          ? options.title
          : absl::StrCat(pop.study_id.empty() ? options.trial_id : pop.study_id,
                         " (imported from ", source, ")"));
  absl::StatusOr<std::map<std::string, std::string>> group_of_arm =
      AddArms(arms, options, plan);
  if (!group_of_arm.ok()) return group_of_arm.status();
  for (const std::string& s : SitesOf(pop.subjects, plan)) {
    trial.add_sites()->set_site_id(s);
  }
  const int64_t last_day = AddSubjects(pop.subjects, aes, *group_of_arm, plan);
  AddTimepoints(options, last_day, &trial);
  AddReports(aes, *group_of_arm, plan);
  AddAesiCategories(plan);
  trial.set_grading(Grading(plan->stats.grade_from_severity, aes.size()));
  return absl::OkStatus();
}

}  // namespace aesignal::cli::import
