#include "provider/common/redact.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace provider {
namespace {

bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string Trim(const std::string& s) {
  const size_t start = s.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(start, end - start + 1);
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void AddLines(const std::string& text, std::vector<std::string>& out) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line = Trim(line);
    if (!line.empty() && line != text) out.push_back(line);
  }
}

void JsonStrings(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    out.push_back(s);
    if (s.find('\n') != std::string::npos) AddLines(s, out);
  } else if (j.is_number()) {
    out.push_back(j.dump());
  } else if (j.is_structured()) {
    for (const auto& v : j) JsonStrings(v, out);
  }
}

}  // namespace

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  std::vector<std::string> values;
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    if (s.size() < kShortSecret && std::none_of(s.begin(), s.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0;
        })) {
      continue;
    }
    values.push_back(s);
  }
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (const auto& v : values) {
    const bool whole_word = v.size() < kShortSecret;
    size_t pos = 0;
    while ((pos = text.find(v, pos)) != std::string::npos) {
      const size_t end = pos + v.size();
      if (whole_word && ((pos > 0 && WordChar(text[pos - 1]) && WordChar(v.front())) ||
                         (end < text.size() && WordChar(text[end]) && WordChar(v.back())))) {
        pos += 1;
        continue;
      }
      text.replace(pos, v.size(), "***");
      pos += 3;
    }
  }
  return text;
}

std::vector<std::string> SecretFileValues(const std::string& content) {
  std::vector<std::string> out;
  if (content.empty()) return out;
  out.push_back(content);
  const std::string trimmed = Trim(content);
  if (trimmed != content && !trimmed.empty()) out.push_back(trimmed);

  // A JSON document (a service-account key): its strings.
  const nlohmann::json doc = nlohmann::json::parse(content, nullptr, false);
  if (!doc.is_discarded() && doc.is_structured()) {
    JsonStrings(doc, out);
    return out;
  }

  static const std::regex kKeyValue(R"(^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.\-]*\s*[=:]\s*(.*)$)");
  static const std::regex kUserInfo(R"([A-Za-z][A-Za-z0-9+.\-]*://([^/@\s:]*):([^/@\s]+)@)");
  std::istringstream lines(content);
  for (std::string line; std::getline(lines, line);) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') continue;  // an INI section
    if (line.rfind("-----BEGIN ", 0) == 0 || line.rfind("-----END ", 0) == 0) continue;
    if (line != trimmed) out.push_back(line);
    std::smatch m;
    if (std::regex_search(line, m, kUserInfo)) {
      const std::string user = m[1].str(), password = m[2].str();
      out.push_back(user + ":" + password);
      out.push_back(password);
      if (PercentDecode(password) != password) out.push_back(PercentDecode(password));
      continue;
    }
    if (std::regex_match(line, m, kKeyValue)) {
      const std::string value = Unquote(Trim(m[1].str()));
      if (!value.empty()) out.push_back(value);
    }
  }
  return out;
}

std::string RedactUrls(const std::string& text) {
  static const std::regex kUserInfo(R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@)");
  return std::regex_replace(text, kUserInfo, "$1***@");
}

}  // namespace provider
