#include "services/server/config.h"

#include <yaml-cpp/yaml.h>

#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& keep) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not readable YAML: ", e.what()));
  }
  if (root.IsNull()) return absl::OkStatus();  // empty file
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": must be a mapping of flag names to values"));
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(key);
    if (flag == nullptr || key == "config") {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": unknown key '", key, "' (keys are aesignald's flag names)"));
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

}  // namespace aesignal
