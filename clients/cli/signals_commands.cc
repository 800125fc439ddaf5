// `aesignal signals list|show|watch|triage`: the trial's signal topics
// (one per term row, ranked: the same output as `topics`, from
// topic_printing.h) and, with --evidence, the evidence items under them (one
// signal per method x term x dose group x timepoint cell).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/commands.h"
#include "clients/cli/csv_mapping.h"
#include "clients/cli/topic_printing.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

using google::protobuf::util::TimeUtil;

struct SignalFlags {
  std::string trial;
  bool evidence = false;  // evidence items instead of topics
  bool crossing_only = false;
  std::string id;     // positional: a topic or signal id
  std::string topic;  // --topic
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

// The decision in words. Evidence whose statistic is past the threshold
// may still not cross (too few cases, a repeated-look boundary, trial-wide
// control), so "not crossing" never claims where the statistic stands.
std::string Decision(const v1::Evidence& e) {
  return e.crosses() ? "crossing" : "not crossing";
}

std::string Stat(const v1::Evidence& e) {
  if (e.method() == v1::SIGNAL_METHOD_BAYESIAN) {
    return absl::StrFormat("post=%.4f", e.posterior_probability());
  }
  if (e.method() == v1::SIGNAL_METHOD_MAXSPRT) {
    return absl::StrFormat("LLR=%.4g", e.statistic());  // it has no p-value
  }
  return absl::StrFormat("p=%.4g", e.p_value());
}

// Whether the (adjusted, when the decision used one) p-value or the
// posterior is on the crossing side of the threshold.
bool PastThreshold(const v1::Evidence& e) {
  if (e.method() == v1::SIGNAL_METHOD_BAYESIAN) {
    return e.posterior_probability() >= e.threshold();
  }
  if (e.method() == v1::SIGNAL_METHOD_MAXSPRT) {
    return e.statistic() >= e.threshold();  // the LLR's critical value
  }
  const double p =
      e.adjusted_p_value() > 0 ? e.adjusted_p_value() : e.p_value();
  return p <= e.threshold();
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
    if (!ParseSignalStatus(ctx, f.status, &status)) return false;
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
        absl::StrCat(e.subjects(), "/", e.denominator()), Stat(e), Decision(e));
  }
  out << signals.size()
      << " evidence item(s), newest first; one with its history: aesignal "
         "signals show --trial "
      << trial << " --evidence ID\n";
  for (const auto& s : signals) out << "  " << s.signal_id() << "\n";
}

