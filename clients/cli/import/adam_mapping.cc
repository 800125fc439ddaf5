#include "clients/cli/import/adam_mapping.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"

namespace aesignal::cli::import {
namespace {

std::string Upper(absl::string_view s) {
  return absl::AsciiStrToUpper(absl::StripAsciiWhitespace(s));
}

// Columns of one dataset through the user's ColumnMap.
class Columns {
 public:
  Columns(const Dataset& ds, const ColumnMap& map) : ds_(ds), map_(map) {}

  int Find(absl::string_view standard) const {
    return ds_.Column(map_.Source(standard));
  }
  bool Has(absl::string_view standard) const { return Find(standard) >= 0; }
  // The column's name as the file spells it (for messages).
  std::string Name(absl::string_view standard) const {
    const int i = Find(standard);
    return i >= 0 ? ds_.columns()[i] : map_.Source(standard);
  }
  const std::string& Cell(const DatasetRow& row,
                          absl::string_view standard) const {
    static const std::string kEmpty;
    const int i = Find(standard);
    return i >= 0 ? row.cells[i] : kEmpty;
  }
  RowError Error(const DatasetRow& row, absl::string_view standard,
                 std::string reason) const {
    return RowError{.file = ds_.path(),
                    .line = row.line,
                    .column = Name(standard),
                    .reason = std::move(reason)};
  }
  absl::Status Require(std::initializer_list<absl::string_view> names) const {
    for (absl::string_view n : names) {
      if (Has(n)) continue;
      std::string source = map_.Source(n);
      return absl::InvalidArgumentError(absl::StrCat(
          ds_.path(), ":1: required column ", n,
          map_.Renamed(n) ? absl::StrCat(" (mapped to ", source, ")") : "",
          " is missing; name the column that holds it in a mapping file "
          "(--mapping, a line '",
          n, " = YOUR_COLUMN')"));
    }
    return absl::OkStatus();
  }
  const Dataset& dataset() const { return ds_; }

