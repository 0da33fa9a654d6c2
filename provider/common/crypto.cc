#include "provider/common/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "absl/status/status.h"

namespace provider {
namespace {

constexpr char kMagic[] = "tfenc1:";
constexpr size_t kMagicSize = sizeof kMagic - 1;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::array<unsigned char, SHA256_DIGEST_LENGTH> Sha256(const std::string& data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  unsigned int len = 0;
  // EVP_Digest fails only when memory runs out, which nothing here survives.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return digest;
}

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

absl::StatusOr<std::string> Inflate(const std::string& data, size_t max_size) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError("gunzip: init failed");
  std::string out;
  zs.next_in = const_cast<Bytef*>(Bytes(data));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return absl::DataLossError(
          "state is corrupt (gzip: " + std::string(zs.msg != nullptr ? zs.msg : "truncated") + ")");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_size) {
      inflateEnd(&zs);
      return absl::ResourceExhaustedError("state is too large once decompressed");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return absl::DataLossError("state is corrupt (gzip: truncated)");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

absl::StatusOr<std::string> Gzip(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("gzip: init failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = const_cast<Bytef*>(Bytes(data));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = Bytes(out);
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("gzip failed");
  out.resize(zs.total_out);
  return out;
}

absl::StatusOr<std::string> Gunzip(const std::string& data, size_t max_size) {
  if (data.size() < 18) return absl::DataLossError("state is corrupt (gzip: too short)");
  return Inflate(data, max_size);
}

bool IsSealed(const std::string& blob) { return blob.compare(0, kMagicSize, kMagic) == 0; }

absl::StatusOr<std::string> Seal(const std::string& key_material, const std::string& plaintext) {
  if (key_material.empty()) return absl::InvalidArgumentError("no encryption key given");
  const auto key = Sha256(key_material);
  std::string out(kMagic);
  std::string nonce(kNonceSize, '\0');
  if (RAND_bytes(Bytes(nonce), static_cast<int>(kNonceSize)) != 1) {
    return absl::UnavailableError("no random bytes for the nonce");
  }
  out += nonce;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), Bytes(nonce)) != 1) {
    return absl::InternalError("aes-256-gcm: init failed");
  }
  std::string cipher(plaintext.size() + 16, '\0');
  int len = 0;
  int total = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), Bytes(cipher), &len, Bytes(plaintext),
                                              static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("aes-256-gcm: encrypt failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), Bytes(cipher) + total, &len) != 1) {
    return absl::InternalError("aes-256-gcm: encrypt failed");
  }
  total += len;
  cipher.resize(static_cast<size_t>(total));
  std::string tag(kTagSize, '\0');
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          Bytes(tag)) != 1) {
    return absl::InternalError("aes-256-gcm: no tag");
  }
  out += cipher;
  out += tag;
  return out;
}

absl::StatusOr<std::string> Open(const std::string& key_material, const std::string& blob) {
  if (!IsSealed(blob)) return absl::InvalidArgumentError("state is not encrypted");
  if (key_material.empty()) {
    return absl::FailedPreconditionError("state is encrypted but no key is configured");
  }
  if (blob.size() < kMagicSize + kNonceSize + kTagSize) {
    return absl::DataLossError("state is corrupt (encrypted blob too short)");
  }
  const auto key = Sha256(key_material);
  const std::string nonce = blob.substr(kMagicSize, kNonceSize);
  const size_t cipher_size = blob.size() - kMagicSize - kNonceSize - kTagSize;
  const std::string cipher = blob.substr(kMagicSize + kNonceSize, cipher_size);
  std::string tag = blob.substr(blob.size() - kTagSize);

  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), Bytes(nonce)) != 1) {
    return absl::InternalError("aes-256-gcm: init failed");
  }
  std::string plain(cipher.size() + 16, '\0');
  int len = 0;
  if (!cipher.empty() && EVP_DecryptUpdate(ctx.get(), Bytes(plain), &len, Bytes(cipher),
                                           static_cast<int>(cipher.size())) != 1) {
    return absl::DataLossError("state is corrupt (decrypt failed)");
  }
  int total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          Bytes(tag)) != 1) {
    return absl::DataLossError("aes-256-gcm: tag rejected");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(plain) + total, &len) != 1) {
    return absl::PermissionDeniedError("state is encrypted and the key does not match");
  }
  total += len;
  plain.resize(static_cast<size_t>(total));
  return plain;
}

std::string Base64Encode(const std::string& data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
                       static_cast<uint32_t>(static_cast<unsigned char>(data[i + 2]));
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size())
      v |= static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (c == '\n' || c == '\r') continue;
    const int v = value(c);
    if (v < 0 || padding > 0) return absl::InvalidArgumentError("malformed base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (padding > 2 || bits >= 6) return absl::InvalidArgumentError("malformed base64");
  return out;
}

std::string Sha256Hex(const std::string& data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : Sha256(data)) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace provider
