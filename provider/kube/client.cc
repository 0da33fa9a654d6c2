#include "provider/kube/client.h"

namespace kube {

ObjectKey KeyOf(const Json& object) {
  const Json& meta = object.value("metadata", Json::object());
  return {meta.value("namespace", ""), meta.value("name", "")};
}

}  // namespace kube
