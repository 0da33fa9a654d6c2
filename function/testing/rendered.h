// What renderer tests read from a RunFunction response: the desired
// resources as JSON, the XR's desired status, readiness, connection details
// and results, with small helpers to build requests from JSON.
#ifndef PLATFORM_FUNCTION_TESTING_RENDERED_H_
#define PLATFORM_FUNCTION_TESTING_RENDERED_H_

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "function/policy/policy.h"
#include "function/sdk/fields.h"
#include "function/sdk/struct_json.h"
#include "function/testing/render_test_util.h"

namespace platform::fn::testing {

using Names = std::set<std::string>;

// `base` with `patch` merged in (RFC 7386: a null removes a field).
inline sdk::Json With(sdk::Json base, const sdk::Json& patch) {
  base.merge_patch(patch);
  return base;
}

// The value at `path` (Fields syntax: `spec.forProvider.tags[Name]`), or null.
inline sdk::Json At(const sdk::Json& object, std::string_view path) {
  absl::StatusOr<const sdk::Json*> v = sdk::Fields(object).Find(path);
  if (!v.ok() || *v == nullptr) return nullptr;
  return **v;
}

// The label every composed object carries with its composition resource name.
inline constexpr char kResourceLabel[] = "platform.terraforming.io/resource";

// The composition resource name a selector points at, or "" when it is not
// a selector of the platform's shape.
inline std::string Target(const sdk::Json& selector) {
  const sdk::Json label = At(selector, std::string("matchLabels[") + kResourceLabel + "]");
  return label.is_string() ? label.get<std::string>() : "";
}

// A platform XR of `kind` named `name`: namespaced when `ns` is set, else
// claim-based from a claim in `claim_ns` named `claim_name` (no claim labels
// when those are empty).
inline sdk::Json XrOf(std::string_view kind, std::string_view name, const sdk::Json& parameters,
                      const std::string& ns = "", const std::string& claim_ns = "team-payments",
                      const std::string& claim_name = "") {
  sdk::Json xr = {
      {"apiVersion",
       ns.empty() ? "platform.terraforming.io/v1alpha1" : "platform.m.terraforming.io/v1alpha1"},
      {"kind", kind},
      {"metadata", {{"name", name}}},
      {"spec", {{"parameters", parameters}}},
  };
  if (!ns.empty()) {
    xr["metadata"]["namespace"] = ns;
  } else if (!claim_ns.empty()) {
    xr["metadata"]["labels"] = {{"crossplane.io/claim-namespace", claim_ns}};
    if (!claim_name.empty()) xr["metadata"]["labels"]["crossplane.io/claim-name"] = claim_name;
  }
  return xr;
}

class Rendered {
 public:
  explicit Rendered(pb::RunFunctionResponse rsp) : rsp_(std::move(rsp)) {
    for (const auto& [name, r] : rsp_.desired().resources()) {
      resources_[name] = sdk::FromStruct(r.resource());
    }
    if (rsp_.desired().has_composite()) {
      status_ = At(sdk::FromStruct(rsp_.desired().composite().resource()), "status");
    }
    if (status_.is_null()) status_ = sdk::Json::object();
  }

