// The Kubernetes API as the provider uses it: JSON objects addressed by
// group/version/resource, with errors that carry the API server's status.
// HttpClient (rest_client.h) speaks HTTP to a real API server;
// provider/testing/fake_client.h keeps objects in memory for unit tests.
#ifndef PROVIDER_KUBE_CLIENT_H_
#define PROVIDER_KUBE_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kube {

using Json = nlohmann::json;

// A resource type: where its objects live in the API.
struct Resource {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "secrets"
  std::string kind;     // "Secret"
  bool namespaced = true;

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  bool operator==(const Resource&) const = default;
};

// One object: its namespace ("" for cluster-scoped kinds) and name.
struct ObjectKey {
  std::string ns;
  std::string name;
  bool operator==(const ObjectKey&) const = default;
  auto operator<=>(const ObjectKey&) const = default;
  std::string String() const { return ns.empty() ? name : ns + "/" + name; }
};

ObjectKey KeyOf(const Json& object);

// metadata.resourceVersion of `object`; "" when it has none (or it is not
// a string).
std::string ResourceVersionOf(const Json& object);

// Drops metadata.managedFields, the server's record of who set which field:
// no part of the provider reads it, it is often most of a small object, and
// an update without it leaves the stored one as it is.
void DropManagedFields(Json& object);

// An ownerReferences entry making `owner` the controller of another object
// (controller and blockOwnerDeletion set): garbage collection removes that
// object with its owner.
Json ControllerReference(const Json& owner);

// The API server answered with a failure Status (or the transport failed:
// code 0). `reason` is the Status reason ("NotFound", "Conflict",
// "AlreadyExists", "Expired", ...). Client calls return it inside an
// absl::Status (ToStatus); ApiErrorOf reads it back.
class ApiError {
 public:
  ApiError(int code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }

  // The Status carrying this error: its code follows the HTTP status (404
  // NotFound, 409 Aborted or AlreadyExists, 410 FailedPrecondition, 0 and
  // 5xx Unavailable, ...), its message is message(), and a payload keeps the
  // HTTP code and reason for ApiErrorOf.
  absl::Status ToStatus() const;

 private:
  int code_;
  std::string reason_;
  std::string message_;
};

// The API error a Status carries; nullopt for OK and for errors that did
// not come from the API server (or its transport).
std::optional<ApiError> ApiErrorOf(const absl::Status& status);

inline bool IsNotFound(const ApiError& e) { return e.code() == 404; }
inline bool IsConflict(const ApiError& e) {
  return e.code() == 409 && e.reason() != "AlreadyExists";
}
inline bool IsAlreadyExists(const ApiError& e) {
  return e.code() == 409 && e.reason() == "AlreadyExists";
}
inline bool IsGone(const ApiError& e) { return e.code() == 410; }

// The same, for a Status from a Client call: false for OK and for errors
// that did not come from the API server. Call them qualified
// (kube::IsNotFound): absl has an IsNotFound and IsAlreadyExists of its own
// that argument-dependent lookup would also find.
bool IsNotFound(const absl::Status& s);
bool IsConflict(const absl::Status& s);
bool IsAlreadyExists(const absl::Status& s);
bool IsGone(const absl::Status& s);

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "" = most recent
  int limit = 0;                 // 0 = no paging
  std::string continue_token;
};

enum class PatchType {
  kMerge,  // application/merge-patch+json
  kApply,  // application/apply-patch+yaml (server-side apply; JSON is YAML)
  kJson,   // application/json-patch+json
};

struct PatchOptions {
  std::string field_manager;  // required for kApply
  bool force = false;         // server-side apply: take over conflicting fields
  std::string subresource;    // "" or "status"
};

// One watch notification. type is ADDED, MODIFIED, DELETED, BOOKMARK or
// ERROR (object is then a Status; 410 means the resource version expired).
struct WatchEvent {
  std::string type;
  Json object;
};

struct WatchOptions {
  std::string label_selector;
  std::string resource_version;
  bool allow_bookmarks = true;
  std::chrono::seconds timeout{300};  // server-side timeoutSeconds
};

