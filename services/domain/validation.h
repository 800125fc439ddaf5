// Validation of trials, subjects and AE reports against a trial's design.
//
// Pure functions of their arguments: no storage, thread-safe. Stateful checks
// (does the subject exist, which version is stored) happen when a batch is
// committed; see monitor.h.
#ifndef AESIGNAL_SERVICES_DOMAIN_VALIDATION_H_
#define AESIGNAL_SERVICES_DOMAIN_VALIDATION_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "services/errors/errors.h"

namespace aesignal::domain {

// Limits of one request.
inline constexpr int kMaxReportsPerBatch = 5000;
inline constexpr int kMaxSubjectsPerRequest = 10000;
inline constexpr int kMaxDoseGroups = 64;
inline constexpr int kMaxTimepoints = 256;

// AESI categories a trial gets when it names none.
const std::vector<std::string>& DefaultAesiCategories();

// "trials/{trial_id}" <-> trial_id. ParseTrialName fails with a field
// violation on `field`.
std::string TrialName(absl::string_view trial_id);
absl::StatusOr<std::string> ParseTrialName(absl::string_view name,
                                           absl::string_view field);

// Checks a trial for CreateTrial and returns it normalized (name set, default
// AESI categories unless no_aesi_categories, output-only fields cleared).
absl::StatusOr<v1::Trial> ValidateAndNormalizeTrial(const v1::Trial& trial);

// Index of a dose group / timepoint by id, or -1.
int DoseGroupIndex(const v1::Trial& trial, absl::string_view dose_group_id);
int TimepointIndex(const v1::Trial& trial, absl::string_view timepoint_id);
// A request's `dose_group_id` / `timepoint_id` filter naming nothing of the
// trial, as its field violation; nullopt when the trial has it or the filter
// is empty (it filters nothing).
std::optional<errors::FieldViolation> UnknownDoseGroupFilter(
    const v1::Trial& trial, absl::string_view dose_group_id);
std::optional<errors::FieldViolation> UnknownTimepointFilter(
    const v1::Trial& trial, absl::string_view timepoint_id);
bool HasSite(const v1::Trial& trial, absl::string_view site_id);

// Why `name` cannot be a MedDRA term name (PT or SOC), or "" if it can: it
// is required text, not blank, with no space at either end, since
// incidence rows and baselines are keyed by the exact name ("Rash " would
// be a row of its own).
std::string CheckTermName(absl::string_view name);

// INVALID_ARGUMENT naming every enum field of `request` (nested messages
// included) set to a number its enum does not define: proto3 keeps such a
// number, and the domain would read it as a filter that matches nothing or a
// status with no name. (Over HTTP, protobuf's JSON parser already refuses
// unknown names; a number arrives here the same way from both transports.)
// Uses reflection: for requests without many nested messages, not ingest.
absl::Status CheckEnumValues(const google::protobuf::Message& request);

// Checks one subject of an EnrollSubjects request against the trial; appends
// violations prefixed with `path` (e.g. "subjects[2]").
void ValidateSubject(const v1::Trial& trial, const v1::Subject& subject,
                     const std::string& path,
                     std::vector<errors::FieldViolation>* violations);

// A report that passed the checks that need no stored state.
struct ValidReport {
  int window = 0;       // index of the timepoint window of the onset
  int dose_group = -1;  // index of report.dose_group_id, or -1 if not given
};

// Why a report was rejected, with the google.rpc.Code it maps to.
struct Rejection {
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  std::string field;  // e.g. "reports[3].grade"
  std::string reason;
  // Other problems of the same report (the first of each other group of
  // checks: ids, onset, terms, severity, AESI, withdrawal reason), so that a
  // site can mend them all at once.
  std::vector<errors::FieldViolation> also;
};

// Checks one report against the trial design. `path` prefixes field names.
// Returns where it counts, or why it is rejected: the first problem, and the
// first of every other group of checks in `also`.
std::variant<ValidReport, Rejection> ValidateReport(
    const v1::Trial& trial, const v1::AdverseEventReport& report,
    const std::string& path);

// The timepoint window containing `study_day` (>= 1), or -1 if it is after
// the last timepoint.
int WindowOfDay(const v1::Trial& trial, int study_day);

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_VALIDATION_H_
