#include "services/access/policy.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "services/errors/errors.h"

namespace aesignal::access {
namespace {

struct Rule {
  Method method;
  bool site;
  bool safety_officer;
};

// The access table (docs/operations.md, "Access control"); admin may call
// everything. Every method of kAllMethods has a row (policy_test checks).
constexpr std::array<Rule, 29> kRules = {{
    // method                        site   safety_officer
    {methods::kCreateTrial, false, false},
    {methods::kGetTrial, true, true},  // a site reads the design it reports to
    {methods::kListTrials, false, true},
    {methods::kUpdateTrial, false, false},  // a protocol amendment
    {methods::kEnrollSubjects, true, false},
    {methods::kListSubjects, false, true},
    {methods::kGetSubject, true, true},  // a site reconciles its own subjects
    {methods::kSubmitReports, true, false},
    {methods::kStreamReports, true, false},
    {methods::kGetIncidence, false, true},
    {methods::kGetReport, true, true},    // a site reconciles its own reports
    {methods::kListReports, true, true},  // (site-restricted in the domain)
    {methods::kGenerateDsmbReport, false, true},
    {methods::kPutBaselines, false, false},
    {methods::kListBaselines, false, true},
    {methods::kGetBaseline, false, true},
    {methods::kListSignals, false, true},
    {methods::kGetSignal, false, true},
    {methods::kTriageSignal, false, true},
    {methods::kUpdateSignal, false, true},  // triage (deprecated form)
    {methods::kWatchSignals, false, true},
    {methods::kListTopics, false, true},
    {methods::kGetTopic, false, true},
    {methods::kTriageTopic, false, true},  // triage of a topic
    {methods::kWatchTopics, false, true},
    {methods::kListAuditRecords, false, true},
    {methods::kGetAuditTrail, false, true},
    {methods::kCreateBackup, false, false},
    {methods::kVerifyTrial, false, false},
}};

}  // namespace

bool RoleAllows(Role role, const Method& method) {
  if (role == Role::kAdmin) return true;
  for (const Rule& rule : kRules) {
    if (rule.method == method) {
      return role == Role::kSite ? rule.site : rule.safety_officer;
    }
  }
  return false;
}

absl::Status Authorize(const Caller& caller, const Method& method) {
  if (RoleAllows(caller.role, method)) return absl::OkStatus();
  const std::string name = method.FullName();
  return errors::WithErrorInfo(
      absl::PermissionDeniedError(absl::StrCat("principal '", caller.principal,
                                               "' may not call ", name)),
      "ROLE_NOT_ALLOWED",
      {{"role", std::string(RoleName(caller.role))}, {"method", name}});
}

}  // namespace aesignal::access
