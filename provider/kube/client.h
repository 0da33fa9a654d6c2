// The Kubernetes API as the provider uses it: JSON objects addressed by
// group/version/resource, with errors that carry the API server's status.
// RestClient (rest_client.h) speaks HTTP to a real API server;
// provider/testing/fake_client.h keeps objects in memory for unit tests.
#ifndef PROVIDER_KUBE_CLIENT_H_
#define PROVIDER_KUBE_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

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

// An ownerReferences entry making `owner` the controller of another object
// (controller and blockOwnerDeletion set): garbage collection removes that
// object with its owner.
Json ControllerReference(const Json& owner);

// The API server answered with a failure Status (or the transport failed:
// code 0). `reason` is the Status reason ("NotFound", "Conflict",
// "AlreadyExists", "Expired", ...).
class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, const std::string& message)
      : std::runtime_error(message), code_(code), reason_(std::move(reason)) {}
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }

 private:
  int code_;
  std::string reason_;
};

inline bool IsNotFound(const ApiError& e) { return e.code() == 404; }
inline bool IsConflict(const ApiError& e) {
  return e.code() == 409 && e.reason() != "AlreadyExists";
}
inline bool IsAlreadyExists(const ApiError& e) {
  return e.code() == 409 && e.reason() == "AlreadyExists";
}
inline bool IsGone(const ApiError& e) { return e.code() == 410; }

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

class Client {
 public:
  virtual ~Client() = default;

  // Throws ApiError. `ns` is ignored for cluster-scoped resources.
  virtual Json Get(const Resource& r, const ObjectKey& key) = 0;
  // Returns the List object (items, metadata.resourceVersion, continue).
  virtual Json List(const Resource& r, const std::string& ns, const ListOptions& opts) = 0;
  virtual Json Create(const Resource& r, const Json& object) = 0;
  // A full replace, guarded by metadata.resourceVersion when set.
  virtual Json Update(const Resource& r, const Json& object) = 0;
  // PUT on the status subresource.
  virtual Json UpdateStatus(const Resource& r, const Json& object) = 0;
  virtual Json Patch(const Resource& r, const ObjectKey& key, PatchType type, const Json& patch,
                     const PatchOptions& opts) = 0;
  // Deletes; with `uid` set, only that incarnation of the object (a
  // precondition). NotFound is reported as ApiError 404.
  virtual void Delete(const Resource& r, const ObjectKey& key,
                      const std::optional<std::string>& uid = std::nullopt) = 0;
  // Streams watch events to `on_event` until it returns false, the server
  // ends the watch (timeout) or `stop` becomes true. Throws ApiError when the
  // watch cannot start (410 included).
  virtual void Watch(const Resource& r, const std::string& ns, const WatchOptions& opts,
                     const std::function<bool(const WatchEvent&)>& on_event) = 0;
};

}  // namespace kube

#endif  // PROVIDER_KUBE_CLIENT_H_
