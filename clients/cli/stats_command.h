// `aesignal stats <method>`: the signal module's methods as an offline
// calculator for statisticians (no server). Output as a table or JSON (full
// precision, %.17g).
#ifndef AESIGNAL_CLIENTS_CLI_STATS_COMMAND_H_
#define AESIGNAL_CLIENTS_CLI_STATS_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace aesignal::cli {

// `args` are the words after "stats". Returns the exit code: 0 ok, 1 invalid
// statistical input (message names the problem), 2 usage.
int RunStatsCommand(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err);

// Adds `stats` to the `aesignal` app, for its help text only: RunCli hands
// `aesignal stats ...` to RunStatsCommand before parsing.
void AddStatsCommand(CLI::App& app);

}  // namespace aesignal::cli

#endif  // AESIGNAL_CLIENTS_CLI_STATS_COMMAND_H_
