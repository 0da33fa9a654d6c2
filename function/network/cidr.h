// IPv4 CIDR blocks and the arithmetic the network layout needs: parse,
// format, carve sub-blocks (Terraform's cidrsubnet), containment and overlap.
#ifndef PLATFORM_FUNCTION_NETWORK_CIDR_H_
#define PLATFORM_FUNCTION_NETWORK_CIDR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace platform::fn::network {

class Cidr {
 public:
  // Parses "a.b.c.d/n". The address must be the block's network address
  // (10.0.0.0/16, not 10.0.1.0/16), so what the user wrote is what is built.
  static absl::StatusOr<Cidr> Parse(std::string_view text);

  std::uint32_t network() const { return network_; }
  int prefix() const { return prefix_; }
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix_); }
  std::string ToString() const;

  // The `index`-th block of prefix length prefix()+`newbits` inside this one;
  // an error when it does not fit.
  absl::StatusOr<Cidr> Subnet(int newbits, std::uint32_t index) const;

  bool Contains(const Cidr& other) const;
  bool Overlaps(const Cidr& other) const;
  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  Cidr(std::uint32_t network, int prefix) : network_(network), prefix_(prefix) {}
  std::uint32_t network_ = 0;
  int prefix_ = 0;
};

}  // namespace platform::fn::network

#endif  // PLATFORM_FUNCTION_NETWORK_CIDR_H_
