#include "services/server/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace aesignal {

std::set<std::string> ExplicitFlags(int argc, char** argv) {
  std::set<std::string> names;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.empty() || arg[0] != '-') continue;
    arg.erase(0, arg.find_first_not_of('-'));
    std::string name = arg.substr(0, arg.find('='));
    names.insert(name);
    if (name.rfind("no", 0) == 0) names.insert(name.substr(2));
  }
  return names;
}

absl::Status CheckFlagsAreDefined(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.empty() || arg[0] != '-') continue;
    arg.remove_prefix(std::min(arg.find_first_not_of('-'), arg.size()));
    const absl::string_view name = arg.substr(0, arg.find('='));
    // Abseil's usage flags are handled by its parser, not registered.
    static constexpr absl::string_view kUsageFlags[] = {
        "help",   "helpfull",  "helpshort", "helppackage",
        "helpon", "helpmatch", "version",   "only_check_args"};
    if (absl::c_linear_search(kUsageFlags, name) ||
        absl::FindCommandLineFlag(name) != nullptr) {
      continue;
    }
    if (absl::ConsumePrefix(&arg, "no")) {
      const absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(arg.substr(0, arg.find('=')));
      if (negated != nullptr && negated->IsOfType<bool>()) continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown flag '", argv[i], "' (--help lists the flags)"));
  }
  return absl::OkStatus();
}

absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& keep) {
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not a config file"));
  }
  if (std::error_code ec; !std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not readable YAML: ", e.what()));
  }
  // An empty file (or a bare `~`) is refused, not read as "all defaults": a
  // truncated or wrongly mounted config would otherwise start the server on
  // loopback with a new, empty store in ./var/aesignal.
  if (root.IsNull()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": has no keys (an empty config would start the server on "
                     "every default, with a new store in ./var/aesignal)"));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": must be a mapping of flag names to values"));
  }
  std::set<std::string> seen;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(key);
    if (flag == nullptr || key == "config") {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": unknown key '", key, "' (keys are aesignald's flag names)"));
    }
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": key '", key, "' appears twice"));
    }
    if (keep.count(key)) continue;  // the command line wins
    std::string value;
    if (entry.second.IsSequence()) {
      std::vector<std::string> items;
      for (const auto& item : entry.second)
        items.push_back(item.as<std::string>());
      value = absl::StrJoin(items, ",");
    } else if (entry.second.IsScalar()) {
      value = entry.second.as<std::string>();
    } else if (!entry.second.IsNull()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": key '", key, "' must be a scalar or a list"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": key '", key, "': ", error));
    }
  }
  return absl::OkStatus();
}

namespace {

// Whether two hosts listening on one port would ask for one socket: the
// same spelling, either listening on every address (0.0.0.0 or [::], which
// on Linux also takes IPv4), or `localhost` (both loopbacks) against a
// loopback address. Other names are compared as written: resolving them
// here could disagree with the resolver gRPC and Beast use at bind time.
bool HostsOverlap(absl::string_view a, absl::string_view b) {
  const auto is_any = [](absl::string_view h) {
    return h == "0.0.0.0" || h == "[::]";
  };
  const auto loopback = [](absl::string_view h) {
    return absl::EqualsIgnoreCase(h, "localhost") || h == "127.0.0.1" ||
           h == "[::1]";
  };
  if (absl::EqualsIgnoreCase(a, b) || is_any(a) || is_any(b)) return true;
  return loopback(a) && loopback(b) &&
         (absl::EqualsIgnoreCase(a, "localhost") ||
          absl::EqualsIgnoreCase(b, "localhost"));
}

}  // namespace

absl::Status CheckListenAddresses(const std::vector<ListenFlag>& listeners) {
  struct Taken {
    std::string name, host;
    int port;
  };
  std::vector<Taken> taken;
  for (const ListenFlag& flag : listeners) {
    if (flag.value.empty()) continue;
    const size_t colon = flag.value.rfind(':');
    const std::string host =
        colon == std::string::npos ? "" : flag.value.substr(0, colon);
    int port = -1;
    if (host.empty() ||
        !absl::SimpleAtoi(flag.value.substr(colon + 1), &port) || port < 0 ||
        port > 65535 ||
        flag.value.substr(colon + 1).find_first_not_of("0123456789") !=
            std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag.name, " (config key '", flag.name, "'): '", flag.value,
          "' is not HOST:PORT with a port of 0-65535"));
    }
    // Port 0 picks a free port each time; any other address is one socket,
    // which the kernel would refuse to the second listener as "in use", an
    // error that may pass (exit 1) where this one cannot.
    if (port == 0) continue;
    for (const Taken& other : taken) {
      if (other.port != port || !HostsOverlap(other.host, host)) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag.name, " (config key '", flag.name, "'): ", flag.value,
          other.host == host
              ? " is already the address of another listener"
              : absl::StrCat(" overlaps --", other.name, "'s ", other.host, ":",
                             port, " (the same port on the same ",
                             "addresses)")));
    }
    taken.push_back({flag.name, host, port});
  }
  return absl::OkStatus();
}

absl::Status CheckRange(const std::string& name, int64_t value, int64_t min,
                        int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", name, " (config key '",
                                                 name, "'): ", value,
                                                 " is not in ", min, "-", max));
}

}  // namespace aesignal
