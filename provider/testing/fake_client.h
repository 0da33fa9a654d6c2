// An in-memory kube::Client for unit tests. It keeps the API server's rules
// that the provider relies on: resource versions and conflicts, generation
// bumped by spec changes, status kept apart from the rest (Update leaves it,
// UpdateStatus changes only it), finalizers holding a deleted object with a
// deletionTimestamp, uid preconditions on delete, label selectors of the
// form a=b,c=d, and a watch history that expires when compacted.
//
// Tests can fail any call: set `hook`, which runs before each call with the
// verb ("get", "list", "create", "update", "status", "patch", "delete",
// "watch") and fails the call with the Status it returns when not OK (e.g.
// ApiError(409, "Conflict", "modified").ToStatus()).
#ifndef PROVIDER_TESTING_FAKE_CLIENT_H_
#define PROVIDER_TESTING_FAKE_CLIENT_H_

#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/status_macros.h"
#include "provider/kube/client.h"

namespace kube::testing {

class FakeClient : public Client {
 public:
  using Hook =
      std::function<absl::Status(const std::string& verb, const Resource& r, const ObjectKey& key)>;

  absl::StatusOr<Json> Get(const Resource& r, const ObjectKey& key) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Call("get", r, key));
    return Find(r, key);
  }

  // Always the current object (a cache that is never behind), logged as a
  // "get" in `calls` and with the version asked for in `not_older_than`.
  absl::StatusOr<Json> GetNotOlderThan(const Resource& r, const ObjectKey& key,
                                       const std::string& resource_version) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Call("get", r, key));
    not_older_than.push_back(r.plural + " " + key.String() + " " + resource_version);
    return Find(r, key);
  }

  absl::StatusOr<Json> List(const Resource& r, const std::string& ns,
                            const ListOptions& opts) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Call("list", r, {ns, ""}));
    Json items = Json::array();
    for (const auto& [k, obj] : objects_) {
      if (std::get<0>(k) != Id(r)) continue;
      if (r.namespaced && !ns.empty() && std::get<1>(k) != ns) continue;
      if (!Matches(obj, opts.label_selector)) continue;
      items.push_back(obj);
    }
    return Json{{"apiVersion", r.ApiVersion()},
                {"kind", r.kind + "List"},
                {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                {"items", items}};
  }

  absl::StatusOr<Json> Create(const Resource& r, const Json& object) override {
    std::lock_guard lock(mu_);
    ObjectKey key = Scoped(r, KeyOf(object));
    Json obj = object;
    if (key.name.empty() && obj["metadata"].contains("generateName")) {
      key.name = obj["metadata"]["generateName"].get<std::string>() + std::to_string(++names_);
      obj["metadata"]["name"] = key.name;
    }
    RETURN_IF_ERROR(Call("create", r, key));
    if (objects_.count({Id(r), key.ns, key.name}) != 0) {
      return ApiError(409, "AlreadyExists", r.plural + " \"" + key.name + "\" already exists")
          .ToStatus();
    }
    Json& meta = obj["metadata"];
    meta["uid"] = "uid-" + std::to_string(++uids_);
    meta["generation"] = 1;
    meta["creationTimestamp"] = "2026-01-01T00:00:00Z";
    meta.erase("deletionTimestamp");
    obj["apiVersion"] = r.ApiVersion();
    obj["kind"] = r.kind;
    return Store(r, key, std::move(obj), "ADDED");
  }

  absl::StatusOr<Json> Update(const Resource& r, const Json& object) override {
    std::lock_guard lock(mu_);
    const ObjectKey key = Scoped(r, KeyOf(object));
    RETURN_IF_ERROR(Call("update", r, key));
    ASSIGN_OR_RETURN(Json current, Find(r, key));
    RETURN_IF_ERROR(CheckVersion(r, key, current, object));
    Json obj = object;
    obj["metadata"]["uid"] = current["metadata"]["uid"];
    obj["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"];
    if (current["metadata"].contains("deletionTimestamp")) {
      obj["metadata"]["deletionTimestamp"] = current["metadata"]["deletionTimestamp"];
    } else {
      obj["metadata"].erase("deletionTimestamp");
    }
    int64_t generation = current["metadata"].value("generation", int64_t{1});
    if (obj.value("spec", Json()) != current.value("spec", Json())) ++generation;
    obj["metadata"]["generation"] = generation;
    if (current.contains("status")) {
      obj["status"] = current["status"];
    } else {
      obj.erase("status");
    }
    return StoreOrFinalize(r, key, std::move(obj));
  }

  absl::StatusOr<Json> UpdateStatus(const Resource& r, const Json& object) override {
    std::lock_guard lock(mu_);
    const ObjectKey key = Scoped(r, KeyOf(object));
    RETURN_IF_ERROR(Call("status", r, key));
    ASSIGN_OR_RETURN(Json current, Find(r, key));
    RETURN_IF_ERROR(CheckVersion(r, key, current, object));
    current["status"] = object.value("status", Json::object());
    return Store(r, key, std::move(current), "MODIFIED");
  }

  absl::StatusOr<Json> Patch(const Resource& r, const ObjectKey& k, PatchType type,
                             const Json& patch, const PatchOptions& opts) override {
    std::lock_guard lock(mu_);
    const ObjectKey key = Scoped(r, k);
    RETURN_IF_ERROR(Call("patch", r, key));
    absl::StatusOr<Json> found = Find(r, key);
    if (!found.ok()) {
      if (type != PatchType::kApply) return found.status();
      Json obj = patch;
      obj["metadata"]["uid"] = "uid-" + std::to_string(++uids_);
      obj["metadata"]["generation"] = 1;
      return Store(r, key, std::move(obj), "ADDED");
    }
    const Json current = *std::move(found);
    if (type == PatchType::kJson) {
      // RFC 6902, test operations included; a failing one is the API
      // server's 422.
      Json patched;
      try {
        patched = current.patch(patch);
      } catch (const Json::exception& e) {
        return ApiError(422, "Invalid", std::string("json patch: ") + e.what()).ToStatus();
      }
      return StoreOrFinalize(r, key, std::move(patched));
    }
    Json merged = current;
    if (opts.subresource == "status") {
      Json status = current.value("status", Json::object());
      status.merge_patch(patch.value("status", Json::object()));
      merged["status"] = status;
    } else {
      Json body = patch;
      body.erase("status");
      merged.merge_patch(body);
      if (merged.value("spec", Json()) != current.value("spec", Json())) {
        merged["metadata"]["generation"] = current["metadata"].value("generation", int64_t{1}) + 1;
      }
    }
    return StoreOrFinalize(r, key, std::move(merged));
  }

  absl::Status Delete(const Resource& r, const ObjectKey& k,
                      const std::optional<std::string>& uid = std::nullopt) override {
    std::lock_guard lock(mu_);
    const ObjectKey key = Scoped(r, k);
    RETURN_IF_ERROR(Call("delete", r, key));
    ASSIGN_OR_RETURN(Json current, Find(r, key));
    if (uid && current["metadata"].value("uid", "") != *uid) {
      return ApiError(409, "Conflict", "uid precondition failed").ToStatus();
    }
    const Json finalizers = current["metadata"].value("finalizers", Json::array());
    if (!finalizers.empty()) {
      if (!current["metadata"].contains("deletionTimestamp")) {
        current["metadata"]["deletionTimestamp"] = deletion_timestamp;
        Store(r, key, std::move(current), "MODIFIED");
      }
      return absl::OkStatus();
    }
    Remove(r, key, current);
    return absl::OkStatus();
  }

  absl::Status Watch(const Resource& r, const std::string& ns, const WatchOptions& opts,
                     const std::function<bool(const WatchEvent&)>& on_event) override {
    std::vector<WatchEvent> events;
    {
      std::lock_guard lock(mu_);
      RETURN_IF_ERROR(Call("watch", r, {ns, ""}));
      watch_timeouts.push_back(opts.timeout);
      int64_t from = rv_;
      if (!opts.resource_version.empty() && !absl::SimpleAtoi(opts.resource_version, &from)) {
        return ApiError(400, "BadRequest", "resource version " + opts.resource_version).ToStatus();
      }
      if (from < compacted_) {
        return ApiError(410, "Expired", "too old resource version: " + opts.resource_version)
            .ToStatus();
      }
      for (const auto& [rv, id, event] : history_) {
        if (rv <= from || id != Id(r)) continue;
        if (r.namespaced && !ns.empty() && KeyOf(event.object).ns != ns) continue;
        events.push_back(event);
      }
      if (opts.allow_bookmarks) {
        events.push_back({"BOOKMARK",
                          {{"kind", r.kind},
                           {"apiVersion", r.ApiVersion()},
                           {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}});
      }
    }
    for (const auto& e : events) {
      if (!on_event(e)) return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // Forgets the watch history: a watch from an older version gets 410.
  void Compact() {
    std::lock_guard lock(mu_);
    compacted_ = rv_;
    history_.clear();
  }

  // Test helpers that bypass the hook and the call log.
  // Creates `object`; an object that cannot be created is a broken test.
  Json Seed(const Resource& r, Json object) {
    Hook saved = std::move(hook);
    hook = nullptr;
    absl::StatusOr<Json> out = Create(r, object);
    hook = std::move(saved);
    calls.pop_back();
    if (!out.ok()) std::abort();
    return *std::move(out);
  }
  bool Has(const Resource& r, const ObjectKey& key) {
    std::lock_guard lock(mu_);
    return objects_.count({Id(r), Scoped(r, key).ns, key.name}) != 0;
  }
  // The object, or null when there is none.
  Json Peek(const Resource& r, const ObjectKey& key) {
    std::lock_guard lock(mu_);
    return Find(r, key).value_or(Json());
  }
  std::vector<Json> All(const Resource& r) {
    std::lock_guard lock(mu_);
    std::vector<Json> out;
    for (const auto& [k, obj] : objects_) {
      if (std::get<0>(k) == Id(r)) out.push_back(obj);
    }
    return out;
  }

  Hook hook;
  std::vector<std::string> calls;                    // "verb plural ns/name"
  std::vector<std::string> not_older_than;           // "plural ns/name version"
  std::vector<std::chrono::seconds> watch_timeouts;  // each watch's timeoutSeconds
  std::string deletion_timestamp = "2026-01-01T00:00:00Z";

 private:
  using Id3 = std::tuple<std::string, std::string, std::string>;

  static std::string Id(const Resource& r) { return r.plural + "." + r.group; }
  static ObjectKey Scoped(const Resource& r, ObjectKey key) {
    if (!r.namespaced) key.ns.clear();
    return key;
  }

  absl::Status Call(const std::string& verb, const Resource& r, const ObjectKey& key) {
    calls.push_back(verb + " " + r.plural + " " + key.String());
    return hook ? hook(verb, r, key) : absl::OkStatus();
  }

  absl::StatusOr<Json> Find(const Resource& r, const ObjectKey& k) {
    const ObjectKey key = Scoped(r, k);
    auto it = objects_.find({Id(r), key.ns, key.name});
    if (it == objects_.end()) {
      return ApiError(404, "NotFound", r.plural + " \"" + key.name + "\" not found").ToStatus();
    }
    return it->second;
  }

  static absl::Status CheckVersion(const Resource& r, const ObjectKey& key, const Json& current,
                                   const Json& object) {
    const std::string want = object["metadata"].value("resourceVersion", "");
    if (!want.empty() && want != current["metadata"].value("resourceVersion", "")) {
      return ApiError(409, "Conflict",
                      "Operation cannot be fulfilled on " + r.plural + " \"" + key.name +
                          "\": the object has been modified")
          .ToStatus();
    }
    return absl::OkStatus();
  }

  Json Store(const Resource& r, const ObjectKey& key, Json obj, const std::string& event) {
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    objects_[{Id(r), key.ns, key.name}] = obj;
    history_.push_back({rv_, Id(r), {event, obj}});
    return obj;
  }

  Json StoreOrFinalize(const Resource& r, const ObjectKey& key, Json obj) {
    if (obj["metadata"].contains("deletionTimestamp") &&
        obj["metadata"].value("finalizers", Json::array()).empty()) {
      Remove(r, key, obj);
      return obj;
    }
    return Store(r, key, std::move(obj), "MODIFIED");
  }

  void Remove(const Resource& r, const ObjectKey& key, Json obj) {
    objects_.erase({Id(r), key.ns, key.name});
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    history_.push_back({rv_, Id(r), {"DELETED", obj}});
  }

  static bool Matches(const Json& obj, const std::string& selector) {
    if (selector.empty()) return true;
    const Json labels = obj["metadata"].value("labels", Json::object());
    size_t start = 0;
    while (start <= selector.size()) {
      size_t end = selector.find(',', start);
      if (end == std::string::npos) end = selector.size();
      const std::string term = selector.substr(start, end - start);
      const size_t eq = term.find('=');
      const std::string k = term.substr(0, eq);
      if (eq == std::string::npos) {
        if (!labels.contains(k)) return false;
      } else if (labels.value(k, "") != term.substr(eq + 1)) {
        return false;
      }
      start = end + 1;
    }
    return true;
  }

  std::mutex mu_;
  std::map<Id3, Json> objects_;
  std::vector<std::tuple<int64_t, std::string, WatchEvent>> history_;
  int64_t rv_ = 100;
  int64_t compacted_ = 0;
  int uids_ = 0;
  int names_ = 0;
};

}  // namespace kube::testing

#endif  // PROVIDER_TESTING_FAKE_CLIENT_H_
