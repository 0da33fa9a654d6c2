#include "function/compose/usage.h"

#include <utility>

#include "function/compose/object.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {

using sdk::Json;

Json UsageEndByName(std::string_view api_version, std::string_view kind, std::string_view name) {
  return {{"apiVersion", api_version}, {"kind", kind}, {"resourceRef", {{"name", name}}}};
}

Json UsageEndBySelector(std::string_view api_version, std::string_view kind,
                        std::string_view resource) {
  return {
      {"apiVersion", api_version}, {"kind", kind}, {"resourceSelector", SelectComposed(resource)}};
}

Json Usage(bool namespaced, Json metadata, Json of, Json by) {
  return {{"apiVersion", "protection.crossplane.io/v1beta1"},
          {"kind", namespaced ? "Usage" : "ClusterUsage"},
          {"metadata", std::move(metadata)},
          {"spec", {{"replayDeletion", true}, {"of", std::move(of)}, {"by", std::move(by)}}}};
}

std::string UsageResource(std::string_view of, std::string_view by) {
  return sdk::Cat("usage-", of, "-by-", by);
}

}  // namespace platform::fn::compose
