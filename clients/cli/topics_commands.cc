// `aesignal topics list|show|triage`: signal topics, one per term row, the
// unit a DSMB reviews (docs/api.md, "Signal topics"). `signals list|show|
// triage` show the same topics the same way (topic_printing.h).
#include <memory>
#include <string>

#include "clients/cli/commands.h"
#include "clients/cli/topic_printing.h"

namespace aesignal::cli {
namespace {

struct TopicFlags {
  TopicListOptions list;
  TriageOptions triage;  // .id is the --topic of show and triage
  std::string format = "table";
};

// The topic of `show` and `triage`: TOPIC or --topic TOPIC, as `signals
// show|triage` take it.
void AddTopicId(CLI::App* command, std::string* id) {
  auto* positional = command->add_option("topic", *id, "topic id or name");
  command->add_option("--topic", *id, "the topic, as an option")
      ->excludes(positional);
}

// False after printing a usage error when no topic was given.
bool HasTopic(CommandContext& ctx, const std::string& id) {
  if (!id.empty()) return true;
  ctx.io.err << "a topic is required: TOPIC or --topic TOPIC (aesignal "
                "topics list names them)\n";
  return false;
}

void AddTopicSubcommands(CLI::App& topics, CommandContext& ctx,
                         std::shared_ptr<TopicFlags> f) {
  auto* list = topics.add_subcommand("list", "signal topics, ranked");
  list->add_option("--trial", f->list.trial, "trial id")->required();
  list->add_option("--status", f->list.status, "new, validated, ...");
  list->add_option("--term", f->list.term, "PT, SOC or overall key");
  list->add_flag("--crossing", f->list.crossing_only,
                 "only topics crossing now");
  list->add_option("--as-of", f->list.as_of,
                   "data cut-off (RFC 3339): the topics as they stood then");
  list->add_option("--format", f->list.format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(list, ctx, [&ctx, f] {
    TopicListOptions options = f->list;
    options.show_hint =
        "aesignal topics show --trial " + options.trial + " --topic TOPIC";
    return RunListTopics(ctx, options);
  });

  auto* show = topics.add_subcommand("show", "a topic with its evidence");
  show->add_option("--trial", f->triage.trial, "trial id")->required();
  AddTopicId(show, &f->triage.id);
  show->add_option("--format", f->format)
      ->check(CLI::IsMember({"table", "json"}));
  SetAction(show, ctx, [&ctx, f] {
    if (!HasTopic(ctx, f->triage.id)) return kExitUsage;
    return RunShowTopic(ctx, f->triage.trial, f->triage.id, f->format);
  });

  auto* triage = topics.add_subcommand(
      "triage", "move a topic through its lifecycle (EMA GVP Module IX)");
  triage->add_option("--trial", f->triage.trial, "trial id")->required();
  AddTopicId(triage, &f->triage.id);
  triage->add_option("--status", f->triage.status, "validated, refuted, ...")
      ->required();
  triage->add_option("--comment", f->triage.comment, "why (required)")
      ->required();
  triage->add_option("--display-name", f->triage.display_name,
                     "a name shown beside your principal");
  triage->add_option("--request-id", f->triage.request_id,
                     "retry a triage whose answer was lost");
  SetAction(triage, ctx, [&ctx, f] {
    if (!HasTopic(ctx, f->triage.id)) return kExitUsage;
    return RunTriageTopic(ctx, f->triage);
  });
}

}  // namespace

void AddTopicsCommands(CLI::App& app, CommandContext& ctx) {
  auto* topics =
      app.add_subcommand("topics", "signal topics: one per term, ranked");
  topics->require_subcommand(1);
  AddTopicSubcommands(*topics, ctx, std::make_shared<TopicFlags>());
}

}  // namespace aesignal::cli
