// What the webhook reads from the cluster, kept current by watches (list +
// watch, provider/kube/informer.h) rather than asked for on each review: the
// policy EnvironmentConfig and the namespaces (their team labels). A change
// to the policy applies to the next review, without a restart.
#ifndef PLATFORM_ADMISSION_CLUSTER_STATE_H_
#define PLATFORM_ADMISSION_CLUSTER_STATE_H_

#include <memory>
#include <optional>
#include <string>

#include "admission/review.h"
#include "provider/kube/informer.h"

namespace platform::admission {

class ClusterState {
 public:
  // Watches the EnvironmentConfig `policy_name` ("" watches none) and the
  // namespaces through `client`, which must outlive this.
  ClusterState(kube::Client& client, std::string policy_name);
  ~ClusterState();
  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;

  void Start();
  void Stop();

  // True once both watches have listed everything: until then a review
  // would be judged without the policy, so the webhook is not ready.
  bool Ready() const;

  // The policy EnvironmentConfig; nullopt when it does not exist.
  std::optional<Json> Policy() const;
  // A namespace; nullopt when unknown.
  std::optional<Json> Namespace(const std::string& name) const;

 private:
  std::string policy_name_;
  std::unique_ptr<kube::Informer> policies_;
  std::unique_ptr<kube::Informer> namespaces_;
};

}  // namespace platform::admission

#endif  // PLATFORM_ADMISSION_CLUSTER_STATE_H_
