// The AnsibleRun kind's external client. An AnsibleRun exists once a run of
// its playbook succeeded (status.atProvider.appliedSpecHash). Observe finds
// drift the way spec.forProvider.driftPolicy says: a check run
// (--check --diff) where a task would change, a changed spec, or every
// poll. Create and Update run the playbook with the state variable
// "present"; Delete runs the delete playbook, or the playbook with it
// "absent", and only then lets the finalizer go. Each run happens in a
// working folder of its own, removed afterwards.
#ifndef PROVIDER_ANSIBLE_EXTERNAL_H_
#define PROVIDER_ANSIBLE_EXTERNAL_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "provider/kube/cached_reads.h"
#include "provider/kube/client.h"
#include "provider/kube/clock.h"
#include "provider/runtime/events.h"
#include "provider/runtime/managed.h"

namespace ansible {

struct AnsibleOptions {
  std::string ansible_playbook = "ansible-playbook";
  std::string ansible_galaxy = "ansible-galaxy";
  std::string work_root;   // one folder per AnsibleRun uid
  std::string cache_root;  // git mirrors, HOME
  std::chrono::milliseconds default_timeout{std::chrono::minutes(20)};
  const std::atomic<bool>* cancel = nullptr;
};

class AnsibleConnector : public runtime::Connector {
 public:
  AnsibleConnector(kube::Client& client, runtime::EventSink& events, const kube::Clock& clock,
                   AnsibleOptions options);
  absl::StatusOr<std::unique_ptr<runtime::ExternalClient>> Connect(
      kube::Json& mr, const kube::Json& provider_config) override;

 private:
  kube::Client& client_;
  // The resource's inputs (keys, credentials, variable files), read from
  // the API server's watch cache after their first read.
  kube::CachedReads inputs_;
  runtime::EventSink& events_;
  const kube::Clock& clock_;
  AnsibleOptions options_;
};

}  // namespace ansible

#endif  // PROVIDER_ANSIBLE_EXTERNAL_H_
