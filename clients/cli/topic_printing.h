// Signal topics as the CLI reads and prints them, shared by `topics
// list|show|triage` (topics_commands.cc) and `signals list|show|triage`
// (signals_commands.cc), which show topics unless asked for evidence items:
// both commands print the same ranked list, the same topic with its evidence
// table and the same triage result.
//
// A topic id is the term part of its signals' ids (docs/api.md, "Signal
// topics"): "OVERALL~any_sae" is the topic of the evidence item
// "BINOMIAL~OVERALL~any_sae~D100M~M6". The two kinds are told apart by the
// first segment: PT, SOC or OVERALL (a term level) for a topic, a method
// (BINOMIAL, BAYESIAN, CONTROL, TREND, OVERTIME, MAXSPRT) for a signal.
#ifndef AESIGNAL_CLIENTS_CLI_TOPIC_PRINTING_H_
#define AESIGNAL_CLIENTS_CLI_TOPIC_PRINTING_H_

#include <ostream>
#include <string>
#include <vector>

#include "aesignal/v1/signal.pb.h"
#include "clients/cli/command_context.h"

namespace aesignal::cli {

// "validated", "Under-Assessment", "SIGNAL_STATUS_CLOSED", ... -> the
// status; false (after printing the accepted values to ctx.io.err) if it is
// none of them (as a --status error).
bool ParseSignalStatus(CommandContext& ctx, const std::string& text,
                       v1::SignalStatus* status);

// What an id given on the command line names.
enum class IdKind { kTopic, kSignal };
// A topic id or name ("OVERALL~any_sae", "trials/T/topics/...") is kTopic;
// anything else (a signal id or name) is kSignal.
IdKind KindOfId(const std::string& id);
// The topic id of a signal id ("BINOMIAL~OVERALL~any_sae~D100M~M6" ->
// "OVERALL~any_sae"); "" if it has too few segments.
std::string TopicOfSignalId(const std::string& signal_id);
// `trials/{trial}/topics/{topic}` (a name is kept as it is).
std::string TopicName(const std::string& trial, const std::string& topic);

// The ranked list: `rank topic status strength evidence why`, one row per
// topic in the order given (ListTopics': crossing first, then by strength),
// then "N topic(s), ranked; one with its evidence: SHOW_HINT".
void WriteTopicsTable(const std::vector<v1::SignalTopic>& topics,
                      const std::string& show_hint, std::ostream& out);
// What an evaluation followed: "report R v1", "subject.correct of
// trials/T/subjects/S v2", or both joined by "and"; "a re-evaluation" when
// it names neither (a recount, an upgrade, a signal stored before changes
// were named). `change` may be null.
std::string CauseText(const std::string& report_id, uint32_t report_version,
                      const v1::ChangeRef* change);

// One topic: status, strength, why, its evidence table (signal, crosses,
// x/N, summary; strongest first) and its history (raised, triaged, stopped
// crossing and crossing again, each with what it followed).
void PrintTopic(const v1::SignalTopic& topic, std::ostream& out);

// The ListTopics filters and output of `topics list` / `signals list`.
struct TopicListOptions {
  std::string trial;
  std::string status;
  std::string term;
  bool crossing_only = false;
  std::string as_of = {};        // RFC 3339 data cut-off; empty: current topics
  std::string format = "table";  // or "json"
  // How to show one, e.g. "aesignal topics show --trial T --topic ID".
  std::string show_hint;
};
// The line printed (to stderr) under a listing when rows of the trial await
// signal evaluation.
std::string PendingEvaluationNote(int rows_pending);
// Lists every page of the trial's topics and prints them (table or
// ListTopicsResponse JSON; a PendingEvaluationNote under the table);
// returns the exit code.
int RunListTopics(CommandContext& ctx, const TopicListOptions& options);

// GetTopic and print (PrintTopic or JSON); returns the exit code.
int RunShowTopic(CommandContext& ctx, const std::string& trial,
                 const std::string& topic, const std::string& format);

// A triage as the command line gives it.
struct TriageOptions {
  std::string trial;
  std::string id;  // the topic id, or its name
  std::string status;
  std::string comment;
  std::string display_name;
  std::string request_id;  // empty: a new one
};
// TriageTopic and "topic ID is now STATUS"; if the answer may be lost,
// prints the --request-id that retries it safely (PrintTriageFailure).
// Returns the exit code.
int RunTriageTopic(CommandContext& ctx, const TriageOptions& options);

// After a failed triage: the error and, when the call may have been applied
// (UNAVAILABLE, DEADLINE_EXCEEDED), how to retry it with the same id.
void PrintTriageFailure(CommandContext& ctx, const absl::Status& status,
                        const std::string& request_id);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_TOPIC_PRINTING_H_
