#include "function/sdk/strings.h"

#include <cstddef>
#include <cstdint>

namespace platform::fn::sdk {
namespace {

// The length of the well-formed UTF-8 sequence at `s[i]`, or 0 when there is
// none (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t SequenceAt(const std::string& s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string ValidUtf8(std::string s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = SequenceAt(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return s;  // the common case: nothing to copy
  std::string out(s, 0, i);
  while (i < s.size()) {
    const std::size_t n = SequenceAt(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace platform::fn::sdk
