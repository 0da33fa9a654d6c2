// Keeping secrets out of what users see: messages for conditions, events and
// logs pass through these before they leave the provider.
//
// What is a secret is the caller's to say: values read from Secrets,
// ProviderConfig credentials (each value inside them as well as the whole),
// variables a module declares sensitive. Values users wrote into a spec in
// the clear are not secrets and are shown as they are.
#ifndef PROVIDER_COMMON_REDACT_H_
#define PROVIDER_COMMON_REDACT_H_

#include <cstddef>
#include <string>
#include <vector>

namespace provider {

// Secret values shorter than this are replaced only where they stand alone.
inline constexpr size_t kShortSecret = 4;

// `text` with every value of `secrets` replaced by "***", longest first.
// A value of kShortSecret characters or more is replaced wherever it occurs.
// A shorter one ("42", "abc") is replaced only as a whole word: where the
// characters either side of it are not letters, digits or '_' (replacing it
// inside other words would garble every message without hiding anything a
// guess could not find). A short value of no letter or digit ("=", "::") is
// not replaced at all, nor is an empty one.
std::string Redact(std::string text, const std::vector<std::string>& secrets);

// The values to redact for a secret file (a ProviderConfig credential, a
// variable file from a Secret): the whole content (also trimmed), each line
// that carries data, and each value inside it on its own: the values of
// "key = value", "key: value" and "export KEY=value" lines (INI such as AWS
// shared credentials, env files, HCL or YAML variables; quotes removed), the
// strings of a JSON document (a service-account key) and each line of the
// multi-line ones, and the password and user:password of URLs
// ("https://user:token@host", also percent-decoded).
std::vector<std::string> SecretFileValues(const std::string& content);

// `text` with the user information of URLs ("https://user:token@host")
// replaced by "***".
std::string RedactUrls(const std::string& text);

}  // namespace provider

#endif  // PROVIDER_COMMON_REDACT_H_
