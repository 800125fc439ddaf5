// The methods of the v1 API, named by service and method, transport-neutral:
// the keys of the authorization table (policy.h) and the `rpc` of the audit
// trail ("TrialService.CreateTrial").
//
// Constants; thread-safe.
#ifndef AESIGNAL_SERVICES_ACCESS_METHODS_H_
#define AESIGNAL_SERVICES_ACCESS_METHODS_H_

#include <array>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace aesignal::access {

struct Method {
  absl::string_view service;  // "TrialService"
  absl::string_view name;     // "CreateTrial"

  // "TrialService.CreateTrial".
  std::string FullName() const { return absl::StrCat(service, ".", name); }
  friend bool operator==(const Method& a, const Method& b) {
    return a.service == b.service && a.name == b.name;
  }
};

namespace methods {
inline constexpr Method kCreateTrial{"TrialService", "CreateTrial"};
inline constexpr Method kGetTrial{"TrialService", "GetTrial"};
inline constexpr Method kListTrials{"TrialService", "ListTrials"};
inline constexpr Method kUpdateTrial{"TrialService", "UpdateTrial"};
inline constexpr Method kEnrollSubjects{"TrialService", "EnrollSubjects"};
inline constexpr Method kListSubjects{"TrialService", "ListSubjects"};
inline constexpr Method kGetSubject{"TrialService", "GetSubject"};
inline constexpr Method kSubmitReports{"IngestService", "SubmitReports"};
inline constexpr Method kStreamReports{"IngestService", "StreamReports"};
inline constexpr Method kGetIncidence{"SafetyService", "GetIncidence"};
inline constexpr Method kGetReport{"SafetyService", "GetReport"};
inline constexpr Method kListReports{"SafetyService", "ListReports"};
inline constexpr Method kGenerateDsmbReport{"SafetyService",
                                            "GenerateDsmbReport"};
inline constexpr Method kPutBaselines{"SignalService", "PutBaselines"};
inline constexpr Method kListBaselines{"SignalService", "ListBaselines"};
inline constexpr Method kGetBaseline{"SignalService", "GetBaseline"};
inline constexpr Method kListSignals{"SignalService", "ListSignals"};
inline constexpr Method kGetSignal{"SignalService", "GetSignal"};
inline constexpr Method kTriageSignal{"SignalService", "TriageSignal"};
inline constexpr Method kUpdateSignal{"SignalService", "UpdateSignal"};
inline constexpr Method kWatchSignals{"SignalService", "WatchSignals"};
inline constexpr Method kListTopics{"SignalService", "ListTopics"};
inline constexpr Method kGetTopic{"SignalService", "GetTopic"};
inline constexpr Method kTriageTopic{"SignalService", "TriageTopic"};
inline constexpr Method kWatchTopics{"SignalService", "WatchTopics"};
inline constexpr Method kListAuditRecords{"AuditService", "ListAuditRecords"};
inline constexpr Method kGetAuditTrail{"AuditService", "GetAuditTrail"};
inline constexpr Method kCreateBackup{"AdminService", "CreateBackup"};
inline constexpr Method kVerifyTrial{"AdminService", "VerifyTrial"};
}  // namespace methods

// Every method above (a test checks this against the proto's services).
inline constexpr std::array<Method, 29> kAllMethods = {
    methods::kCreateTrial,        methods::kGetTrial,
    methods::kListTrials,         methods::kUpdateTrial,
    methods::kEnrollSubjects,     methods::kListSubjects,
    methods::kGetSubject,         methods::kSubmitReports,
    methods::kStreamReports,      methods::kGetIncidence,
    methods::kGetReport,          methods::kListReports,
    methods::kPutBaselines,       methods::kListBaselines,
    methods::kGetBaseline,        methods::kListSignals,
    methods::kGetSignal,          methods::kTriageSignal,
    methods::kUpdateSignal,       methods::kWatchSignals,
    methods::kListTopics,         methods::kGetTopic,
    methods::kTriageTopic,        methods::kWatchTopics,
    methods::kListAuditRecords,   methods::kGetAuditTrail,
    methods::kCreateBackup,       methods::kVerifyTrial,
    methods::kGenerateDsmbReport,
};

}  // namespace aesignal::access

#endif  // AESIGNAL_SERVICES_ACCESS_METHODS_H_