 private:
  const Dataset& ds_;
  const ColumnMap& map_;
};

// Y / N / empty (= N). nullopt for anything else.
std::optional<bool> YesNo(absl::string_view text) {
  const std::string v = Upper(text);
  if (v.empty() || v == "N" || v == "NO") return false;
  if (v == "Y" || v == "YES") return true;
  return std::nullopt;
}

// A whole number written as "12" or "12.0".
std::optional<int64_t> WholeNumber(absl::string_view text) {
  double v;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(text), &v) ||
      !std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 1e9) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

// A subject as read from ADSL or DM (+EX).
struct SubjectIn {
  int line = 0;
  std::string file;
  std::string id;
  std::string site;
  std::string arm;
  std::optional<double> arm_n;
  std::string arm_column;  // for messages
  std::string arm_n_column;
  std::string dose_unit;
  std::optional<int64_t> duration;  // days of follow-up from day 1
  v1::FollowUpStatus status = v1::FOLLOW_UP_STATUS_UNSPECIFIED;
};

// An AE row mapped to a report that still lacks site and dose group.
struct AeIn {
  int line = 0;
  const SubjectIn* subject = nullptr;
  v1::AdverseEventReport report;
};

// Everything but site, subject, dose group and onset. Appends one error per
// bad cell; returns whether the row is usable.
bool MapAeFields(const Columns& c, const DatasetRow& row,
                 const std::string& usubjid, v1::AdverseEventReport* r,
                 std::vector<RowError>* errors, ImportStats* stats) {
  const size_t before = errors->size();
  const std::string& seq = c.Cell(row, "AESEQ");
  if (seq.empty()) {
    errors->push_back(c.Error(row, "AESEQ",
                              "is empty (the report id is "
                              "USUBJID-AESEQ)"));
  } else {
    r->set_report_id(absl::StrCat(usubjid, "-", seq));
  }
  r->set_version(1);
  r->set_subject_id(usubjid);
  if (const std::string& pt = c.Cell(row, "AEDECOD"); pt.empty()) {
    errors->push_back(c.Error(row, "AEDECOD",
                              "is empty (the MedDRA PT is "
                              "required)"));
  } else {
    r->set_pt(pt);
  }
  if (const std::string& soc = c.Cell(row, "AEBODSYS"); soc.empty()) {
    errors->push_back(c.Error(row, "AEBODSYS",
                              "is empty (the MedDRA SOC is "
                              "required)"));
  } else {
    r->set_soc(soc);
  }
  r->set_verbatim_term(c.Cell(row, "AETERM"));
  if (const std::string& code = c.Cell(row, "AEPTCD");
      code.size() == 8 && std::all_of(code.begin(), code.end(), [](char ch) {
        return absl::ascii_isdigit(static_cast<unsigned char>(ch));
      })) {
    r->set_pt_code(code);
  }

  // Grade: AETOXGR (CTCAE 1-5) when given, else AESEV.
  const std::string& toxgr = c.Cell(row, "AETOXGR");
  if (!toxgr.empty()) {
    absl::string_view g = absl::StripAsciiWhitespace(toxgr);
    if (absl::StartsWithIgnoreCase(g, "GRADE")) {
      g = absl::StripAsciiWhitespace(g.substr(5));
    }
    std::optional<int64_t> grade = WholeNumber(g);
    if (!grade || *grade < 1 || *grade > 5) {
      errors->push_back(
          c.Error(row, "AETOXGR",
                  absl::StrCat("'", toxgr, "' is not a CTCAE grade 1-5")));
    } else {
      r->set_grade(static_cast<int>(*grade));
    }
  } else {
    const std::string& sev = c.Cell(row, "AESEV");
    if (std::optional<int> grade = GradeFromSeverity(sev)) {
      r->set_grade(*grade);
      ++stats->grade_from_severity;
    } else if (sev.empty()) {
      errors->push_back(c.Error(row, c.Has("AESEV") ? "AESEV" : "AETOXGR",
                                "no grade: AETOXGR and AESEV are both empty"));
    } else {
      errors->push_back(c.Error(
          row, "AESEV",
          absl::StrCat("'", sev,
                       "' is not a severity (MILD, MODERATE, SEVERE, LIFE "
                       "THREATENING, FATAL)")));
    }
  }

  std::optional<bool> serious = YesNo(c.Cell(row, "AESER"));
  if (!serious) {
    errors->push_back(
        c.Error(row, "AESER",
                absl::StrCat("'", c.Cell(row, "AESER"), "' is not Y or N")));
    serious = false;
  }
  r->set_serious(*serious);
  struct Criterion {
    absl::string_view column;
    void (v1::AdverseEventReport::*set)(bool);
  };
  const Criterion criteria[] = {
      {"AESDTH", &v1::AdverseEventReport::set_death},
      {"AESLIFE", &v1::AdverseEventReport::set_life_threatening},
      {"AESHOSP", &v1::AdverseEventReport::set_hospitalization},
      {"AESDISAB", &v1::AdverseEventReport::set_disability},
      {"AESCONG", &v1::AdverseEventReport::set_congenital_anomaly},
      {"AESMIE", &v1::AdverseEventReport::set_medically_important},
  };
  bool dropped = false;
  for (const Criterion& k : criteria) {
    std::optional<bool> v = YesNo(c.Cell(row, k.column));
    if (!v) {
      errors->push_back(
          c.Error(row, k.column,
                  absl::StrCat("'", c.Cell(row, k.column), "' is not Y or N")));
      continue;
    }
    if (*v && !*serious) {
      dropped = true;  // AESER is authoritative
      continue;
    }
    (r->*k.set)(*v);
  }
  if (dropped) ++stats->criteria_without_serious;

  v1::Relatedness rel;
  if (MapRelatedness(c.Cell(row, "AEREL"), &rel)) {
    r->set_relatedness(rel);
  } else {
    errors->push_back(
        c.Error(row, "AEREL",
                absl::StrCat(
                    "'", c.Cell(row, "AEREL"),
                    "' is not a causality term (NOT RELATED/NONE, "
                    "UNLIKELY/REMOTE, POSSIBLE, PROBABLE, DEFINITE/RELATED)")));
  }
  v1::Outcome outcome;
  if (MapOutcome(c.Cell(row, "AEOUT"), &outcome)) {
    r->set_outcome(outcome);
  } else {
    errors->push_back(c.Error(
        row, "AEOUT",
        absl::StrCat("'", c.Cell(row, "AEOUT"),
                     "' is not a CDISC outcome term (RECOVERED/RESOLVED, "
                     "RECOVERING/RESOLVING, NOT RECOVERED/NOT RESOLVED, "
                     "RECOVERED/RESOLVED WITH SEQUELAE, FATAL, UNKNOWN)")));
  }
  v1::ActionTaken action;
  if (MapActionTaken(c.Cell(row, "AEACN"), &action)) {
    r->set_action_taken(action);
  } else {
    errors->push_back(c.Error(
        row, "AEACN",
        absl::StrCat("'", c.Cell(row, "AEACN"),
                     "' is not a CDISC action term (DOSE NOT CHANGED, DRUG "
                     "WITHDRAWN, DOSE REDUCED, DRUG INTERRUPTED, NOT "
                     "APPLICABLE, UNKNOWN)")));
  }
  return errors->size() == before;
}

std::map<std::string, std::string> FieldColumns(const Columns& ae,
                                                std::string onset_column) {
  std::map<std::string, std::string> m = {
      {"report_id", absl::StrCat(ae.Name("USUBJID"), "+", ae.Name("AESEQ"))},
      {"subject_id", ae.Name("USUBJID")},
      {"onset_study_day", std::move(onset_column)},
      {"pt", ae.Name("AEDECOD")},
      {"pt_code", ae.Name("AEPTCD")},
      {"soc", ae.Name("AEBODSYS")},
      {"verbatim_term", ae.Name("AETERM")},
      {"grade", ae.Has("AETOXGR") ? ae.Name("AETOXGR") : ae.Name("AESEV")},
      {"serious", ae.Name("AESER")},
      {"death", ae.Name("AESDTH")},
      {"life_threatening", ae.Name("AESLIFE")},
      {"hospitalization", ae.Name("AESHOSP")},
      {"disability", ae.Name("AESDISAB")},
      {"congenital_anomaly", ae.Name("AESCONG")},
      {"medically_important", ae.Name("AESMIE")},
      {"relatedness", ae.Name("AEREL")},
      {"outcome", ae.Name("AEOUT")},
      {"action_taken", ae.Name("AEACN")},
  };
  return m;
}

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

// Builds the trial, subjects and reports shared by ADaM and SDTM.
absl::Status BuildPlan(std::vector<SubjectIn>& subjects, std::vector<AeIn>& aes,
                       const ImportOptions& options,
                       const std::string& study_id, absl::string_view source,
                       ImportPlan* plan) {
  // Arms of the safety population, with their numeric codes.
  struct Arm {
    std::string text;
    std::set<double> codes;
    std::string unit;
    int first_line = 0;
  };
  std::map<std::string, Arm> arms;
  std::set<std::string> sites;
  for (const SubjectIn& s : subjects) {
    Arm& a = arms[s.arm];
    if (a.text.empty()) {
      a.text = s.arm;
      a.first_line = s.line;
      a.unit = s.dose_unit;
    }
    if (s.arm_n) a.codes.insert(*s.arm_n);
    sites.insert(s.site);
  }
  if (arms.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no subject in the safety population: nothing to import (",
                     source, ")"));
  }

