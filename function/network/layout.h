// How an environment's VPC is split into subnets.
//
// The VPC is cut in fixed shares: the first half for the private tier, the
// third quarter for the public tier, the last quarter for the database tier.
// Each tier's share has eight zone slots, and a zone always takes the slot of
// its letter's position in the region (a=0, b=1, ...), so adding or removing
// a zone never moves another zone's subnets. For a /16 that is a /20 per zone
// for private subnets and a /21 for public and database ones.
#ifndef PLATFORM_FUNCTION_NETWORK_LAYOUT_H_
#define PLATFORM_FUNCTION_NETWORK_LAYOUT_H_

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "function/network/cidr.h"

namespace platform::fn::network {

enum class Tier { kPublic = 0, kPrivate = 1, kDatabase = 2 };
inline constexpr std::array<Tier, 3> kTiers = {Tier::kPublic, Tier::kPrivate, Tier::kDatabase};
std::string_view TierName(Tier tier);

// A zone of the environment: its letter and its slot in the address plan.
struct Zone {
  std::string letter;  // "a"
  int slot = 0;        // 0..7
};

// The subnet block of `tier` for the zone in `slot` of `vpc`.
absl::StatusOr<Cidr> SubnetFor(const Cidr& vpc, Tier tier, int slot);

// Zone slots per tier share.
inline constexpr int kZoneSlots = 8;

}  // namespace platform::fn::network

#endif  // PLATFORM_FUNCTION_NETWORK_LAYOUT_H_
