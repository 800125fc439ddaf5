// The steps MapAdam (adam_mapping.cc) and MapSdtm (sdtm_mapping.cc) share:
// reading columns through the user's ColumnMap, claiming subject rows, the
// AE-row loop with its report fields, and building the plan (trial design,
// subjects, reports) from what both standards read. Each standard supplies
// only what differs: its columns, its safety population and how it finds an
// AE's onset day.
//
// Internal to the import library (not part of adam_mapping.h's API).
// Thread-safe (pure functions).
#ifndef AESIGNAL_CLIENTS_CLI_IMPORT_MAPPING_STEPS_H_
#define AESIGNAL_CLIENTS_CLI_IMPORT_MAPPING_STEPS_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "clients/cli/import/adam_mapping.h"
#include "clients/cli/import/dataset.h"

namespace aesignal::cli::import {

// Upper case, surrounding blanks removed (for comparing CDISC terms).
std::string Upper(absl::string_view s);

// Y / N / empty (= N). nullopt for anything else.
std::optional<bool> YesNo(absl::string_view text);

// A whole number written as "12" or "12.0".
std::optional<int64_t> WholeNumber(absl::string_view text);

// Columns of one dataset through the user's ColumnMap. Both must outlive it.
class Columns {
 public:
  Columns(const Dataset& ds, const ColumnMap& map) : ds_(ds), map_(map) {}

  int Find(absl::string_view standard) const {
    return ds_.Column(map_.Source(standard));
  }
  bool Has(absl::string_view standard) const { return Find(standard) >= 0; }
  // The column's name as the file spells it (for messages).
  std::string Name(absl::string_view standard) const;
  // The cell, or "" if the dataset has no such column.
  const std::string& Cell(const DatasetRow& row,
                          absl::string_view standard) const;
  RowError Error(const DatasetRow& row, absl::string_view standard,
                 std::string reason) const;
  // INVALID_ARGUMENT naming the first missing column and how to map it.
  absl::Status Require(std::initializer_list<absl::string_view> names) const;
  const Dataset& dataset() const { return ds_; }

 private:
  const Dataset& ds_;
  const ColumnMap& map_;
};

// The grade comes from AETOXGR or AESEV: one of them is required.
absl::Status RequireGradeColumn(const Columns& ae);

// The standard names MapAeRows reads from an ADAE or AE file (besides the
// CQnnNAM columns), followed by `more`: the names an import reads, which a
// mapping file may rename (ColumnMap::Check).
std::vector<absl::string_view> AeColumnsAnd(
    std::initializer_list<absl::string_view> more);

// A subject as read from ADSL or DM (+EX).
struct SubjectIn {
  int line = 0;
  std::string file;
  std::string id;
  std::string site;       // SanitizeId of site_text
  std::string site_text;  // SITEID as the file gives it
  std::string arm;
  std::optional<double> arm_n;
  std::string arm_column;  // for messages
  std::string arm_n_column;
  std::string dose_unit;
  std::optional<int64_t> duration;  // days of follow-up from day 1
  v1::FollowUpStatus status = v1::FOLLOW_UP_STATUS_UNSPECIFIED;
  // Why a withdrawn subject withdrew (ADSL DCDECOD, else DCREASCD).
  std::string withdrawal_reason = {};
  int64_t first_dose = 0;  // SDTM: date of study day 1 (days since 1970)
};

// The subject-level data of either standard.
struct Population {
  std::vector<SubjectIn> subjects;   // to enroll (safety population, no error)
  std::map<std::string, int> seen;   // USUBJID -> line, every subject row
  std::set<std::string> not_safety;  // outside the safety population
  std::string study_id;              // STUDYID of the first enrolled subject
};

// Counts a subject row and claims its USUBJID (in pop->seen); false, after
// recording a subject error, if it is empty or repeats an earlier row.
bool ClaimSubjectRow(const Columns& c, const DatasetRow& row, Population* pop,
                     ImportPlan* plan, std::string* id);
// Records that subject `id` is outside the safety population.
void ExcludeFromSafety(const std::string& id, Population* pop,
                       ImportStats* stats);
// A date cell (TRTSDT, EXENDTC, ...): nullopt in *date if it is empty; false
// after recording "'TEXT' `says`" for the column if it is not a complete
// date, which would otherwise move a subject's follow-up without a word.
bool ReadDateCell(const Columns& c, const DatasetRow& row,
                  absl::string_view column, absl::string_view says,
                  std::optional<int64_t>* date, std::vector<RowError>* errors);
// The SITEID cell must not be empty; false after recording an error.
bool CheckSite(const Columns& c, const DatasetRow& row,
               std::vector<RowError>* errors);

// An AE row mapped to a report that still lacks site and dose group.
struct AeIn {
  int line = 0;
  const SubjectIn* subject = nullptr;
  v1::AdverseEventReport report;
};

// What differs between the standards in the AE-row loop.
struct AeRowRules {
  // Rows for which this is false are not treatment-emergent; checked first
  // (ADaM's TRTEMFL). Null: every row may be.
  std::function<bool(const DatasetRow&)> flagged_emergent;
  // Sets in->report's onset study day and checks what the standard needs,
  // appending errors; false if the AE is not treatment-emergent after all.
  std::function<bool(const DatasetRow&, const SubjectIn&, AeIn* in,
                     std::vector<RowError>* errors)>
      onset;
  // The subject-level domains and file, for AEs of unknown subjects.
  std::string subject_domains;  // "ADSL", "DM/EX"
  std::string subject_file;
};

// Maps the treatment-emergent AE rows of the enrolled subjects in `ae`.
// Rows with errors go to plan->report_errors; the counts to plan->stats.
// The result points into pop.subjects, which must not change after.
std::vector<AeIn> MapAeRows(const Columns& ae, const Population& pop,
                            const AeRowRules& rules, ImportPlan* plan);

// Source column of each AdverseEventReport field (ImportPlan::field_columns).
std::map<std::string, std::string> FieldColumns(const Columns& ae,
                                                std::string onset_column,
                                                std::string dose_group_column,
                                                std::string site_column);

// Builds the trial, subjects and reports of `plan` from what a standard read.
// `source` ("ADaM", "SDTM") goes into the default title.
absl::Status BuildPlan(const Population& pop, std::vector<AeIn>& aes,
                       const ImportOptions& options, absl::string_view source,
                       ImportPlan* plan);

}  // namespace aesignal::cli::import

#endif  // AESIGNAL_CLIENTS_CLI_IMPORT_MAPPING_STEPS_H_
