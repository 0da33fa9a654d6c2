// State at rest: gzip and AES-256-GCM.
#ifndef PROVIDER_COMMON_CRYPTO_H_
#define PROVIDER_COMMON_CRYPTO_H_

#include <cstddef>
#include <string>

namespace provider {

// gzip (RFC 1952) of `data`.
std::string Gzip(const std::string& data);
// The content of a gzip stream; throws std::runtime_error when it is corrupt
// or would exceed `max_size` bytes.
std::string Gunzip(const std::string& data, size_t max_size = size_t{256} << 20);

// AES-256-GCM with key SHA-256(key_material): "tfenc1:" + 12-byte random
// nonce + ciphertext + 16-byte tag.
std::string Seal(const std::string& key_material, const std::string& plaintext);
// The plaintext of a Seal()ed blob. Throws std::runtime_error: "state is
// encrypted but no key is configured" (empty key_material), "state is
// encrypted and the key does not match" (authentication fails), or a
// corruption message; never crashes on garbage.
std::string Open(const std::string& key_material, const std::string& blob);
// Whether `blob` starts with the Seal() magic.
bool IsSealed(const std::string& blob);

// Standard base64 (with padding), as Kubernetes Secret data is written.
std::string Base64Encode(const std::string& data);
// Throws std::runtime_error on a malformed input.
std::string Base64Decode(const std::string& text);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace provider

#endif  // PROVIDER_COMMON_CRYPTO_H_
