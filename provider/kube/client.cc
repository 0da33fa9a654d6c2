#include "provider/kube/client.h"

namespace kube {

ObjectKey KeyOf(const Json& object) {
  const Json& meta = object.value("metadata", Json::object());
  return {meta.value("namespace", ""), meta.value("name", "")};
}

Json ControllerReference(const Json& owner) {
  const Json& meta = owner.value("metadata", Json::object());
  return {{"apiVersion", owner.value("apiVersion", "")},
          {"kind", owner.value("kind", "")},
          {"name", meta.value("name", "")},
          {"uid", meta.value("uid", "")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

}  // namespace kube
