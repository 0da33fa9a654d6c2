#include "provider/workspace/vars.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include "common/files.h"
#include "common/status_macros.h"
#include "provider/common/files.h"
#include "provider/workspace/hcl.h"

namespace workspace {

absl::StatusOr<std::vector<std::string>> WriteVarFiles(
    const std::string& dir, const std::vector<VarFile>& files, const nlohmann::json& varmap,
    const std::vector<std::pair<std::string, std::string>>& vars) {
  std::vector<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string name = "varfile-" + std::to_string(i) +
                             (files[i].format == VarFormat::kJSON ? ".tfvars.json" : ".tfvars");
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/" + name, files[i].content));
    names.push_back(name);
  }
  if (!varmap.is_null() && !varmap.is_object()) {
    return absl::InvalidArgumentError("varmap must be an object of variable names to values");
  }
  if (varmap.is_object() && !varmap.empty()) {
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/varmap.tfvars.json", varmap.dump(2) + "\n"));
    names.push_back("varmap.tfvars.json");
  }
  if (!vars.empty()) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [key, value] : vars) doc[key] = value;
    RETURN_IF_ERROR(provider::WritePrivateFile(dir + "/vars.tfvars.json", doc.dump(2) + "\n"));
    names.push_back("vars.tfvars.json");
  }
  return names;
}

namespace {

void Leaves(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_number()) {
    out.push_back(j.dump());
  } else if (j.is_structured()) {
    for (const auto& v : j) Leaves(v, out);
  }
}

}  // namespace

std::set<std::string> SensitiveVariables(const std::string& dir) {
  std::set<std::string> names;
  const absl::StatusOr<std::vector<ModuleFile>> files = RootModuleFiles(dir);
  if (!files.ok()) return names;
  for (const auto& [name, json] : *files) {
    const absl::StatusOr<std::string> text = platform::ReadFile(dir + "/" + name);
    if (!text.ok()) continue;
    if (json) {
      const nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
      if (!doc.is_object() || !doc.contains("variable") || !doc["variable"].is_object()) continue;
      for (const auto& [var, body] : doc["variable"].items()) {
        if (body.is_object() && body.value("sensitive", false)) names.insert(var);
      }
      continue;
    }
    for (const HclBlock& b : ParseHclBlocks(*text)) {
      const auto sensitive = b.attributes.find("sensitive");
      if (b.type == "variable" && b.labels.size() == 1 && sensitive != b.attributes.end() &&
          sensitive->second == "true") {
        names.insert(b.labels[0]);
      }
    }
  }
  return names;
}

std::vector<std::string> SensitiveValues(
    const std::set<std::string>& names, const std::vector<VarFile>& files,
    const nlohmann::json& varmap, const std::vector<std::pair<std::string, std::string>>& vars) {
  std::vector<std::string> out;
  if (names.empty()) return out;
  for (const VarFile& file : files) {
    if (file.format == VarFormat::kJSON) {
      const nlohmann::json doc = nlohmann::json::parse(file.content, nullptr, false);
      if (!doc.is_object()) continue;
      for (const auto& [key, value] : doc.items()) {
        if (names.contains(key)) Leaves(value, out);
      }
      continue;
    }
    static const std::regex kLine(R"(^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$)");
    std::istringstream lines(file.content);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (!std::regex_match(line, m, kLine) || !names.contains(m[1].str())) continue;
      std::string value = m[2].str();
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      out.push_back(value);
    }
  }
  if (varmap.is_object()) {
    for (const auto& [key, value] : varmap.items()) {
      if (names.contains(key)) Leaves(value, out);
    }
  }
  for (const auto& [key, value] : vars) {
    if (names.contains(key)) out.push_back(value);
  }
  return out;
}

}  // namespace workspace
