#include "clients/cli/import/adam_mapping.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "clients/cli/import/mapping_steps.h"

namespace aesignal::cli::import {
namespace {

// ADSL's and ADAE's required columns.
absl::Status RequireAdamColumns(const Columns& sl, const Columns& ae) {
  if (auto s = sl.Require({"USUBJID", "SITEID", "TRT01A", "SAFFL"}); !s.ok()) {
    return s;
  }
  if (auto s = ae.Require(
          {"USUBJID", "AESEQ", "AEDECOD", "AEBODSYS", "TRTEMFL", "ASTDY"});
      !s.ok()) {
    return s;
  }
  return RequireGradeColumn(ae);
}

// TRT01AN, the arm's numeric code (optional); false after recording an
// error.
bool ReadArmCode(const Columns& sl, const DatasetRow& row, SubjectIn* s,
                 std::vector<RowError>* errors) {
  const std::string& n = sl.Cell(row, "TRT01AN");
  if (n.empty()) return true;
  double v;
  if (absl::SimpleAtod(n, &v) && std::isfinite(v)) {
    s->arm_n = v;
    return true;
  }
  errors->push_back(
      sl.Error(row, "TRT01AN", absl::StrCat("'", n, "' is not a number")));
  return false;
}

// Follow-up: TRTDURD, TRTDUR, or TRTEDT - TRTSDT + 1; false after recording
// an error.
bool ReadTreatmentDuration(const Columns& sl, const DatasetRow& row,
                           SubjectIn* s, std::vector<RowError>* errors) {
  bool ok = true;
  for (absl::string_view col : {"TRTDURD", "TRTDUR"}) {
    if (s->duration || !sl.Has(col)) continue;
    const std::string& text = sl.Cell(row, col);
    if (text.empty()) continue;
    std::optional<int64_t> d = WholeNumber(text);
    if (d && *d >= 0) {
      s->duration = *d;
    } else {
      // A negative duration is bad data, not a follow-up of day 1.
      errors->push_back(sl.Error(
          row, col,
          absl::StrCat("'", text, "' is not a number of days (0 or more)")));
      ok = false;
    }
  }
  if (s->duration) return ok;
  // Dates that are there must be dates: a subject whose follow-up silently
  // fell back to its last onset would shrink the later windows' at-risk
  // denominators.
  std::optional<int64_t> start, end;
  constexpr absl::string_view kNotADate = "is not a date (YYYY-MM-DD)";
  if (!ReadDateCell(sl, row, "TRTSDT", kNotADate, &start, errors) ||
      !ReadDateCell(sl, row, "TRTEDT", kNotADate, &end, errors)) {
    return false;
  }
  if (start && end) {
    if (*end < *start) {
      errors->push_back(sl.Error(
          row, "TRTEDT",
          absl::StrCat("'", sl.Cell(row, "TRTEDT"), "' is before ",
                       sl.Name("TRTSDT"), " '", sl.Cell(row, "TRTSDT"), "'")));
      return false;
    }
    s->duration = *end - *start + 1;
  }
  return ok;
}

// A withdrawn subject's reason as the server takes it (printable, at most
// 200 characters): DCDECOD (the standardized term), else DCREASCD; empty if
// neither names one.
std::string WithdrawalReason(const Columns& sl, const DatasetRow& row) {
  std::string reason(absl::StripAsciiWhitespace(sl.Cell(row, "DCDECOD")));
  if (reason.empty() || Upper(reason) == "COMPLETED") {
    reason = std::string(absl::StripAsciiWhitespace(sl.Cell(row, "DCREASCD")));
  }
  for (char& c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  // Cut at a character boundary: ADaM terms are ASCII, free text may not be.
  size_t chars = 0, end = 0;
  while (end < reason.size() && chars < 200) {
    ++end;
    while (end < reason.size() &&
           (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) {
      ++end;
    }
    ++chars;
  }
  reason.resize(end);
  return Upper(reason) == "COMPLETED" ? "" : reason;
}

// Status: EOSSTT, else DCDECOD (any reason but COMPLETED is a withdrawal);
// false after recording an error.
bool ReadFollowUpStatus(const Columns& sl, const DatasetRow& row, SubjectIn* s,
                        std::vector<RowError>* errors) {
  const std::string eos = Upper(sl.Cell(row, "EOSSTT"));
  const std::string dc = Upper(sl.Cell(row, "DCDECOD"));
  if (eos == "COMPLETED") {
    s->status = v1::FOLLOW_UP_STATUS_COMPLETED;
  } else if (eos == "DISCONTINUED") {
    s->status = v1::FOLLOW_UP_STATUS_WITHDRAWN;
  } else if (eos == "ONGOING") {
    s->status = v1::FOLLOW_UP_STATUS_ONGOING;
  } else if (!eos.empty()) {
    errors->push_back(
        sl.Error(row, "EOSSTT",
                 absl::StrCat("'", sl.Cell(row, "EOSSTT"),
                              "' is not COMPLETED, DISCONTINUED or ONGOING")));
    return false;
  } else if (dc == "COMPLETED") {
    s->status = v1::FOLLOW_UP_STATUS_COMPLETED;
  } else if (!dc.empty()) {
    s->status = v1::FOLLOW_UP_STATUS_WITHDRAWN;
  }
  if (s->status == v1::FOLLOW_UP_STATUS_WITHDRAWN) {
    s->withdrawal_reason = WithdrawalReason(sl, row);
  }
  return true;
}

// A subject of the safety population from its ADSL row; nullopt if a cell
// is bad (every bad cell is recorded).
std::optional<SubjectIn> AdslSubject(const Columns& sl, const DatasetRow& row,
                                     const std::string& id,
                                     std::vector<RowError>* errors) {
  SubjectIn s{.line = row.line,
              .file = sl.dataset().path(),
              .id = id,
              .site = SanitizeId(sl.Cell(row, "SITEID")),
              .site_text = sl.Cell(row, "SITEID"),
              .arm = sl.Cell(row, "TRT01A"),
              .arm_n = std::nullopt,
              .arm_column = sl.Name("TRT01A"),
              .arm_n_column = sl.Name("TRT01AN"),
              .dose_unit = "",
              .duration = std::nullopt,
              .status = v1::FOLLOW_UP_STATUS_UNSPECIFIED,
              .first_dose = 0};
  bool ok = CheckSite(sl, row, errors);
  if (s.arm.empty()) {
    errors->push_back(sl.Error(
        row, "TRT01A", "is empty for a subject in the safety population"));
    ok = false;
  }
  ok = ReadArmCode(sl, row, &s, errors) && ok;
  ok = ReadTreatmentDuration(sl, row, &s, errors) && ok;
  ok = ReadFollowUpStatus(sl, row, &s, errors) && ok;
  if (!ok) return std::nullopt;
  return s;
}

// ADSL: the safety population is SAFFL = Y.
Population ReadAdsl(const Columns& sl, ImportPlan* plan) {
  Population pop;
  for (const DatasetRow& row : sl.dataset().rows()) {
    std::string id;
    if (!ClaimSubjectRow(sl, row, &pop, plan, &id)) continue;
    if (Upper(sl.Cell(row, "SAFFL")) != "Y") {
      ExcludeFromSafety(id, &pop, &plan->stats);
      continue;
    }
    if (pop.study_id.empty()) pop.study_id = sl.Cell(row, "STUDYID");
    if (auto s = AdslSubject(sl, row, id, &plan->subject_errors)) {
      pop.subjects.push_back(*std::move(s));
    }
  }
  return pop;
}

// The AE's arm (TRTA, else TRT01A, if ADAE has it) must be the subject's:
// aesignal counts a subject in one dose group.
void CheckAeArm(const Columns& ae, const std::string& arm_column,
                const DatasetRow& row, const SubjectIn& s,
                std::vector<RowError>* errors) {
  if (!ae.Has(arm_column)) return;
  const std::string& arm = ae.Cell(row, arm_column);
  if (arm.empty() || arm == s.arm) return;
  errors->push_back(ae.Error(
      row, arm_column,
      absl::StrCat("'", arm, "' differs from the subject's ", s.arm_column,
                   " '", s.arm,
                   "' (aesignal counts a subject in one dose group)")));
}

// ASTDY, the onset study day; empty counts from day 1 (and is counted).
void ReadOnsetDay(const Columns& ae, const DatasetRow& row, AeIn* in,
                  std::vector<RowError>* errors, ImportStats* stats) {
  const std::string& day = ae.Cell(row, "ASTDY");
  if (day.empty()) {
    in->report.set_onset_study_day(1);
    ++stats->onset_imputed;
  } else if (std::optional<int64_t> d = WholeNumber(day); !d) {
    errors->push_back(
        ae.Error(row, "ASTDY", absl::StrCat("'", day, "' is not a study day")));
  } else if (*d < 1) {
    errors->push_back(
        ae.Error(row, "ASTDY",
                 absl::StrCat("onset study day ", *d,
                              " is before the first dose, but TRTEMFL is Y")));
  } else if (*d > std::numeric_limits<int32_t>::max()) {
    errors->push_back(ae.Error(row, "ASTDY", "is too large"));
  } else {
    in->report.set_onset_study_day(static_cast<int32_t>(*d));
  }
}

// ADAE: TRTEMFL = Y marks the treatment-emergent AEs; ASTDY is the onset.
AeRowRules AdaeRules(const Columns& ae, const std::string& arm_column,
                     const std::string& adsl_path, ImportStats* stats) {
  return AeRowRules{
      .flagged_emergent =
          [&ae](const DatasetRow& row) {
            return Upper(ae.Cell(row, "TRTEMFL")) == "Y";
          },
      .onset =
          [&ae, arm_column, stats](const DatasetRow& row, const SubjectIn& s,
                                   AeIn* in, std::vector<RowError>* errors) {
            CheckAeArm(ae, arm_column, row, s, errors);
            ReadOnsetDay(ae, row, in, errors, stats);
            return true;
          },
      .subject_domains = "ADSL",
      .subject_file = adsl_path,
  };
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
  map.origin_ = std::string(origin);
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
    map.Set(standard, source, line_no);
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

void ColumnMap::Set(absl::string_view standard, absl::string_view source,
                    int line) {
  map_[Upper(standard)] = {
      .source = std::string(absl::StripAsciiWhitespace(source)),
      .spelled = std::string(absl::StripAsciiWhitespace(standard)),
      .line = line};
}

std::string ColumnMap::Source(absl::string_view standard) const {
  auto it = map_.find(Upper(standard));
  return it == map_.end() ? std::string(standard) : it->second.source;
}

absl::Status ColumnMap::Check(const std::vector<absl::string_view>& reads,
                              const std::vector<const Dataset*>& files) const {
  for (const auto& [standard, entry] : map_) {
    const std::string where =
        entry.line > 0 ? absl::StrCat(origin_, ":", entry.line, ": ")
                       : absl::StrCat(origin_, origin_.empty() ? "" : ": ");
    const bool query_name =
        standard.size() == 7 && absl::StartsWith(standard, "CQ") &&
        absl::EndsWith(standard, "NAM") && absl::ascii_isdigit(standard[2]) &&
        absl::ascii_isdigit(standard[3]);
    if (!query_name && absl::c_find(reads, standard) == reads.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, entry.spelled, " is not a column this import reads (",
          absl::StrJoin(reads, ", "), ", CQ01NAM..CQ99NAM)"));
    }
    bool found = false;
    std::vector<std::string> names;
    for (const Dataset* file : files) {
      found = found || file->Column(entry.source) >= 0;
      names.push_back(file->path());
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, entry.spelled, " = ", entry.source, ": no column ",
          entry.source, " in ", absl::StrJoin(names, " or ")));
    }
  }
  return absl::OkStatus();
}

bool ColumnMap::Renamed(absl::string_view standard) const {
  return map_.count(Upper(standard)) > 0;
}

absl::StatusOr<ImportPlan> MapAdam(const Dataset& adsl, const Dataset& adae,
                                   const ImportOptions& options) {
  const Columns sl(adsl, options.columns);
  const Columns ae(adae, options.columns);
  if (absl::Status s = RequireAdamColumns(sl, ae); !s.ok()) return s;
  if (absl::Status s = options.columns.Check(
          AeColumnsAnd({"SITEID", "STUDYID", "TRT01A", "TRT01AN", "SAFFL",
                        "TRTDURD", "TRTDUR", "TRTSDT", "TRTEDT", "EOSSTT",
                        "DCDECOD", "DCREASCD", "TRTA", "ASTDY", "TRTEMFL"}),
          {&adsl, &adae});
      !s.ok()) {
    return s;
  }
  ImportPlan plan;
  plan.ae_file = adae.path();
  const Population pop = ReadAdsl(sl, &plan);
  const std::string arm_column = ae.Has("TRTA") ? "TRTA" : "TRT01A";
  std::vector<AeIn> aes = MapAeRows(
      ae, pop, AdaeRules(ae, arm_column, adsl.path(), &plan.stats), &plan);
  plan.field_columns =
      FieldColumns(ae, ae.Name("ASTDY"),
                   ae.Has(arm_column) ? ae.Name(arm_column) : sl.Name("TRT01A"),
                   sl.Name("SITEID"));
  if (absl::Status s = BuildPlan(pop, aes, options, "ADaM", &plan); !s.ok()) {
    return s;
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

namespace {

// Letters, digits and the `also` characters kept (letters lower-cased if
// `lower`), every other run of characters one `separator`, none at either
// end, at most 64 characters.
std::string Slug(absl::string_view text, absl::string_view also, char separator,
                 bool lower) {
  std::string slug;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || absl::StrContains(also, c)) {
      slug.push_back(lower ? absl::ascii_tolower(u) : c);
    } else if (!slug.empty() && slug.back() != separator) {
      slug.push_back(separator);
    }
  }
  while (!slug.empty() && slug.back() == separator) slug.pop_back();
  if (slug.size() > 64) slug.resize(64);
  while (!slug.empty() && slug.back() == separator) slug.pop_back();
  return slug;
}

}  // namespace

std::string AesiCategoryOf(absl::string_view name) {
  // The server's AESI categories are 1-64 characters of [a-z0-9_].
  return Slug(name, "", '_', /*lower=*/true);
}

std::string SanitizeId(absl::string_view text) {
  // Resource ids are URL-safe (AIP-122): [A-Za-z0-9._-]; the label keeps the
  // text as written.
  return Slug(text, "._-", '-', /*lower=*/false);
}

int64_t StudyDay(int64_t date_days, int64_t reference_days) {
  return date_days >= reference_days ? date_days - reference_days + 1
                                     : date_days - reference_days;
}

namespace {

// Consumes two digits whose value is below `limit` from the front of *s.
bool ConsumeTwoDigits(absl::string_view* s, int limit) {
  if (s->size() < 2 ||
      !absl::ascii_isdigit(static_cast<unsigned char>((*s)[0])) ||
      !absl::ascii_isdigit(static_cast<unsigned char>((*s)[1]))) {
    return false;
  }
  const int value = ((*s)[0] - '0') * 10 + ((*s)[1] - '0');
  s->remove_prefix(2);
  return value < limit;
}

// The time after a date's 'T' (or a space): hh[:mm[:ss[.fraction]]], then
// optionally Z or +hh:mm / -hh:mm (ISO 8601, as SDTM --DTC and exported
// datetimes write it). Anything else is not a time: `2024-01-15Tjunk` is not
// a date with a time.
bool IsIsoTime(absl::string_view s) {
  if (!ConsumeTwoDigits(&s, 24)) return false;
  for (int limit : {60, 60}) {
    if (s.empty() || s[0] != ':') break;
    s.remove_prefix(1);
    if (!ConsumeTwoDigits(&s, limit)) return false;
  }
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    if (s.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(s[0]))) {
      return false;
    }
    while (!s.empty() &&
           absl::ascii_isdigit(static_cast<unsigned char>(s[0]))) {
      s.remove_prefix(1);
    }
  }
  if (s == "Z" || s.empty()) return true;
  if (s[0] != '+' && s[0] != '-') return false;
  s.remove_prefix(1);
  if (!ConsumeTwoDigits(&s, 24)) return false;
  if (!s.empty() && s[0] == ':') s.remove_prefix(1);
  return s.empty() || (ConsumeTwoDigits(&s, 60) && s.empty());
}

}  // namespace

std::optional<int64_t> ParseIsoDate(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() < 10) return std::nullopt;
  if (text.size() > 10 &&
      ((text[10] != 'T' && text[10] != ' ') || !IsIsoTime(text.substr(11)))) {
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
