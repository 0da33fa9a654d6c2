#include "function/policy/tags.h"

#include <cstdint>

#include "function/sdk/strings.h"
#include "re2/re2.h"

namespace platform::fn::policy {
namespace {

// The longest prefix of characters AWS allows in tags: the tagging API's
// pattern less its anchors, in RE2's UTF-8 mode with its Unicode tables.
const re2::RE2& AllowedPrefix() {
  static const re2::RE2* const kRe = new re2::RE2(R"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)");
  return *kRe;
}

constexpr std::string_view kAllowed = "letters, digits, spaces and _ . : / = + - @";

// The code point UTF-8 `s` starts with, or -1 when it does not start with a
// well-formed sequence.
std::int32_t FirstCodePoint(std::string_view s) {
  if (s.empty()) return -1;
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return b0;
  int n = 0;
  std::int32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 3;
    cp = b0 & 0x07;
  } else {
    return -1;
  }
  if (s.size() <= static_cast<std::size_t>(n)) return -1;
  for (int i = 1; i <= n; ++i) {
    const auto b = static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  return cp;
}

// Empty when every character of `s` is allowed, else which one is not:
// `"#" (character 4)`, or `U+00A7 (character 4)` for anything but printable
// ASCII.
std::string FirstRefused(std::string_view s) {
  re2::StringPiece rest(s.data(), s.size());
  re2::RE2::Consume(&rest, AllowedPrefix());
  if (rest.empty()) return {};
  const std::string_view refused(rest.data(), rest.size());
  const std::size_t position = Utf8Length(s.substr(0, s.size() - refused.size())) + 1;
  const std::int32_t cp = FirstCodePoint(refused);
  if (cp < 0) return sdk::Cat("bytes that are not UTF-8 (character ", position, ")");
  if (cp > 0x20 && cp < 0x7F) {
    return sdk::Cat("\"", static_cast<char>(cp), "\" (character ", position, ")");
  }
  return fmt::format("U+{:04X} (character {})", cp, position);
}

}  // namespace

std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string CheckTagKey(std::string_view key) {
  if (key.empty()) return "a tag key must not be empty";
  const std::size_t length = Utf8Length(key);
  if (length > kMaxTagKeyChars) {
    return sdk::Cat("a tag key must be at most ", kMaxTagKeyChars, " characters long, not ",
                    length);
  }
  if (std::string refused = FirstRefused(key); !refused.empty()) {
    return sdk::Cat("a tag key may only hold ", kAllowed, ", not ", refused);
  }
  // Only ASCII is left to compare.
  std::string prefix(key.substr(0, 4));
  for (char& c : prefix) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (prefix == "aws:") return "keys starting with aws: are reserved by AWS";
  return {};
}

std::string CheckTagValue(std::string_view value) {
  const std::size_t length = Utf8Length(value);
  if (length > kMaxTagValueChars) {
    return sdk::Cat("a tag value must be at most ", kMaxTagValueChars, " characters long, not ",
                    length);
  }
  if (std::string refused = FirstRefused(value); !refused.empty()) {
    return sdk::Cat("a tag value may only hold ", kAllowed, ", not ", refused);
  }
  return {};
}

std::string CheckTag(std::string_view key, std::string_view value) {
  if (std::string why = CheckTagKey(key); !why.empty()) return why;
  return CheckTagValue(value);
}

}  // namespace platform::fn::policy
