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
  bool dsmb_member;
};

// The access table (docs/operations.md, "Access control"); admin may call
// everything. Every method of kAllMethods has a row (policy_test checks).
// A DSMB member reads what the board reviews and changes nothing: no triage
// (the safety officer's call, which the board sees in each topic), and no
// audit trail (who did what when is for the sponsor's and the operator's
// reviews, not the board's).
constexpr std::array<Rule, 29> kRules = {{
    // method                     site   safety_officer  dsmb_member
    {methods::kCreateTrial, false, false, false},
    {methods::kGetTrial, true, true, true},  // a site reads its design
    {methods::kListTrials, false, true, true},
    {methods::kUpdateTrial, false, false, false},  // a protocol amendment
    {methods::kEnrollSubjects, true, false, false},
    {methods::kListSubjects, false, true, true},
    {methods::kGetSubject, true, true, true},  // a site reconciles its own
    {methods::kSubmitReports, true, false, false},
    {methods::kStreamReports, true, false, false},
    {methods::kGetIncidence, false, true, true},
    {methods::kGetReport, true, true, true},    // a site reconciles its own
    {methods::kListReports, true, true, true},  // (site-restricted, domain)
    {methods::kGenerateDsmbReport, false, true, true},
    {methods::kPutBaselines, false, false, false},
    {methods::kListBaselines, false, true, true},
    {methods::kGetBaseline, false, true, true},
    {methods::kListSignals, false, true, true},
    {methods::kGetSignal, false, true, true},
    {methods::kTriageSignal, false, true, false},
    {methods::kUpdateSignal, false, true, false},  // triage (deprecated form)
    {methods::kWatchSignals, false, true, true},
    {methods::kListTopics, false, true, true},
    {methods::kGetTopic, false, true, true},
    {methods::kTriageTopic, false, true, false},  // triage of a topic
    {methods::kWatchTopics, false, true, true},
    {methods::kListAuditRecords, false, true, false},
    {methods::kGetAuditTrail, false, true, false},
    {methods::kCreateBackup, false, false, false},
    {methods::kVerifyTrial, false, false, false},
}};

bool Allows(const Rule& rule, Role role) {
  switch (role) {
    case Role::kSite:
      return rule.site;
    case Role::kSafetyOfficer:
      return rule.safety_officer;
    case Role::kDsmbMember:
      return rule.dsmb_member;
    case Role::kAdmin:
      return true;
  }
  return false;
}

}  // namespace

bool RoleAllows(Role role, const Method& method) {
  if (role == Role::kAdmin) return true;
  for (const Rule& rule : kRules) {
    if (rule.method == method) return Allows(rule, role);
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
