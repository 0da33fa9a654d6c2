// Availability zones per AWS region, as zone letters ("a", "b", ...).
//
// Kept as data: the platform validates that requested zones exist and maps
// each zone letter to a fixed slot of the VPC's address space, so adding or
// removing a zone never moves the subnets of the others.
#ifndef PLATFORM_FUNCTION_NETWORK_ZONES_H_
#define PLATFORM_FUNCTION_NETWORK_ZONES_H_

#include <string_view>
#include <vector>

namespace platform::fn::network {

// The zone letters of `region`, in order; empty for a region not in the
// table.
const std::vector<std::string_view>& ZoneLetters(std::string_view region);

// Every region in the table, sorted.
std::vector<std::string_view> KnownRegions();

}  // namespace platform::fn::network

#endif  // PLATFORM_FUNCTION_NETWORK_ZONES_H_
