#include "provider/runtime/duration.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace runtime {

absl::StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  const absl::Status invalid =
      absl::InvalidArgumentError("\"" + text + "\" is not a duration like 90s, 10m or 1h");
  if (text.empty()) return invalid;
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (i == start) return invalid;
    // std::strtod as std::stod parses, without stod's exceptions.
    const std::string digits = text.substr(start, i - start);
    char* end = nullptr;
    errno = 0;
    const double number = std::strtod(digits.c_str(), &end);
    if (end == digits.c_str() || errno == ERANGE) return invalid;
    const size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "h") {
      scale = 3600e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "us" || unit == "µs") {
      scale = 1e3;
    } else if (unit == "ns") {
      scale = 1;
    } else {
      return invalid;
    }
    total_ns += number * scale;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ns / 1e6));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const int64_t h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s || rest) {
    out += std::to_string(s);
    if (rest) {
      std::string frac = std::to_string(1000 + rest).substr(1);
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

}  // namespace runtime
