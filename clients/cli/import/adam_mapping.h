// Maps CDISC datasets — ADaM ADSL + ADAE, or SDTM DM + EX + AE — to the
// aesignal API: one v1::Trial, the safety population as v1::Subject, and the
// treatment-emergent AEs as v1::AdverseEventReport. Pure: no I/O, no server.
// The rules (column names, value maps, imputations) are documented in
// docs/import.md; the tests are adam_mapping_test.cc and
// tests/integration/import_test.cc.
//
// Example:
//   ImportOptions options{.trial_id = "CDISCPILOT01"};
//   absl::StatusOr<ImportPlan> plan = MapAdam(adsl, adae, options);
//   // plan->subject_errors: nothing may be sent; plan->report_errors: those
//   // AE rows are not sent, the others are.
//
// Thread-safe (pure functions).
#ifndef AESIGNAL_CLIENTS_CLI_IMPORT_ADAM_MAPPING_H_
#define AESIGNAL_CLIENTS_CLI_IMPORT_ADAM_MAPPING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "clients/cli/import/dataset.h"

namespace aesignal::cli::import {

// A row (or column) that cannot be mapped.
struct RowError {
  std::string file;
  int line = 0;  // file line of the row (see Dataset); 1 = the header
  std::string column;
  std::string reason;
};
// "FILE:LINE: COLUMN: REASON".
std::string FormatRowError(const RowError& e);

// Which column of the file holds each standard CDISC variable. By default a
// variable is read from the column of the same name; a mapping file renames:
//
//   # comment
//   AEDECOD = PREFTERM     # standard name = column in the file
//   TRT01A  = ACTTRT
//
// Names match without regard to case; spaces around '=' are ignored.
class ColumnMap {
 public:
  // `origin` names the text in error messages ("map.txt:3: ...").
  static absl::StatusOr<ColumnMap> Parse(absl::string_view text,
                                         absl::string_view origin);
  static absl::StatusOr<ColumnMap> ReadFile(const std::string& path);

  // `line` is the mapping file's line, for messages (0: none).
  void Set(absl::string_view standard, absl::string_view source, int line = 0);
  // The column that holds `standard` (`standard` itself unless renamed).
  std::string Source(absl::string_view standard) const;
  bool Renamed(absl::string_view standard) const;

  // Every renamed name must be one the import reads (`reads`, or CQnnNAM)
  // and its column must be in one of `files`; otherwise INVALID_ARGUMENT
  // naming the mapping file's line. Without this check a misspelt name or
  // column was ignored without a word, and with it every value the column
  // holds (a mistyped "AESER = ..." dropped every SAE).
  absl::Status Check(const std::vector<absl::string_view>& reads,
                     const std::vector<const Dataset*>& files) const;

