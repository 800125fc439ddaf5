// Configuration files for aesignald: a YAML mapping whose keys are the
// command-line flag names (`listen: 127.0.0.1:50051`, `data_dir: /var/...`).
// Every flag can be set in the file; a flag given on the command line wins.
#ifndef AESIGNAL_SERVICES_SERVER_CONFIG_H_
#define AESIGNAL_SERVICES_SERVER_CONFIG_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace aesignal {

// Checks the command line before Abseil's parser reads it, and returns the
// names of the flags it sets explicitly (--name=value, --name value,
// --noname, those of its --flagfile files and those --fromenv/--tryfromenv
// take from the environment), which a configuration file must not override.
// INVALID_ARGUMENT naming the first argument that is not a defined flag (or a
// flagfile's line, or FLAGS_<name>), or a flagfile that cannot be read.
// Abseil's own parser exits 1 on those, which a supervisor reads as "may
// pass, restart"; checked first, they are configuration errors (exit 2)
// like the others.
absl::StatusOr<std::set<std::string>> CheckCommandLineFlags(int argc,
                                                            char** argv);

// Sets every registered absl flag named by a top-level key of the YAML file
// at `path`, except those in `keep` (explicit on the command line). Scalar
// values are parsed as the flag's type; a sequence becomes a comma-separated
// list. Errors name the file and the key: an unknown key, a value the flag
// rejects, or a file that is not a YAML mapping.
absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& keep);

// A listener's flag and its value, e.g. {"http_listen", "127.0.0.1:8080"}.
struct ListenFlag {
  std::string name;
  std::string value;  // empty: the listener is off
};

// Each value must be HOST:PORT with a port of 0-65535 (0 picks a free one)
// and no two listeners may share an address: a port beyond 65535 wrapped
// around, a missing port became 443, and a second server on a port was let
// in beside the first. INVALID_ARGUMENT naming the flag (the config key).
absl::Status CheckListenAddresses(const std::vector<ListenFlag>& listeners);

// `value` must lie in [min, max]; INVALID_ARGUMENT naming the flag.
absl::Status CheckRange(const std::string& name, int64_t value, int64_t min,
                        int64_t max);

}  // namespace aesignal

#endif  // AESIGNAL_SERVICES_SERVER_CONFIG_H_
