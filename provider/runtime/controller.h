// A controller: an informer on one resource feeding a work queue, workers
// that call a reconcile function, and the queue's verdicts (done, backoff,
// requeue after) applied. Changes that do not touch the desired state
// (status writes, the create-pending and create-failed annotations) do not
// trigger a reconcile, as crossplane-runtime's DesiredStateChanged filter.
#ifndef PROVIDER_RUNTIME_CONTROLLER_H_
#define PROVIDER_RUNTIME_CONTROLLER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "provider/kube/client.h"
#include "provider/kube/informer.h"
#include "provider/runtime/managed.h"
#include "provider/runtime/metrics.h"
#include "provider/runtime/sharding.h"
#include "provider/runtime/workqueue.h"

namespace runtime {

// What of an object counts as its desired state: generation, labels,
// annotations but the create-pending/failed ones, and whether it is being
// deleted.
std::string DesiredState(const kube::Json& object);

// Trims a managed resource to what its controller reads from the cache:
// its key, the fields of DesiredState (kubectl's last-applied-configuration
// annotation aside, a copy of the spec) and the type and status of its
// conditions (the state gauges). A reconcile reads the object afresh.
void KeepForManagedCache(kube::Json& object);

class Controller {
 public:
  using ReconcileFn = std::function<Result(const kube::ObjectKey&)>;
  // Maps an object of a secondary resource to the key to reconcile.
  using MapFn = std::function<std::optional<kube::ObjectKey>(const kube::Json&)>;

  // `limiter` (optional) paces the starts of reconciles; `concurrency`
  // (optional, shared by controllers) bounds how many run at once across
  // every controller that shares it, whatever their `workers`.
  Controller(std::string name, kube::Client& client, kube::Resource resource, ReconcileFn reconcile,
             int workers, TokenBucket* limiter, Metrics* metrics,
             ConcurrencyLimit* concurrency = nullptr);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Also reconcile when objects of `resource` change (before Start);
  // `transform` (optional) trims what its cache keeps (InformerOptions).
  void Watch(const kube::Resource& resource, MapFn map,
             std::function<void(kube::Json&)> transform = nullptr);
  // What the primary resource's cache keeps of each object (before Start;
  // default: all but managedFields).
  void KeepInCache(std::function<void(kube::Json&)> transform) {
    primary_transform_ = std::move(transform);
  }
  // Reconcile only the objects whose shard this replica holds (before
  // Start); the others are dropped from the queue until Resync.
  void ShareWith(Sharding* sharding) { sharding_ = sharding; }
  // Queues every cached object again (shards were gained).
  void Resync();

  void Start();
  void Stop();
  bool Synced() const;
  const std::string& name() const { return name_; }
  // Visits the primary resource's cached objects without copying them (see
  // kube::Informer::ForEach).
  void ForEachObject(const std::function<void(const kube::Json&)>& visit) const;
  // Object `key` of `resource` (the primary one or a watched one) as cached;
  // nullopt when it is not cached or when that cache has not synced yet.
  std::optional<kube::Json> Cached(const kube::Resource& resource,
                                   const kube::ObjectKey& key) const;
  // How many cached objects of `resource` `match`; nullopt when this
  // controller has no synced cache of it.
  std::optional<int64_t> CountCached(const kube::Resource& resource,
                                     const std::function<bool(const kube::Json&)>& match) const;

 private:
  void Work();
  void OnPrimary(const kube::Json& object);
  // The key sharding knows an object by: the controller and the object.
  std::string ShardKey(const kube::ObjectKey& key) const { return name_ + "/" + key.String(); }
  // The synced informer of `resource`, or null.
  const kube::Informer* CacheOf(const kube::Resource& resource) const;

  std::string name_;
  kube::Client& client_;
  kube::Resource resource_;
  ReconcileFn reconcile_;
  int workers_;
  TokenBucket* limiter_;
  Metrics* metrics_;
  ConcurrencyLimit* concurrency_;
  Sharding* sharding_ = nullptr;
  WorkQueue queue_;
  std::unique_ptr<kube::Informer> primary_;
  std::vector<std::unique_ptr<kube::Informer>> secondary_;
  struct Watched {
    kube::Resource resource;
    MapFn map;
    std::function<void(kube::Json&)> transform;
  };
  std::vector<Watched> watches_;
  std::function<void(kube::Json&)> primary_transform_;
  std::mutex seen_mu_;
  // A hash of each object's DesiredState when last queued.
  std::map<kube::ObjectKey, size_t> seen_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  // Set once Start has made the informers (they are read from other threads).
  std::atomic<bool> started_{false};
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_CONTROLLER_H_
