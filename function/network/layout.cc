#include "function/network/layout.h"

#include "function/sdk/strings.h"

namespace platform::fn::network {

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kPublic:
      return "public";
    case Tier::kPrivate:
      return "private";
    case Tier::kDatabase:
      return "database";
  }
  return "unknown";
}

std::string Zone::Key() const {
  if (by == By::kLetter) return name;
  const std::size_t dash = name.rfind('-');
  return dash == std::string::npos ? name : name.substr(dash + 1);
}

absl::StatusOr<Cidr> SubnetFor(const Cidr& vpc, Tier tier, int slot) {
  if (slot < 0 || slot >= kZoneSlots) {
    return absl::InvalidArgumentError(sdk::Cat("zone slot ", slot, " is out of range"));
  }
  // The tier's share of the VPC: private = half 0, public = quarter 2,
  // database = quarter 3.
  absl::StatusOr<Cidr> share = tier == Tier::kPrivate  ? vpc.Subnet(1, 0)
                               : tier == Tier::kPublic ? vpc.Subnet(2, 2)
                                                       : vpc.Subnet(2, 3);
  if (!share.ok()) return share.status();
  return share->Subnet(3, static_cast<std::uint32_t>(slot));
}

}  // namespace platform::fn::network
