// What the function's and the provider's metrics share: the text exposition
// format's escaping of label values.
#ifndef PLATFORM_COMMON_PROMETHEUS_H_
#define PLATFORM_COMMON_PROMETHEUS_H_

#include <string>
#include <string_view>

namespace platform::common {

// A label value as the text format writes it between double quotes:
// backslash, double quote and line feed escaped with a backslash.
std::string EscapeLabelValue(std::string_view value);

}  // namespace platform::common

#endif  // PLATFORM_COMMON_PROMETHEUS_H_
