#include "provider/runtime/controller.h"

#include <spdlog/spdlog.h>

namespace runtime {

std::string DesiredState(const kube::Json& object) {
  const kube::Json meta = object.value("metadata", kube::Json::object());
  kube::Json annotations = meta.value("annotations", kube::Json::object());
  if (annotations.is_object()) {
    annotations.erase(kCreatePending);
    annotations.erase(kCreateFailed);
  }
  return kube::Json{{"generation", meta.value("generation", int64_t{0})},
                    {"labels", meta.value("labels", kube::Json::object())},
                    {"annotations", annotations},
                    {"deleting", meta.contains("deletionTimestamp")},
                    {"finalizers", meta.value("finalizers", kube::Json::array())}}
      .dump();
}

void KeepForManagedCache(kube::Json& object) {
  kube::Json kept = kube::Json::object();
  for (const char* field : {"apiVersion", "kind"}) {
    if (auto it = object.find(field); it != object.end()) kept[field] = std::move(*it);
  }
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    kube::Json& m = kept["metadata"] = kube::Json::object();
    for (const char* field : {"name", "namespace", "uid", "resourceVersion", "generation", "labels",
                              "annotations", "deletionTimestamp", "finalizers"}) {
      if (auto it = meta->find(field); it != meta->end()) m[field] = std::move(*it);
    }
    if (auto a = m.find("annotations"); a != m.end() && a->is_object()) {
      a->erase("kubectl.kubernetes.io/last-applied-configuration");
    }
  }
  if (auto status = object.find("status"); status != object.end() && status->is_object()) {
    if (auto c = status->find("conditions"); c != status->end() && c->is_array()) {
      kube::Json conditions = kube::Json::array();
      for (const kube::Json& condition : *c) {
        if (!condition.is_object()) continue;
        conditions.push_back({{"type", condition.value("type", kube::Json())},
                              {"status", condition.value("status", kube::Json())}});
      }
      kept["status"]["conditions"] = std::move(conditions);
    }
  }
  object = std::move(kept);
}

Controller::Controller(std::string name, kube::Client& client, kube::Resource resource,
                       ReconcileFn reconcile, int workers, TokenBucket* limiter, Metrics* metrics,
                       ConcurrencyLimit* concurrency)
    : name_(std::move(name)),
      client_(client),
      resource_(std::move(resource)),
      reconcile_(std::move(reconcile)),
      workers_(std::max(workers, 1)),
      limiter_(limiter),
      metrics_(metrics),
      concurrency_(concurrency) {}

Controller::~Controller() { Stop(); }

void Controller::Watch(const kube::Resource& resource, MapFn map,
                       std::function<void(kube::Json&)> transform) {
  watches_.push_back({resource, std::move(map), std::move(transform)});
}

void Controller::OnPrimary(const kube::Json& object) {
  const kube::ObjectKey key = kube::KeyOf(object);
  const size_t state = std::hash<std::string>{}(DesiredState(object));
  {
    std::lock_guard lock(seen_mu_);
    auto it = seen_.find(key);
    if (it != seen_.end() && it->second == state) return;
    seen_[key] = state;
  }
  queue_.Add(key);
}

void Controller::Start() {
  kube::Informer::Handlers handlers;
  handlers.on_upsert = [this](const kube::Json& o) { OnPrimary(o); };
  handlers.on_delete = [this](const kube::Json& o) {
    std::lock_guard lock(seen_mu_);
    seen_.erase(kube::KeyOf(o));
  };
  kube::InformerOptions primary_options;
  primary_options.transform = primary_transform_;
  primary_ =
      std::make_unique<kube::Informer>(client_, resource_, "", "", handlers, primary_options);
  for (const Watched& w : watches_) {
    kube::Informer::Handlers h;
    auto enqueue = [this, m = w.map](const kube::Json& o) {
      if (auto key = m(o)) queue_.Add(*key);
    };
    h.on_upsert = enqueue;
    h.on_delete = enqueue;
    kube::InformerOptions options;
    options.transform = w.transform;
    secondary_.push_back(std::make_unique<kube::Informer>(client_, w.resource, "", "", h, options));
  }
  primary_->Start();
  for (auto& s : secondary_) s->Start();
  if (metrics_ != nullptr) {
    metrics_->AddCollector([this](Metrics& m) {
      m.Set("workqueue_depth", {{"name", name_}}, static_cast<double>(queue_.Len()),
            "Current depth of the work queue.");
    });
  }
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Work(); });
  // From here other threads (other controllers' reconciles, a metrics
  // scrape) may read the informers.
  started_.store(true, std::memory_order_release);
  spdlog::info("controller {} started with {} workers", name_, workers_);
}

