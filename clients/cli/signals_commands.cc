// `aesignal signals list|show|watch|triage`.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/commands.h"
#include "clients/cli/csv_mapping.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

using google::protobuf::util::TimeUtil;

struct SignalFlags {
  std::string trial;
  std::string status;
  std::string method;
  std::string dose_group;
  std::string timepoint;
  std::string term;
  std::string format = "table";
  std::string signal;
  std::string comment;
  std::string actor;  // the display name
  std::string request_id;
  int64_t after = 0;
  double seconds = 0;
  int max_changes = 0;
};

std::string MethodWord(v1::SignalMethod m) {
  return EnumWord(v1::SignalMethod_descriptor(), m, "SIGNAL_METHOD_");
}
std::string StatusWord(v1::SignalStatus s) {
  return EnumWord(v1::SignalStatus_descriptor(), s, "SIGNAL_STATUS_");
}
std::string KindWord(v1::SignalEvent::Kind k) {
  return EnumWord(v1::SignalEvent::Kind_descriptor(), k, "KIND_");
}

std::string TermText(const v1::Signal& s) {
  switch (s.level()) {
    case v1::TERM_LEVEL_PT:
      return absl::StrCat("PT ", s.pt());
    case v1::TERM_LEVEL_SOC:
      return absl::StrCat("SOC ", s.soc());
    default:
      return s.overall_key();
  }
}

std::string Stat(const v1::Evidence& e) {
  if (e.method() == v1::SIGNAL_METHOD_BAYESIAN) {
    return absl::StrFormat("post=%.4f", e.posterior_probability());
  }
  return absl::StrFormat("p=%.4g", e.p_value());
}

template <typename Enum>
bool ParseEnumFlag(const google::protobuf::EnumDescriptor* type,
                   const std::string& prefix, const std::string& text,
                   Enum* out) {
  std::string name = absl::AsciiStrToUpper(text);
  for (char& c : name) {
    if (c == '-' || c == ' ') c = '_';
  }
  const auto* v = type->FindValueByName(prefix + name);
  if (v == nullptr) v = type->FindValueByName(name);
  if (v == nullptr || v->number() == 0) return false;
  *out = static_cast<Enum>(v->number());
  return true;
}

// Parses --status; false after printing the accepted values.
bool ParseStatusFlag(CommandContext& ctx, const std::string& text,
                     v1::SignalStatus* status) {
  if (ParseEnumFlag(v1::SignalStatus_descriptor(), "SIGNAL_STATUS_", text,
                    status)) {
    return true;
  }
  ctx.io.err << "--status: '" << text << "' is not one of: "
             << EnumChoices(v1::SignalStatus_descriptor()) << "\n";
  return false;
}

// Parses --method; false after printing the accepted values.
bool ParseMethodFlag(CommandContext& ctx, const std::string& text,
                     v1::SignalMethod* method) {
  if (ParseEnumFlag(v1::SignalMethod_descriptor(), "SIGNAL_METHOD_", text,
                    method)) {
    return true;
  }
  ctx.io.err << "--method: '" << text << "' is not one of: "
             << EnumChoices(v1::SignalMethod_descriptor()) << "\n";
  return false;
}

std::string SignalName(const std::string& trial, const std::string& signal) {
  if (absl::StartsWith(signal, "trials/")) return signal;
  return absl::StrCat("trials/", trial, "/signals/", signal);
}

// The list filter from the flags; false after printing a usage error.
bool ListFilter(CommandContext& ctx, const SignalFlags& f,
                v1::ListSignalsRequest* filter) {
  if (!f.status.empty()) {
    v1::SignalStatus status;
    if (!ParseStatusFlag(ctx, f.status, &status)) return false;
    filter->set_status(status);
  }
  if (!f.method.empty()) {
    v1::SignalMethod method;
    if (!ParseMethodFlag(ctx, f.method, &method)) return false;
    filter->set_method(method);
  }
  filter->set_dose_group_id(f.dose_group);
  filter->set_timepoint_id(f.timepoint);
  filter->set_term(f.term);
  return true;
}

void WriteSignalsTable(const std::vector<v1::Signal>& signals,
                       const std::string& trial, std::ostream& out) {
  out << absl::StrFormat("%-20s %-16s %-14s %-36s %-6s %-5s %-7s %-12s %s\n",
                         "raised", "status", "method", "term", "group", "time",
                         "x/N", "statistic", "now");
  for (const auto& s : signals) {
    const auto& e = s.evidence();
    out << absl::StrFormat(
        "%-20s %-16s %-14s %-36s %-6s %-5s %-7s %-12s %s\n",
        TimeUtil::ToString(s.raise_time()).substr(0, 19),
        StatusWord(s.status()), MethodWord(s.method()), TermText(s),
        s.dose_group_id().empty() ? "all" : s.dose_group_id(), s.timepoint_id(),
        absl::StrCat(e.subjects(), "/", e.denominator()), Stat(e),
        e.crosses() ? "crossing" : "below threshold");
  }
  out << signals.size()
      << " signal(s); show one with: aesignal signals show --trial " << trial
      << " --signal ID\n";
  for (const auto& s : signals) out << "  " << s.signal_id() << "\n";
}

