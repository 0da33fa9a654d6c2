// A strict reader of the Prometheus text exposition format (0.0.4) for
// tests: every line must be `# HELP name text`, `# TYPE name type` or a
// sample `name{label="value",...} value`, and every sample must belong to a
// family whose TYPE came before it.
#ifndef PLATFORM_FUNCTION_TESTING_PROMETHEUS_TEXT_H_
#define PLATFORM_FUNCTION_TESTING_PROMETHEUS_TEXT_H_

#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

namespace platform::testing {

struct Exposition {
  // Samples by series, spelled as in the text: name{k="v",...} or name.
  std::map<std::string, double> samples;
  // Family name to type.
  std::map<std::string, std::string> types;
  // The first line that does not parse, with its number; empty when all do.
  std::string error;

  double Value(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
  bool Has(const std::string& series) const { return samples.count(series) != 0; }
};

namespace prometheus_text_internal {

inline bool NameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Reads a metric or label name at `pos`; nullopt when there is none.
inline std::optional<std::string> Name(const std::string& line, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < line.size() && NameChar(line[pos], pos == start)) ++pos;
  if (pos == start) return std::nullopt;
  return line.substr(start, pos - start);
}

inline std::optional<double> Number(const std::string& text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

// The family a sample belongs to: histograms add _bucket, _sum and _count.
inline std::string FamilyOf(const std::string& name,
                            const std::map<std::string, std::string>& types) {
  if (types.count(name) != 0) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) {
        return base;
      }
    }
  }
  return "";
}

}  // namespace prometheus_text_internal

inline Exposition ParseExposition(const std::string& text) {
  namespace in = prometheus_text_internal;
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                               "untyped"};
  Exposition out;
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    auto fail = [&](const std::string& why) {
      out.error = "line " + std::to_string(number) + ": " + why + ": " + line;
    };
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::size_t pos = 7;
      std::optional<std::string> name = in::Name(line, pos);
      if (!name || pos >= line.size() || line[pos] != ' ') {
        fail("no metric name");
        return out;
      }
      if (line[2] == 'T') {
        const std::string type = line.substr(pos + 1);
        if (kTypes.count(type) == 0) {
          fail("unknown type");
          return out;
        }
        if (out.types.count(*name) != 0) {
          fail("second TYPE for one family");
          return out;
        }
        out.types[*name] = type;
      }
      continue;
    }
    std::size_t pos = 0;
    std::optional<std::string> name = in::Name(line, pos);
    if (!name) {
      fail("not a sample, HELP or TYPE line");
      return out;
    }
    if (in::FamilyOf(*name, out.types).empty()) {
      fail("sample before its family's TYPE");
      return out;
    }
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      bool first = true;
      while (pos < line.size() && line[pos] != '}') {
        if (!first) {
          if (line[pos] != ',') {
            fail("labels not separated by ,");
            return out;
          }
          ++pos;
        }
        first = false;
        if (!in::Name(line, pos) || pos + 1 >= line.size() || line[pos] != '=' ||
            line[pos + 1] != '"') {
          fail("bad label");
          return out;
        }
        pos += 2;
        while (pos < line.size() && line[pos] != '"') {
          if (line[pos] == '\\') {
            if (pos + 1 >= line.size() ||
                (line[pos + 1] != '\\' && line[pos + 1] != '"' && line[pos + 1] != 'n')) {
              fail("bad escape in a label value");
              return out;
            }
            ++pos;
          }
          ++pos;
        }
        if (pos >= line.size()) {
          fail("unterminated label value");
          return out;
        }
        ++pos;  // closing quote
      }
      if (pos >= line.size()) {
        fail("unterminated labels");
        return out;
      }
      ++pos;  // }
    }
    const std::string series = line.substr(0, pos);
    if (pos >= line.size() || line[pos] != ' ') {
      fail("no space before the value");
      return out;
    }
    std::string rest = line.substr(pos + 1);
    // An optional timestamp follows the value.
    const std::size_t space = rest.find(' ');
    std::optional<double> value = in::Number(rest.substr(0, space));
    if (!value || (space != std::string::npos && !in::Number(rest.substr(space + 1)))) {
      fail("bad value");
      return out;
    }
    if (out.samples.count(series) != 0) {
      fail("series repeated");
      return out;
    }
    out.samples[series] = *value;
  }
  return out;
}

}  // namespace platform::testing

#endif  // PLATFORM_FUNCTION_TESTING_PROMETHEUS_TEXT_H_
