#include "services/server/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
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
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/errors/errors.h"

namespace aesignal {

namespace {

// One argument as Abseil's parser sees it: from argv, or a line of a
// --flagfile (origin "FILE:LINE"; empty for argv).
struct RawArg {
  std::string text;
  std::string origin;
};

// One flag argument: `--name`, `--name=value`, `-name` (one dash or two).
struct FlagArg {
  std::string name;   // without the dashes, up to any '='
  std::string value;  // after '=', or the separate argument that followed
  RawArg raw;         // as written (for messages)
};

// Abseil's parser has no limit; a flagfile that names itself would loop.
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
absl::Status AddEnvironmentFlags(absl::string_view names, bool required,
                                 int depth, std::vector<FlagArg>& flags);

// Appends the flags of `args` (argv's, or a flagfile's lines) to `flags` as
// Abseil's parser reads them: up to `--` (or `--=...`); positional arguments
// and a lone `-` skipped; a defined non-bool flag without `=` takes the next
// argument as its value, whatever it starts with (`--drain_seconds -1`); a
// --flagfile's flags follow it in place.
absl::Status AddFlags(const std::vector<RawArg>& args, int depth,
                      std::vector<FlagArg>& flags) {
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i].text;
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = arg.find('=');
    if (equals == 0) break;  // `--=x`: Abseil stops reading flags here
    FlagArg flag{std::string(arg.substr(0, equals)), "", args[i]};
    if (equals != absl::string_view::npos) {
      flag.value = std::string(arg.substr(equals + 1));
    } else if (TakesSeparateValue(flag.name) && i + 1 < args.size()) {
      flag.value = args[++i].text;
    }
    const std::string name = flag.name, value = flag.value;
    flags.push_back(std::move(flag));
    if (name == "flagfile" && !value.empty()) {
      AESIGNAL_RETURN_IF_ERROR(AddFlagfiles(value, depth, flags));
    } else if (name == "fromenv" || name == "tryfromenv") {
      AESIGNAL_RETURN_IF_ERROR(
          AddEnvironmentFlags(value, name == "fromenv", depth, flags));
    }
  }
  return absl::OkStatus();
}

// The arguments of one flagfile: one per line, leading white space stripped,
// blank lines and lines starting with '#' skipped.
absl::StatusOr<std::vector<RawArg>> ReadFlagfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--flagfile '", path, "': cannot be read"));
  }
  std::vector<RawArg> args;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const absl::string_view arg = absl::StripLeadingAsciiWhitespace(line);
    if (arg.empty() || arg[0] == '#') continue;
    std::string origin = absl::StrCat(path, ":", number);
    if (arg[0] != '-' || arg == "--") {
      return absl::InvalidArgumentError(
          absl::StrCat("--flagfile ", origin, ": '", arg, "' is not a flag"));
    }
    args.push_back({std::string(arg), std::move(origin)});
  }
  return args;
}

// The flags of the files a --flagfile names (comma-separated). A file that
// is not a regular one (a pipe, `<(...)`) is left to Abseil's parser, which
// reads it once: reading it here would leave nothing for it.
absl::Status AddFlagfiles(absl::string_view paths, int depth,
                          std::vector<FlagArg>& flags) {
  if (depth >= kMaxFlagfileDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--flagfile nested more than ", kMaxFlagfileDepth, " deep"));
  }
  for (absl::string_view path : absl::StrSplit(paths, ',')) {
    const std::string file(path);
    std::error_code ec;
    if (std::filesystem::exists(file, ec) &&
        !std::filesystem::is_regular_file(file, ec)) {
      continue;
    }
    AESIGNAL_ASSIGN_OR_RETURN(std::vector<RawArg> args, ReadFlagfile(file));
    AESIGNAL_RETURN_IF_ERROR(AddFlags(args, depth + 1, flags));
  }
  return absl::OkStatus();
}