int SignalsList(CommandContext& ctx, const SignalFlags& f) {
  v1::ListSignalsRequest filter;
  if (!ListFilter(ctx, f, &filter)) return kExitUsage;
  auto signals = ctx.MakeClient().ListAllSignals(f.trial, filter);
  if (!signals.ok()) {
    PrintStatus(ctx.io.err, signals.status());
    return kExitFailed;
  }
  if (f.format == "json") {
    v1::ListSignalsResponse all;
    for (auto& s : *signals) *all.add_signals() = s;
    ctx.io.out << JsonOf(all) << "\n";
  } else if (signals->empty()) {
    ctx.io.out << "no signals\n";
  } else {
    WriteSignalsTable(*signals, f.trial, ctx.io.out);
  }
  return kExitOk;
}

void PrintHistory(const v1::Signal& s, std::ostream& out) {
  out << "  history:\n";
  for (const auto& h : s.history()) {
    out << "    " << TimeUtil::ToString(h.time()) << "  " << KindWord(h.kind())
        << "  " << h.actor();
    if (h.kind() == v1::SignalEvent::KIND_TRIAGED) {
      out << "  " << StatusWord(h.from_status()) << " -> "
          << StatusWord(h.to_status()) << ": " << h.comment();
    } else {
      out << "  " << h.evidence().subjects() << "/"
          << h.evidence().denominator() << " " << Stat(h.evidence())
          << " (report " << h.evidence().report_id() << ")";
    }
    out << "\n";
  }
}

void PrintSignal(const v1::Signal& s, std::ostream& out) {
  const auto& e = s.evidence();
  out << "signal " << s.signal_id() << "\n";
  out << "  status:   " << StatusWord(s.status()) << "\n";
  out << "  method:   " << MethodWord(s.method()) << "\n";
  out << "  term:     " << TermText(s)
      << (s.level() == v1::TERM_LEVEL_PT ? absl::StrCat(" (", s.soc(), ")")
                                         : "")
      << "\n";
  out << "  cell:     dose group "
      << (s.dose_group_id().empty() ? "all" : s.dose_group_id())
      << ", timepoint " << s.timepoint_id() << "\n";
  out << "  raised:   " << TimeUtil::ToString(s.raise_time()) << " by report "
      << s.raised_by_report_id() << " v" << s.raised_by_report_version()
      << "\n";
  out << "  evidence: " << e.summary() << "\n";
  out << absl::StrFormat(
      "            %d/%d = %.1f%% (%.0f%% CI %.1f-%.1f%%), %s, threshold %g, "
      "%s\n",
      e.subjects(), e.denominator(), 100 * e.proportion(),
      100 * e.confidence_level(), 100 * e.ci_lower(), 100 * e.ci_upper(),
      Stat(e), e.threshold(), e.crosses() ? "crossing" : "below threshold");
  if (!e.baseline_id().empty()) {
    out << "  baseline: " << e.baseline_id() << " v" << e.baseline_version()
        << ", p0 = " << e.expected_proportion() << "; source: " << e.citation()
        << "\n";
  }
  PrintHistory(s, out);
}

int SignalsShow(CommandContext& ctx, const SignalFlags& f) {
  auto signal = ctx.MakeClient().GetSignal(SignalName(f.trial, f.signal));
  if (!signal.ok()) {
    PrintStatus(ctx.io.err, signal.status());
    return kExitFailed;
  }
  if (f.format == "json") {
    ctx.io.out << JsonOf(*signal) << "\n";
  } else {
    PrintSignal(*signal, ctx.io.out);
  }
  return kExitOk;
}

int SignalsTriage(CommandContext& ctx, const SignalFlags& f) {
  v1::SignalStatus status;
  if (!ParseStatusFlag(ctx, f.status, &status)) return kExitUsage;
  // One id for every attempt: the SDK retries a triage safely with it, and
  // so can the user by passing it back after an unanswered call.
  const std::string request_id =
      f.request_id.empty() ? client::NewRequestId() : f.request_id;
  auto signal = ctx.MakeClient().TriageSignal(
      SignalName(f.trial, f.signal), status, f.comment, f.actor, request_id);
  if (!signal.ok()) {
    PrintStatus(ctx.io.err, signal.status());
    const absl::StatusCode code = signal.status().code();
    if (code == absl::StatusCode::kUnavailable ||
        code == absl::StatusCode::kDeadlineExceeded) {
      ctx.io.err << "the triage may have been applied; repeat the command "
                    "with --request-id "
                 << request_id << " to retry it safely\n";
    }
    return kExitFailed;
  }
  ctx.io.out << "signal " << signal->signal_id() << " is now "
             << StatusWord(signal->status()) << "\n";
  return kExitOk;
}

