#include "function/network/zones.h"

#include <algorithm>
#include <map>
#include <string>

namespace platform::fn::network {
namespace {

using Table = std::map<std::string_view, std::vector<std::string_view>, std::less<>>;

// Zone names of the commercial regions. A few regions skip letters (for
// example ap-northeast-1 has no "b").
const Table& Regions() {
  // clang-format off
  static const Table* table = new Table{
      {"af-south-1", {"a", "b", "c"}},
      {"ap-east-1", {"a", "b", "c"}},
      {"ap-northeast-1", {"a", "c", "d"}},
      {"ap-northeast-2", {"a", "b", "c", "d"}},
      {"ap-northeast-3", {"a", "b", "c"}},
      {"ap-south-1", {"a", "b", "c"}},
      {"ap-south-2", {"a", "b", "c"}},
      {"ap-southeast-1", {"a", "b", "c"}},
      {"ap-southeast-2", {"a", "b", "c"}},
      {"ap-southeast-3", {"a", "b", "c"}},
      {"ap-southeast-4", {"a", "b", "c"}},
      {"ca-central-1", {"a", "b", "d"}},
      {"ca-west-1", {"a", "b", "c"}},
      {"eu-central-1", {"a", "b", "c"}},
      {"eu-central-2", {"a", "b", "c"}},
      {"eu-north-1", {"a", "b", "c"}},
      {"eu-south-1", {"a", "b", "c"}},
      {"eu-south-2", {"a", "b", "c"}},
      {"eu-west-1", {"a", "b", "c"}},
      {"eu-west-2", {"a", "b", "c"}},
      {"eu-west-3", {"a", "b", "c"}},
      {"il-central-1", {"a", "b", "c"}},
      {"me-central-1", {"a", "b", "c"}},
      {"me-south-1", {"a", "b", "c"}},
      {"sa-east-1", {"a", "b", "c"}},
      {"us-east-1", {"a", "b", "c", "d", "e", "f"}},
      {"us-east-2", {"a", "b", "c"}},
      {"us-west-1", {"a", "b", "c"}},
      {"us-west-2", {"a", "b", "c", "d"}},
  };
  // clang-format on
  return *table;
}

}  // namespace

const std::vector<std::string_view>& ZoneLetters(std::string_view region) {
  static const std::vector<std::string_view> kNone;
  auto it = Regions().find(region);
  return it == Regions().end() ? kNone : it->second;
}

std::vector<std::string_view> KnownRegions() {
  std::vector<std::string_view> out;
  for (const auto& [region, unused] : Regions()) out.push_back(region);
  return out;
}

}  // namespace platform::fn::network
