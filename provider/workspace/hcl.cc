#include "provider/workspace/hcl.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "absl/status/status.h"

namespace workspace {
namespace {

bool IdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string Unquote(const std::string& word) {
  return word.size() >= 2 && word.front() == '"' ? word.substr(1, word.size() - 2) : word;
}

}  // namespace

std::vector<HclBlock> ParseHclBlocks(const std::string& text) {
  std::vector<HclBlock> top;
  // One entry per open brace: the block it opened, or null for an object
  // value or an interpolation's braces.
  std::vector<HclBlock*> open;
  // The words seen since the last newline or brace: a block header is
  // `type ["label"...] {`, an attribute `name = value`.
  std::vector<std::string> words;
  int line = 1, words_line = 0;
  // An attribute ends at a newline or at the brace that closes its block.
  auto end_statement = [&] {
    if (words.size() == 3 && words[1] == "=" && !open.empty() && open.back() != nullptr) {
      open.back()->attributes[words[0]] = words[2];
    }
    words.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      end_statement();
      ++line;
      ++i;
    } else if (c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      i += 2;
      while (i + 1 < text.size() && !(text[i] == '*' && text[i + 1] == '/')) {
        if (text[i] == '\n') ++line;
        ++i;
      }
      i += 2;
    } else if (c == '"') {
      // A quoted string; interpolations may nest braces and quotes.
      std::string value;
      ++i;
      int nested = 0;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (text[i] == '\n') ++line;
        if (nested == 0 && text[i] == '"') break;
        if (text[i] == '{' && i > 0 && (text[i - 1] == '$' || text[i - 1] == '%')) ++nested;
        if (text[i] == '}' && nested > 0) --nested;
        value += text[i];
        ++i;
      }
      ++i;
      if (words.empty()) words_line = line;
      words.push_back("\"" + value + "\"");
    } else if (c == '<' && text.compare(i, 2, "<<") == 0) {
      // A heredoc: <<EOT or <<-EOT up to a line that is only EOT.
      size_t j = i + 2;
      if (j < text.size() && text[j] == '-') ++j;
      const size_t name_start = j;
      while (j < text.size() && IdentChar(text[j])) ++j;
      const std::string name = text.substr(name_start, j - name_start);
      i = j;
      if (name.empty()) continue;
      while (i < text.size()) {
        const size_t eol = text.find('\n', i);
        if (eol == std::string::npos) {
          i = text.size();
          break;
        }
        ++line;
        i = eol + 1;
        size_t end = text.find('\n', i);
        if (end == std::string::npos) end = text.size();
        std::string next = text.substr(i, end - i);
        next.erase(0, next.find_first_not_of(" \t"));
        while (!next.empty() && (next.back() == ' ' || next.back() == '\t' || next.back() == '\r'))
          next.pop_back();
        if (next == name) {
          i = end;
          break;
        }
      }
      words.clear();
    } else if (c == '{') {
      HclBlock* block = nullptr;
      const bool header =
          !words.empty() && std::find(words.begin(), words.end(), "=") == words.end();
      if (header && (open.empty() || open.back() != nullptr)) {
        HclBlock b;
        b.type = words[0];
        for (size_t w = 1; w < words.size(); ++w) b.labels.push_back(Unquote(words[w]));
        b.line = words_line;
        std::vector<HclBlock>& siblings = open.empty() ? top : open.back()->blocks;
        siblings.push_back(std::move(b));
        block = &siblings.back();
      }
      open.push_back(block);
      words.clear();
      ++i;
    } else if (c == '}') {
      end_statement();
      if (!open.empty()) open.pop_back();
      ++i;
    } else if (IdentChar(c)) {
      const size_t start = i;
      while (i < text.size() && (IdentChar(text[i]) || text[i] == '.')) ++i;
      if (words.empty()) words_line = line;
      words.push_back(text.substr(start, i - start));
    } else {
      if (c != ' ' && c != '\t' && c != '\r') words.push_back(std::string(1, c));
      ++i;
    }
  }
  return top;
}

absl::StatusOr<std::vector<ModuleFile>> RootModuleFiles(const std::string& dir) {
  std::error_code ec;
  std::vector<ModuleFile> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string name = entry.path().filename().string();
    const bool json = name.ends_with(".tf.json") || name.ends_with(".tofu.json");
    if (json || name.ends_with(".tf") || name.ends_with(".tofu")) files.push_back({name, json});
  }
  if (ec) return absl::InternalError("cannot list the module folder: " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const ModuleFile& a, const ModuleFile& b) { return a.name < b.name; });
  return files;
}

}  // namespace workspace
