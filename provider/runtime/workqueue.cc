#include "provider/runtime/workqueue.h"

#include <algorithm>
#include <thread>

namespace runtime {

TokenBucket::TokenBucket(double rate, double burst)
    : rate_(rate),
      burst_(std::max(burst, 1.0)),
      tokens_(burst_),
      last_(std::chrono::steady_clock::now()) {}

ConcurrencyLimit::ConcurrencyLimit(int limit) : limit_(std::max(limit, 1)) {}

bool ConcurrencyLimit::Acquire(const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  while (used_ >= limit_) {
    if (stop) return false;
    // `stop` has no condition variable of its own: look at it now and then.
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  if (stop) return false;
  ++used_;
  return true;
}

void ConcurrencyLimit::Release() {
  {
    std::lock_guard lock(mu_);
    --used_;
  }
  cv_.notify_one();
}

bool TokenBucket::Take(const std::atomic<bool>& stop) {
  while (!stop) {
    std::chrono::duration<double> wait{0};
    {
      std::lock_guard lock(mu_);
      const SteadyTime now = std::chrono::steady_clock::now();
      tokens_ =
          std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
      last_ = now;
      if (tokens_ >= 1) {
        tokens_ -= 1;
        return true;
      }
      wait = std::chrono::duration<double>((1 - tokens_) / rate_);
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::duration<double>>(wait, std::chrono::milliseconds(200)));
  }
  return false;
}

WorkQueue::WorkQueue(std::chrono::milliseconds base_backoff, std::chrono::milliseconds max_backoff)
    : base_(base_backoff), max_(max_backoff) {}

void WorkQueue::Ready(const kube::ObjectKey& key) {
  if (processing_.count(key) != 0) {
    dirty_.insert(key);
    return;
  }
  if (queued_.insert(key).second) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::Add(const kube::ObjectKey& key) {
  std::lock_guard lock(mu_);
  if (shutdown_) return;
  Ready(key);
}

void WorkQueue::AddAfter(const kube::ObjectKey& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return Add(key);
  std::lock_guard lock(mu_);
  if (shutdown_) return;
  const SteadyTime at = std::chrono::steady_clock::now() + delay;
  // Keep only the earliest wake-up per key.
  auto it = delayed_at_.find(key);
  if (it != delayed_at_.end()) {
    if (it->second <= at) return;
    auto range = delayed_.equal_range(it->second);
    for (auto d = range.first; d != range.second; ++d) {
      if (d->second == key) {
        delayed_.erase(d);
        break;
      }
    }
  }
  delayed_at_[key] = at;
  delayed_.emplace(at, key);
  cv_.notify_all();
}

void WorkQueue::AddRateLimited(const kube::ObjectKey& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    const int n = failures_[key]++;
    delay = n >= 16 ? max_ : std::min(max_, base_ * (int64_t{1} << n));
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const kube::ObjectKey& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::Failures(const kube::ObjectKey& key) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<kube::ObjectKey> WorkQueue::Get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (shutdown_) return std::nullopt;
    const SteadyTime now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      const kube::ObjectKey key = delayed_.begin()->second;
      delayed_.erase(delayed_.begin());
      delayed_at_.erase(key);
      Ready(key);
    }
    if (!queue_.empty()) {
      kube::ObjectKey key = queue_.front();
      queue_.pop_front();
      queued_.erase(key);
      processing_.insert(key);
      return key;
    }
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, delayed_.begin()->first);
    }
  }
}

void WorkQueue::Done(const kube::ObjectKey& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.erase(key) != 0 && !shutdown_) Ready(key);
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

size_t WorkQueue::Len() {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace runtime