// The id without its `trials/{trial}/topics/` or `.../signals/` prefix.
std::string BareId(const std::string& id) {
  if (!absl::StartsWith(id, "trials/")) return id;
  const size_t collection = id.find('/', std::string("trials/").size());
  const size_t slash = collection == std::string::npos
                           ? std::string::npos
                           : id.find('/', collection + 1);
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

// `signals list --evidence`: the evidence items (signals), newest first.
int EvidenceList(CommandContext& ctx, const SignalFlags& f) {
  v1::ListSignalsRequest filter;
  if (!ListFilter(ctx, f, &filter)) return kExitUsage;
  const std::string topic = BareId(f.topic);
  if (!topic.empty() && KindOfId(topic) != IdKind::kTopic) {
    ctx.io.err << "--topic: '" << f.topic
               << "' is not a topic id (PT~..., SOC~... or OVERALL~...)\n";
    return kExitUsage;
  }
  int pending = 0;
  auto signals = ctx.MakeClient().ListAllSignals(f.trial, filter, &pending);
  if (!signals.ok()) {
    PrintStatus(ctx.io.err, signals.status());
    return kExitFailed;
  }
  std::erase_if(*signals, [&](const v1::Signal& s) {
    return (!topic.empty() && TopicOfSignalId(s.signal_id()) != topic) ||
           (f.crossing_only && !s.evidence().crosses());
  });
  if (f.format == "json") {
    v1::ListSignalsResponse all;
    for (auto& s : *signals) *all.add_signals() = s;
    all.set_rows_pending_evaluation(pending);
    ctx.io.out << JsonOf(all) << "\n";
    return kExitOk;
  }
  if (signals->empty()) {
    ctx.io.out << "no evidence items\n";
  } else {
    WriteSignalsTable(*signals, f.trial, ctx.io.out);
  }
  if (pending > 0) ctx.io.err << PendingEvaluationNote(pending);
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
          << h.evidence().denominator() << " " << Stat(h.evidence()) << " ("
          << CauseText(
                 h.evidence().report_id(), h.evidence().report_version(),
                 h.evidence().has_change() ? &h.evidence().change() : nullptr)
          << ")";
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
  out << "  raised:   " << TimeUtil::ToString(s.raise_time()) << " by "
      << CauseText(s.raised_by_report_id(), s.raised_by_report_version(),
                   s.has_raised_by_change() ? &s.raised_by_change() : nullptr)
      << "\n";
  out << "  evidence: " << e.summary() << "\n";
  out << absl::StrFormat(
      "            %d/%d = %.1f%% (%.0f%% CI %.1f-%.1f%%), %s, threshold %g, "
      "%s\n",
      e.subjects(), e.denominator(), 100 * e.proportion(),
      100 * e.confidence_level(), 100 * e.ci_lower(), 100 * e.ci_upper(),
      Stat(e), e.threshold(), Decision(e));
  if (!e.crosses() && !e.decision_note().empty()) {
    out << "  why not:  " << e.decision_note() << "\n";
  } else if (!e.crosses() && PastThreshold(e)) {
    out << "  why not:  the statistic is past the threshold, but a signal "
           "also needs at least the trial's minimum number of subjects with "
           "the event (signal_policy.min_cases, default 2; `aesignal trial "
           "get`)"
        << (e.boundary() > 0 ? " and the repeated-look boundary" : "") << "\n";
  }
  if (!e.baseline_id().empty()) {
    out << "  baseline: " << e.baseline_id() << " v" << e.baseline_version()
        << ", p0 = " << e.expected_proportion() << "; source: " << e.citation()
        << "\n";
  }
  PrintHistory(s, out);
}

// `signals list`: the topics, ranked (as `topics list`); with --evidence
// their evidence items.
int SignalsList(CommandContext& ctx, const SignalFlags& f) {
  if (f.evidence) return EvidenceList(ctx, f);
  return RunListTopics(
      ctx, {.trial = f.trial,
            .status = f.status,
            .term = f.term,
            .crossing_only = f.crossing_only,
            .format = f.format,
            .show_hint = absl::StrCat("aesignal signals show --trial ", f.trial,
                                      " TOPIC")});
}

// The one id of `signals show|triage` (positional, --topic or --signal) and
// what it names; false after printing a usage error. --topic must name a
// topic, --signal (and --evidence) an evidence item; a positional id is
// told by its first segment (topic_printing.h).
bool ResolveId(CommandContext& ctx, const SignalFlags& f, std::string* id,
               IdKind* kind) {
  const int given = !f.id.empty() + !f.topic.empty() + !f.signal.empty();
  if (given != 1) {
    ctx.io.err << "give one id: a topic id (e.g. OVERALL~any_sae) or, with "
                  "--evidence, a signal id (e.g. "
                  "BINOMIAL~OVERALL~any_sae~D100M~M6)\n";
    return false;
  }
  *id = !f.id.empty() ? f.id : !f.topic.empty() ? f.topic : f.signal;
  *kind = KindOfId(*id);
  if (!f.topic.empty() && *kind != IdKind::kTopic) {
    ctx.io.err << "--topic: '" << *id
               << "' is a signal id; give it with --evidence\n";
    return false;
  }
  if ((f.evidence || !f.signal.empty()) && *kind != IdKind::kSignal) {
    ctx.io.err << "'" << *id
               << "' is a topic id, not an evidence item; its evidence: "
                  "aesignal signals list --evidence --trial "
               << f.trial << " --topic " << *id << "\n";
    return false;
  }
  return true;
}

// `signals show ID`: a topic with its evidence table (as `topics show`), or
// one evidence item with its history.
int SignalsShow(CommandContext& ctx, const SignalFlags& f) {
  std::string id;
  IdKind kind;
  if (!ResolveId(ctx, f, &id, &kind)) return kExitUsage;
  if (kind == IdKind::kTopic) return RunShowTopic(ctx, f.trial, id, f.format);
  auto signal = ctx.MakeClient().GetSignal(SignalName(f.trial, id));
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

// `signals triage ID`: TriageTopic for a topic id (as `topics triage`),
// TriageSignal for a signal id.
int SignalsTriage(CommandContext& ctx, const SignalFlags& f) {
  std::string id;
  IdKind kind;
  if (!ResolveId(ctx, f, &id, &kind)) return kExitUsage;
  if (kind == IdKind::kTopic) {
    return RunTriageTopic(ctx, {.trial = f.trial,
                                .id = id,
                                .status = f.status,
                                .comment = f.comment,
                                .display_name = f.actor,
                                .request_id = f.request_id});
  }
  v1::SignalStatus status;
  if (!ParseSignalStatus(ctx, f.status, &status)) return kExitUsage;
  // One id for every attempt: the SDK retries a triage safely with it, and
  // so can the user by passing it back after an unanswered call.
  const std::string request_id =
      f.request_id.empty() ? client::NewRequestId() : f.request_id;
  auto signal = ctx.MakeClient().TriageSignal(SignalName(f.trial, id), status,
                                              f.comment, f.actor, request_id);
  if (!signal.ok()) {
    PrintTriageFailure(ctx, signal.status(), request_id);
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
      until,
      [&](const absl::Status& ended, absl::Duration, int attempt) {
        // Once per outage: the SDK keeps retrying (with backoff up to 5 s)
        // and resumes after the last change printed, missing none.
        if (attempt != 1) return;
        ctx.io.err << "watch: the stream ended ("
                   << (ended.ok() ? "closed by the server" : ended.ToString())
                   << "); reconnecting and resuming where it stopped "
                      "(Ctrl-C to stop)\n";
        ctx.io.err.flush();
      });
  if (!status.ok()) {
    PrintStatus(ctx.io.err, status);
    return kExitFailed;
  }
  return kExitOk;
}

void AddList(CLI::App& signals, CommandContext& ctx,
             std::shared_ptr<SignalFlags> f) {
  auto* list = signals.add_subcommand(
      "list",
      "signal topics, ranked (as `topics list`); with --evidence the "
      "evidence items (one per method x dose group x timepoint), newest "
      "first");
  list->add_option("--trial", f->trial, "trial id")->required();
  auto* evidence =
      list->add_flag("--evidence", f->evidence,
                     "list the evidence items (signals) instead of the topics");
  list->add_option("--status", f->status,
                   "new, validated, refuted, under_assessment, closed");
  list->add_option("--term", f->term, "PT, SOC or overall key");
  list->add_flag("--crossing", f->crossing_only,
                 "only topics (items) crossing now");
  list->add_option("--topic", f->topic,
                   "with --evidence: only this topic's items, e.g. "
                   "OVERALL~any_sae")
      ->needs(evidence);
  list->add_option("--method", f->method,
                   "with --evidence: binomial_exact, bayesian, maxsprt, "
                   "control_fisher, dose_trend, over_time")
      ->needs(evidence);
  list->add_option("--dose-group", f->dose_group, "with --evidence")
      ->needs(evidence);
  list->add_option("--timepoint", f->timepoint, "with --evidence")
      ->needs(evidence);
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx, [&ctx, f] { return SignalsList(ctx, *f); });
}

void AddShow(CLI::App& signals, CommandContext& ctx,
             std::shared_ptr<SignalFlags> f) {
  auto* show = signals.add_subcommand(
      "show",
      "a topic with its evidence table (as `topics show`); with --evidence "
      "(or given a signal id) one evidence item with its history");
  show->add_option("--trial", f->trial, "trial id")->required();
  show->add_option("ID", f->id,
                   "topic id (OVERALL~any_sae, PT~SOC~PT, SOC~SOC) or signal "
                   "id (METHOD~TOPIC~GROUP~TIMEPOINT), or its name");
  show->add_option("--topic", f->topic, "the topic id, as an option");
  show->add_flag("--evidence", f->evidence,
                 "ID is an evidence item (signal id)");
  show->add_option("--signal", f->signal,
                   "a signal id, as an option (same as --evidence ID)");
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
  // 0 or less would mean "no limit": refused rather than read so.
  watch
      ->add_option("--seconds", f->seconds,
                   "stop after this long (default: until interrupted)")
      ->check(CLI::PositiveNumber);
  watch
      ->add_option("--max-changes", f->max_changes,
                   "stop after this many changes")
      ->check(CLI::PositiveNumber);
  watch->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(watch, ctx, [&ctx, f] { return SignalsWatch(ctx, *f); });
}

void AddTriage(CLI::App& signals, CommandContext& ctx,
               std::shared_ptr<SignalFlags> f) {
  auto* triage = signals.add_subcommand(
      "triage",
      "move a topic (TriageTopic, as `topics triage`) or, given a signal id, "
      "one evidence item (TriageSignal) through its lifecycle (EMA GVP "
      "Module IX)");
  triage->add_option("--trial", f->trial, "trial id")->required();
  triage->add_option("ID", f->id, "topic id or signal id, or its name");
  triage->add_option("--topic", f->topic, "the topic id, as an option");
  triage->add_flag("--evidence", f->evidence,
                   "ID is an evidence item (signal id)");
  triage->add_option("--signal", f->signal,
                     "a signal id, as an option (same as --evidence ID)");
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
  auto* signals = app.add_subcommand(
      "signals",
      "safety signals: topics (one per term row, ranked) and their evidence "
      "items");
  signals->require_subcommand(1);
  auto flags = std::make_shared<SignalFlags>();
  AddList(*signals, ctx, flags);
  AddShow(*signals, ctx, flags);
  AddWatch(*signals, ctx, flags);
  AddTriage(*signals, ctx, flags);
  // After the subcommands, which would inherit it.
  signals->footer(
      "Ids: a topic is a term row (OVERALL~any_sae, PT~SOC~PT, SOC~SOC); an "
      "evidence item (signal) is METHOD~TOPIC~GROUP~TIMEPOINT "
      "(BINOMIAL~OVERALL~any_sae~D100M~M6).\n"
      "  signals list                             topics, ranked, with why\n"
      "  signals show TOPIC                       a topic with its evidence "
      "table\n"
      "  signals triage TOPIC --status S ...      triage a topic\n"
      "  signals list --evidence [--topic TOPIC]  evidence items, newest "
      "first\n"
      "  signals show --evidence SIGNAL           one item with its history\n"
      "  signals triage --evidence SIGNAL ...     triage one item");
}

}  // namespace aesignal::cli
