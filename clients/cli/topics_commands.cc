// `aesignal topics list|show|triage`: signal topics, one per term row, the
// unit a DSMB reviews (docs/api.md, "Signal topics").
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/commands.h"

namespace aesignal::cli {
namespace {

struct TopicFlags {
  std::string trial;
  std::string topic;
  std::string status;
  std::string term;
  bool crossing_only = false;
  std::string comment;
  std::string display_name;
  std::string request_id;
  std::string format = "table";
};

std::string StatusWord(v1::SignalStatus s) {
  return EnumWord(v1::SignalStatus_descriptor(), s, "SIGNAL_STATUS_");
}

// "validated", "under-assessment", ... -> the enum; false if unknown.
bool ParseStatus(const std::string& text, v1::SignalStatus* status) {
  std::string name = absl::AsciiStrToUpper(text);
  for (char& c : name) c = (c == '-' || c == ' ') ? '_' : c;
  const auto* value =
      v1::SignalStatus_descriptor()->FindValueByName("SIGNAL_STATUS_" + name);
  if (value == nullptr || value->number() == 0) return false;
  *status = static_cast<v1::SignalStatus>(value->number());
  return true;
}

std::string TopicName(const std::string& trial, const std::string& topic) {
  if (absl::StartsWith(topic, "trials/")) return topic;
  return absl::StrCat("trials/", trial, "/topics/", topic);
}

int TopicsList(CommandContext& ctx, const TopicFlags& f) {
  v1::ListTopicsRequest request;
  request.set_parent(absl::StrCat("trials/", f.trial));
  request.set_term(f.term);
  request.set_crossing_only(f.crossing_only);
  if (!f.status.empty()) {
    v1::SignalStatus status;
    if (!ParseStatus(f.status, &status)) {
      ctx.io.err << "--status: '" << f.status << "' is not a signal status\n";
      return kExitUsage;
    }
    request.set_status(status);
  }
  auto topics = ctx.MakeClient().ListAllTopics(request);
  if (!topics.ok()) {
    PrintStatus(ctx.io.err, topics.status());
    return kExitFailed;
  }
  if (f.format == "json") {
    v1::ListTopicsResponse all;
    for (auto& t : *topics) *all.add_topics() = t;
    ctx.io.out << JsonOf(all) << "\n";
    return kExitOk;
  }
  if (topics->empty()) {
    ctx.io.out << "no signal topics\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"rank", "topic", "status", "strength", "evidence", "why"}};
  for (size_t i = 0; i < topics->size(); ++i) {
    const v1::SignalTopic& t = (*topics)[i];
    rows.push_back(
        {absl::StrCat(i + 1), t.topic_id(), StatusWord(t.status()),
         absl::StrFormat("%.2f", t.strength()),
         absl::StrCat(t.crossing_count(), "/", t.evidence_count(), " crossing"),
         t.summary()});
  }
  PrintColumns(ctx.io.out, rows);
  return kExitOk;
}

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
    out << "    " << ShortTime(e.time()) << "  "
        << (e.kind() == v1::SignalEvent::KIND_TRIAGED
                ? absl::StrCat("triaged by ", e.actor(), ": ",
                               StatusWord(e.from_status()), " -> ",
                               StatusWord(e.to_status()), ": ", e.comment())
                : "raised")
        << "\n";
  }
}

int TopicsShow(CommandContext& ctx, const TopicFlags& f) {
  auto topic = ctx.MakeClient().GetTopic(TopicName(f.trial, f.topic));
  if (!topic.ok()) {
    PrintStatus(ctx.io.err, topic.status());
    return kExitFailed;
  }
  if (f.format == "json") {
    ctx.io.out << JsonOf(*topic) << "\n";
  } else {
    PrintTopic(*topic, ctx.io.out);
  }
  return kExitOk;
}

int TopicsTriage(CommandContext& ctx, const TopicFlags& f) {
  v1::SignalStatus status;
  if (!ParseStatus(f.status, &status)) {
    ctx.io.err << "--status: '" << f.status << "' is not a signal status\n";
    return kExitUsage;
  }
  const std::string request_id =
      f.request_id.empty() ? client::NewRequestId() : f.request_id;
  auto topic =
      ctx.MakeClient().TriageTopic(TopicName(f.trial, f.topic), status,
                                   f.comment, f.display_name, request_id);
  if (!topic.ok()) {
    PrintStatus(ctx.io.err, topic.status());
    return kExitFailed;
  }
  ctx.io.out << "topic " << topic->topic_id() << " is now "
             << StatusWord(topic->status()) << "\n";
  return kExitOk;
}

void AddTopicSubcommands(CLI::App& topics, CommandContext& ctx,
                         std::shared_ptr<TopicFlags> f) {
  auto* list = topics.add_subcommand("list", "signal topics, ranked");
  list->add_option("--trial", f->trial, "trial id")->required();
  list->add_option("--status", f->status, "new, validated, ...");
  list->add_option("--term", f->term, "PT, SOC or overall key");
  list->add_flag("--crossing", f->crossing_only, "only topics crossing now");
  list->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx, [&ctx, f] { return TopicsList(ctx, *f); });

  auto* show = topics.add_subcommand("show", "a topic with its evidence");
  show->add_option("--trial", f->trial, "trial id")->required();
  show->add_option("--topic", f->topic, "topic id or name")->required();
  show->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(show, ctx, [&ctx, f] { return TopicsShow(ctx, *f); });

  auto* triage = topics.add_subcommand(
      "triage", "move a topic through its lifecycle (EMA GVP Module IX)");
  triage->add_option("--trial", f->trial, "trial id")->required();
  triage->add_option("--topic", f->topic, "topic id or name")->required();
  triage->add_option("--status", f->status, "validated, refuted, ...")
      ->required();
  triage->add_option("--comment", f->comment, "why (required)")->required();
  triage->add_option("--display-name", f->display_name,
                     "a name shown beside your principal");
  triage->add_option("--request-id", f->request_id,
                     "retry a triage whose answer was lost");
  SetAction(triage, ctx, [&ctx, f] { return TopicsTriage(ctx, *f); });
}

}  // namespace

void AddTopicsCommands(CLI::App& app, CommandContext& ctx) {
  auto* topics =
      app.add_subcommand("topics", "signal topics: one per term, ranked");
  topics->require_subcommand(1);
  AddTopicSubcommands(*topics, ctx, std::make_shared<TopicFlags>());
}

}  // namespace aesignal::cli
