#include "function/renderers/xenvironment/nested.h"

#include <set>
#include <utility>

#include "function/policy/tags.h"
#include "function/sdk/status_macros.h"
#include "function/sdk/strings.h"

namespace platform::fn::renderers {
namespace {

using sdk::FieldError;
using sdk::JoinPath;
using sdk::Json;

// Parameters the environment sets on every nested XR.
constexpr std::string_view kDecided[] = {"environment", "region", "team", "costCenter"};
// Fields of `network` that would name another network.
constexpr std::string_view kNetworkDecided[] = {"environment", "vpcId", "privateSubnetIds",
                                                "publicSubnetIds", "databaseSubnetIds"};

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

}  // namespace

absl::StatusOr<std::vector<NestedXr>> ReadNestedXrs(const sdk::Fields& params,
                                                    const NestedKind& kind, const Parent& parent) {
  PLATFORM_ASSIGN_OR_RETURN(std::vector<sdk::Fields> entries, params.ObjectList(kind.field));
  std::vector<NestedXr> out;
  std::set<std::string> names;
  const std::string_view group =
      parent.scope.namespaced ? "platform.m.terraforming.io" : "platform.terraforming.io";
  // How the nested XR names this environment: a namespaced XEnvironment by
  // its name; a claim-based one by its claim's name, which is how an XR of
  // a claim looks environments up (the nested XR carries the environment's
  // claim labels, as Crossplane copies them to composed resources).
  const std::string environment_ref = parent.scope.namespaced || parent.claim_name.empty()
                                          ? parent.subject.xr_name
                                          : parent.claim_name;
  for (const sdk::Fields& e : entries) {
    NestedXr n;
    PLATFORM_ASSIGN_OR_RETURN(n.name, e.String("name"));
    if (!IsName(n.name)) {
      return FieldError(JoinPath(e.path(), "name"),
                        "must be 1 to 20 lower-case letters, digits or '-', starting and ending "
                        "with a letter or digit");
    }
    if (!names.insert(n.name).second) {
      return FieldError(JoinPath(e.path(), "name"), sdk::Cat("\"", n.name, "\" is listed twice"));
    }
    n.resource = sdk::Cat(kind.resource, "-", n.name);
    n.object_name = sdk::Cat(parent.subject.xr_name, "-", n.name);
    if (n.object_name.size() > kind.max_name) {
      return FieldError(JoinPath(e.path(), "name"),
                        sdk::Cat("names the ", kind.kind, " \"", n.object_name, "\", longer than ",
                                 kind.max_name, " characters; use a shorter name"));
    }
    PLATFORM_ASSIGN_OR_RETURN(sdk::Fields nested_params, e.Object("parameters"));
    Json p = nested_params.value();
    for (std::string_view decided : kDecided) {
      if (p.contains(decided)) {
        return FieldError(JoinPath(nested_params.path(), decided),
                          "set by the XEnvironment; leave it out");
      }
    }
    p["environment"] = parent.subject.environment_class;
    p["region"] = parent.subject.region;
    p["team"] = parent.subject.team;
    if (!parent.subject.cost_center.empty()) p["costCenter"] = parent.subject.cost_center;
    if (p.contains("network")) {
      if (!p["network"].is_object()) {
        return FieldError(JoinPath(nested_params.path(), "network"), "must be an object");
      }
      for (std::string_view decided : kNetworkDecided) {
        if (p["network"].contains(decided)) {
          return FieldError(JoinPath(JoinPath(nested_params.path(), "network"), decided),
                            "set by the XEnvironment (its own network); leave it out");
        }
      }
    }
    p["network"]["environment"] = environment_ref;
    // The environment's tags, under the nested XR's own.
    Json tags = parent.user_tags;
    if (p.contains("tags")) {
      if (!p["tags"].is_object()) {
        return FieldError(JoinPath(nested_params.path(), "tags"), "must be an object");
      }
      // Checked here as the nested XR checks its own, so the environment is
      // refused naming the entry rather than composing an XR that is.
      for (const auto& [key, value] : p["tags"].items()) {
        const std::string at = sdk::Cat(JoinPath(nested_params.path(), "tags"), "[", key, "]");
        if (!value.is_string()) return FieldError(at, "must be a string");
        if (key.starts_with(policy::kPlatformTagPrefix)) continue;  // dropped by the nested XR
        if (std::string why = policy::CheckTag(key, value.get<std::string>()); !why.empty()) {
          return FieldError(at, why);
        }
      }
      tags.update(p["tags"]);
    }
    if (!tags.empty()) p["tags"] = std::move(tags);
    // A claim-based environment's nested XR has no claim of its own; its
    // namespaced objects (and kubeconfig Secret) go to the environment's
    // claim namespace.
    if (kind.takes_namespace && !parent.scope.namespaced &&
        !parent.subject.origin_namespace.empty()) {
      if (p.contains("namespace")) {
        return FieldError(JoinPath(nested_params.path(), "namespace"),
                          sdk::Cat("set by the XEnvironment to its claim's namespace \"",
                                   parent.subject.origin_namespace, "\"; leave it out"));
      }
      p["namespace"] = parent.subject.origin_namespace;
    }

    n.api_version = sdk::Cat(group, "/v1alpha1");
    Json labels = {{"platform.terraforming.io/resource", n.resource}};
    if (!parent.scope.namespaced && !parent.claim_name.empty()) {
      // As Crossplane labels every composed resource of a claim's XR; set
      // here too so the nested XR finds the environment (and is authorized)
      // as the claim's, whatever renders it.
      labels["crossplane.io/claim-name"] = parent.claim_name;
      labels["crossplane.io/claim-namespace"] = parent.subject.origin_namespace;
    }
    Json metadata = {{"name", n.object_name}, {"labels", std::move(labels)}};
    if (parent.scope.namespaced) metadata["namespace"] = parent.scope.namespace_;
    n.object = {{"apiVersion", n.api_version},
                {"kind", kind.kind},
                {"metadata", std::move(metadata)},
                {"spec", {{"parameters", std::move(p)}}}};
    out.push_back(std::move(n));
  }
  return out;
}

absl::Status WriteNestedStatus(const NestedKind& kind, const std::vector<NestedXr>& nested,
                               const sdk::Request& req, sdk::Response& rsp) {
  for (const NestedXr& n : nested) {
    const std::string base = sdk::Cat(kind.field, ".", n.name, ".");
    PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, "name"), n.object_name));
    PLATFORM_RETURN_IF_ERROR(
        rsp.SetCompositeStatus(sdk::Cat(base, "ready"), req.ObservedReady(n.resource)));
    const sdk::Observed* o = req.ObservedResource(n.resource);
    if (o == nullptr) continue;
    const sdk::Fields f(o->object);
    for (std::string_view field : kind.status_fields) {
      absl::StatusOr<const Json*> v = f.Find(sdk::Cat("status.", field));
      if (v.ok() && *v != nullptr && (*v)->is_string()) {
        PLATFORM_RETURN_IF_ERROR(rsp.SetCompositeStatus(sdk::Cat(base, field), **v));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace platform::fn::renderers
