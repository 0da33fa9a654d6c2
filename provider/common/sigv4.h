// AWS Signature Version 4 for S3-compatible object storage: the
// Authorization header of one request, so that state backups need nothing but
// libcurl and OpenSSL. Follows AWS's "Signature Version 4 signing process"
// (canonical request, string to sign, derived signing key); checked against
// the examples AWS publishes for S3.
#ifndef PROVIDER_COMMON_SIGV4_H_
#define PROVIDER_COMMON_SIGV4_H_

#include <chrono>
#include <map>
#include <string>

namespace provider {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional: sent as x-amz-security-token
};

struct SigV4Request {
  std::string method;  // GET, PUT, DELETE, HEAD
  // The path as sent, not yet percent-encoded: each segment is encoded here
  // (S3 encodes a path once; "/" stays).
  std::string path = "/";
  std::map<std::string, std::string> query;  // decoded names and values
  // Headers to sign (host included), any case; values are trimmed.
  std::map<std::string, std::string> headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_sha256;
};

struct SigV4Signed {
  std::string authorization;  // the Authorization header's value
  std::string amz_date;       // x-amz-date, which must be sent (and was signed)
  std::string canonical_request;
  std::string string_to_sign;
};

// Signs `request` for `region` and `service` ("s3") at `now`. x-amz-date,
// x-amz-content-sha256 and (with a session token) x-amz-security-token are
// added to the signed headers; the caller sends them as amz_date,
// request.payload_sha256 and the token.
SigV4Signed SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                   const std::string& region, const std::string& service,
                   std::chrono::system_clock::time_point now);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay,
// everything else is %XX (upper case); "/" stays when `keep_slash`.
std::string UriEncode(const std::string& text, bool keep_slash);

}  // namespace provider

#endif  // PROVIDER_COMMON_SIGV4_H_