  bool codes_usable = true;
  for (const auto& [text, a] : arms) {
    if (a.codes.size() != 1) codes_usable = false;
    if (a.codes.size() > 1) {
      plan->notes.push_back(absl::StrCat(
          "arm '", text, "' has several numeric codes (",
          absl::StrJoin(a.codes, ", "), "): dose order taken from the labels"));
    }
  }

  // Control arm(s).
  std::set<std::string> control;
  auto find_arm = [&](absl::string_view name) -> const Arm* {
    for (const auto& [text, a] : arms) {
      if (absl::EqualsIgnoreCase(text, name) ||
          absl::EqualsIgnoreCase(SanitizeId(text), name)) {
        return &a;
      }
    }
    return nullptr;
  };
  auto arm_list = [&] {
    std::vector<std::string> names;
    for (const auto& [text, a] : arms)
      names.push_back(absl::StrCat("'", text, "'"));
    return absl::StrJoin(names, ", ");
  };
  if (options.control && !options.no_control) {
    const Arm* a = find_arm(*options.control);
    if (a == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--control '", *options.control,
          "' is not an arm of the safety population (arms: ", arm_list(), ")"));
    }
    control.insert(a->text);
  } else if (!options.no_control) {
    for (const auto& [text, a] : arms) {
      if (IsPlacebo(text)) control.insert(text);
    }
  }

  // Order.
  std::vector<const Arm*> order;
  if (!options.dose_order.empty()) {
    std::set<std::string> seen;
    for (const std::string& name : options.dose_order) {
      const Arm* a = find_arm(name);
      if (a == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--dose-order: '", name,
            "' is not an arm of the safety population (arms: ", arm_list(),
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
          arm_list(), ")"));
    }
  } else {
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
    std::stable_sort(
        order.begin(), order.end(),
        [&](const Arm* x, const Arm* y) { return key(x) < key(y); });
    if (!codes_usable && arms.size() > 1) {
      plan->notes.push_back(absl::StrCat(
          "dose order inferred from the arm labels (no numeric treatment "
          "code): ",
          absl::StrJoin(order, " < ",
                        [](std::string* out, const Arm* a) {
                          absl::StrAppend(out, a->text);
                        }),
          "; pass --dose-order to set it"));
    }
  }

  // Codes are doses unless they look like 0,1,2.. / 1,2,3.. rank codes.
  bool codes_are_doses = codes_usable;
  if (codes_usable) {
    std::vector<double> codes;
    for (const auto& [text, a] : arms) codes.push_back(*a.codes.begin());
    std::sort(codes.begin(), codes.end());
    bool ranks = true;
    for (size_t i = 0; i < codes.size(); ++i) {
      ranks = ranks && (codes[i] == static_cast<double>(i) ||
                        codes[i] == static_cast<double>(i + 1));
    }
    if (ranks && codes.size() > 1) codes_are_doses = false;
    for (double c : codes) codes_are_doses = codes_are_doses && c >= 0;
  }

  v1::Trial& trial = plan->trial;
  trial.set_trial_id(options.trial_id);
  trial.set_title(
      !options.title.empty()
          ? options.title
          : absl::StrCat(study_id.empty() ? options.trial_id : study_id,
                         " (imported from ", source, ")"));
  std::map<std::string, std::string> group_of_arm;
  std::set<std::string> ids;
  for (const Arm* a : order) {
    v1::DoseGroup* g = trial.add_dose_groups();
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
  for (const std::string& s : sites) trial.add_sites()->set_site_id(s);

  // Follow-up: the treatment duration, at least the last TEAE onset, >= 1.
  std::map<std::string, int64_t> last_onset;
  for (const AeIn& ae : aes) {
    int64_t& last = last_onset[ae.subject->id];
    last = std::max<int64_t>(last, ae.report.onset_study_day());
  }
  int64_t last_day = 1;
  for (SubjectIn& s : subjects) {
    v1::Subject& out = plan->subjects.emplace_back();
    out.set_subject_id(s.id);
    out.set_site_id(s.site);
    out.set_dose_group_id(group_of_arm[s.arm]);
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
    last_day = std::max(last_day, day);
  }
  plan->stats.safety_subjects = static_cast<int64_t>(plan->subjects.size());

  if (!options.timepoints.empty()) {
    for (const auto& tp : options.timepoints) *trial.add_timepoints() = tp;
  } else {
    for (auto& tp : DefaultTimepoints(
             static_cast<int>(std::min<int64_t>(last_day, 1 << 30)))) {
      *trial.add_timepoints() = std::move(tp);
    }
  }

  for (AeIn& ae : aes) {
    ae.report.set_site_id(ae.subject->site);
    ae.report.set_dose_group_id(group_of_arm[ae.subject->arm]);
    plan->reports.push_back(std::move(ae.report));
    plan->report_lines.push_back(ae.line);
  }
  plan->stats.teae_rows = static_cast<int64_t>(plan->reports.size());
  return absl::OkStatus();
}

