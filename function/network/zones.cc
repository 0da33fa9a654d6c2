#include "function/network/zones.h"

#include <algorithm>
#include <map>
#include <string>

namespace platform::fn::network {
namespace {

using Table = std::map<std::string_view, RegionZones, std::less<>>;

// A region whose accounts all see the same letters, one per AZ ID.
RegionZones SameLetters(std::string_view region, std::vector<std::string_view> letters,
                        std::vector<std::string_view> ids) {
  const int n = static_cast<int>(ids.size());
  return RegionZones{region, std::move(letters), std::move(ids), n, false};
}

// The commercial regions (partition aws) as of late 2026. GovCloud, China
// and the European Sovereign Cloud are other partitions, with other
// accounts and endpoints, and are not here.
//
// Every entry is from general knowledge of AWS's "Regions and Availability
// Zones" and "AZ IDs" pages, not read from an account: the letters and AZ
// IDs an account's describe-availability-zones shows. Regions launched
// before November 2012 (us-east-1, us-west-1, us-west-2, eu-west-1,
// ap-northeast-1, ap-southeast-1, ap-southeast-2, sa-east-1) map letters to
// physical zones per account, the others the same way in every account;
// either way only us-west-1 differs in which letters an account sees.
//
// Every letter keeps the position it had when the table knew only letters:
// it is the letter's slot in the address plan. Never reorder; append.
const Table& Regions() {
  // clang-format off
  static const Table* table = [] {
    auto* t = new Table;
    for (RegionZones r : {
        SameLetters("af-south-1", {"a", "b", "c"}, {"afs1-az1", "afs1-az2", "afs1-az3"}),
        SameLetters("ap-east-1", {"a", "b", "c"}, {"ape1-az1", "ape1-az2", "ape1-az3"}),
        // Taipei, 2025.
        SameLetters("ap-east-2", {"a", "b", "c"}, {"ape2-az1", "ape2-az2", "ape2-az3"}),
        // No "b": accounts see a, c and d. Some old accounts also see a "b"
        // (apne1-az3, closed to new capacity), which is left out.
        SameLetters("ap-northeast-1", {"a", "c", "d"}, {"apne1-az1", "apne1-az2", "apne1-az4"}),
        SameLetters("ap-northeast-2", {"a", "b", "c", "d"},
                    {"apne2-az1", "apne2-az2", "apne2-az3", "apne2-az4"}),
        SameLetters("ap-northeast-3", {"a", "b", "c"}, {"apne3-az1", "apne3-az2", "apne3-az3"}),
        SameLetters("ap-south-1", {"a", "b", "c"}, {"aps1-az1", "aps1-az2", "aps1-az3"}),
        SameLetters("ap-south-2", {"a", "b", "c"}, {"aps2-az1", "aps2-az2", "aps2-az3"}),
        SameLetters("ap-southeast-1", {"a", "b", "c"}, {"apse1-az1", "apse1-az2", "apse1-az3"}),
        SameLetters("ap-southeast-2", {"a", "b", "c"}, {"apse2-az1", "apse2-az2", "apse2-az3"}),
        SameLetters("ap-southeast-3", {"a", "b", "c"}, {"apse3-az1", "apse3-az2", "apse3-az3"}),
        SameLetters("ap-southeast-4", {"a", "b", "c"}, {"apse4-az1", "apse4-az2", "apse4-az3"}),
        // Malaysia, 2024.
        SameLetters("ap-southeast-5", {"a", "b", "c"}, {"apse5-az1", "apse5-az2", "apse5-az3"}),
        // New Zealand, 2025.
        SameLetters("ap-southeast-6", {"a", "b", "c"}, {"apse6-az1", "apse6-az2", "apse6-az3"}),
        // Thailand, 2025.
        SameLetters("ap-southeast-7", {"a", "b", "c"}, {"apse7-az1", "apse7-az2", "apse7-az3"}),
        // No "c": the third zone came later as "d" (cac1-az4).
        SameLetters("ca-central-1", {"a", "b", "d"}, {"cac1-az1", "cac1-az2", "cac1-az4"}),
        SameLetters("ca-west-1", {"a", "b", "c"}, {"caw1-az1", "caw1-az2", "caw1-az3"}),
        SameLetters("eu-central-1", {"a", "b", "c"}, {"euc1-az1", "euc1-az2", "euc1-az3"}),
        SameLetters("eu-central-2", {"a", "b", "c"}, {"euc2-az1", "euc2-az2", "euc2-az3"}),
        SameLetters("eu-north-1", {"a", "b", "c"}, {"eun1-az1", "eun1-az2", "eun1-az3"}),
        SameLetters("eu-south-1", {"a", "b", "c"}, {"eus1-az1", "eus1-az2", "eus1-az3"}),
        SameLetters("eu-south-2", {"a", "b", "c"}, {"eus2-az1", "eus2-az2", "eus2-az3"}),
        SameLetters("eu-west-1", {"a", "b", "c"}, {"euw1-az1", "euw1-az2", "euw1-az3"}),
        SameLetters("eu-west-2", {"a", "b", "c"}, {"euw2-az1", "euw2-az2", "euw2-az3"}),
        SameLetters("eu-west-3", {"a", "b", "c"}, {"euw3-az1", "euw3-az2", "euw3-az3"}),
        SameLetters("il-central-1", {"a", "b", "c"}, {"ilc1-az1", "ilc1-az2", "ilc1-az3"}),
        SameLetters("me-central-1", {"a", "b", "c"}, {"mec1-az1", "mec1-az2", "mec1-az3"}),
        SameLetters("me-south-1", {"a", "b", "c"}, {"mes1-az1", "mes1-az2", "mes1-az3"}),
        // Mexico, 2025.
        SameLetters("mx-central-1", {"a", "b", "c"}, {"mxc1-az1", "mxc1-az2", "mxc1-az3"}),
        SameLetters("sa-east-1", {"a", "b", "c"}, {"sae1-az1", "sae1-az2", "sae1-az3"}),
        // use1-az3 is constrained (few new instance types); an account may
        // not be offered all six.
        SameLetters("us-east-1", {"a", "b", "c", "d", "e", "f"},
                    {"use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"}),
        SameLetters("us-east-2", {"a", "b", "c"}, {"use2-az1", "use2-az2", "use2-az3"}),
        // Two zones (usw1-az1, usw1-az3; there is no usw1-az2 any account
        // can use). Each account sees them as two of a, b, c, and which two
        // differs by account.
        RegionZones{"us-west-1", {"a", "b", "c"}, {"usw1-az1", "usw1-az3"}, 2, true},
        SameLetters("us-west-2", {"a", "b", "c", "d"},
                    {"usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"}),
    }) {
      const std::string_view name = r.region;
      t->emplace(name, std::move(r));
    }
    return t;
  }();
  // clang-format on
  return *table;
}

}  // namespace

int RegionZones::LetterSlot(std::string_view letter) const {
  auto it = std::find(letters.begin(), letters.end(), letter);
  return it == letters.end() ? -1 : static_cast<int>(it - letters.begin());
}

bool RegionZones::HasZoneId(std::string_view id) const {
  return std::find(zone_ids.begin(), zone_ids.end(), id) != zone_ids.end();
}

const RegionZones* FindRegion(std::string_view region) {
  auto it = Regions().find(region);
  return it == Regions().end() ? nullptr : &it->second;
}

const std::vector<std::string_view>& ZoneLetters(std::string_view region) {
  static const std::vector<std::string_view> kNone;
  const RegionZones* r = FindRegion(region);
  return r == nullptr ? kNone : r->letters;
}

std::vector<std::string_view> KnownRegions() {
  std::vector<std::string_view> out;
  for (const auto& [region, unused] : Regions()) out.push_back(region);
  return out;
}

int ZoneIdSlot(std::string_view id) {
  constexpr std::string_view kMarker = "-az";
  const std::size_t at = id.rfind(kMarker);
  if (at == std::string_view::npos || at == 0) return -1;
  const std::string_view digits = id.substr(at + kMarker.size());
  if (digits.empty() || digits.size() > 2 || digits.front() == '0') return -1;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n - 1;
}

}  // namespace platform::fn::network
