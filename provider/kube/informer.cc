#include "provider/kube/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

#include "common/status_macros.h"
#include "provider/kube/rest_client.h"

namespace kube {
Informer::Informer(Client& client, Resource resource, std::string ns, std::string label_selector,
                   Handlers handlers, Options options)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      label_selector_(std::move(label_selector)),
      handlers_(std::move(handlers)),
      options_(options) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::HasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_; });
}

std::optional<Json> Informer::Get(const ObjectKey& key) const {
  std::lock_guard lock(mu_);
  auto it = cache_.find(resource_.namespaced ? key : ObjectKey{"", key.name});
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<Json> Informer::List() const {
  std::lock_guard lock(mu_);
  std::vector<Json> out;
  out.reserve(cache_.size());
  for (const auto& [key, object] : cache_) out.push_back(object);
  return out;
}

void Informer::ForEach(const std::function<void(const Json&)>& visit) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, object] : cache_) visit(object);
}

std::string Informer::ResourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

ObjectKey Informer::Key(const Json& object) const {
  ObjectKey key = KeyOf(object);
  if (!resource_.namespaced) key.ns.clear();
  return key;
}

bool Informer::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

// What the cache keeps of an object: everything but metadata.managedFields,
// which no handler reads (a reconcile reads the object afresh).
void Informer::Keep(Json& object) const {
  DropManagedFields(object);
  if (options_.transform) options_.transform(object);
}

std::chrono::seconds Informer::NextWatchTimeout() {
  const int64_t base = std::max<int64_t>(options_.watch_timeout.count(), 1);
  std::uniform_int_distribution<int64_t> extra(0, base - 1);
  return std::chrono::seconds(base + extra(random_));
}

absl::Status Informer::Relist() {
  std::map<ObjectKey, Json> fresh;
  std::string version;
  std::string cont;
  do {
    ListOptions opts;
    opts.label_selector = label_selector_;
    opts.limit = options_.page_size;
    opts.continue_token = cont;
    ASSIGN_OR_RETURN(const Json page, client_.List(resource_, ns_, opts));
    const Json meta = page.value("metadata", Json::object());
    if (version.empty()) version = meta.value("resourceVersion", "");
    cont = meta.value("continue", "");
    for (Json item : page.value("items", Json::array())) {
      // Items of a list carry no apiVersion and kind.
      item["apiVersion"] = resource_.ApiVersion();
      item["kind"] = resource_.kind;
      Keep(item);
      const ObjectKey key = Key(item);
      fresh[key] = std::move(item);
    }
  } while (!cont.empty() && !stopping_);
  if (stopping_) return absl::OkStatus();

  std::vector<Json> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, object] : cache_) {
      if (fresh.count(key) == 0) gone.push_back(object);
    }
    cache_ = std::move(fresh);
    resource_version_ = version;
  }
  for (const Json& object : gone) {
    if (handlers_.on_delete) handlers_.on_delete(object);
  }
  // Without the lock: this thread is the cache's only writer, and readers
  // only read.
  if (handlers_.on_upsert) {
    for (const auto& [key, object] : cache_) handlers_.on_upsert(object);
  }
  // Synced once the handlers have seen the first list.
  {
    std::lock_guard lock(mu_);
    synced_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

void Informer::Run() {
  bool need_list = true;
  std::chrono::milliseconds backoff = options_.min_backoff;
  const ScopedWatchStop watch_stop([this] { return stopping_.load(); });
  while (!stopping_) {
    const bool listing = need_list;
    absl::Status status = need_list ? Relist() : absl::OkStatus();
    if (status.ok()) {
      need_list = false;
      bool expired = false;
      const auto started = std::chrono::steady_clock::now();
      bool changes = false;
      status = WatchOnce(expired, changes);
      if (status.ok()) {
        if (expired) {
          need_list = true;
          continue;
        }
        backoff = options_.min_backoff;
        if (!changes && std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
          Pause(options_.rewatch_pause);
        }
        continue;
      }
      if (kube::IsGone(status)) {
        need_list = true;
        continue;
      }
    } else if (kube::IsGone(status) && !listing) {
      need_list = true;
      continue;
    }
    if (const std::optional<ApiError> e = ApiErrorOf(status)) {
      spdlog::warn("informer {}: {} (code {}); retrying in {}ms", resource_.plural, e->message(),
                   e->code(), backoff.count());
    } else {
      spdlog::warn("informer {}: {}; retrying in {}ms", resource_.plural,
                   std::string(status.message()), backoff.count());
    }
    Pause(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Informer::WatchOnce(bool& expired, bool& changes) {
  WatchOptions opts;
  opts.label_selector = label_selector_;
  opts.resource_version = ResourceVersion();
  opts.allow_bookmarks = true;
  opts.timeout = NextWatchTimeout();
  std::optional<ApiError> failure;
  RETURN_IF_ERROR(client_.Watch(resource_, ns_, opts, [&](const WatchEvent& e) {
    if (stopping_) return false;
    if (e.type == "ERROR") {
      const int code = e.object.value("code", 0);
      if (code == 410) {
        expired = true;
      } else {
        failure.emplace(code, e.object.value("reason", "Unknown"),
                        "watch " + resource_.plural + ": " + e.object.value("message", ""));
      }
      return false;
    }
    const std::string version = ResourceVersionOf(e.object);
    if (e.type == "BOOKMARK") {
      std::lock_guard lock(mu_);
      if (!version.empty()) resource_version_ = version;
      return !stopping_;
    }
    const ObjectKey key = Key(e.object);
    if (e.type == "ADDED" || e.type == "MODIFIED") {
      Json object = e.object;
      Keep(object);
      {
        std::lock_guard lock(mu_);
        cache_[key] = object;
        if (!version.empty()) resource_version_ = version;
      }
      changes = true;
      if (handlers_.on_upsert) handlers_.on_upsert(object);
    } else if (e.type == "DELETED") {
      {
        std::lock_guard lock(mu_);
        cache_.erase(key);
        if (!version.empty()) resource_version_ = version;
      }
      changes = true;
      if (handlers_.on_delete) handlers_.on_delete(e.object);
    }
    return !stopping_;
  }));
  return failure ? failure->ToStatus() : absl::OkStatus();
}

}  // namespace kube