  const pb::RunFunctionResponse& proto() const { return rsp_; }
  const std::map<std::string, sdk::Json>& resources() const { return resources_; }
  bool Has(const std::string& name) const { return resources_.contains(name); }
  Names names() const {
    Names out;
    for (const auto& [name, unused] : resources_) out.insert(name);
    return out;
  }
  // Names starting with `prefix`.
  Names NamesWith(std::string_view prefix) const {
    Names out;
    for (const auto& [name, unused] : resources_) {
      if (name.starts_with(prefix)) out.insert(name);
    }
    return out;
  }
  // A desired resource; null (and a test failure) when there is none.
  sdk::Json Resource(const std::string& name) const {
    auto it = resources_.find(name);
    if (it == resources_.end()) {
      ADD_FAILURE() << "no desired resource " << name;
      return nullptr;
    }
    return it->second;
  }
  sdk::Json Get(const std::string& name, std::string_view path) const {
    return At(Resource(name), path);
  }
  // The composition resource name the selector at `path` of `name` points at.
  std::string TargetOf(const std::string& name, std::string_view path) const {
    return Target(Get(name, path));
  }
  std::string Kind(const std::string& name) const {
    auto it = resources_.find(name);
    return it == resources_.end() ? "" : it->second.value("kind", "");
  }
  // Names of the desired resources of `kind`.
  Names OfKind(std::string_view kind) const {
    Names out;
    for (const auto& [name, o] : resources_) {
      if (o.value("kind", "") == kind) out.insert(name);
    }
    return out;
  }
  pb::Ready Ready(const std::string& name) const {
    auto it = rsp_.desired().resources().find(name);
    return it == rsp_.desired().resources().end() ? pb::READY_UNSPECIFIED : it->second.ready();
  }
  pb::Ready CompositeReady() const { return rsp_.desired().composite().ready(); }
  const sdk::Json& status() const { return status_; }
  sdk::Json Status(std::string_view path) const { return At(status_, path); }
  std::map<std::string, std::string> Details() const {
    const auto& d = rsp_.desired().composite().connection_details();
    return {d.begin(), d.end()};
  }
  // The messages of the results of `severity`.
  std::vector<std::string> Results(pb::Severity severity) const {
    std::vector<std::string> out;
    for (const pb::Result& r : rsp_.results()) {
      if (r.severity() == severity) out.push_back(r.message());
    }
    return out;
  }
  std::vector<std::string> Normal() const { return Results(pb::SEVERITY_NORMAL); }
  // The only FATAL message (a test failure when there are more), or "" when
  // the render succeeded.
  std::string Fatal() const {
    const std::vector<std::string> fatal = Results(pb::SEVERITY_FATAL);
    EXPECT_LE(fatal.size(), 1u);
    return fatal.empty() ? "" : fatal.front();
  }

 private:
  pb::RunFunctionResponse rsp_;
  std::map<std::string, sdk::Json> resources_;
  sdk::Json status_ = sdk::Json::object();
};

inline Rendered Render(const Call& c) { return Rendered(RunProto(c)); }

// Runs `c`, expecting no FATAL result.
inline Rendered RunOk(const Call& c) {
  Rendered r = Render(c);
  EXPECT_EQ(r.Fatal(), "");
  return r;
}
inline Rendered RunOk(const sdk::Json& xr) { return RunOk(Call{.xr = xr}); }

// A platform with a management path for every class (the policy's
// classes.<class>.network.managementPath), as a Cluster API cluster with the
// default Private endpoint needs. A class the input gives a managementPath
// of its own (or null) keeps it.
inline constexpr char kTransitGateway[] = "tgw-0123456789abcdef0";
inline constexpr char kManagementCidr[] = "10.100.0.0/16";

inline sdk::Json WithManagementPath(sdk::Json input) {
  if (input.is_null()) input = PolicyInput(sdk::Json::object());
  for (std::string_view cls : policy::kEnvironmentClasses) {
    sdk::Json& network = input["policy"]["classes"][std::string(cls)]["network"];
    if (!network.contains("managementPath")) {
      network["managementPath"] = {{"transitGatewayId", kTransitGateway},
                                   {"cidrs", {kManagementCidr}}};
    }
  }
  return input;
}

// RunOk and RunProto on that platform.
inline Rendered RunWithPath(Call c) {
  c.input = WithManagementPath(std::move(c.input));
  return RunOk(c);
}
inline pb::RunFunctionResponse RunProtoWithPath(Call c) {
  c.input = WithManagementPath(std::move(c.input));
  return RunProto(c);
}

}  // namespace platform::fn::testing

#endif  // PLATFORM_FUNCTION_TESTING_RENDERED_H_
