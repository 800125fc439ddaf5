// The audit trail's actions: every value AuditRecord.action takes
// (proto/aesignal/v1/audit_service.proto), written once so that the writers
// and ListAuditRecords' `action` filter agree on the list.
#ifndef AESIGNAL_SERVICES_DOMAIN_AUDIT_ACTIONS_H_
#define AESIGNAL_SERVICES_DOMAIN_AUDIT_ACTIONS_H_

#include <algorithm>
#include <array>

#include "absl/strings/string_view.h"

namespace aesignal::domain::audit_action {

inline constexpr char kTrialCreate[] = "trial.create";
inline constexpr char kTrialAmend[] = "trial.amend";
inline constexpr char kSubjectEnroll[] = "subject.enroll";
inline constexpr char kSubjectUpdate[] = "subject.update";
inline constexpr char kSubjectCorrect[] = "subject.correct";
inline constexpr char kReportStore[] = "report.store";
inline constexpr char kReportHistory[] = "report.history";
inline constexpr char kReportWithdraw[] = "report.withdraw";
inline constexpr char kBaselinePut[] = "baseline.put";
inline constexpr char kSignalTriage[] = "signal.triage";
inline constexpr char kTopicTriage[] = "topic.triage";
// Not a change: a DSMB report handed to the caller (who saw which cut-off,
// in which session), the one read the trail records.
inline constexpr char kDsmbReportGenerate[] = "dsmb_report.generate";

// In the order the proto's comment lists them. Not constexpr: GCC with
// -fsanitize=undefined does not take a string_view of a named array as a
// constant expression (the ASan build refused it).
inline const std::array<absl::string_view, 12> kAll = {
    kTrialCreate,    kTrialAmend,   kSubjectEnroll, kSubjectUpdate,
    kSubjectCorrect, kReportStore,  kReportHistory, kReportWithdraw,
    kBaselinePut,    kSignalTriage, kTopicTriage,   kDsmbReportGenerate};

inline bool IsKnown(absl::string_view action) {
  return std::find(kAll.begin(), kAll.end(), action) != kAll.end();
}

}  // namespace aesignal::domain::audit_action

#endif  // AESIGNAL_SERVICES_DOMAIN_AUDIT_ACTIONS_H_
