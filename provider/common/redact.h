// Keeping secrets out of what users see: messages for conditions, events and
// logs pass through these before they leave the provider.
#ifndef PROVIDER_COMMON_REDACT_H_
#define PROVIDER_COMMON_REDACT_H_

#include <string>
#include <vector>

namespace provider {

// `text` with every value of `secrets` of at least 4 characters replaced by
// "***" (longest first).
std::string Redact(std::string text, const std::vector<std::string>& secrets);

// `text` with the user information of URLs ("https://user:token@host")
// replaced by "***".
std::string RedactUrls(const std::string& text);

}  // namespace provider

#endif  // PROVIDER_COMMON_REDACT_H_
