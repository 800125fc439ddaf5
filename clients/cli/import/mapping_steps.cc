#include "clients/cli/import/mapping_steps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace aesignal::cli::import {

std::string Upper(absl::string_view s) {
  return absl::AsciiStrToUpper(absl::StripAsciiWhitespace(s));
}

std::optional<bool> YesNo(absl::string_view text) {
  const std::string v = Upper(text);
  if (v.empty() || v == "N" || v == "NO") return false;
  if (v == "Y" || v == "YES") return true;
  return std::nullopt;
}

std::optional<int64_t> WholeNumber(absl::string_view text) {
  double v;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(text), &v) ||
      !std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 1e9) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

std::string Columns::Name(absl::string_view standard) const {
  const int i = Find(standard);
  return i >= 0 ? ds_.columns()[i] : map_.Source(standard);
}

const std::string& Columns::Cell(const DatasetRow& row,
                                 absl::string_view standard) const {
  static const std::string kEmpty;
  const int i = Find(standard);
  return i >= 0 ? row.cells[i] : kEmpty;
}

RowError Columns::Error(const DatasetRow& row, absl::string_view standard,
                        std::string reason) const {
  return RowError{.file = ds_.path(),
                  .line = row.line,
                  .column = Name(standard),
                  .reason = std::move(reason)};
}

