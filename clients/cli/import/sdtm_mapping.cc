// MapSdtm (adam_mapping.h): SDTM DM + EX + AE through the steps shared with
// ADaM (mapping_steps.h). What is SDTM's own: the safety population is the
// subjects with an EX record, and onset study days are computed from dates
// relative to the first dose.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "clients/cli/import/adam_mapping.h"
#include "clients/cli/import/mapping_steps.h"

namespace aesignal::cli::import {
namespace {

// DM's, EX's and AE's required columns.
absl::Status RequireSdtmColumns(const Columns& dm, const Columns& ex,
                                const Columns& ae) {
  if (auto s = dm.Require({"USUBJID", "SITEID", "ACTARM"}); !s.ok()) return s;
  if (auto s = ex.Require({"USUBJID", "EXSTDTC"}); !s.ok()) return s;
  if (auto s =
          ae.Require({"USUBJID", "AESEQ", "AEDECOD", "AEBODSYS", "AESTDTC"});
      !s.ok()) {
    return s;
  }
  return RequireGradeColumn(ae);
}

// A subject's dosing, from its EX records (dates in days since 1970).
struct Dosing {
  int64_t first = std::numeric_limits<int64_t>::max();
  int64_t last = std::numeric_limits<int64_t>::min();
  std::optional<double> dose;  // of the first record, with its unit
  std::string unit;
};

// What an end date (EXENDTC, RFENDTC) that is not a date is told, with what
// the date is for.
std::string NotAnEndDate(absl::string_view why) {
  return absl::StrCat("is not a complete ISO 8601 date (", why,
                      "; leave it empty if it is not known)");
}

// EXDOSE orders the dose groups as TRT01AN does: nullopt in *dose if the
// cell is empty; false after recording an error if it is not a dose.
bool ReadDose(const Columns& x, const DatasetRow& row,
              std::optional<double>* dose, std::vector<RowError>* errors) {
  const std::string& text = x.Cell(row, "EXDOSE");
  if (absl::StripAsciiWhitespace(text).empty()) return true;
  double value = 0;
  if (absl::SimpleAtod(text, &value) && std::isfinite(value) && value >= 0) {
    *dose = value;
    return true;
  }
  errors->push_back(x.Error(
      row, "EXDOSE",
      absl::StrCat("'", text,
                   "' is not a dose (a number, 0 or more; the unit goes in "
                   "EXDOSU)")));
  return false;
}

// EX: first and last dose per subject. Bad rows are subject errors (the
// first dose defines study day 1).
std::map<std::string, Dosing> ReadEx(const Columns& x, ImportPlan* plan) {
  std::map<std::string, Dosing> dosing;
  for (const DatasetRow& row : x.dataset().rows()) {
    const std::string& id = x.Cell(row, "USUBJID");
    const std::string& start_text = x.Cell(row, "EXSTDTC");
    if (id.empty()) {
      plan->subject_errors.push_back(x.Error(row, "USUBJID", "is empty"));
      continue;
    }
    std::optional<int64_t> start = ParseIsoDate(start_text);
    if (!start) {
      plan->subject_errors.push_back(x.Error(
          row, "EXSTDTC",
          absl::StrCat("'", start_text,
                       "' is not a complete ISO 8601 date (the first dose "
                       "date defines study day 1)")));
      continue;
    }
    std::optional<int64_t> end;
    if (!ReadDateCell(x, row, "EXENDTC",
                      NotAnEndDate("the last dose's date ends follow-up when "
                                   "DM RFENDTC is empty"),
                      &end, &plan->subject_errors)) {
      continue;
    }
    std::optional<double> dose;
    if (!ReadDose(x, row, &dose, &plan->subject_errors)) continue;
    Dosing& dz = dosing[id];
    if (*start < dz.first) {
      dz.first = *start;
      if (dose) {
        dz.dose = dose;
        dz.unit = x.Cell(row, "EXDOSU");
      }
    }
    dz.last = std::max(dz.last, end.value_or(*start));
  }
  return dosing;
}

// A dosed subject from its DM row; nullopt if a cell is bad (every bad cell
// is recorded). Follow-up ends at RFENDTC, else at the last dose.
std::optional<SubjectIn> DmSubject(const Columns& d, const Columns& x,
                                   const DatasetRow& row, const std::string& id,
                                   const Dosing& dz,
                                   std::vector<RowError>* errors) {
  SubjectIn s{.line = row.line,
              .file = d.dataset().path(),
              .id = id,
              .site = SanitizeId(d.Cell(row, "SITEID")),
              .site_text = d.Cell(row, "SITEID"),
              .arm = d.Cell(row, "ACTARM"),
              .arm_n = dz.dose,
              .arm_column = d.Name("ACTARM"),
              .arm_n_column = x.Name("EXDOSE"),
              .dose_unit = dz.unit,
              .duration = std::nullopt,
              .status = v1::FOLLOW_UP_STATUS_UNSPECIFIED,
              .first_dose = dz.first};
  bool ok = CheckSite(d, row, errors);
  const std::string code = Upper(d.Cell(row, "ACTARMCD"));
  if (s.arm.empty() || code == "SCRNFAIL" || code == "NOTASSGN" ||
      code == "NOTTRT") {
    errors->push_back(
        d.Error(row, "ACTARM",
                absl::StrCat("subject has dosing records in ",
                             x.dataset().path(), " but no actual arm ('", s.arm,
                             "', ACTARMCD '", code, "')")));
    ok = false;
  }
  std::optional<int64_t> end;
  if (!ReadDateCell(d, row, "RFENDTC",
                    NotAnEndDate("it ends the subject's follow-up"), &end,
                    errors)) {
    ok = false;
  }
  s.duration = StudyDay(end.value_or(dz.last), dz.first);
  if (!ok) return std::nullopt;
  return s;
}

// Every dosed subject must be in DM.
void RequireDosedSubjectsInDm(const Columns& x,
                              const std::map<std::string, Dosing>& dosing,
                              const Population& pop, const std::string& dm_path,
                              ImportPlan* plan) {
  for (const auto& [id, dz] : dosing) {
    if (!pop.seen.count(id)) {
      plan->subject_errors.push_back(RowError{
          .file = x.dataset().path(),
          .line = 0,
          .column = x.Name("USUBJID"),
          .reason = absl::StrCat("subject '", id, "' is not in ", dm_path)});
    }
  }
  // Not a row of its own: point at the header.
  for (auto& e : plan->subject_errors) {
    if (e.line == 0) e.line = 1;
  }
}

// DM (+EX): the dosed subjects are the safety population.
Population ReadDm(const Columns& d, const Columns& x,
                  const std::map<std::string, Dosing>& dosing,
                  ImportPlan* plan) {
  Population pop;
  for (const DatasetRow& row : d.dataset().rows()) {
    std::string id;
    if (!ClaimSubjectRow(d, row, &pop, plan, &id)) continue;
    auto dz = dosing.find(id);
    if (dz == dosing.end()) {
      ExcludeFromSafety(id, &pop, &plan->stats);
      continue;
    }
    if (pop.study_id.empty()) pop.study_id = d.Cell(row, "STUDYID");
    if (auto s = DmSubject(d, x, row, id, dz->second, &plan->subject_errors)) {
      pop.subjects.push_back(*std::move(s));
    }
  }
  RequireDosedSubjectsInDm(x, dosing, pop, d.dataset().path(), plan);
  return pop;
}

// A partial date ("2014-03" or "2014") as its earliest day, but not before
// the first dose if the period contains it; nullopt if it is neither.
std::optional<int64_t> ImputePartialDate(absl::string_view text,
                                         int64_t first_dose) {
  absl::CivilDay from, to;
  absl::CivilMonth month;
  absl::CivilYear year;
  text = absl::StripAsciiWhitespace(text);
  if (text.size() == 7 && absl::ParseCivilTime(text, &month)) {
    from = absl::CivilDay(month);
    to = absl::CivilDay(month + 1) - 1;
  } else if (text.size() == 4 && absl::ParseCivilTime(text, &year)) {
    from = absl::CivilDay(year);
    to = absl::CivilDay(year + 1) - 1;
  } else {
    return std::nullopt;
  }
  const absl::CivilDay epoch(1970, 1, 1);
  const int64_t from_days = from - epoch;
  const int64_t to_days = to - epoch;
  return to_days >= first_dose ? std::max(from_days, first_dose) : from_days;
}

// AESTDTC as a study day from the first dose: empty counts from day 1, a
// partial date is imputed (both counted). nullopt after recording an error.
std::optional<int64_t> OnsetStudyDay(const Columns& ae, const DatasetRow& row,
                                     int64_t first_dose,
                                     std::vector<RowError>* errors,
                                     ImportStats* stats) {
  const std::string& start = ae.Cell(row, "AESTDTC");
  if (start.empty()) {
    ++stats->onset_imputed;  // conservative: counted from the first dose
    return 1;
  }
  if (std::optional<int64_t> date = ParseIsoDate(start)) {
    return StudyDay(*date, first_dose);
  }
  if (std::optional<int64_t> date = ImputePartialDate(start, first_dose)) {
    ++stats->onset_partial;
    return StudyDay(*date, first_dose);
  }
  errors->push_back(ae.Error(
      row, "AESTDTC", absl::StrCat("'", start, "' is not an ISO 8601 date")));
  return std::nullopt;
}

// AE: treatment-emergent = starting on or after the first dose.
AeRowRules AeDomainRules(const Columns& ae, const std::string& dm_path,
                         ImportStats* stats) {
  return AeRowRules{
      .flagged_emergent = nullptr,
      .onset =
          [&ae, stats](const DatasetRow& row, const SubjectIn& s, AeIn* in,
                       std::vector<RowError>* errors) {
            std::optional<int64_t> day =
                OnsetStudyDay(ae, row, s.first_dose, errors, stats);
            if (!day) return true;  // the error is recorded
            if (*day < 1) return false;
            if (*day > std::numeric_limits<int32_t>::max()) {
              errors->push_back(
                  ae.Error(row, "AESTDTC", "is too far in the future"));
            } else {
              in->report.set_onset_study_day(static_cast<int32_t>(*day));
            }
            return true;
          },
      .subject_domains = "DM/EX",
      .subject_file = dm_path,
  };
}

}  // namespace

absl::StatusOr<ImportPlan> MapSdtm(const Dataset& dm, const Dataset& ex,
                                   const Dataset& ae_ds,
                                   const ImportOptions& options) {
  const Columns d(dm, options.columns);
  const Columns x(ex, options.columns);
  const Columns ae(ae_ds, options.columns);
  if (absl::Status s = RequireSdtmColumns(d, x, ae); !s.ok()) return s;
  if (absl::Status s = options.columns.Check(
          AeColumnsAnd({"SITEID", "STUDYID", "ACTARM", "ACTARMCD", "RFENDTC",
                        "EXSTDTC", "EXENDTC", "EXDOSE", "EXDOSU", "AESTDTC"}),
          {&dm, &ex, &ae_ds});
      !s.ok()) {
    return s;
  }
  ImportPlan plan;
  plan.ae_file = ae_ds.path();
  const std::map<std::string, Dosing> dosing = ReadEx(x, &plan);
  const Population pop = ReadDm(d, x, dosing, &plan);
  std::vector<AeIn> aes =
      MapAeRows(ae, pop, AeDomainRules(ae, dm.path(), &plan.stats), &plan);
  plan.field_columns =
      FieldColumns(ae, ae.Name("AESTDTC"), d.Name("ACTARM"), d.Name("SITEID"));
  if (absl::Status s = BuildPlan(pop, aes, options, "SDTM", &plan); !s.ok()) {
    return s;
  }
  return plan;
}

}  // namespace aesignal::cli::import