// Rejects the same USUBJID + AESEQ twice (one report id, two contents).
bool UniqueReportId(const Columns& c, const DatasetRow& row,
                    const std::string& report_id,
                    std::map<std::string, int>* seen,
                    std::vector<RowError>* errors) {
  auto [it, inserted] = seen->emplace(report_id, row.line);
  if (inserted) return true;
  errors->push_back(c.Error(
      row, "AESEQ",
      absl::StrCat("USUBJID + AESEQ '", report_id, "' repeats the row at line ",
                   it->second, " (the report id must be unique)")));
  return false;
}

}  // namespace

std::string FormatRowError(const RowError& e) {
  return absl::StrCat(e.file, ":", e.line, ": ",
                      e.column.empty() ? "" : absl::StrCat(e.column, ": "),
                      e.reason);
}

absl::StatusOr<ColumnMap> ColumnMap::Parse(absl::string_view text,
                                           absl::string_view origin) {
  ColumnMap map;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_no,
                       ": expected 'STANDARD = COLUMN' (e.g. 'AEDECOD = PT')"));
    }
    absl::string_view standard = absl::StripAsciiWhitespace(line.substr(0, eq));
    absl::string_view source = absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (standard.empty() || source.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line_no,
                       ": both the standard name and the column are required"));
    }
    if (map.Renamed(standard)) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ":", line_no, ": ", standard, " is mapped twice"));
    }
    map.Set(standard, source);
  }
  return map;
}

absl::StatusOr<ColumnMap> ColumnMap::ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

void ColumnMap::Set(absl::string_view standard, absl::string_view source) {
  map_[Upper(standard)] = std::string(absl::StripAsciiWhitespace(source));
}

std::string ColumnMap::Source(absl::string_view standard) const {
  auto it = map_.find(Upper(standard));
  return it == map_.end() ? std::string(standard) : it->second;
}

bool ColumnMap::Renamed(absl::string_view standard) const {
  return map_.count(Upper(standard)) > 0;
}

