#include "clients/cli/topic_printing.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "aesignal/v1/safety_service.pb.h"
#include "aesignal/v1/signal_service.pb.h"
#include "clients/cli/csv_mapping.h"

namespace aesignal::cli {
namespace {

std::string StatusWord(v1::SignalStatus s) {
  return EnumWord(v1::SignalStatus_descriptor(), s, "SIGNAL_STATUS_");
}

}  // namespace

bool ParseSignalStatus(CommandContext& ctx, const std::string& text,
                       v1::SignalStatus* status) {
  std::string name = absl::AsciiStrToUpper(text);
  for (char& c : name) c = (c == '-' || c == ' ') ? '_' : c;
  const auto* type = v1::SignalStatus_descriptor();
  const auto* value = type->FindValueByName("SIGNAL_STATUS_" + name);
  if (value == nullptr) value = type->FindValueByName(name);
  if (value == nullptr || value->number() == 0) {
    ctx.io.err << "--status: '" << text
               << "' is not one of: " << EnumChoices(type) << "\n";
    return false;
  }
  *status = static_cast<v1::SignalStatus>(value->number());
  return true;
}

IdKind KindOfId(const std::string& id) {
  if (absl::StartsWith(id, "trials/")) {
    const std::vector<absl::string_view> parts = absl::StrSplit(id, '/');
    return parts.size() >= 3 && parts[2] == "topics" ? IdKind::kTopic
                                                     : IdKind::kSignal;
  }
  // A topic id starts with its term level (TermLevel without its prefix).
  const std::string first(id.substr(0, id.find('~')));
  const auto* level = v1::TermLevel_descriptor()->FindValueByName(
      absl::StrCat("TERM_LEVEL_", first));
  return level != nullptr && level->number() != 0 ? IdKind::kTopic
                                                  : IdKind::kSignal;
}

std::string TopicOfSignalId(const std::string& signal_id) {
  // METHOD~TERM...~GROUP~TIMEPOINT, TERM being the topic id.
  const std::vector<absl::string_view> parts = absl::StrSplit(signal_id, '~');
  if (parts.size() < 5) return "";
  return absl::StrJoin(parts.begin() + 1, parts.end() - 2, "~");
}

std::string TopicName(const std::string& trial, const std::string& topic) {
  if (absl::StartsWith(topic, "trials/")) return topic;
  return absl::StrCat("trials/", trial, "/topics/", topic);
}

void WriteTopicsTable(const std::vector<v1::SignalTopic>& topics,
                      const std::string& show_hint, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"rank", "topic", "status", "strength", "evidence", "why"}};
  for (size_t i = 0; i < topics.size(); ++i) {
    const v1::SignalTopic& t = topics[i];
    rows.push_back(
        {absl::StrCat(i + 1), t.topic_id(), StatusWord(t.status()),
         absl::StrFormat("%.2f", t.strength()),
         absl::StrCat(t.crossing_count(), "/", t.evidence_count(), " crossing"),
         t.summary()});
  }
  PrintColumns(out, rows);
  out << topics.size() << " topic(s), ranked";
  if (!show_hint.empty()) out << "; one with its evidence: " << show_hint;
  out << "\n";
}

// What an evaluation followed: "report R v1", "subject.correct of
// trials/T/subjects/S v2", or both joined by "and"; "a re-evaluation" when
// it names neither (a recount, an upgrade, a signal stored before changes
// were named).
std::string CauseText(const std::string& report_id, uint32_t report_version,
                      const v1::ChangeRef* change) {
  std::vector<std::string> parts;
  if (!report_id.empty()) {
    parts.push_back(absl::StrCat("report ", report_id, " v", report_version));
  }
  if (change != nullptr) {
    parts.push_back(absl::StrCat(change->action(), " of ", change->name(), " v",
                                 change->version()));
  }
  return parts.empty() ? "a re-evaluation" : absl::StrJoin(parts, " and ");
}

namespace {

// One event of a topic's history, as `topics show` prints it.
std::string TopicEventText(const v1::SignalEvent& e) {
  const v1::ChangeRef* change =
      e.evidence().has_change() ? &e.evidence().change() : nullptr;
  const std::string cause = CauseText(e.evidence().report_id(),
                                      e.evidence().report_version(), change);
  switch (e.kind()) {
    case v1::SignalEvent::KIND_TRIAGED:
      return absl::StrCat("triaged by ", e.actor(), ": ",
                          StatusWord(e.from_status()), " -> ",
                          StatusWord(e.to_status()), ": ", e.comment());
    case v1::SignalEvent::KIND_STOPPED_CROSSING:
      return absl::StrCat("stopped crossing, after ", cause);
    case v1::SignalEvent::KIND_CROSSING_AGAIN:
      return absl::StrCat("crossing again, after ", cause);
    default:
      return e.has_evidence() ? absl::StrCat("raised, by ", cause) : "raised";
  }
}

}  // namespace

