// A small client for S3-compatible object storage (AWS S3, GCS through its
// S3 interoperability, MinIO, Ceph): put, get, head, delete and list of one
// bucket, each request signed with AWS Signature Version 4 (sigv4.h) and sent
// with libcurl. Enough for state backups; no multipart upload (a state
// version is at most 16 MiB, S3 takes 5 GiB in one PUT).
#ifndef PROVIDER_COMMON_S3_H_
#define PROVIDER_COMMON_S3_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/common/sigv4.h"

namespace provider {

struct S3Options {
  // scheme://host[:port], e.g. https://s3.eu-west-1.amazonaws.com or
  // https://storage.googleapis.com.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Path-style addressing (endpoint/bucket/key), which every S3-compatible
  // server takes; false: virtual-hosted (bucket.host/key).
  bool path_style = true;
  SigV4Credentials credentials;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{60000};  // a whole request
};

struct S3Object {
  std::string key;
  int64_t size = 0;
};

struct S3Got {
  std::string body;
  // x-amz-meta-* headers, by the name after the prefix (lower case).
  std::map<std::string, std::string> metadata;
};

class S3Client {
 public:
  explicit S3Client(S3Options options) : options_(std::move(options)) {}

  // Stores `body` under `key` with `metadata` (names lower case, values
  // ASCII: sent as x-amz-meta-<name>; empty values are not sent).
  // Errors: NotFound only for a missing object (S3's NoSuchKey), never for
  // a missing bucket (FailedPrecondition); Unavailable when the server
  // cannot be reached or answers 5xx.
  absl::Status Put(const std::string& key, const std::string& body,
                   const std::map<std::string, std::string>& metadata = {});
  // NotFound when there is no such object.
  absl::StatusOr<S3Got> Get(const std::string& key);
  // The object's metadata; nullopt when there is no such object.
  absl::StatusOr<std::optional<std::map<std::string, std::string>>> Head(const std::string& key);
  // Deleting an object that is not there is fine.
  absl::Status Delete(const std::string& key);
  // Every object whose key starts with `prefix`, in key order (all pages).
  absl::StatusOr<std::vector<S3Object>> List(const std::string& prefix);
  // Creates the bucket; one that exists and is ours is fine.
  absl::Status CreateBucket();

  const S3Options& options() const { return options_; }

 private:
  struct Response {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names lower case
  };
  // One signed request; `key` "" addresses the bucket. Errors: what libcurl
  // says about the connection (Unavailable), or none: the caller reads the
  // status.
  absl::StatusOr<Response> Send(const std::string& method, const std::string& key,
                                const std::map<std::string, std::string>& query,
                                const std::string& body,
                                const std::map<std::string, std::string>& headers);
  // An error for a response S3 refused, naming the operation, the key and
  // S3's code and message.
  absl::Status Refused(const std::string& what, const std::string& key, const Response& r) const;

  S3Options options_;
};

// One page of a ListObjectsV2 answer.
struct S3ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  std::string next_token;
};
// InvalidArgument when `xml` is not a ListBucketResult.
absl::StatusOr<S3ListPage> ParseListObjects(const std::string& xml);

}  // namespace provider

#endif  // PROVIDER_COMMON_S3_H_