absl::StatusOr<ImportPlan> MapAdam(const Dataset& adsl, const Dataset& adae,
                                   const ImportOptions& options) {
  const Columns sl(adsl, options.columns);
  const Columns ae(adae, options.columns);
  if (auto s = sl.Require({"USUBJID", "SITEID", "TRT01A", "SAFFL"}); !s.ok()) {
    return s;
  }
  if (auto s = ae.Require(
          {"USUBJID", "AESEQ", "AEDECOD", "AEBODSYS", "TRTEMFL", "ASTDY"});
      !s.ok()) {
    return s;
  }
  if (!ae.Has("AETOXGR") && !ae.Has("AESEV")) {
    return ae.Require({"AETOXGR"});
  }

  ImportPlan plan;
  plan.ae_file = adae.path();
  ImportStats& stats = plan.stats;
  std::string study_id;

  // ADSL: the safety population.
  std::vector<SubjectIn> subjects;
  std::map<std::string, int> seen_subjects;  // USUBJID -> line
  std::set<std::string> not_safety;
  for (const DatasetRow& row : adsl.rows()) {
    ++stats.subject_rows;
    const std::string& id = sl.Cell(row, "USUBJID");
    if (id.empty()) {
      plan.subject_errors.push_back(sl.Error(row, "USUBJID", "is empty"));
      continue;
    }
    if (auto [it, inserted] = seen_subjects.emplace(id, row.line); !inserted) {
      plan.subject_errors.push_back(sl.Error(
          row, "USUBJID",
          absl::StrCat("subject '", id, "' repeats line ", it->second)));
      continue;
    }
    if (Upper(sl.Cell(row, "SAFFL")) != "Y") {
      ++stats.not_safety;
      not_safety.insert(id);
      continue;
    }
    if (study_id.empty()) study_id = sl.Cell(row, "STUDYID");
    SubjectIn s{.line = row.line,
                .file = adsl.path(),
                .id = id,
                .site = SanitizeId(sl.Cell(row, "SITEID")),
                .arm = sl.Cell(row, "TRT01A"),
                .arm_n = std::nullopt,
                .arm_column = sl.Name("TRT01A"),
                .arm_n_column = sl.Name("TRT01AN"),
                .dose_unit = "",
                .duration = std::nullopt,
                .status = v1::FOLLOW_UP_STATUS_UNSPECIFIED};
    bool ok = true;
    if (sl.Cell(row, "SITEID").empty()) {
      plan.subject_errors.push_back(sl.Error(row, "SITEID", "is empty"));
      ok = false;
    }
    if (s.arm.empty()) {
      plan.subject_errors.push_back(sl.Error(
          row, "TRT01A", "is empty for a subject in the safety population"));
      ok = false;
    }
    if (const std::string& n = sl.Cell(row, "TRT01AN"); !n.empty()) {
      double v;
      if (absl::SimpleAtod(n, &v) && std::isfinite(v)) {
        s.arm_n = v;
      } else {
        plan.subject_errors.push_back(sl.Error(
            row, "TRT01AN", absl::StrCat("'", n, "' is not a number")));
        ok = false;
      }
    }
    // Follow-up: TRTDURD, TRTDUR, or TRTEDT - TRTSDT + 1.
    for (absl::string_view col : {"TRTDURD", "TRTDUR"}) {
      if (s.duration || !sl.Has(col)) continue;
      const std::string& text = sl.Cell(row, col);
      if (text.empty()) continue;
      if (std::optional<int64_t> d = WholeNumber(text)) {
        s.duration = *d;
      } else {
        plan.subject_errors.push_back(sl.Error(
            row, col, absl::StrCat("'", text, "' is not a number of days")));
        ok = false;
      }
    }
    if (!s.duration) {
      auto start = ParseIsoDate(sl.Cell(row, "TRTSDT"));
      auto end = ParseIsoDate(sl.Cell(row, "TRTEDT"));
      if (start && end) s.duration = *end - *start + 1;
    }
    // Status: EOSSTT, else DCDECOD.
    const std::string eos = Upper(sl.Cell(row, "EOSSTT"));
    const std::string dc = Upper(sl.Cell(row, "DCDECOD"));
    if (eos == "COMPLETED") {
      s.status = v1::FOLLOW_UP_STATUS_COMPLETED;
    } else if (eos == "DISCONTINUED") {
      s.status = v1::FOLLOW_UP_STATUS_WITHDRAWN;
    } else if (eos == "ONGOING") {
      s.status = v1::FOLLOW_UP_STATUS_ONGOING;
    } else if (!eos.empty()) {
      plan.subject_errors.push_back(sl.Error(
          row, "EOSSTT",
          absl::StrCat("'", sl.Cell(row, "EOSSTT"),
                       "' is not COMPLETED, DISCONTINUED or ONGOING")));
      ok = false;
    } else if (dc == "COMPLETED") {
      s.status = v1::FOLLOW_UP_STATUS_COMPLETED;
    } else if (!dc.empty()) {
      s.status = v1::FOLLOW_UP_STATUS_WITHDRAWN;
    }
    if (ok) subjects.push_back(std::move(s));
  }

  std::map<std::string, const SubjectIn*> by_id;
  for (const SubjectIn& s : subjects) by_id[s.id] = &s;

  // ADAE: treatment-emergent AEs of the safety population.
  std::vector<AeIn> aes;
  std::map<std::string, int> report_ids;
  const bool has_trta = ae.Has("TRTA");
  const std::string arm_column = has_trta ? "TRTA" : "TRT01A";
  for (const DatasetRow& row : adae.rows()) {
    ++stats.ae_rows;
    if (Upper(ae.Cell(row, "TRTEMFL")) != "Y") {
      ++stats.not_teae;
      continue;
    }
    const std::string& id = ae.Cell(row, "USUBJID");
    if (not_safety.count(id)) {
      ++stats.ae_not_safety;
      continue;
    }
    auto subject = by_id.find(id);
    if (subject == by_id.end()) {
      plan.report_errors.push_back(ae.Error(
          row, "USUBJID",
          seen_subjects.count(id)
              ? absl::StrCat("subject '", id,
                             "' could not be enrolled (see its ADSL error)")
              : absl::StrCat("subject '", id, "' is not in ", adsl.path())));
      continue;
    }
    const SubjectIn& s = *subject->second;
    std::vector<RowError> errors;
    if (ae.Has(arm_column)) {
      const std::string& arm = ae.Cell(row, arm_column);
      if (!arm.empty() && arm != s.arm) {
        errors.push_back(ae.Error(
            row, arm_column,
            absl::StrCat("'", arm, "' differs from the subject's ",
                         s.arm_column, " '", s.arm,
                         "' (aesignal counts a subject in one dose group)")));
      }
    }
    AeIn in{.line = row.line, .subject = &s, .report = {}};
    const std::string& day = ae.Cell(row, "ASTDY");
    if (day.empty()) {
      in.report.set_onset_study_day(1);
      ++stats.onset_imputed;
    } else if (std::optional<int64_t> d = WholeNumber(day); !d) {
      errors.push_back(ae.Error(
          row, "ASTDY", absl::StrCat("'", day, "' is not a study day")));
    } else if (*d < 1) {
      errors.push_back(ae.Error(
          row, "ASTDY",
          absl::StrCat("onset study day ", *d,
                       " is before the first dose, but TRTEMFL is Y")));
    } else if (*d > std::numeric_limits<int32_t>::max()) {
      errors.push_back(ae.Error(row, "ASTDY", "is too large"));
    } else {
      in.report.set_onset_study_day(static_cast<int32_t>(*d));
    }
    const bool fields_ok =
        MapAeFields(ae, row, id, &in.report, &errors, &stats);
    if (fields_ok && errors.empty() &&
        UniqueReportId(ae, row, in.report.report_id(), &report_ids, &errors)) {
      aes.push_back(std::move(in));
    }
    for (auto& e : errors) plan.report_errors.push_back(std::move(e));
  }

  plan.field_columns = FieldColumns(ae, ae.Name("ASTDY"));
  plan.field_columns["dose_group_id"] =
      ae.Has(arm_column) ? ae.Name(arm_column) : sl.Name("TRT01A");
  plan.field_columns["site_id"] = sl.Name("SITEID");
  if (absl::Status s =
          BuildPlan(subjects, aes, options, study_id, "ADaM", &plan);
      !s.ok()) {
    return s;
  }
  return plan;
}

