#include "provider/common/redact.h"

#include <algorithm>
#include <regex>

namespace provider {

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  std::vector<std::string> values;
  for (const auto& s : secrets) {
    if (s.size() >= 4) values.push_back(s);
  }
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& v : values) {
    size_t pos = 0;
    while ((pos = text.find(v, pos)) != std::string::npos) {
      text.replace(pos, v.size(), "***");
      pos += 3;
    }
  }
  return text;
}

std::string RedactUrls(const std::string& text) {
  static const std::regex kUserInfo(R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@)");
  return std::regex_replace(text, kUserInfo, "$1***@");
}

}  // namespace provider
