#include "provider/kube/clock.h"

#include <cstdio>
#include <ctime>

namespace kube {
namespace {

std::string Format(Time t, bool micro) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since);
  const std::time_t tt = secs.count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (micro) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since - secs).count();
    char frac[32];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us));
    out += frac;
  }
  return out + "Z";
}

}  // namespace

std::string Rfc3339(Time t) { return Format(t, false); }
std::string Rfc3339Micro(Time t) { return Format(t, true); }

namespace {

bool ParseTime(const std::string& text, Time* out) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return false;
  long long micros = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 6) micros = micros * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  long offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hh = 0, mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return false;
    offset = (hh * 3600L + mm * 60L) * (*rest == '-' ? -1 : 1);
    rest += 6;
  } else {
    return false;
  }
  if (*rest != '\0') return false;
  const std::time_t secs = timegm(&tm) - offset;
  *out = Time(std::chrono::seconds(secs)) + std::chrono::microseconds(micros);
  return true;
}

}  // namespace

absl::StatusOr<Time> ParseRfc3339(const std::string& text) {
  Time t;
  if (!ParseTime(text, &t)) {
    return absl::InvalidArgumentError("\"" + text + "\" is not an RFC 3339 time");
  }
  return t;
}

}  // namespace kube