absl::StatusOr<ImportPlan> MapSdtm(const Dataset& dm, const Dataset& ex,
                                   const Dataset& ae_ds,
                                   const ImportOptions& options) {
  const Columns d(dm, options.columns);
  const Columns x(ex, options.columns);
  const Columns ae(ae_ds, options.columns);
  if (auto s = d.Require({"USUBJID", "SITEID", "ACTARM"}); !s.ok()) return s;
  if (auto s = x.Require({"USUBJID", "EXSTDTC"}); !s.ok()) return s;
  if (auto s =
          ae.Require({"USUBJID", "AESEQ", "AEDECOD", "AEBODSYS", "AESTDTC"});
      !s.ok()) {
    return s;
  }
  if (!ae.Has("AETOXGR") && !ae.Has("AESEV")) return ae.Require({"AETOXGR"});

  ImportPlan plan;
  plan.ae_file = ae_ds.path();
  ImportStats& stats = plan.stats;

  // EX: first and last dose per subject.
  struct Dosing {
    int64_t first = std::numeric_limits<int64_t>::max();
    int64_t last = std::numeric_limits<int64_t>::min();
    std::optional<double> dose;
    std::string unit;
  };
  std::map<std::string, Dosing> dosing;
  for (const DatasetRow& row : ex.rows()) {
    const std::string& id = x.Cell(row, "USUBJID");
    const std::string& start_text = x.Cell(row, "EXSTDTC");
    if (id.empty()) {
      plan.subject_errors.push_back(x.Error(row, "USUBJID", "is empty"));
      continue;
    }
    std::optional<int64_t> start = ParseIsoDate(start_text);
    if (!start) {
      plan.subject_errors.push_back(x.Error(
          row, "EXSTDTC",
          absl::StrCat("'", start_text,
                       "' is not a complete ISO 8601 date (the first dose "
                       "date defines study day 1)")));
      continue;
    }
    std::optional<int64_t> end = ParseIsoDate(x.Cell(row, "EXENDTC"));
    Dosing& dz = dosing[id];
    if (*start < dz.first) {
      dz.first = *start;
      double dose;
      if (absl::SimpleAtod(x.Cell(row, "EXDOSE"), &dose) && dose >= 0) {
        dz.dose = dose;
        dz.unit = x.Cell(row, "EXDOSU");
      }
    }
    dz.last = std::max(dz.last, end.value_or(*start));
  }

  // DM: the dosed subjects are the safety population.
  std::string study_id;
  std::vector<SubjectIn> subjects;
  std::map<std::string, int> seen_subjects;
  std::set<std::string> not_safety;
  std::map<std::string, int64_t> first_dose;
  for (const DatasetRow& row : dm.rows()) {
    ++stats.subject_rows;
    const std::string& id = d.Cell(row, "USUBJID");
    if (id.empty()) {
      plan.subject_errors.push_back(d.Error(row, "USUBJID", "is empty"));
      continue;
    }
    if (auto [it, inserted] = seen_subjects.emplace(id, row.line); !inserted) {
      plan.subject_errors.push_back(d.Error(
          row, "USUBJID",
          absl::StrCat("subject '", id, "' repeats line ", it->second)));
      continue;
    }
    auto dz = dosing.find(id);
    if (dz == dosing.end()) {
      ++stats.not_safety;
      not_safety.insert(id);
      continue;
    }
    if (study_id.empty()) study_id = d.Cell(row, "STUDYID");
    SubjectIn s{.line = row.line,
                .file = dm.path(),
                .id = id,
                .site = SanitizeId(d.Cell(row, "SITEID")),
                .arm = d.Cell(row, "ACTARM"),
                .arm_n = dz->second.dose,
                .arm_column = d.Name("ACTARM"),
                .arm_n_column = x.Name("EXDOSE"),
                .dose_unit = dz->second.unit,
                .duration = std::nullopt,
                .status = v1::FOLLOW_UP_STATUS_UNSPECIFIED};
    bool ok = true;
    if (d.Cell(row, "SITEID").empty()) {
      plan.subject_errors.push_back(d.Error(row, "SITEID", "is empty"));
      ok = false;
    }
    const std::string code = Upper(d.Cell(row, "ACTARMCD"));
    if (s.arm.empty() || code == "SCRNFAIL" || code == "NOTASSGN" ||
        code == "NOTTRT") {
      plan.subject_errors.push_back(
          d.Error(row, "ACTARM",
                  absl::StrCat("subject has dosing records in ", ex.path(),
                               " but no actual arm ('", s.arm, "', ACTARMCD '",
                               code, "')")));
      ok = false;
    }
    const int64_t first = dz->second.first;
    if (auto end = ParseIsoDate(d.Cell(row, "RFENDTC"))) {
      s.duration = StudyDay(*end, first);
    } else {
      s.duration = StudyDay(dz->second.last, first);
    }
    first_dose[id] = first;
    if (ok) subjects.push_back(std::move(s));
  }
  for (const auto& [id, dz] : dosing) {
    if (!seen_subjects.count(id)) {
      plan.subject_errors.push_back(RowError{
          .file = ex.path(),
          .line = 0,
          .column = x.Name("USUBJID"),
          .reason = absl::StrCat("subject '", id, "' is not in ", dm.path())});
    }
  }
  for (auto& e : plan.subject_errors) {
    if (e.line == 0) e.line = 1;
  }

  std::map<std::string, const SubjectIn*> by_id;
  for (const SubjectIn& s : subjects) by_id[s.id] = &s;

  std::vector<AeIn> aes;
  std::map<std::string, int> report_ids;
  for (const DatasetRow& row : ae_ds.rows()) {
    ++stats.ae_rows;
    const std::string& id = ae.Cell(row, "USUBJID");
    if (not_safety.count(id)) {
      ++stats.ae_not_safety;
      continue;
    }
    auto subject = by_id.find(id);
    if (subject == by_id.end()) {
      plan.report_errors.push_back(ae.Error(
          row, "USUBJID",
          seen_subjects.count(id)
              ? absl::StrCat("subject '", id,
                             "' could not be enrolled (see its DM/EX error)")
              : absl::StrCat("subject '", id, "' is not in ", dm.path())));
      continue;
    }
    const SubjectIn& s = *subject->second;
    const int64_t first = first_dose[id];
    std::vector<RowError> errors;
    AeIn in{.line = row.line, .subject = &s, .report = {}};
    const std::string& start = ae.Cell(row, "AESTDTC");
    std::optional<int64_t> day;
    if (start.empty()) {
      day = 1;  // conservative: counted from the first dose
      ++stats.onset_imputed;
    } else if (std::optional<int64_t> date = ParseIsoDate(start)) {
      day = StudyDay(*date, first);
    } else {
      // Partial date: the earliest date of the period, but not before the
      // first dose if the period contains it.
      absl::CivilDay from, to;
      absl::CivilMonth month;
      absl::CivilYear year;
      const absl::string_view text = absl::StripAsciiWhitespace(start);
      bool parsed = true;
      if (text.size() == 7 && absl::ParseCivilTime(text, &month)) {
        from = absl::CivilDay(month);
        to = absl::CivilDay(month + 1) - 1;
      } else if (text.size() == 4 && absl::ParseCivilTime(text, &year)) {
        from = absl::CivilDay(year);
        to = absl::CivilDay(year + 1) - 1;
      } else {
        parsed = false;
      }
      if (!parsed) {
        errors.push_back(
            ae.Error(row, "AESTDTC",
                     absl::StrCat("'", start, "' is not an ISO 8601 date")));
      } else {
        const absl::CivilDay epoch(1970, 1, 1);
        const int64_t from_days = from - epoch;
        const int64_t to_days = to - epoch;
        const int64_t imputed =
            to_days >= first ? std::max(from_days, first) : from_days;
        day = StudyDay(imputed, first);
        ++stats.onset_partial;
      }
    }
    if (day && *day < 1) {
      ++stats.not_teae;  // before the first dose: not treatment-emergent
      continue;
    }
    if (day) {
      if (*day > std::numeric_limits<int32_t>::max()) {
        errors.push_back(ae.Error(row, "AESTDTC", "is too far in the future"));
      } else {
        in.report.set_onset_study_day(static_cast<int32_t>(*day));
      }
    }
    const bool fields_ok =
        MapAeFields(ae, row, id, &in.report, &errors, &stats);
    if (fields_ok && errors.empty() &&
        UniqueReportId(ae, row, in.report.report_id(), &report_ids, &errors)) {
      aes.push_back(std::move(in));
    }
    for (auto& e : errors) plan.report_errors.push_back(std::move(e));
  }
  plan.field_columns = FieldColumns(ae, ae.Name("AESTDTC"));
  plan.field_columns["dose_group_id"] = d.Name("ACTARM");
  plan.field_columns["site_id"] = d.Name("SITEID");
  if (absl::Status st =
          BuildPlan(subjects, aes, options, study_id, "SDTM", &plan);
      !st.ok()) {
    return st;
  }
  return plan;
}

