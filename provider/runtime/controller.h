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

  // Also reconcile when objects of `resource` change (before Start).
  void Watch(const kube::Resource& resource, MapFn map);
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

 private:
  void Work();
  void OnPrimary(const kube::Json& object);
  // The key sharding knows an object by: the controller and the object.
  std::string ShardKey(const kube::ObjectKey& key) const { return name_ + "/" + key.String(); }

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
  std::vector<std::pair<kube::Resource, MapFn>> watches_;
  std::mutex seen_mu_;
  std::map<kube::ObjectKey, std::string> seen_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_CONTROLLER_H_