// One change: a line of compact JSON (one object per line, for tools), or
// "#SEQ KIND STATUS ID: SUMMARY".
void PrintChange(const v1::WatchSignalsResponse& change,
                 const std::string& format, std::ostream& out) {
  if (format == "json") {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string json;
    if (google::protobuf::util::MessageToJsonString(change, &json, options)
            .ok()) {
      out << json << "\n";
    }
    return;
  }
  const v1::Signal& s = change.signal();
  out << "#" << change.change_sequence() << " "
      << KindWord(change.event().kind()) << " " << StatusWord(s.status()) << " "
      << s.signal_id() << ": " << s.evidence().summary() << "\n";
}

int SignalsWatch(CommandContext& ctx, const SignalFlags& f) {
  int seen = 0;
  const absl::Time until = f.seconds > 0
                               ? absl::Now() + absl::Seconds(f.seconds)
                               : absl::InfiniteFuture();
  absl::Status status = ctx.MakeClient().WatchSignals(
      f.trial, f.after,
      [&](const v1::WatchSignalsResponse& change) {
        PrintChange(change, f.format, ctx.io.out);
        ctx.io.out.flush();
        return f.max_changes <= 0 || ++seen < f.max_changes;
      },
      until);
  if (!status.ok()) {
    PrintStatus(ctx.io.err, status);
    return kExitFailed;
  }
  return kExitOk;
}

void AddList(CLI::App& signals, CommandContext& ctx,
             std::shared_ptr<SignalFlags> f) {
  auto* list = signals.add_subcommand("list", "signals, newest first");
  list->add_option("--trial", f->trial, "trial id")->required();
  list->add_option("--status", f->status,
                   "new, validated, refuted, under_assessment, closed");
  list->add_option("--method", f->method,
                   "binomial_exact, bayesian, maxsprt, "
                   "control_fisher, dose_trend, over_time");
  list->add_option("--dose-group", f->dose_group);
  list->add_option("--timepoint", f->timepoint);
  list->add_option("--term", f->term, "PT, SOC or overall key");
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx, [&ctx, f] { return SignalsList(ctx, *f); });
}

void AddShow(CLI::App& signals, CommandContext& ctx,
             std::shared_ptr<SignalFlags> f) {
  auto* show =
      signals.add_subcommand("show", "a signal's evidence and history");
  show->add_option("--trial", f->trial, "trial id")->required();
  show->add_option("--signal", f->signal, "signal id or name")->required();
  show->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(show, ctx, [&ctx, f] { return SignalsShow(ctx, *f); });
}

void AddWatch(CLI::App& signals, CommandContext& ctx,
              std::shared_ptr<SignalFlags> f) {
  auto* watch = signals.add_subcommand(
      "watch", "print signal changes as they happen (resumable with --after)");
  watch->add_option("--trial", f->trial, "trial id")->required();
  watch->add_option("--after", f->after,
                    "only changes after this sequence number");
  watch->add_option("--seconds", f->seconds,
                    "stop after this long (default: until interrupted)");
  watch->add_option("--max-changes", f->max_changes,
                    "stop after this many changes");
  watch->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(watch, ctx, [&ctx, f] { return SignalsWatch(ctx, *f); });
}

void AddTriage(CLI::App& signals, CommandContext& ctx,
               std::shared_ptr<SignalFlags> f) {
  auto* triage = signals.add_subcommand(
      "triage", "move a signal through its lifecycle (EMA GVP Module IX)");
  triage->add_option("--trial", f->trial, "trial id")->required();
  triage->add_option("--signal", f->signal, "signal id or name")->required();
  triage
      ->add_option("--status", f->status,
                   "validated, refuted, under_assessment, closed")
      ->required();
  triage->add_option("--comment", f->comment, "why (required)")->required();
  triage->add_option("--display-name,--actor", f->actor,
                     "a name shown beside your principal, e.g. 'Dr. A. Smith, "
                     "DSMB chair' (who triages is the authenticated "
                     "principal)");
  triage->add_option("--request-id", f->request_id,
                     "retry a triage whose answer was lost, with the id it "
                     "printed (default: a new one)");
  SetAction(triage, ctx, [&ctx, f] { return SignalsTriage(ctx, *f); });
}

}  // namespace

void AddSignalsCommands(CLI::App& app, CommandContext& ctx) {
  auto* signals = app.add_subcommand("signals", "safety signals");
  signals->require_subcommand(1);
  auto flags = std::make_shared<SignalFlags>();
  AddList(*signals, ctx, flags);
  AddShow(*signals, ctx, flags);
  AddWatch(*signals, ctx, flags);
  AddTriage(*signals, ctx, flags);
}

}  // namespace aesignal::cli
