// String building on fmt. Debian's Abseil is built with its own string_view
// type, so the project builds strings with fmt, which takes std::string_view.
#ifndef PLATFORM_FUNCTION_SDK_STRINGS_H_
#define PLATFORM_FUNCTION_SDK_STRINGS_H_

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>

namespace platform::fn::sdk {

namespace strings_internal {

template <typename T>
inline constexpr bool kIsCharacter =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

// Text and integers up to 64 bits are appended directly, since building
// names and selectors is a good part of a render; everything else (bool,
// characters, floating point, types with a formatter) as fmt's "{}" writes
// it. For strings and integers both give the same text.
template <typename T>
void AppendOne(std::string& out, const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out.append(std::string_view(value));
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && !kIsCharacter<T> &&
                       sizeof(T) <= 8) {
    char digits[24];  // 20 digits and a sign at most
    const std::to_chars_result end = std::to_chars(digits, digits + sizeof(digits), value);
    out.append(digits, end.ptr);
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

}  // namespace strings_internal

// Concatenates the text form of every argument.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (strings_internal::AppendOne(out, args), ...);
  return out;
}

// Appends the text form of every argument to `out`.
template <typename... Args>
void Append(std::string& out, const Args&... args) {
  (strings_internal::AppendOne(out, args), ...);
}

// The items joined with ", ", or "none" for an empty list, for messages
// such as "dev clusters may use Kubernetes 1.33, 1.32".
template <typename List>
std::string JoinList(const List& list) {
  return std::empty(list) ? std::string("none") : fmt::format("{}", fmt::join(list, ", "));
}

// `s` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD. Protobuf string fields (result and condition messages) must be
// UTF-8, or the caller cannot decode the response; text from bytes fields
// (connection details, Secret data) may be anything.
std::string ValidUtf8(std::string s);

}  // namespace platform::fn::sdk

#endif  // PLATFORM_FUNCTION_SDK_STRINGS_H_