// The Kubernetes API, one call a request. Implementations: HttpClient
// (rest_client.h) and testing::FakeClient (memory, for tests).
//
// Threads: every method may be called from any thread, concurrently; an
// implementation keeps no per-caller state.
//
// Errors: a call that fails returns a non-OK Status whose message is short
// and safe to show (no object data, no credentials). When the API server
// answered, ApiErrorOf(status) gives its HTTP code and reason: NotFound,
// Conflict (another writer changed the object: read it again and retry),
// AlreadyExists, Gone (a watch's resource version expired), Invalid,
// Forbidden. A transport failure (connection refused, TLS, timeout after
// the retries) is ApiError code 0, reason "Transport". A failed call
// changed nothing, except a write whose response was lost, which may or may
// not have happened.
//
// Retries: implementations retry what is safe to retry (throttling,
// transport failures before the request was sent; reads and writes guarded
// by a resource version); callers see only the final outcome. Nothing here
// retries a Conflict: that is the caller's decision.
class Client {
 public:
  virtual ~Client() = default;

  // Reads one object. `key.ns` is ignored for cluster-scoped resources.
  // Changes nothing; idempotent.
  virtual absl::StatusOr<Json> Get(const Resource& r, const ObjectKey& key) = 0;
  // Reads one object as Get does, but from the API server's watch cache
  // when that holds `resource_version` or a later one: no read from etcd,
  // about a third of Get's cost. The object returned is never older than
  // `resource_version` (a version the caller read or wrote before); it may
  // miss a write made by someone else in the last moments, which the next
  // guarded write of the caller would then refuse as a Conflict. With an
  // empty `resource_version`, or when the cache does not reach that version
  // in time, this is Get. The default is Get, which is never older.
  virtual absl::StatusOr<Json> GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                               const std::string& resource_version) {
    (void)resource_version;
    return Get(r, key);
  }
  // Returns the List object (items, metadata.resourceVersion, continue) of
  // `ns` ("" = all namespaces). Changes nothing; idempotent.
  virtual absl::StatusOr<Json> List(const Resource& r, const std::string& ns,
                                    const ListOptions& opts) = 0;
  // Creates `object`; returns it as stored (uid, resourceVersion, defaults).
  // Not idempotent: a second create of the same name is AlreadyExists.
  virtual absl::StatusOr<Json> Create(const Resource& r, const Json& object) = 0;
  // Replaces the whole object except its status, guarded by
  // metadata.resourceVersion when set (Conflict when the object moved on);
  // returns it as stored. Idempotent with the same resourceVersion.
  virtual absl::StatusOr<Json> Update(const Resource& r, const Json& object) = 0;
  // Replaces the status subresource only, guarded as Update.
  virtual absl::StatusOr<Json> UpdateStatus(const Resource& r, const Json& object) = 0;
  // Patches one object (or its `opts.subresource`); returns it as stored.
  // Merge and apply patches are idempotent; a JSON patch may not be.
  virtual absl::StatusOr<Json> Patch(const Resource& r, const ObjectKey& key, PatchType type,
                                     const Json& patch, const PatchOptions& opts) = 0;
  // Deletes; with `uid` set, only that incarnation of the object (a
  // precondition: Conflict when the name now holds another). An object with
  // finalizers stays, with a deletionTimestamp, until they are gone.
  // NotFound when there is no such object: callers that only want it gone
  // treat that as success.
  virtual absl::Status Delete(const Resource& r, const ObjectKey& key,
                              const std::optional<std::string>& uid = std::nullopt) = 0;
  // Streams watch events to `on_event` (on the calling thread) until it
  // returns false, the server ends the watch (timeout) or a stop is
  // requested; each of those returns OK. A non-OK Status when the watch
  // cannot start (Gone included: list again) or an event cannot be read.
  // `on_event` must not throw.
  virtual absl::Status Watch(const Resource& r, const std::string& ns, const WatchOptions& opts,
                             const std::function<bool(const WatchEvent&)>& on_event) = 0;
};

}  // namespace kube

#endif  // PROVIDER_KUBE_CLIENT_H_
