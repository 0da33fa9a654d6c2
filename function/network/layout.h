// How an environment's VPC is split into subnets.
//
// The VPC is cut in fixed shares: the first half for the private tier, the
// third quarter for the public tier, the last quarter for the database tier.
// Each tier's share has eight zone slots, and a zone always takes the slot of
// its letter's position in the region's table (a=0, b=1, ...), or of its AZ
// ID's number (az1=0, az2=1, ...), so adding or removing a zone never moves
// another zone's subnets. For a /16 that is a /20 per zone for private
// subnets and a /21 for public and database ones.
#ifndef PLATFORM_FUNCTION_NETWORK_LAYOUT_H_
#define PLATFORM_FUNCTION_NETWORK_LAYOUT_H_

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "function/network/cidr.h"

namespace platform::fn::network {

enum class Tier { kPublic = 0, kPrivate = 1, kDatabase = 2 };
inline constexpr std::array<Tier, 3> kTiers = {Tier::kPublic, Tier::kPrivate, Tier::kDatabase};
std::string_view TierName(Tier tier);

// A zone of the environment: how it is named, and its slot in the address
// plan (zones.h: a letter's position in its region, or an AZ ID's number
// less one).
struct Zone {
  enum class By {
    kLetter,  // "a": a zone as this account sees it
    kId,      // "use1-az1": the same physical zone in every account
  };
  By by = By::kLetter;
  std::string name;  // the letter ("a") or the AZ ID ("use1-az1")
  int slot = 0;      // 0..7

  static Zone Letter(std::string letter, int slot) {
    return {By::kLetter, std::move(letter), slot};
  }
  static Zone Id(std::string id, int slot) { return {By::kId, std::move(id), slot}; }

  // What resource names, labels and status keys use: the letter, or the
  // AZ ID's suffix ("az1" of "use1-az1"), unique within a region either way.
  std::string Key() const;
};

// The subnet block of `tier` for the zone in `slot` of `vpc`.
absl::StatusOr<Cidr> SubnetFor(const Cidr& vpc, Tier tier, int slot);

// Zone slots per tier share.
inline constexpr int kZoneSlots = 8;

}  // namespace platform::fn::network

#endif  // PLATFORM_FUNCTION_NETWORK_LAYOUT_H_
