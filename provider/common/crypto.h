// State at rest: gzip and AES-256-GCM; base64 and SHA-256.
#ifndef PROVIDER_COMMON_CRYPTO_H_
#define PROVIDER_COMMON_CRYPTO_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace provider {

// gzip (RFC 1952) of `data`. Internal only if zlib fails (out of memory).
absl::StatusOr<std::string> Gzip(const std::string& data);
// The content of a gzip stream: DataLoss when it is corrupt,
// ResourceExhausted when it would exceed `max_size` bytes.
absl::StatusOr<std::string> Gunzip(const std::string& data, size_t max_size = size_t{256} << 20);

// AES-256-GCM with key SHA-256(key_material): "tfenc1:" + 12-byte random
// nonce + ciphertext + 16-byte tag. InvalidArgument for an empty key,
// Unavailable when no random nonce can be had.
absl::StatusOr<std::string> Seal(const std::string& key_material, const std::string& plaintext);
// The plaintext of a Seal()ed blob. Errors (never a crash on garbage):
// FailedPrecondition "state is encrypted but no key is configured" (empty
// key_material), PermissionDenied "state is encrypted and the key does not
// match" (authentication fails), DataLoss for a corrupt blob,
// InvalidArgument for one not sealed at all.
absl::StatusOr<std::string> Open(const std::string& key_material, const std::string& blob);
// Whether `blob` starts with the Seal() magic.
bool IsSealed(const std::string& blob);

// Standard base64 (with padding), as Kubernetes Secret data is written.
std::string Base64Encode(const std::string& data);
// InvalidArgument on a malformed input.
absl::StatusOr<std::string> Base64Decode(const std::string& text);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace provider

#endif  // PROVIDER_COMMON_CRYPTO_H_
