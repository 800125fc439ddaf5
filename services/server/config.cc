#include "services/server/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/errors/errors.h"

namespace aesignal {

namespace {

// One flag argument of the command line, or one line of a --flagfile:
// `--name`, `--name=value`, `-name` (Abseil takes one dash or two).
struct FlagArg {
  std::string name;    // without the dashes, up to any '='
  std::string value;   // after '=', or the separate argument that followed
  std::string text;    // as written (for messages)
  std::string origin;  // "FILE:LINE" of a --flagfile's line, else empty
};

constexpr int kMaxFlagfileDepth = 10;

// The flags Abseil's parser defines for itself (all take a value). They are
// registered only where the parser is linked, so they are named here.
constexpr absl::string_view kParserFlags[] = {"flagfile", "fromenv",
                                              "tryfromenv", "undefok"};

// Whether `name`'s value may be the next argument (`--name value`).
bool TakesSeparateValue(absl::string_view name) {
  if (absl::c_linear_search(kParserFlags, name)) return true;
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && !flag->IsOfType<bool>();
}

absl::Status AddFlagfiles(absl::string_view paths, int depth,
                          std::vector<FlagArg>& flags);

// Adds one argument's flag to `flags`, expanding a --flagfile as Abseil's
// parser does.
absl::Status AddFlag(absl::string_view arg, absl::string_view text,
                     std::string origin, int depth,
                     std::vector<FlagArg>& flags) {
  arg.remove_prefix(std::min(arg.find_first_not_of('-'), arg.size()));
  const size_t equals = arg.find('=');
  FlagArg flag{std::string(arg.substr(0, equals)),
               equals == absl::string_view::npos
                   ? std::string()
                   : std::string(arg.substr(equals + 1)),
               std::string(text), std::move(origin)};
  flags.push_back(flag);
  if (flag.name == "flagfile") return AddFlagfiles(flag.value, depth, flags);
  return absl::OkStatus();
}

// The flags of the files named by a --flagfile (comma-separated): one
// argument per line; blank lines and lines starting with '#' skipped.
absl::Status AddFlagfiles(absl::string_view paths, int depth,
                          std::vector<FlagArg>& flags) {
  if (depth >= kMaxFlagfileDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--flagfile nested more than ", kMaxFlagfileDepth, " deep"));
  }
  for (absl::string_view path : absl::StrSplit(paths, ',', absl::SkipEmpty())) {
    std::ifstream in{std::string(path)};
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--flagfile ", path, ": cannot be read"));
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const absl::string_view arg = absl::StripAsciiWhitespace(line);
      if (arg.empty() || arg[0] == '#') continue;
      std::string origin = absl::StrCat(path, ":", number);
      if (arg[0] != '-') {
        return absl::InvalidArgumentError(
            absl::StrCat("--flagfile ", origin, ": '", arg, "' is not a flag"));
      }
      AESIGNAL_RETURN_IF_ERROR(
          AddFlag(arg, arg, std::move(origin), depth + 1, flags));
    }
  }
  return absl::OkStatus();
}

// The flag arguments of argv, in order, up to `--`, with the flags of any
// --flagfile in its place. The separate value of a defined non-bool flag is
// its value, not taken for a flag, whatever it starts with
// (`--drain_seconds -1`).
absl::StatusOr<std::vector<FlagArg>> FlagArgs(int argc, char** argv) {
  std::vector<FlagArg> flags;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.empty() || arg[0] != '-') continue;
    const absl::string_view name =
        arg.substr(std::min(arg.find_first_not_of('-'), arg.size()));
    if (name.find('=') == absl::string_view::npos && TakesSeparateValue(name) &&
        i + 1 < argc) {
      // Joined as Abseil reads it, so a --flagfile's is expanded too.
      AESIGNAL_RETURN_IF_ERROR(
          AddFlag(absl::StrCat(arg, "=", argv[i + 1]), arg, "", 0, flags));
      ++i;
      continue;
    }
    AESIGNAL_RETURN_IF_ERROR(AddFlag(arg, arg, "", 0, flags));
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
  // CheckFlagsAreDefined reported any error before the flags were parsed.
  auto flags = FlagArgs(argc, argv);
  if (!flags.ok()) return names;
  for (const FlagArg& arg : *flags) {
    names.insert(arg.name);
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
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<FlagArg> flags, FlagArgs(argc, argv));
  // --undefok=a,b: Abseil ignores those flags if undefined.
  std::set<std::string, std::less<>> undefined_ok;
  for (const FlagArg& arg : flags) {
    if (arg.name != "undefok") continue;
    for (absl::string_view name : absl::StrSplit(arg.value, ',')) {
      undefined_ok.emplace(name);
    }
  }
  for (const FlagArg& arg : flags) {
    if (absl::c_linear_search(kUsageFlags, arg.name) ||
        absl::c_linear_search(kParserFlags, arg.name) ||
        absl::FindCommandLineFlag(arg.name) != nullptr ||
        NegatedBool(arg.name) != nullptr || undefined_ok.contains(arg.name) ||
        (absl::StartsWith(arg.name, "no") &&
         undefined_ok.contains(absl::string_view(arg.name).substr(2)))) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown flag '", arg.text, "'", arg.origin.empty() ? "" : " at ",
        arg.origin, " (--help lists the flags)"));
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
