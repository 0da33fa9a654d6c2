#include "function/network/cidr.h"

#include <charconv>

#include "function/sdk/strings.h"

namespace platform::fn::network {
namespace {

std::uint32_t Mask(int prefix) { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(sdk::Cat("\"", text, "\" is not an IPv4 CIDR block: ", why));
}

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return Invalid(text, "expected a.b.c.d/n");
  std::uint32_t address = 0;
  std::string_view rest = text.substr(0, slash);
  for (int octet = 0; octet < 4; ++octet) {
    const std::size_t dot = rest.find('.');
    const std::string_view part = octet < 3 ? rest.substr(0, dot) : rest;
    if ((octet < 3 && dot == std::string_view::npos) || part.empty() || part.size() > 3) {
      return Invalid(text, "expected four dotted numbers");
    }
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc() || ptr != part.data() + part.size() || value > 255) {
      return Invalid(text, "each number must be 0 to 255");
    }
    address = (address << 8) | value;
    if (octet < 3) rest = rest.substr(dot + 1);
  }
  const std::string_view len = text.substr(slash + 1);
  int prefix = -1;
  auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (len.empty() || ec != std::errc() || ptr != len.data() + len.size() || prefix < 0 ||
      prefix > 32) {
    return Invalid(text, "the prefix length must be 0 to 32");
  }
  if ((address & ~Mask(prefix)) != 0) {
    const Cidr base(address & Mask(prefix), prefix);
    return Invalid(text, sdk::Cat("host bits are set; the block is ", base.ToString()));
  }
  return Cidr(address, prefix);
}

std::string Cidr::ToString() const {
  return sdk::Cat(network_ >> 24, ".", (network_ >> 16) & 255, ".", (network_ >> 8) & 255, ".",
                  network_ & 255, "/", prefix_);
}

absl::StatusOr<Cidr> Cidr::Subnet(int newbits, std::uint32_t index) const {
  const int prefix = prefix_ + newbits;
  if (newbits < 0 || prefix > 32) {
    return absl::InvalidArgumentError(
        sdk::Cat(ToString(), " cannot be split into /", prefix, " blocks"));
  }
  if (newbits < 32 && index >= (std::uint32_t{1} << newbits)) {
    return absl::InvalidArgumentError(
        sdk::Cat(ToString(), " has no block ", index, " of prefix /", prefix));
  }
  const std::uint32_t offset = prefix == 32 ? index : index << (32 - prefix);
  return Cidr(network_ | offset, prefix);
}

bool Cidr::Contains(const Cidr& other) const {
  return other.prefix_ >= prefix_ && (other.network_ & Mask(prefix_)) == network_;
}

bool Cidr::Overlaps(const Cidr& other) const { return Contains(other) || other.Contains(*this); }

}  // namespace platform::fn::network
