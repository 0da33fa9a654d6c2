// Availability zones per AWS region: the zone letters ("a", "b", ...) and
// the AZ IDs ("euw1-az1", ...).
//
// A letter names a zone only within one account: AWS maps the letters of a
// region to its physical zones differently in each account. An AZ ID names
// the same physical zone in every account. The table lists both, and no
// letter of it corresponds to the AZ ID at the same position.
//
// Kept as data: the platform validates that requested zones exist and maps
// each zone to a fixed slot of the VPC's address space (layout.h), so adding
// or removing a zone never moves the subnets of the others. A letter's slot
// is its position in `letters`; an AZ ID's slot is its number less one.
#ifndef PLATFORM_FUNCTION_NETWORK_ZONES_H_
#define PLATFORM_FUNCTION_NETWORK_ZONES_H_

#include <string_view>
#include <vector>

namespace platform::fn::network {

// The zones of one region.
struct RegionZones {
  std::string_view region;  // "eu-west-1"
  // The zone letters an account may see, in slot order. Append only: a
  // letter that moved would renumber the subnets of live environments.
  std::vector<std::string_view> letters;
  // The AZ IDs one account sees, in number order ("euw1-az1", ...).
  std::vector<std::string_view> zone_ids;
  // How many zones one account sees: the size of `zone_ids`, and fewer than
  // `letters` where `letters_vary`.
  int zones_per_account = 0;
  // Which of `letters` an account sees differs by account (us-west-1:
  // two of a, b, c), so "the first N letters" means nothing there.
  bool letters_vary = false;

  // The slot of `letter`, or -1 when the region has no such letter.
  int LetterSlot(std::string_view letter) const;
  // Whether `id` is one of `zone_ids`.
  bool HasZoneId(std::string_view id) const;
};

// The region's zones, or nullptr for a region not in the table.
const RegionZones* FindRegion(std::string_view region);

// The zone letters of `region`, in slot order; empty for a region not in
// the table.
const std::vector<std::string_view>& ZoneLetters(std::string_view region);

// Every region in the table, sorted.
std::vector<std::string_view> KnownRegions();

// The slot of an AZ ID: its number less one ("use1-az4" -> 3); -1 when `id`
// is not of the form <prefix>-az<number>.
int ZoneIdSlot(std::string_view id);

}  // namespace platform::fn::network

#endif  // PLATFORM_FUNCTION_NETWORK_ZONES_H_
