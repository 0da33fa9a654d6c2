// Policies: limits by class, authorization, mandated tags, and violations as
// Statuses that carry a condition. Loading lives in load.cc, the built-in
// data in defaults.cc.
#include "function/policy/policy.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "function/policy/defaults.h"
#include "function/policy/tags.h"
#include "function/sdk/errors.h"
#include "function/sdk/fields.h"
#include "function/sdk/strings.h"

namespace platform::fn::policy {
namespace {

using sdk::Json;

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string List(const std::vector<std::string>& v) {
  return fmt::format("{}", fmt::join(v, ", "));
}

// A namespace against a rule's entry: a name, or a prefix ending in '*'.
bool NamespaceMatches(std::string_view pattern, std::string_view ns) {
  if (ns.empty()) return false;
  if (pattern.ends_with('*')) return ns.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == ns;
}

// Whether a rule applies to the subject at all.
bool AppliesTo(const AuthorizationRule& r, const Subject& s) {
  if (r.teams.empty() && r.namespaces.empty()) return true;
  if (!s.team.empty() && Contains(r.teams, s.team)) return true;
  return std::any_of(r.namespaces.begin(), r.namespaces.end(),
                     [&](const std::string& p) { return NamespaceMatches(p, s.origin_namespace); });
}

bool Allows(const AuthorizationRule& r, const Subject& s) {
  return (r.classes.empty() || Contains(r.classes, s.environment_class)) &&
         (r.regions.empty() || Contains(r.regions, s.region));
}

// What a rule allows, for a denial: `rule "x" allows classes dev, test in
// any region`.
std::string Describe(const AuthorizationRule& r) {
  return sdk::Cat("rule \"", r.name, "\" allows ",
                  r.classes.empty() ? std::string("any class") : "classes " + List(r.classes),
                  " in ",
                  r.regions.empty() ? std::string("any region") : "regions " + List(r.regions));
}

// `team "web" (namespace "web-dev")`, or whichever part is known.
std::string Who(const Subject& s) {
  if (s.team.empty()) return sdk::Cat("namespace \"", s.origin_namespace, "\"");
  if (s.origin_namespace.empty()) return sdk::Cat("team \"", s.team, "\"");
  return sdk::Cat("team \"", s.team, "\" (namespace \"", s.origin_namespace, "\")");
}

// The string at `key` of `object`, viewed in place; empty when it is absent
// or not a string.
std::string_view StringField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                               : std::string_view();
}

// The API group of an apiVersion; empty for the core group.
std::string_view GroupOf(std::string_view api_version) {
  const std::size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

bool IsClusterScopedAwsGroup(std::string_view group) { return group.ends_with(".aws.upbound.io"); }
bool IsNamespacedAwsGroup(std::string_view group) { return group.ends_with(".aws.m.upbound.io"); }

bool HasAwsGroup(std::string_view api_version) {
  const std::string_view group = GroupOf(api_version);
  return IsClusterScopedAwsGroup(group) || IsNamespacedAwsGroup(group);
}

// The CAPA kinds with spec.identityRef, by group.
struct IdentityTaker {
  std::string_view group;
  std::string_view kind;
};
constexpr IdentityTaker kIdentityTakers[] = {
    {"controlplane.cluster.x-k8s.io", "AWSManagedControlPlane"},
    {"infrastructure.cluster.x-k8s.io", "AWSCluster"},
};

bool TakesIdentity(std::string_view group, std::string_view kind) {
  return std::any_of(std::begin(kIdentityTakers), std::end(kIdentityTakers),
                     [&](const IdentityTaker& t) { return t.group == group && t.kind == kind; });
}

// spec of a desired object, created when absent; nullptr when it is
// something other than an object.
Json* SpecOf(Json& o) {
  Json& spec = o["spec"];
  if (spec.is_null()) spec = Json::object();
  return spec.is_object() ? &spec : nullptr;
}

// The tags of a desired AWS resource of a taggable kind, or nullptr.
const Json* TagsOf(const Json& o) {
  if (!o.is_object() || !HasAwsGroup(StringField(o, "apiVersion")) ||
      !Policies::IsTaggableKind(StringField(o, "kind"))) {
    return nullptr;
  }
  auto spec = o.find("spec");
  if (spec == o.end() || !spec->is_object()) return nullptr;
  auto fp = spec->find("forProvider");
  if (fp == spec->end() || !fp->is_object()) return nullptr;
  auto tags = fp->find("tags");
  return tags != fp->end() && tags->is_object() ? &*tags : nullptr;
}

}  // namespace

bool ClassLimits::AllowsRegion(std::string_view region) const {
  return allowed_regions.empty() || Contains(allowed_regions, region);
}

bool ClassLimits::AllowsNatStrategy(std::string_view strategy) const {
  return Contains(allowed_nat_strategies, strategy);
}

bool ClusterLimits::AllowsVersion(std::string_view version) const {
  return Contains(kubernetes_versions, version);
}

bool ClusterLimits::AllowsEndpointAccess(std::string_view access) const {
  return Contains(endpoint_access, access);
}

bool ClusterLimits::AllowsInstanceFamily(std::string_view family) const {
  return instance_families.empty() || Contains(instance_families, family);
}

const std::vector<std::string>* DatabaseLimits::VersionsOf(std::string_view engine) const {
  for (const auto& [e, versions] : engine_versions) {
    if (e == engine) return &versions;
  }
  return nullptr;
}

bool DatabaseLimits::AllowsInstanceFamily(std::string_view family) const {
  return instance_families.empty() || Contains(instance_families, family);
}

std::vector<std::string> DatabaseLimits::LogExportsOf(std::string_view rds_engine) const {
  for (const auto& [e, logs] : log_exports) {
    if (e == rds_engine) return logs;
  }
  return {};
}

bool IsPerformanceInsightsRetention(int days) {
  return days == 7 || days == 731 || (days > 0 && days <= 713 && days % 31 == 0);
}

Policies::Policies() {
  for (std::string_view name : kEnvironmentClasses) {
    classes_.push_back(internal::DefaultLimits(*internal::DefaultsFor(name)));
  }
}

const std::vector<std::string>* Policies::AccountZones(std::string_view region) const {
  for (const auto& [name, letters] : region_zones_) {
    if (name == region) return &letters;
  }
  return nullptr;
}

const ClassLimits& Policies::Limits(std::string_view environment_class) const {
  for (const ClassLimits& l : classes_) {
    if (l.environment_class == environment_class) return l;
  }
  // Allows nothing, so that a renderer that skipped validating the class
  // fails its limits rather than passing them.
  static const ClassLimits* const kNothing = [] {
    auto* l = new ClassLimits;
    l->max_zones = 0;
    l->min_vpc_prefix = 0;
    l->max_vpc_prefix = -1;
    return l;
  }();
  return *kNothing;
}

absl::Status Policies::Authorize(const Subject& subject) const {
  if (rules_.empty()) return absl::OkStatus();
  std::vector<const AuthorizationRule*> applied;
  for (const AuthorizationRule& r : rules_) {
    if (!AppliesTo(r, subject)) continue;
    if (Allows(r, subject)) return absl::OkStatus();
    applied.push_back(&r);
  }
  std::string message = sdk::Cat(Who(subject), " may not create ", subject.environment_class, " ",
                                 subject.xr_kind.empty() ? std::string("XR") : subject.xr_kind,
                                 "s in ", subject.region, ": ");
  if (applied.empty()) {
    sdk::Append(message, "no rule matches team \"", subject.team, "\" / ",
                subject.origin_namespace.empty()
                    ? std::string("no namespace")
                    : sdk::Cat("namespace \"", subject.origin_namespace, "\""));
  } else {
    for (std::size_t i = 0; i < applied.size(); ++i) {
      sdk::Append(message, i == 0 ? "" : "; ", Describe(*applied[i]));
    }
  }
  return Violation(absl::StatusCode::kPermissionDenied, kConditionAuthorized, kReasonDenied,
                   message);
}

sdk::Json Policies::MandatedTags(const Subject& subject) const {
  Json tags = Json::object();
  for (const auto& [k, v] : extra_tags_) tags[k] = v;
  tags[std::string(kTagEnvironment)] = subject.environment_class;
  if (!subject.team.empty()) tags[std::string(kTagTeam)] = subject.team;
  if (!subject.cost_center.empty()) tags[std::string(kTagCostCenter)] = subject.cost_center;
  tags[std::string(kTagManagedBy)] = std::string(kManagedBy);
  tags[std::string(kTagComposite)] = subject.xr_name;
  return tags;
}

const std::vector<std::string>& Policies::MandatedSecurityGroups(
    std::string_view environment_class) const {
  return Limits(environment_class).security_group_ids;
}

bool Policies::IsTaggableKind(std::string_view kind) {
  const auto untaggable = internal::UntaggableKinds();
  return std::find(untaggable.begin(), untaggable.end(), kind) == untaggable.end();
}

void Policies::ApplyMandatedTags(const Subject& subject, sdk::Response& rsp) const {
  const Json mandated = MandatedTags(subject);
  for (auto& [name, d] : rsp.mutable_desired()) {
    Json& o = d.object;
    if (!o.is_object() || !HasAwsGroup(StringField(o, "apiVersion")) ||
        !IsTaggableKind(StringField(o, "kind"))) {
      continue;
    }
    Json& spec = o["spec"];
    if (spec.is_null()) spec = Json::object();
    if (!spec.is_object()) continue;
    Json& for_provider = spec["forProvider"];
    if (for_provider.is_null()) for_provider = Json::object();
    if (!for_provider.is_object()) continue;
    Json& tags = for_provider["tags"];
    if (!tags.is_object()) tags = Json::object();
    for (auto it = mandated.begin(); it != mandated.end(); ++it) tags[it.key()] = it.value();
  }
}

const Account& Policies::AccountFor(const Subject& subject) const {
  for (const AccountRule& r : account_rules_) {
    if (Contains(r.teams, subject.team) &&
        (r.classes.empty() || Contains(r.classes, subject.environment_class))) {
      return r.account;
    }
  }
  return Limits(subject.environment_class).account;
}

std::vector<const ClusterAccessRule*> Policies::ClusterAccessFor(const Subject& subject) const {
  std::vector<const ClusterAccessRule*> out;
  for (const ClusterAccessRule& r : cluster_access_rules_) {
    if (Contains(r.teams, subject.team) &&
        (r.classes.empty() || Contains(r.classes, subject.environment_class))) {
      out.push_back(&r);
    }
  }
  return out;
}

void Policies::ApplyAccount(const Subject& subject, sdk::Response& rsp) const {
  const Account& account = AccountFor(subject);
  for (auto& [name, d] : rsp.mutable_desired()) {
    Json& o = d.object;
    if (!o.is_object()) continue;
    const std::string_view api_version = StringField(o, "apiVersion");
    const std::string_view group = GroupOf(api_version);
    if (IsClusterScopedAwsGroup(group)) {
      if (Json* spec = SpecOf(o)) {
        (*spec)["providerConfigRef"] = {{"name", account.provider_config}};
      }
    } else if (IsNamespacedAwsGroup(group)) {
      // Namespaced managed resources require the kind: the platform's
      // accounts are cluster-wide, not a team namespace's own ProviderConfig.
      if (Json* spec = SpecOf(o)) {
        (*spec)["providerConfigRef"] = {{"kind", "ClusterProviderConfig"},
                                        {"name", account.provider_config}};
      }
    } else if (account.HasIdentity() && TakesIdentity(group, StringField(o, "kind"))) {
      if (Json* spec = SpecOf(o)) {
        (*spec)["identityRef"] = {{"kind", account.identity_kind}, {"name", account.identity_name}};
      }
    }
  }
}

absl::Status Policies::CheckTagCount(const Subject& subject, const Json& user_tags,
                                     const sdk::Response* rsp, std::string_view tags_path) const {
  // With the rendered resources: the one with the most tags, looked into
  // only when it has too many.
  const Json* most = nullptr;
  const Json* most_object = nullptr;
  std::string_view most_name;
  if (rsp != nullptr) {
    for (const auto& [name, d] : rsp->desired()) {
      const Json* tags = TagsOf(d.object);
      if (tags != nullptr && (most == nullptr || tags->size() > most->size())) {
        most = tags;
        most_object = &d.object;
        most_name = name;
      }
    }
    if (most == nullptr || most->size() <= kMaxTagsPerResource) return absl::OkStatus();
  }
  const Json mandated = MandatedTags(subject);
  // Before rendering: the XR's tags and the mandated ones, at most this many
  // together.
  if (rsp == nullptr && user_tags.size() + mandated.size() <= kMaxTagsPerResource) {
    return absl::OkStatus();
  }
  // Where the tags of `tags` come from: mandated (the platform's, whoever
  // else set them too), the XR's, or the resource's own.
  struct Count {
    std::size_t mandated = 0;
    std::size_t user = 0;
    std::size_t own = 0;
    std::size_t total() const { return mandated + user + own; }
  };
  auto count = [&](const Json& tags) {
    Count c;
    for (auto it = tags.begin(); it != tags.end(); ++it) {
      if (mandated.contains(it.key())) {
        ++c.mandated;
      } else if (user_tags.contains(it.key())) {
        ++c.user;
      } else {
        ++c.own;
      }
    }
    return c;
  };
  Count c;
  std::string where;
  if (rsp == nullptr) {
    Json every = user_tags;
    every.update(mandated);
    c = count(every);
    where = "every resource";
  } else {
    c = count(*most);
    where = sdk::Cat(StringField(*most_object, "kind"), " ", most_name);
  }
  if (c.total() <= kMaxTagsPerResource) return absl::OkStatus();
  std::size_t repeated = 0;  // the XR's tags of mandated keys: counted once, as mandated
  for (auto it = user_tags.begin(); it != user_tags.end(); ++it) {
    if (mandated.contains(it.key())) ++repeated;
  }
  const std::size_t room = kMaxTagsPerResource - std::min(kMaxTagsPerResource, c.mandated + c.own);
  return sdk::FieldError(
      tags_path,
      sdk::Cat(c.user, " tags here",
               repeated == 0 ? std::string()
                             : sdk::Cat(" (not counting ", repeated, " the platform mandates too)"),
               c.own == 0 ? " and " : ", ", c.mandated, " mandated by the platform",
               c.own == 0 ? std::string() : sdk::Cat(" and ", c.own, " of its own"), " make ",
               c.total(), " on ", where, "; AWS allows ", kMaxTagsPerResource,
               " per resource, so at most ", room, " can be set here"));
}

absl::Status Violation(absl::StatusCode code, std::string_view condition_type,
                       std::string_view reason, std::string_view message) {
  return sdk::ErrorWithCondition(code, condition_type, reason, message);
}

absl::Status FieldViolation(std::string_view path, std::string_view rule) {
  return Violation(absl::StatusCode::kFailedPrecondition, kConditionCompliant, kReasonViolation,
                   sdk::Cat(path, ": ", rule));
}

}  // namespace platform::fn::policy
