// A cache of one resource type kept current by list + watch, with handlers
// for changes: lists (paged), watches from the list's resource version,
// follows bookmarks, relists when the version expires (410) and backs off on
// other errors.
#ifndef PROVIDER_KUBE_INFORMER_H_
#define PROVIDER_KUBE_INFORMER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "provider/kube/client.h"

namespace kube {

struct InformerOptions {
  int page_size = 500;
  // Server-side timeout of each watch (the watch then restarts from the last
  // resource version): drawn anew for each watch from [watch_timeout,
  // 2 x watch_timeout), as client-go's reflector does, so that a provider's
  // watches neither end together nor cost requests at rest.
  std::chrono::seconds watch_timeout{300};
  std::chrono::milliseconds min_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  // A watch that ended at once is restarted after this pause (a server that
  // closes watches immediately must not make us spin).
  std::chrono::milliseconds rewatch_pause{1000};
  // What the cache keeps of each object (and the on_upsert handler sees):
  // applied after metadata.managedFields is dropped. A cache read only for a
  // few fields keeps only those, which at thousands of objects is most of
  // the process's memory. Must not throw.
  std::function<void(Json&)> transform;
};

class Informer {
 public:
  // Called on the informer's thread, without the cache's lock held (they may
  // call Get and List). on_upsert for added or changed objects, on_delete
  // with the last known state of a removed one. They must not throw.
  struct Handlers {
    std::function<void(const Json&)> on_upsert;
    std::function<void(const Json&)> on_delete;
  };
  using Options = InformerOptions;

  Informer(Client& client, Resource resource, std::string ns, std::string label_selector,
           Handlers handlers, Options options = Options());
  ~Informer();  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts the list-and-watch thread (once).
  void Start();
  // Stops and joins it; returns within about a second also while a watch
  // with a real server is quiet.
  void Stop();

  // True once the first full list is in the cache and the handlers have
  // seen it.
  bool HasSynced() const;
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  std::optional<Json> Get(const ObjectKey& key) const;
  std::vector<Json> List() const;
  // Visits every cached object without copying it, under the cache's lock:
  // `visit` must be quick and must not call back into the informer.
  void ForEach(const std::function<void(const Json&)>& visit) const;
  // The resource version the cache is at.
  std::string ResourceVersion() const;

 private:
  void Run();
  // Lists every object into the cache, then runs the handlers.
  absl::Status Relist();
  // One watch from the cached resource version; `expired` when the server
  // said the version is too old (list again), `changes` when an object
  // changed.
  absl::Status WatchOnce(bool& expired, bool& changes);
  // Waits up to `d`; false when stopping.
  bool Pause(std::chrono::milliseconds d);
  ObjectKey Key(const Json& object) const;
  // Trims `object` to what the cache keeps of it.
  void Keep(Json& object) const;
  // The next watch's server-side timeout (informer thread only).
  std::chrono::seconds NextWatchTimeout();

  Client& client_;
  const Resource resource_;
  const std::string ns_;
  const std::string label_selector_;
  const Handlers handlers_;
  const Options options_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<ObjectKey, Json> cache_;
  std::string resource_version_;
  bool synced_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace kube

#endif  // PROVIDER_KUBE_INFORMER_H_
