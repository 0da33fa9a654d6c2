// String building on fmt. Debian's Abseil is built with its own string_view
// type, so the project builds strings with fmt, which takes std::string_view.
#ifndef PLATFORM_FUNCTION_SDK_STRINGS_H_
#define PLATFORM_FUNCTION_SDK_STRINGS_H_

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iterator>
#include <string>

namespace platform::fn::sdk {

// Concatenates the text form of every argument.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

// Appends the text form of every argument to `out`.
template <typename... Args>
void Append(std::string& out, const Args&... args) {
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
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
