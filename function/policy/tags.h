// AWS's rules for tags, checked in one place for every tag the function
// composes: the XR's own (spec.parameters.tags, and those of the XRs an
// XEnvironment nests), the policy's mandated ones, and the values of the
// platform's own tags that come from the XR (team, cost center).
//
// The rules every AWS service shares (the tagging API's pattern
// ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$): a key has 1 to 128 characters and does
// not start with aws: (any case), a value 0 to 256; both hold only Unicode
// letters, numbers and space separators, and _ . : / = + - @. Lengths count
// characters (code points), not bytes. EC2 alone accepts more, but the same
// tags go on IAM, RDS, EKS and KMS resources too.
#ifndef PLATFORM_FUNCTION_POLICY_TAGS_H_
#define PLATFORM_FUNCTION_POLICY_TAGS_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace platform::fn::policy {

inline constexpr std::size_t kMaxTagKeyChars = 128;
inline constexpr std::size_t kMaxTagValueChars = 256;
// Tags per resource, the platform's own included.
inline constexpr std::size_t kMaxTagsPerResource = 50;

// Empty when AWS accepts `key` as a tag key, else the rule it breaks, e.g.
// `a tag key may only hold letters, digits, spaces and _ . : / = + - @, not
// "#" (character 4)`.
std::string CheckTagKey(std::string_view key);

// Empty when AWS accepts `value` as a tag value, else the rule it breaks.
std::string CheckTagValue(std::string_view value);

// The first rule the tag breaks, its key's first; empty when it breaks none.
std::string CheckTag(std::string_view key, std::string_view value);

// The characters (code points) of UTF-8 text: its bytes that do not continue
// a sequence.
std::size_t Utf8Length(std::string_view s);

}  // namespace platform::fn::policy

#endif  // PLATFORM_FUNCTION_POLICY_TAGS_H_
