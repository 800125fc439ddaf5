// The access table of docs/operations.md ("Access control"), written out
// independently of services/access/policy.cc, so that tests of the access
// module itself (access_test) and of every transport (security_test over
// gRPC) check the same role x method matrix against the same expectation.
#ifndef AESIGNAL_TESTS_TESTING_ACCESS_MATRIX_H_
#define AESIGNAL_TESTS_TESTING_ACCESS_MATRIX_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aesignal/v1/admin_service.pb.h"
#include "aesignal/v1/audit_service.pb.h"
#include "aesignal/v1/ingest_service.pb.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/signal_service.pb.h"
#include "aesignal/v1/trial_service.pb.h"
#include "google/protobuf/descriptor.h"

namespace aesignal::testing {

// "Service.Method" a role may call; admin may call every method.
inline const std::map<std::string, std::set<std::string>>& AllowedByRole() {
  static const auto* table = new std::map<std::string, std::set<std::string>>{
      {"site",
       {"TrialService.GetTrial", "TrialService.EnrollSubjects",
        "TrialService.GetSubject", "IngestService.SubmitReports",
        "IngestService.StreamReports", "SafetyService.GetReport",
        "SafetyService.ListReports"}},
      {"safety_officer",
       {"TrialService.GetTrial",       "TrialService.ListTrials",
        "TrialService.ListSubjects",   "TrialService.GetSubject",
        "SafetyService.GetIncidence",  "SafetyService.GetReport",
        "SafetyService.ListReports",   "SafetyService.GenerateDsmbReport",
        "SignalService.ListBaselines", "SignalService.GetBaseline",
        "SignalService.ListSignals",   "SignalService.GetSignal",
        "SignalService.TriageSignal",  "SignalService.UpdateSignal",
        "SignalService.WatchSignals",  "SignalService.ListTopics",
        "SignalService.GetTopic",      "SignalService.TriageTopic",
        "SignalService.WatchTopics",   "AuditService.ListAuditRecords",
        "AuditService.GetAuditTrail"}},
      // Reads what the board reviews; no triage, no audit trail.
      {"dsmb_member",
       {"TrialService.GetTrial", "TrialService.ListTrials",
        "TrialService.ListSubjects", "TrialService.GetSubject",
        "SafetyService.GetIncidence", "SafetyService.GetReport",
        "SafetyService.ListReports", "SafetyService.GenerateDsmbReport",
        "SignalService.ListBaselines", "SignalService.GetBaseline",
        "SignalService.ListSignals", "SignalService.GetSignal",
        "SignalService.WatchSignals", "SignalService.ListTopics",
        "SignalService.GetTopic", "SignalService.WatchTopics"}},
  };
  return *table;
}

inline bool ExpectedAllowed(const std::string& role,
                            const std::string& method) {
  if (role == "admin") return true;
  return AllowedByRole().at(role).count(method) > 0;
}

// Every method of every aesignal.v1 service, as "Service.Method", read from
// the compiled proto descriptors (a request message of each service's file
// is named so that its descriptor is linked in).
inline std::vector<std::string> AllV1Methods() {
  const std::pair<const google::protobuf::FileDescriptor*, const char*>
      services[] = {
          {v1::CreateTrialRequest::descriptor()->file(), "TrialService"},
          {v1::SubmitReportsRequest::descriptor()->file(), "IngestService"},
          {v1::GetIncidenceRequest::descriptor()->file(), "SafetyService"},
          {v1::ListSignalsRequest::descriptor()->file(), "SignalService"},
          {v1::GetAuditTrailRequest::descriptor()->file(), "AuditService"},
          {v1::VerifyTrialRequest::descriptor()->file(), "AdminService"},
      };
  std::vector<std::string> methods;
  for (const auto& [file, name] : services) {
    const auto* service = file->FindServiceByName(name);
    if (service == nullptr) {
      methods.push_back(absl::StrCat("missing service ", name));
      continue;
    }
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(
          absl::StrCat(service->name(), ".", service->method(i)->name()));
    }
  }
  return methods;
}

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_ACCESS_MATRIX_H_