absl::Status Columns::Require(
    std::initializer_list<absl::string_view> names) const {
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

std::vector<absl::string_view> AeColumnsAnd(
    std::initializer_list<absl::string_view> more) {
  std::vector<absl::string_view> names = {
      "USUBJID", "AESEQ",   "AEDECOD",  "AEBODSYS", "AETERM",
      "AEPTCD",  "AETOXGR", "AESEV",    "AESER",    "AESDTH",
      "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG",  "AESMIE",
      "AEREL",   "AEOUT",   "AEACN",    "AENDY",    "AEENDY"};
  names.insert(names.end(), more);
  return names;
}

absl::Status RequireGradeColumn(const Columns& ae) {
  if (!ae.Has("AETOXGR") && !ae.Has("AESEV")) return ae.Require({"AETOXGR"});
  return absl::OkStatus();
}

bool ClaimSubjectRow(const Columns& c, const DatasetRow& row, Population* pop,
                     ImportPlan* plan, std::string* id) {
  ++plan->stats.subject_rows;
  *id = c.Cell(row, "USUBJID");
  if (id->empty()) {
    plan->subject_errors.push_back(c.Error(row, "USUBJID", "is empty"));
    return false;
  }
  if (auto [it, inserted] = pop->seen.emplace(*id, row.line); !inserted) {
    plan->subject_errors.push_back(
        c.Error(row, "USUBJID",
                absl::StrCat("subject '", *id, "' repeats line ", it->second)));
    return false;
  }
  return true;
}

void ExcludeFromSafety(const std::string& id, Population* pop,
                       ImportStats* stats) {
  ++stats->not_safety;
  pop->not_safety.insert(id);
}

bool ReadDateCell(const Columns& c, const DatasetRow& row,
                  absl::string_view column, absl::string_view says,
                  std::optional<int64_t>* date, std::vector<RowError>* errors) {
  const std::string& text = c.Cell(row, column);
  if (absl::StripAsciiWhitespace(text).empty()) return true;
  *date = ParseIsoDate(text);
  if (*date) return true;
  errors->push_back(c.Error(row, column, absl::StrCat("'", text, "' ", says)));
  return false;
}

bool CheckSite(const Columns& c, const DatasetRow& row,
               std::vector<RowError>* errors) {
  const std::string& text = c.Cell(row, "SITEID");
  if (text.empty()) {
    errors->push_back(c.Error(row, "SITEID", "is empty"));
    return false;
  }
  if (SanitizeId(text).empty()) {
    errors->push_back(
        c.Error(row, "SITEID",
                absl::StrCat("'", text,
                             "' has no letter or digit to make a site id of")));
    return false;
  }
  return true;
}

namespace {

// Report id (USUBJID-AESEQ), version, subject and the MedDRA terms.
void MapIdentity(const Columns& c, const DatasetRow& row,
                 const std::string& usubjid, v1::AdverseEventReport* r,
                 std::vector<RowError>* errors) {
  const std::string& seq = c.Cell(row, "AESEQ");
  if (seq.empty()) {
    errors->push_back(
        c.Error(row, "AESEQ", "is empty (the report id is USUBJID-AESEQ)"));
  } else {
    r->set_report_id(absl::StrCat(usubjid, "-", seq));
  }
  r->set_version(1);
  r->set_subject_id(usubjid);
  if (const std::string& pt = c.Cell(row, "AEDECOD"); pt.empty()) {
    errors->push_back(
        c.Error(row, "AEDECOD", "is empty (the MedDRA PT is required)"));
  } else {
    r->set_pt(pt);
  }
  if (const std::string& soc = c.Cell(row, "AEBODSYS"); soc.empty()) {
    errors->push_back(
        c.Error(row, "AEBODSYS", "is empty (the MedDRA SOC is required)"));
  } else {
    r->set_soc(soc);
  }
  r->set_verbatim_term(c.Cell(row, "AETERM"));
  // An 8-digit MedDRA code, else none (codes are optional).
  if (const std::string& code = c.Cell(row, "AEPTCD");
      code.size() == 8 && std::all_of(code.begin(), code.end(), [](char ch) {
        return absl::ascii_isdigit(static_cast<unsigned char>(ch));
      })) {
    r->set_pt_code(code);
  }
}

// AESEV when there is no AETOXGR: MILD/MODERATE/SEVERE as grades 1-3.
void MapSeverity(const Columns& c, const DatasetRow& row,
                 v1::AdverseEventReport* r, std::vector<RowError>* errors,
                 ImportStats* stats) {
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

// Grade: AETOXGR (CTCAE 1-5, "3" or "Grade 3") when given, else AESEV.
void MapGrade(const Columns& c, const DatasetRow& row,
              v1::AdverseEventReport* r, std::vector<RowError>* errors,
              ImportStats* stats) {
  const std::string& toxgr = c.Cell(row, "AETOXGR");
  if (toxgr.empty()) {
    MapSeverity(c, row, r, errors, stats);
    return;
  }
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
}

// AESER and the seriousness criteria. AESER is authoritative: criteria = Y
// of a non-serious AE are not sent (and counted).
void MapSeriousness(const Columns& c, const DatasetRow& row,
                    v1::AdverseEventReport* r, std::vector<RowError>* errors,
                    ImportStats* stats) {
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
      dropped = true;
      continue;
    }
    (r->*k.set)(*v);
  }
  if (dropped) ++stats->criteria_without_serious;
}

// AEREL, AEOUT and AEACN through the CDISC value maps.
void MapCodedTerms(const Columns& c, const DatasetRow& row,
                   v1::AdverseEventReport* r, std::vector<RowError>* errors) {
  auto error = [&](absl::string_view column, absl::string_view what) {
    errors->push_back(
        c.Error(row, column,
                absl::StrCat("'", c.Cell(row, column), "' is not ", what)));
  };
  v1::Relatedness rel;
  if (MapRelatedness(c.Cell(row, "AEREL"), &rel)) {
    r->set_relatedness(rel);
  } else {
    error("AEREL",
          "a causality term (NOT RELATED/NONE, UNLIKELY/REMOTE, POSSIBLE, "
          "PROBABLE, DEFINITE/RELATED)");
  }
  v1::Outcome outcome;
  if (MapOutcome(c.Cell(row, "AEOUT"), &outcome)) {
    r->set_outcome(outcome);
  } else {
    error("AEOUT",
          "a CDISC outcome term (RECOVERED/RESOLVED, RECOVERING/RESOLVING, "
          "NOT RECOVERED/NOT RESOLVED, RECOVERED/RESOLVED WITH SEQUELAE, "
          "FATAL, UNKNOWN)");
  }
  v1::ActionTaken action;
  if (MapActionTaken(c.Cell(row, "AEACN"), &action)) {
    r->set_action_taken(action);
  } else {
    error("AEACN",
          "a CDISC action term (DOSE NOT CHANGED, DRUG WITHDRAWN, DOSE "
          "REDUCED, DRUG INTERRUPTED, NOT APPLICABLE, UNKNOWN)");
  }
}

// Everything but site, dose group and onset. Appends one error per bad cell;
// returns whether the row is usable.
// The end (resolution) study day, ADaM's AENDY (else SDTM's AEENDY) when
// the dataset has it; empty leaves it unset (ongoing or unknown). An end
// before the onset is the row's error (the server would refuse it).
void MapEndDay(const Columns& c, const DatasetRow& row,
               v1::AdverseEventReport* r, std::vector<RowError>* errors) {
  const char* column = c.Has("AENDY") ? "AENDY" : "AEENDY";
  const std::string& text = c.Cell(row, column);
  if (text.empty()) return;
  std::optional<int64_t> day = WholeNumber(text);
  if (!day || *day < std::numeric_limits<int32_t>::min() ||
      *day > std::numeric_limits<int32_t>::max()) {
    errors->push_back(
        c.Error(row, column, absl::StrCat("'", text, "' is not a study day")));
  } else if (r->has_onset_study_day() && *day < r->onset_study_day()) {
    errors->push_back(c.Error(
        row, column,
        absl::StrCat("end study day ", *day, " is before the onset day ",
                     r->onset_study_day())));
  } else {
    r->set_end_study_day(static_cast<int32_t>(*day));
  }
}

// ADaM's customized queries (CQ01NAM, CQ02NAM, ...: the AE's query name, or
// empty) are where a sponsor flags AEs of special interest; each name becomes
// an AESI category the report carries ("DERMATOLOGIC EVENTS" ->
// "dermatologic_events"). A name with no letter or digit names no category:
// the AE is still reported, without it, and counted for the summary.
void MapAesi(const Columns& c, const DatasetRow& row, v1::AdverseEventReport* r,
             ImportStats* stats) {
  static const std::vector<std::string>* const kColumns = [] {
    auto* columns = new std::vector<std::string>;
    for (int k = 1; k <= 99; ++k) {
      columns->push_back(absl::StrFormat("CQ%02dNAM", k));
    }
    return columns;
  }();
  for (const std::string& column : *kColumns) {
    if (!c.Has(column)) continue;
    const std::string& name = c.Cell(row, column);
    if (name.empty()) continue;
    const std::string category = AesiCategoryOf(name);
    if (category.empty()) {
      ++stats->aesi_names_unusable;
    } else if (std::find(r->aesi().begin(), r->aesi().end(), category) ==
               r->aesi().end()) {
      r->add_aesi(category);
    }
  }
}

bool MapAeFields(const Columns& c, const DatasetRow& row,
                 const std::string& usubjid, v1::AdverseEventReport* r,
                 std::vector<RowError>* errors, ImportStats* stats) {
  const size_t before = errors->size();
  MapIdentity(c, row, usubjid, r, errors);
  MapEndDay(c, row, r, errors);
  MapGrade(c, row, r, errors, stats);
  MapSeriousness(c, row, r, errors, stats);
  MapCodedTerms(c, row, r, errors);
  MapAesi(c, row, r, stats);
  if (r->outcome() == v1::OUTCOME_FATAL && !r->serious()) {
    stats->fatal_not_serious_lines.push_back(row.line);
  }
  return errors->size() == before;
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

// The enrolled subject of an AE row; nullptr (after recording an error) if
// there is none.
const SubjectIn* SubjectOfAe(
    const Columns& ae, const DatasetRow& row, const std::string& id,
    const std::map<std::string, const SubjectIn*>& enrolled,
    const Population& pop, const AeRowRules& rules, ImportPlan* plan) {
  auto subject = enrolled.find(id);
  if (subject != enrolled.end()) return subject->second;
  plan->report_errors.push_back(ae.Error(
      row, "USUBJID",
      pop.seen.count(id)
          ? absl::StrCat("subject '", id, "' could not be enrolled (see its ",
                         rules.subject_domains, " error)")
          : absl::StrCat("subject '", id, "' is not in ", rules.subject_file)));
  return nullptr;
}

}  // namespace

std::vector<AeIn> MapAeRows(const Columns& ae, const Population& pop,
                            const AeRowRules& rules, ImportPlan* plan) {
  ImportStats& stats = plan->stats;
  for (const char* column : {"AESER", "AEREL", "AEOUT"}) {
    if (!ae.Has(column)) {
      stats.absent_ae_columns.emplace_back(column, ae.Name(column));
    }
  }
  std::map<std::string, const SubjectIn*> enrolled;
  for (const SubjectIn& s : pop.subjects) enrolled[s.id] = &s;
  std::vector<AeIn> aes;
  std::map<std::string, int> report_ids;  // -> line
  for (const DatasetRow& row : ae.dataset().rows()) {
    ++stats.ae_rows;
    if (rules.flagged_emergent && !rules.flagged_emergent(row)) {
      ++stats.not_teae;
      continue;
    }
    const std::string& id = ae.Cell(row, "USUBJID");
    if (pop.not_safety.count(id)) {
      ++stats.ae_not_safety;
      continue;
    }
    const SubjectIn* s = SubjectOfAe(ae, row, id, enrolled, pop, rules, plan);
    if (s == nullptr) continue;
    std::vector<RowError> errors;
    AeIn in{.line = row.line, .subject = s, .report = {}};
    if (!rules.onset(row, *s, &in, &errors)) {
      ++stats.not_teae;
      continue;
    }
    // What the row's fields needed (grades from AESEV, ...) counts only if
    // the row becomes a report: the summary speaks of reports sent.
    ImportStats row_stats;
    const bool fields_ok =
        MapAeFields(ae, row, id, &in.report, &errors, &row_stats);
    if (fields_ok && errors.empty() &&
        UniqueReportId(ae, row, in.report.report_id(), &report_ids, &errors)) {
      aes.push_back(std::move(in));
      stats.grade_from_severity += row_stats.grade_from_severity;
      stats.criteria_without_serious += row_stats.criteria_without_serious;
      stats.aesi_names_unusable += row_stats.aesi_names_unusable;
      stats.fatal_not_serious_lines.insert(
          stats.fatal_not_serious_lines.end(),
          row_stats.fatal_not_serious_lines.begin(),
          row_stats.fatal_not_serious_lines.end());
    }
    for (auto& e : errors) plan->report_errors.push_back(std::move(e));
  }
  return aes;
}

std::map<std::string, std::string> FieldColumns(const Columns& ae,
                                                std::string onset_column,
                                                std::string dose_group_column,
                                                std::string site_column) {
  return {
      {"report_id", absl::StrCat(ae.Name("USUBJID"), "+", ae.Name("AESEQ"))},
      {"subject_id", ae.Name("USUBJID")},
      {"site_id", std::move(site_column)},
      {"dose_group_id", std::move(dose_group_column)},
      {"onset_study_day", std::move(onset_column)},
      {"end_study_day", ae.Has("AENDY") ? ae.Name("AENDY") : ae.Name("AEENDY")},
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
}

}  // namespace aesignal::cli::import
