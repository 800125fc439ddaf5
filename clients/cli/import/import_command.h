// `aesignal import adam|sdtm`: reads CDISC datasets (CSV or SAS transport),
// maps them (adam_mapping.h) and loads them through the SDK: CreateTrial,
// EnrollSubjects, then the reports over the CLI's streaming driver
// (clients/cli/report_upload.h). See docs/import.md.
//
// Thread-compatible: the commands run on the CLI's thread.
#ifndef AESIGNAL_CLIENTS_CLI_IMPORT_IMPORT_COMMAND_H_
#define AESIGNAL_CLIENTS_CLI_IMPORT_IMPORT_COMMAND_H_

#include "CLI/CLI.hpp"
#include "clients/cli/command_context.h"

namespace aesignal::cli {

// Adds `import adam` and `import sdtm` to `app`; when one of them is parsed it
// becomes ctx.action (see command_context.h). `ctx` must outlive `app`.
void AddImportCommands(CLI::App& app, CommandContext& ctx);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_IMPORT_IMPORT_COMMAND_H_
