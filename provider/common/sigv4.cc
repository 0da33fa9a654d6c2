#include "provider/common/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "provider/common/crypto.h"

namespace provider {
namespace {

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// Leading and trailing spaces gone, runs of spaces inside made one.
std::string TrimValue(const std::string& v) {
  return absl::StrJoin(absl::StrSplit(v, absl::ByAnyChar(" \t"), absl::SkipEmpty()), " ");
}

std::string Format(std::chrono::system_clock::time_point t, const char* format) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), format, &utc);
  return buf;
}

}  // namespace

std::string UriEncode(const std::string& text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

SigV4Signed SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                   const std::string& region, const std::string& service,
                   std::chrono::system_clock::time_point now) {
  SigV4Signed s;
  s.amz_date = Format(now, "%Y%m%dT%H%M%SZ");
  const std::string date = s.amz_date.substr(0, 8);

  std::map<std::string, std::string> headers;
  for (const auto& [k, v] : request.headers) headers[absl::AsciiStrToLower(k)] = TrimValue(v);
  headers["x-amz-date"] = s.amz_date;
  headers["x-amz-content-sha256"] = request.payload_sha256;
  if (!credentials.session_token.empty()) {
    headers["x-amz-security-token"] = credentials.session_token;
  }
  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : headers) {
    canonical_headers += k + ":" + v + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + k;
  }
  // Sorted by encoded name (then value): a std::map of encoded pairs.
  std::map<std::string, std::string> encoded;
  for (const auto& [k, v] : request.query) encoded[UriEncode(k, false)] = UriEncode(v, false);
  std::string query;
  for (const auto& [k, v] : encoded) query += (query.empty() ? "" : "&") + k + "=" + v;

  s.canonical_request =
      request.method + "\n" + UriEncode(request.path.empty() ? "/" : request.path, true) + "\n" +
      query + "\n" + canonical_headers + "\n" + signed_headers + "\n" + request.payload_sha256;
  const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  s.string_to_sign =
      "AWS4-HMAC-SHA256\n" + s.amz_date + "\n" + scope + "\n" + Sha256Hex(s.canonical_request);
  const std::string key =
      Hmac(Hmac(Hmac(Hmac("AWS4" + credentials.secret_access_key, date), region), service),
           "aws4_request");
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                    ", SignedHeaders=" + signed_headers +
                    ", Signature=" + Hex(Hmac(key, s.string_to_sign));
  return s;
}

}  // namespace provider
