#include "services/server/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace aesignal {

namespace {

// One flag argument of the command line: `--name`, `--name=value`, `-name`
// (Abseil takes one dash or two).
struct FlagArg {
  absl::string_view name;  // without the dashes, up to any '='
  int index;               // in argv
};

// The flag arguments of argv, in order, up to `--`. The separate value of a
// defined non-bool flag is skipped, not taken for a flag, whatever it starts
// with (`--drain_seconds -1`).
std::vector<FlagArg> FlagArgs(int argc, char** argv) {
  std::vector<FlagArg> flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.empty() || arg[0] != '-') continue;
    arg.remove_prefix(std::min(arg.find_first_not_of('-'), arg.size()));
    const size_t equals = arg.find('=');
    flags.push_back({arg.substr(0, equals), i});
    if (equals != absl::string_view::npos) continue;
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(arg);
    if (flag != nullptr && !flag->IsOfType<bool>()) ++i;
  }
  return flags;
}

// A bool flag's `--noname` form: the flag, or null.
const absl::CommandLineFlag* NegatedBool(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "no")) return nullptr;
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->IsOfType<bool>() ? flag : nullptr;
}

}  // namespace

std::set<std::string> ExplicitFlags(int argc, char** argv) {
  std::set<std::string> names;
  for (const FlagArg& arg : FlagArgs(argc, argv)) {
    names.emplace(arg.name);
    if (const absl::CommandLineFlag* negated = NegatedBool(arg.name)) {
      names.emplace(negated->Name());
    }
  }
  return names;
}

absl::Status CheckFlagsAreDefined(int argc, char** argv) {
  // Abseil's usage flags are handled by its parser, not registered.
  static constexpr absl::string_view kUsageFlags[] = {
      "help",   "helpfull",  "helpshort", "helppackage",
      "helpon", "helpmatch", "version",   "only_check_args"};
  for (const FlagArg& arg : FlagArgs(argc, argv)) {
    if (absl::c_linear_search(kUsageFlags, arg.name) ||
        absl::FindCommandLineFlag(arg.name) != nullptr ||
        NegatedBool(arg.name) != nullptr) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown flag '", argv[arg.index], "' (--help lists the flags)"));
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

// A literal address in one spelling: IPv4 as dotted quad, IPv6 as
// inet_ntop writes it in brackets, an IPv4-mapped IPv6 address as its IPv4
// address; a name lower-cased. No DNS.
std::string CanonicalHost(absl::string_view host) {
  std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    char out[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &v4, out, sizeof out);
  }
  in6_addr v6;
  if (text.size() > 2 && text.front() == '[' && text.back() == ']' &&
      inet_pton(AF_INET6, text.substr(1, text.size() - 2).c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      char out[INET_ADDRSTRLEN];
      return inet_ntop(AF_INET, &v6.s6_addr[12], out, sizeof out);
    }
    char out[INET6_ADDRSTRLEN];
    return absl::StrCat("[", inet_ntop(AF_INET6, &v6, out, sizeof out), "]");
  }
  return absl::AsciiStrToLower(text);
}

// Whether two hosts listening on one port would ask for one socket: the
// same address however spelt, either listening on every address (0.0.0.0
// or [::], which gRPC binds on both families), or `localhost` (both
// loopbacks) against a loopback address. Other names are compared as
// written: resolving them here could disagree with the resolver gRPC and
// Beast use at bind time.
bool HostsOverlap(absl::string_view a, absl::string_view b) {
  const std::string x = CanonicalHost(a);
  const std::string y = CanonicalHost(b);
  const auto is_any = [](const std::string& h) {
    return h == "0.0.0.0" || h == "[::]";
  };
  const auto loopback = [](const std::string& h) {
    return h == "localhost" || h == "127.0.0.1" || h == "[::1]";
  };
  if (x == y || is_any(x) || is_any(y)) return true;
  return loopback(x) && loopback(y) && (x == "localhost" || y == "localhost");
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
