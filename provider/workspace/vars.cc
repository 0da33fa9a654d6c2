#include "provider/workspace/vars.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/status_macros.h"
#include "provider/common/files.h"

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

// The text of the block whose "{" is at `open` (strings and comments are
// not parsed: a brace inside one may end a block early, which only makes a
// `sensitive` after it unseen).
std::string Block(const std::string& text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) return text.substr(open, i - open + 1);
  }
  return text.substr(open);
}

}  // namespace

std::set<std::string> SensitiveVariables(const std::string& dir) {
  namespace fs = std::filesystem;
  static const std::regex kVariable(R"re(variable\s+"([^"]+)"\s*\{)re");
  // At the start of a line of the block (or of a one-line block), so not
  // inside a description.
  static const std::regex kSensitive(R"((?:^|[\n{])[ \t]*sensitive[ \t]*=[ \t]*true\b)");
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool json = name.size() > 8 && name.ends_with(".tf.json");
    if (!json && !name.ends_with(".tf")) continue;
    std::ifstream in(entry.path());
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    if (json) {
      const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
      if (!doc.is_object() || !doc.contains("variable") || !doc["variable"].is_object()) continue;
      for (const auto& [var, body] : doc["variable"].items()) {
        if (body.is_object() && body.value("sensitive", false)) names.insert(var);
      }
      continue;
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kVariable);
         it != std::sregex_iterator(); ++it) {
      const size_t open = static_cast<size_t>(it->position(0) + it->length(0) - 1);
      if (std::regex_search(Block(text, open), kSensitive)) names.insert((*it)[1].str());
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