// The flags --fromenv / --tryfromenv name (comma-separated), each set from
// the environment variable FLAGS_<name> as Abseil's parser sets it: a
// missing variable is an error for --fromenv and skipped for --tryfromenv.
absl::Status AddEnvironmentFlags(absl::string_view names, bool required,
                                 int depth, std::vector<FlagArg>& flags) {
  const absl::string_view source = required ? "--fromenv" : "--tryfromenv";
  std::vector<RawArg> args;
  for (absl::string_view name : absl::StrSplit(names, ',')) {
    if (name == "fromenv" || name == "tryfromenv") {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " may not name ", name));
    }
    const std::string variable = absl::StrCat("FLAGS_", name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) {
      if (!required) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": ", variable, " is not set"));
    }
    args.push_back({absl::StrCat("--", name, "=", value), variable});
  }
  return AddFlags(args, depth + 1, flags);
}

// The flags of the command line, with each --flagfile's in its place.
absl::StatusOr<std::vector<FlagArg>> FlagArgs(int argc, char** argv) {
  std::vector<RawArg> args;
  for (int i = 1; i < argc; ++i) args.push_back({argv[i], ""});
  std::vector<FlagArg> flags;
  AESIGNAL_RETURN_IF_ERROR(AddFlags(args, 0, flags));
  return flags;
}

// A bool flag's `--noname` form: the flag, or null.
const absl::CommandLineFlag* NegatedBool(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "no")) return nullptr;
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->IsOfType<bool>() ? flag : nullptr;
}

}  // namespace

absl::StatusOr<std::set<std::string>> CheckCommandLineFlags(int argc,
                                                            char** argv) {
  // Abseil's usage flags are handled by its parser, not registered.
  static constexpr absl::string_view kUsageFlags[] = {
      "help",   "helpfull",  "helpshort", "helppackage",
      "helpon", "helpmatch", "version",   "only_check_args"};
  AESIGNAL_ASSIGN_OR_RETURN(std::vector<FlagArg> flags, FlagArgs(argc, argv));
  // --undefok=a,b: Abseil ignores those flags if undefined (the last
  // --undefok counts, as in Abseil).
  std::set<std::string, std::less<>> undefined_ok;
  for (const FlagArg& arg : flags) {
    if (arg.name != "undefok") continue;
    undefined_ok.clear();
    for (absl::string_view name : absl::StrSplit(arg.value, ',')) {
      undefined_ok.emplace(name);
    }
  }
  const auto may_be_undefined = [&](absl::string_view name) {
    return undefined_ok.contains(name) ||
           (absl::ConsumePrefix(&name, "no") && undefined_ok.contains(name));
  };
  std::set<std::string> names;
  for (const FlagArg& arg : flags) {
    names.insert(arg.name);
    if (const absl::CommandLineFlag* negated = NegatedBool(arg.name)) {
      names.emplace(negated->Name());
      continue;
    }
    if (absl::c_linear_search(kUsageFlags, arg.name) ||
        absl::c_linear_search(kParserFlags, arg.name) ||
        absl::FindCommandLineFlag(arg.name) != nullptr ||
        may_be_undefined(arg.name)) {
      continue;
    }
    const RawArg& raw = arg.raw;
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown flag '", raw.text, "'", raw.origin.empty() ? "" : " at ",
        raw.origin, " (--help lists the flags)"));
  }
  return names;
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
  // Opened here, not by YAML::LoadFile, whose failure to open reads as a
  // YAML error ("bad file"): an operator must see "permission denied".
  std::ifstream in(path);
  if (!in) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot be read: ", std::strerror(errno)));
  }
  YAML::Node root;
  try {
    root = YAML::Load(in);
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
          "--", flag.name, " (or config key '", flag.name, "'): '", flag.value,
          "' is not HOST:PORT with a port of 0-65535"));
    }
    // Port 0 picks a free port each time; any other address is one socket,
    // which the kernel would refuse to the second listener as "in use", an
    // error that may pass (exit 1) where this one cannot.
    if (port == 0) continue;
    for (const Taken& other : taken) {
      if (other.port != port || !HostsOverlap(other.host, host)) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag.name, " (or config key '", flag.name, "'): ", flag.value,
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
  return absl::InvalidArgumentError(
      absl::StrCat("--", name, " (or config key '", name, "'): ", value,
                   " is not in ", min, "-", max));
}

}  // namespace aesignal