absl::StatusOr<std::vector<v1::Timepoint>> ParseTimepoints(
    absl::string_view spec) {
  std::vector<v1::Timepoint> out;
  for (absl::string_view item :
       absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits(':', 2));
    int day;
    if (parts.size() < 2 ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[1]), &day) ||
        day < 1 || absl::StripAsciiWhitespace(parts[0]).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timepoints: '", item,
                       "' is not ID:STUDY_DAY[:LABEL] with a study day >= 1"));
    }
    v1::Timepoint& tp = out.emplace_back();
    tp.set_timepoint_id(std::string(absl::StripAsciiWhitespace(parts[0])));
    tp.set_study_day(day);
    if (parts.size() == 3) {
      tp.set_label(std::string(absl::StripAsciiWhitespace(parts[2])));
    }
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("--timepoints: no timepoint given");
  }
  return out;
}

std::vector<v1::Timepoint> DefaultTimepoints(int last_day) {
  last_day = std::max(last_day, 1);
  std::vector<int> weeks = {2, 4, 8, 12, 16, 20, 24, 26};
  while (weeks.back() * 7 < last_day) weeks.push_back(weeks.back() + 4);
  std::vector<v1::Timepoint> out;
  for (int w : weeks) {
    if (w * 7 > last_day) break;
    v1::Timepoint& tp = out.emplace_back();
    tp.set_timepoint_id(absl::StrCat("W", w));
    tp.set_label(absl::StrCat("Week ", w));
    tp.set_study_day(w * 7);
  }
  if (out.empty() || out.back().study_day() != last_day) {
    v1::Timepoint& tp = out.emplace_back();
    tp.set_timepoint_id(absl::StrCat("D", last_day));
    tp.set_label(absl::StrCat("Day ", last_day, " (end of data)"));
    tp.set_study_day(last_day);
  }
  return out;
}

