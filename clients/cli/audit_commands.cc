// `aesignal audit list`: the audit trail.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/commands.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

struct AuditFlags {
  std::string trial;
  std::string action;
  std::string resource;
  std::string principal;
  std::string format = "table";
};

int AuditList(CommandContext& ctx, const AuditFlags& f) {
  v1::ListAuditRecordsRequest filter;
  filter.set_action(f.action);
  filter.set_resource_prefix(f.resource);
  filter.set_principal(f.principal);
  auto records = ctx.MakeClient().ListAuditRecords(f.trial, filter);
  if (!records.ok()) {
    PrintStatus(ctx.io.err, records.status());
    return kExitFailed;
  }
  if (f.format == "json") {
    v1::ListAuditRecordsResponse all;
    for (auto& r : *records) *all.add_audit_records() = r;
    ctx.io.out << JsonOf(all) << "\n";
    return kExitOk;
  }
  for (const auto& r : *records) {
    ctx.io.out << absl::StrFormat(
        "#%-5d %s  %-16s %-24s %s%s\n       by %s via %s: %s%s\n", r.sequence(),
        google::protobuf::util::TimeUtil::ToString(r.time()).substr(0, 23),
        r.action(), "", r.resource(),
        // A record of a read (a DSMB report given) wrote no version.
        r.version() == 0 ? "" : absl::StrCat(" v", r.version()), r.principal(),
        r.rpc(), r.details(), r.reason().empty() ? "" : "; why: " + r.reason());
  }
  ctx.io.out << records->size() << " record(s)\n";
  return kExitOk;
}

}  // namespace

void AddAuditCommands(CLI::App& app, CommandContext& ctx) {
  auto* audit = app.add_subcommand("audit", "the audit trail");
  audit->require_subcommand(1);
  auto f = std::make_shared<AuditFlags>();
  auto* list = audit->add_subcommand(
      "list", "every state change and DSMB report given, oldest first");
  list->add_option("--trial", f->trial, "trial id")->required();
  list->add_option("--action", f->action,
                   "trial.create, trial.amend, subject.enroll, subject.update, "
                   "subject.correct, report.store, report.history, "
                   "report.withdraw, "
                   "baseline.put, signal.triage, topic.triage, "
                   "dsmb_report.generate");
  list->add_option("--resource", f->resource, "resource name prefix");
  list->add_option("--by", f->principal, "principal");
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx, [&ctx, f] { return AuditList(ctx, *f); });
}

}  // namespace aesignal::cli
