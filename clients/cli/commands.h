// The `aesignal` command groups. Each Add*Commands() adds one top-level
// command and its subcommands to `app`; parsing one of them sets ctx.action
// (see command_context.h). `ctx` must outlive `app`. RunCli (cli.cc) adds
// them in the order `aesignal --help` lists them.
//
// The other groups live beside their code: `import` in
// import/import_command.h, the offline `stats` calculator in stats_command.h.
#ifndef AESIGNAL_CLIENTS_CLI_COMMANDS_H_
#define AESIGNAL_CLIENTS_CLI_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "clients/cli/command_context.h"

namespace aesignal::cli {

// trial create|get|list|amend (trial_commands.cc)
void AddTrialCommands(CLI::App& app, CommandContext& ctx);
// subjects enroll|list|show (subjects_commands.cc)
void AddSubjectsCommands(CLI::App& app, CommandContext& ctx);
// reports submit|list|show (reports_commands.cc)
void AddReportsCommands(CLI::App& app, CommandContext& ctx);
// incidence (incidence_commands.cc)
void AddIncidenceCommand(CLI::App& app, CommandContext& ctx);
// baselines load|list|show (baselines_commands.cc)
void AddBaselinesCommands(CLI::App& app, CommandContext& ctx);
// signals list|show|watch|triage (signals_commands.cc): topics, ranked, and
// with --evidence their evidence items; list, show and triage of topics are
// shared with `topics` (topic_printing.h)
void AddSignalsCommands(CLI::App& app, CommandContext& ctx);
// topics list|show|triage (topics_commands.cc)
void AddTopicsCommands(CLI::App& app, CommandContext& ctx);
// audit list (audit_commands.cc)
void AddAuditCommands(CLI::App& app, CommandContext& ctx);
// report [verify] (report_command.cc): the DSMB report
void AddReportCommand(CLI::App& app, CommandContext& ctx);
// health (admin_commands.cc)
void AddHealthCommand(CLI::App& app, CommandContext& ctx);
// admin backup|verify|new-token (admin_commands.cc)
void AddAdminCommands(CLI::App& app, CommandContext& ctx);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_COMMANDS_H_