void PrintTopic(const v1::SignalTopic& t, std::ostream& out) {
  out << "topic " << t.topic_id() << " (" << t.label() << ")\n"
      << "  status:   " << StatusWord(t.status()) << "\n"
      << "  strength: " << absl::StrFormat("%.2f", t.strength())
      << (t.crossing() ? "" : " (no longer crossing)") << "\n"
      << "  why:      " << t.summary() << "\n  evidence:\n";
  std::vector<std::vector<std::string>> rows = {
      {"signal", "crosses", "x/N", "summary"}};
  for (const v1::Signal& s : t.evidence()) {
    rows.push_back(
        {s.signal_id(), s.evidence().crosses() ? "yes" : "no",
         absl::StrCat(s.evidence().subjects(), "/", s.evidence().denominator()),
         s.evidence().summary()});
  }
  PrintColumns(out, rows);
  out << "  history:\n";
  for (const v1::SignalEvent& e : t.history()) {
    out << "    " << ShortTime(e.time()) << "  " << TopicEventText(e) << "\n";
  }
}

std::string PendingEvaluationNote(int rows_pending) {
  return absl::StrCat(
      "note: ", rows_pending, " term row", rows_pending == 1 ? "" : "s",
      " changed since the signals were last evaluated; the topics may not ",
      "yet include the latest reports (evaluation runs within seconds: ",
      "list again)\n");
}

int RunListTopics(CommandContext& ctx, const TopicListOptions& options) {
  v1::ListTopicsRequest request;
  request.set_parent(absl::StrCat("trials/", options.trial));
  request.set_term(options.term);
  request.set_crossing_only(options.crossing_only);
  if (!options.as_of.empty() &&
      !ParseTimeFlag(ctx, "--as-of", options.as_of, request.mutable_as_of())) {
    return kExitUsage;
  }
  if (!options.status.empty()) {
    v1::SignalStatus status;
    if (!ParseSignalStatus(ctx, options.status, &status)) return kExitUsage;
    request.set_status(status);
  }
  int pending = 0;
  auto topics = ctx.MakeClient().ListAllTopics(request, &pending);
  if (!topics.ok()) {
    PrintStatus(ctx.io.err, topics.status());
    return kExitFailed;
  }
  if (options.format == "json") {
    v1::ListTopicsResponse all;
    for (auto& t : *topics) *all.add_topics() = t;
    all.set_total_size(all.topics_size());
    all.set_rows_pending_evaluation(pending);
    ctx.io.out << JsonOf(all) << "\n";
    return kExitOk;
  }
  if (topics->empty()) {
    ctx.io.out << "no signal topics\n";
  } else {
    WriteTopicsTable(*topics, options.show_hint, ctx.io.out);
  }
  if (pending > 0) ctx.io.err << PendingEvaluationNote(pending);
  return kExitOk;
}

int RunShowTopic(CommandContext& ctx, const std::string& trial,
                 const std::string& topic, const std::string& format) {
  auto got = ctx.MakeClient().GetTopic(TopicName(trial, topic));
  if (!got.ok()) {
    PrintStatus(ctx.io.err, got.status());
    return kExitFailed;
  }
  if (format == "json") {
    ctx.io.out << JsonOf(*got) << "\n";
  } else {
    PrintTopic(*got, ctx.io.out);
  }
  return kExitOk;
}

void PrintTriageFailure(CommandContext& ctx, const absl::Status& status,
                        const std::string& request_id) {
  PrintStatus(ctx.io.err, status);
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    ctx.io.err << "the triage may have been applied; repeat the command "
                  "with --request-id "
               << request_id << " to retry it safely\n";
  }
}

int RunTriageTopic(CommandContext& ctx, const TriageOptions& options) {
  v1::SignalStatus status;
  if (!ParseSignalStatus(ctx, options.status, &status)) return kExitUsage;
  // One id for every attempt: the SDK retries a triage safely with it, and
  // so can the user by passing it back after an unanswered call.
  const std::string request_id =
      options.request_id.empty() ? client::NewRequestId() : options.request_id;
  auto topic = ctx.MakeClient().TriageTopic(
      TopicName(options.trial, options.id), status, options.comment,
      options.display_name, request_id);
  if (!topic.ok()) {
    PrintTriageFailure(ctx, topic.status(), request_id);
    return kExitFailed;
  }
  ctx.io.out << "topic " << topic->topic_id() << " is now "
             << StatusWord(topic->status()) << "\n";
  return kExitOk;
}

}  // namespace aesignal::cli