std::string SanitizeId(absl::string_view text) {
  std::string id;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    id.push_back(c == '/' || u < 0x20 || u == 0x7F ? '-' : c);
  }
  id = std::string(absl::StripAsciiWhitespace(id));
  if (id.size() > 64) {
    id = std::string(absl::StripTrailingAsciiWhitespace(id.substr(0, 64)));
  }
  return id;
}

int64_t StudyDay(int64_t date_days, int64_t reference_days) {
  return date_days >= reference_days ? date_days - reference_days + 1
                                     : date_days - reference_days;
}

std::optional<int64_t> ParseIsoDate(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() < 10) return std::nullopt;
  if (text.size() > 10 && text[10] != 'T' && text[10] != ' ') {
    return std::nullopt;
  }
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text.substr(0, 10), &day)) return std::nullopt;
  return day - absl::CivilDay(1970, 1, 1);
}

bool MapRelatedness(absl::string_view aerel, v1::Relatedness* out) {
  const std::string v = Upper(aerel);
  if (v.empty()) {
    *out = v1::RELATEDNESS_UNSPECIFIED;
  } else if (v == "NONE" || v == "NOT RELATED" || v == "UNRELATED" ||
             v == "N" || v == "NO") {
    *out = v1::RELATEDNESS_NOT_RELATED;
  } else if (v == "REMOTE" || v == "UNLIKELY" || v == "UNLIKELY RELATED" ||
             v == "REMOTELY RELATED") {
    *out = v1::RELATEDNESS_UNLIKELY;
  } else if (v == "POSSIBLE" || v == "POSSIBLY RELATED") {
    *out = v1::RELATEDNESS_POSSIBLE;
  } else if (v == "PROBABLE" || v == "PROBABLY RELATED") {
    *out = v1::RELATEDNESS_PROBABLE;
  } else if (v == "DEFINITE" || v == "DEFINITELY RELATED" || v == "RELATED" ||
             v == "Y" || v == "YES") {
    *out = v1::RELATEDNESS_DEFINITE;
  } else {
    return false;
  }
  return true;
}

bool MapOutcome(absl::string_view aeout, v1::Outcome* out) {
  const std::string v = Upper(aeout);
  if (v.empty()) {
    *out = v1::OUTCOME_UNSPECIFIED;
  } else if (v == "RECOVERED/RESOLVED" || v == "RECOVERED" || v == "RESOLVED") {
    *out = v1::OUTCOME_RECOVERED;
  } else if (v == "RECOVERING/RESOLVING" || v == "RECOVERING" ||
             v == "RESOLVING") {
    *out = v1::OUTCOME_RECOVERING;
  } else if (v == "NOT RECOVERED/NOT RESOLVED" || v == "NOT RECOVERED" ||
             v == "NOT RESOLVED") {
    *out = v1::OUTCOME_NOT_RECOVERED;
  } else if (v == "RECOVERED/RESOLVED WITH SEQUELAE" ||
             v == "RECOVERED WITH SEQUELAE" || v == "RESOLVED WITH SEQUELAE") {
    *out = v1::OUTCOME_RECOVERED_WITH_SEQUELAE;
  } else if (v == "FATAL") {
    *out = v1::OUTCOME_FATAL;
  } else if (v == "UNKNOWN") {
    *out = v1::OUTCOME_UNKNOWN;
  } else {
    return false;
  }
  return true;
}

bool MapActionTaken(absl::string_view aeacn, v1::ActionTaken* out) {
  const std::string v = Upper(aeacn);
  if (v.empty()) {
    *out = v1::ACTION_TAKEN_UNSPECIFIED;
  } else if (v == "DOSE NOT CHANGED") {
    *out = v1::ACTION_TAKEN_DOSE_NOT_CHANGED;
  } else if (v == "DRUG WITHDRAWN") {
    *out = v1::ACTION_TAKEN_DRUG_WITHDRAWN;
  } else if (v == "DOSE REDUCED") {
    *out = v1::ACTION_TAKEN_DOSE_REDUCED;
  } else if (v == "DRUG INTERRUPTED") {
    *out = v1::ACTION_TAKEN_DRUG_INTERRUPTED;
  } else if (v == "NOT APPLICABLE") {
    *out = v1::ACTION_TAKEN_NOT_APPLICABLE;
  } else if (v == "UNKNOWN") {
    *out = v1::ACTION_TAKEN_UNKNOWN;
  } else {
    return false;
  }
  return true;
}

std::optional<int> GradeFromSeverity(absl::string_view aesev) {
  const std::string v = Upper(aesev);
  if (v == "MILD") return 1;
  if (v == "MODERATE") return 2;
  if (v == "SEVERE") return 3;
  if (v == "LIFE THREATENING" || v == "LIFE-THREATENING") return 4;
  if (v == "FATAL" || v == "DEATH") return 5;
  return std::nullopt;
}

}  // namespace aesignal::cli::import
