#include "provider/runtime/changelog.h"

namespace runtime {

kube::Json ChangeSnapshot(const kube::Json& mr) {
  kube::Json snapshot = mr;
  if (auto meta = snapshot.find("metadata"); meta != snapshot.end() && meta->is_object()) {
    meta->erase("managedFields");
    if (auto a = meta->find("annotations"); a != meta->end() && a->is_object()) {
      a->erase("kubectl.kubernetes.io/last-applied-configuration");
    }
  }
  return snapshot;
}

}  // namespace runtime