 private:
  struct Entry {
    std::string source;
    std::string spelled;  // the standard name as the file spells it
    int line = 0;
  };
  std::string origin_;                // the mapping file, for messages
  std::map<std::string, Entry> map_;  // upper-case standard -> its column
};

struct ImportOptions {
  // Required: the aesignal trial id ([A-Za-z0-9._-], 1-64).
  std::string trial_id;
  // Trial title; default "{STUDYID} (imported from ADaM|SDTM)".
  std::string title;
  // Dose groups in this order (arm texts or ids, every arm exactly once);
  // empty = by the numeric treatment code, control first.
  std::vector<std::string> dose_order;
  // Arm (text or id) marked control; default: the arm whose name contains
  // "placebo" (any case).
  std::optional<std::string> control;
  // No control arm at all.
  bool no_control = false;
  // Timepoints; empty = DefaultTimepoints(last study day in the data).
  std::vector<v1::Timepoint> timepoints;
  ColumnMap columns;
};

// Counts for the import summary.
struct ImportStats {
  int64_t subject_rows = 0;     // ADSL / DM rows
  int64_t safety_subjects = 0;  // subjects to enroll
  int64_t not_safety = 0;       // subject rows outside the safety population
  int64_t ae_rows = 0;          // ADAE / AE rows
  int64_t teae_rows = 0;        // rows that became reports
  int64_t not_teae = 0;         // skipped: not treatment-emergent
  int64_t ae_not_safety = 0;    // skipped: subject not in the safety population
  int64_t onset_imputed = 0;    // missing onset -> day 1
  int64_t onset_partial = 0;    // SDTM partial onset date imputed
  int64_t grade_from_severity = 0;       // AESEV mapped to grade 1-3
  int64_t criteria_without_serious = 0;  // AES* = Y with AESER != Y
  int64_t follow_up_from_onset = 0;      // follow-up raised to last onset
  int64_t aesi_names_unusable = 0;       // CQnnNAM with no letter or digit
  // AE file lines of reports with AEOUT = FATAL and AESER != Y: counted in
  // the death row but not as serious, which a fatal AE is by definition.
  std::vector<int> fatal_not_serious_lines;
  // What every report lacks because the AE file has no such column: an
  // empty cell means N or unknown, but a whole missing column would make
  // every AE non-serious (AESER), of unknown relatedness (AEREL) or outcome
  // (AEOUT) without a word. The import says so.
  // (CDISC variable, the column the mapping names for it).
  std::vector<std::pair<std::string, std::string>> absent_ae_columns;
};

struct ImportPlan {
  v1::Trial trial;
  std::vector<v1::Subject> subjects;
  std::vector<int> subject_lines;  // subject file line of subjects[i]
  std::string subject_file;
  std::vector<v1::AdverseEventReport> reports;
  std::vector<int> report_lines;  // AE file line of reports[i]
  std::string ae_file;
  // Problems in the subject-level data (ADSL, DM, EX): the trial design or
  // enrollment would be wrong, so nothing at all may be sent.
  std::vector<RowError> subject_errors;
  // AE rows that cannot be mapped: not sent; every other row is.
  std::vector<RowError> report_errors;
  // Things the user should know (e.g. "dose order inferred from the labels").
  std::vector<std::string> notes;
  ImportStats stats;
  // Source column of each AdverseEventReport field (e.g. "pt" -> "AEDECOD"),
  // to name the column when the server rejects a report.
  std::map<std::string, std::string> field_columns;
};

// ADaM: ADSL (USUBJID, SITEID, TRT01A, TRT01AN, SAFFL, TRTDURD|TRTDUR|TRTSDT
// +TRTEDT, EOSSTT|DCDECOD, STUDYID) and ADAE (USUBJID, TRTA, AESEQ, ASTDY,
// TRTEMFL, AEDECOD, AEBODSYS, AETERM, AETOXGR|AESEV, AESER, AESDTH, AESLIFE,
// AESHOSP, AESDISAB, AESCONG, AESMIE, AEREL, AEOUT, AEACN, AEPTCD, and
// CQ01NAM... as AESI categories; without any, the trial has none).
// Errors (INVALID_ARGUMENT): a required column is missing, or the options do
// not fit the data (unknown arm in dose_order/control).
absl::StatusOr<ImportPlan> MapAdam(const Dataset& adsl, const Dataset& adae,
                                   const ImportOptions& options);

// SDTM: DM (USUBJID, SITEID, ACTARM, ACTARMCD, RFSTDTC, RFENDTC, STUDYID), EX
// (USUBJID, EXSTDTC, EXENDTC), AE (USUBJID, AESEQ, AESTDTC, AEDECOD, AEBODSYS,
// AETERM, AETOXGR|AESEV, AESER, AES*, AEREL, AEOUT, AEACN). The safety
// population is the subjects with an EX record; onset study day is computed
// from the first dose (day 1, no day 0); an AE is treatment-emergent if it
// starts on or after the first dose.
absl::StatusOr<ImportPlan> MapSdtm(const Dataset& dm, const Dataset& ex,
                                   const Dataset& ae,
                                   const ImportOptions& options);

// --- Building blocks (exposed for tests) ---

// "W2:14,W4:28" (id:study_day[:label]) -> timepoints.
absl::StatusOr<std::vector<v1::Timepoint>> ParseTimepoints(
    absl::string_view spec);
// Weeks 2, 4, 8, 12, 16, 20, 24, 26 then every 4 weeks, those before
// `last_day`, then a final timepoint at `last_day` ("D{last_day}").
std::vector<v1::Timepoint> DefaultTimepoints(int last_day);
// An arm name as a URL-safe dose-group / site id (AIP-122): letters, digits,
// '.', '_' and '-' are kept, every other run of characters becomes one '-'
// (none leading or trailing), at most 64 characters.
std::string SanitizeId(absl::string_view text);
// An AESI category from a customized-query name (ADAE CQnnNAM):
// "DERMATOLOGIC EVENTS" -> "dermatologic_events"; "" if it has no letter or
// digit.
std::string AesiCategoryOf(absl::string_view name);
// CDISC study day of `date` relative to `reference` (day 1, no day 0).
int64_t StudyDay(int64_t date_days, int64_t reference_days);
// Days since 1970-01-01 of an ISO 8601 date: YYYY-MM-DD, optionally
// followed by 'T' (or a space) and a time hh[:mm[:ss[.f]]][Z|+hh:mm];
// nullopt if it is not a complete date or what follows is not a time.
std::optional<int64_t> ParseIsoDate(absl::string_view text);

// Value maps (CDISC controlled terminology; case-insensitive). False if the
// value is not recognised. An empty value maps to UNSPECIFIED.
bool MapRelatedness(absl::string_view aerel, v1::Relatedness* out);
bool MapOutcome(absl::string_view aeout, v1::Outcome* out);
bool MapActionTaken(absl::string_view aeacn, v1::ActionTaken* out);
// AESEV MILD/MODERATE/SEVERE -> 1/2/3 (also LIFE THREATENING 4, FATAL 5).
std::optional<int> GradeFromSeverity(absl::string_view aesev);

}  // namespace aesignal::cli::import

#endif  // AESIGNAL_CLIENTS_CLI_IMPORT_ADAM_MAPPING_H_
