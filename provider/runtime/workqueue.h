// The controllers' work queue: each key at most once in the queue and never
// handed to two workers at once, delayed adds, per-key exponential backoff
// for failures, a global token bucket (--max-reconcile-rate starts per
// second) and a global limit of reconciles at once, both shared by every
// managed controller.
#ifndef PROVIDER_RUNTIME_WORKQUEUE_H_
#define PROVIDER_RUNTIME_WORKQUEUE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "provider/kube/client.h"

namespace runtime {

using SteadyTime = std::chrono::steady_clock::time_point;

// rate tokens a second, up to burst saved.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst);
  // Blocks until a token is available (or `stop` is set; then false).
  bool Take(const std::atomic<bool>& stop);

 private:
  std::mutex mu_;
  double rate_, burst_, tokens_;
  SteadyTime last_;
};

// At most `limit` holders at once: the reconciles running across every
// controller that shares it (--max-reconcile-rate bounds the OpenTofu and
// Ansible runs of the whole provider, not of each controller).
class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(int limit);
  // Blocks until a slot is free (or `stop` is set; then false).
  bool Acquire(const std::atomic<bool>& stop);
  void Release();
  int limit() const { return limit_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int limit_;
  int used_ = 0;
};

class WorkQueue {
 public:
  WorkQueue(std::chrono::milliseconds base_backoff = std::chrono::seconds(1),
            std::chrono::milliseconds max_backoff = std::chrono::seconds(60));

  void Add(const kube::ObjectKey& key);
  void AddAfter(const kube::ObjectKey& key, std::chrono::milliseconds delay);
  // After a failure: base * 2^(failures), capped.
  void AddRateLimited(const kube::ObjectKey& key);
  // Resets the key's failure count.
  void Forget(const kube::ObjectKey& key);
  int Failures(const kube::ObjectKey& key);

  // Blocks until a key is ready or the queue shuts down (nullopt).
  std::optional<kube::ObjectKey> Get();
  // The worker finished with `key`; a key added meanwhile is queued again.
  void Done(const kube::ObjectKey& key);
  void ShutDown();
  size_t Len();

 private:
  void Ready(const kube::ObjectKey& key);  // mu_ held

  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds base_, max_;
  std::deque<kube::ObjectKey> queue_;
  std::set<kube::ObjectKey> queued_;
  std::set<kube::ObjectKey> processing_;
  std::set<kube::ObjectKey> dirty_;  // added while processing
  std::multimap<SteadyTime, kube::ObjectKey> delayed_;
  std::map<kube::ObjectKey, SteadyTime> delayed_at_;  // earliest pending time per key
  std::map<kube::ObjectKey, int> failures_;
  bool shutdown_ = false;
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_WORKQUEUE_H_