void Controller::Stop() {
  if (stop_.exchange(true)) return;
  queue_.ShutDown();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (primary_) primary_->Stop();
  for (auto& s : secondary_) s->Stop();
}

bool Controller::Synced() const {
  if (!started_.load(std::memory_order_acquire) || !primary_->HasSynced()) return false;
  for (const auto& s : secondary_) {
    if (!s->HasSynced()) return false;
  }
  return true;
}

void Controller::ForEachObject(const std::function<void(const kube::Json&)>& visit) const {
  if (started_.load(std::memory_order_acquire)) primary_->ForEach(visit);
}

const kube::Informer* Controller::CacheOf(const kube::Resource& resource) const {
  if (!started_.load(std::memory_order_acquire)) return nullptr;
  const kube::Informer* informer = nullptr;
  if (resource == resource_) {
    informer = primary_.get();
  } else {
    for (size_t i = 0; i < watches_.size() && i < secondary_.size(); ++i) {
      if (watches_[i].resource == resource) informer = secondary_[i].get();
    }
  }
  return informer != nullptr && informer->HasSynced() ? informer : nullptr;
}

std::optional<kube::Json> Controller::Cached(const kube::Resource& resource,
                                             const kube::ObjectKey& key) const {
  const kube::Informer* informer = CacheOf(resource);
  if (informer == nullptr) return std::nullopt;
  return informer->Get(key);
}

std::optional<int64_t> Controller::CountCached(
    const kube::Resource& resource, const std::function<bool(const kube::Json&)>& match) const {
  const kube::Informer* informer = CacheOf(resource);
  if (informer == nullptr) return std::nullopt;
  int64_t n = 0;
  informer->ForEach([&](const kube::Json& o) { n += match(o) ? 1 : 0; });
  return n;
}

void Controller::Resync() {
  if (!started_.load(std::memory_order_acquire)) return;
  std::vector<kube::ObjectKey> keys;
  primary_->ForEach([&](const kube::Json& object) { keys.push_back(kube::KeyOf(object)); });
  for (const kube::ObjectKey& key : keys) queue_.Add(key);
}

void Controller::Work() {
  while (auto key = queue_.Get()) {
    // Another replica's object: dropped until its shard is ours (Resync).
    const std::string shard_key = sharding_ != nullptr ? ShardKey(*key) : "";
    if (sharding_ != nullptr && !sharding_->Owns(shard_key)) {
      queue_.Forget(*key);
      queue_.Done(*key);
      continue;
    }
    // A slot first, then a token: a token is not spent waiting for a slot.
    if (concurrency_ != nullptr && !concurrency_->Acquire(stop_)) {
      queue_.Done(*key);
      break;
    }
    if (limiter_ != nullptr && !limiter_->Take(stop_)) {
      if (concurrency_ != nullptr) concurrency_->Release();
      queue_.Done(*key);
      break;
    }
    // Counted in flight from here: its shard is not handed over meanwhile.
    if (sharding_ != nullptr && !sharding_->Begin(shard_key)) {
      if (concurrency_ != nullptr) concurrency_->Release();
      queue_.Forget(*key);
      queue_.Done(*key);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    Result result;
    try {
      result = reconcile_(*key);
    } catch (const std::exception& e) {
      // Reconcilers report errors as Statuses; what still throws is a
      // library on input it rejects (nlohmann-json reading an object of an
      // unexpected shape): that object is retried, the worker lives on.
      spdlog::error("{}: reconciling {} failed: {}", name_, key->String(), e.what());
      result = Result::Backoff();
    }
    if (concurrency_ != nullptr) concurrency_->Release();
    if (sharding_ != nullptr) sharding_->End(shard_key);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string outcome;
    switch (result.kind) {
      case Result::Kind::kDone:
        queue_.Forget(*key);
        outcome = "success";
        break;
      case Result::Kind::kBackoff:
        queue_.AddRateLimited(*key);
        outcome = "requeue";
        break;
      case Result::Kind::kAfter:
        queue_.Forget(*key);
        queue_.AddAfter(*key, result.after);
        outcome = result.after.count() == 0 ? "requeue" : "requeue_after";
        break;
    }
    spdlog::debug("{}: reconciled {} in {:.3f}s: {}", name_, key->String(), seconds, outcome);
    if (metrics_ != nullptr) {
      metrics_->Add("controller_runtime_reconcile_total",
                    {{"controller", name_}, {"result", outcome}}, 1,
                    "Total number of reconciliations per controller.");
      metrics_->Add("controller_runtime_reconcile_time_seconds_sum", {{"controller", name_}},
                    seconds, "Total time spent reconciling, in seconds.");
      metrics_->Add("controller_runtime_reconcile_time_seconds_count", {{"controller", name_}}, 1,
                    "Number of timed reconciliations.");
    }
    queue_.Done(*key);
  }
}

}  // namespace runtime
