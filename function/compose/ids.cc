#include "function/compose/ids.h"

#include <cstdint>
#include <set>

#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {

absl::StatusOr<std::vector<std::string>> ReadAwsIds(const sdk::Fields& f, std::string_view field,
                                                    std::string_view prefix,
                                                    std::string_view what) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<std::string> ids, f.StringList(field));
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string path = sdk::Cat(sdk::JoinPath(f.path(), field), "[", i, "]");
    if (!ids[i].starts_with(prefix) || ids[i].size() == prefix.size()) {
      return sdk::FieldError(path, sdk::Cat("\"", ids[i], "\" is not a ", what, " id"));
    }
    if (!seen.insert(ids[i]).second) {
      return sdk::FieldError(path, sdk::Cat(ids[i], " is listed twice"));
    }
  }
  return ids;
}

std::string ShortHash(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return fmt::format("{:08x}", static_cast<std::uint32_t>(h ^ (h >> 32)));
}

}  // namespace platform::fn::compose
