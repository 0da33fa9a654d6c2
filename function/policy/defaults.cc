#include "function/policy/defaults.h"

#include <string>

namespace platform::fn::policy::internal {
namespace {

constexpr std::string_view kNoneSingle[] = {"None", "Single"};
constexpr std::string_view kAllNat[] = {"None", "Single", "PerZone"};
constexpr std::string_view kSinglePerZone[] = {"Single", "PerZone"};
constexpr std::string_view kNone[] = {"None"};

constexpr const auto& kVersions = kKubernetesVersions;
constexpr std::string_view kProdVersions[] = {"1.34", "1.33", "1.32"};
constexpr const auto& kAnyAccess = kEndpointAccessModes;
constexpr std::string_view kPrivateAccess[] = {"Private", "PublicAndPrivate"};
// Burstable, general purpose and compute families of the current
// generations, x86 and Graviton: what non-production clusters may use.
constexpr std::string_view kSmallFamilies[] = {"t3",  "t3a", "t4g", "m5",  "m6a", "m6g", "m6i",
                                               "m7g", "m7i", "c6g", "c6i", "c7g", "c7i", "r6i"};

// The defaults per class. Keep in step with the table in policy.h and the
// descriptions in package/input/platform.fn.terraforming.io_inputs.yaml.
constexpr ClassDefaults kDefaults[] = {
    // class  zones  NAT allowed  default  VPC prefix  never  | Kubernetes  nodes  access  families
    {"dev", 2, kNoneSingle, "Single", 16, 20, {}, kVersions, 5, kAnyAccess, kSmallFamilies},
    {"test", 3, kAllNat, "Single", 16, 20, {}, kVersions, 10, kAnyAccess, kSmallFamilies},
    {"sandbox", 2, kNoneSingle, "Single", 16, 20, {}, kVersions, 5, kAnyAccess, kSmallFamilies},
    // A prod network always has NAT; a prod cluster's API is never public
    // only, and runs a supported version.
    {"prod", 6, kSinglePerZone, "PerZone", 16, 20, kNone, kProdVersions, 100, kPrivateAccess, {}},
};

// Kinds of the AWS providers that have no tags: associations, attachments,
// rules and sub-resources of something taggable. Any other kind in an AWS
// API group is tagged.
constexpr std::string_view kUntaggable[] = {
    // ec2
    "Route",
    "RouteTableAssociation",
    "MainRouteTableAssociation",
    "SecurityGroupRule",
    "VPCEndpointRouteTableAssociation",
    "VPCEndpointSubnetAssociation",
    "EIPAssociation",
    "NetworkACLRule",
    // eks
    "ClusterAuth",
    "AccessPolicyAssociation",
    // iam
    "RolePolicyAttachment",
    "RolePolicy",
    "UserPolicyAttachment",
    "GroupPolicyAttachment",
    // s3
    "BucketVersioning",
    "BucketPublicAccessBlock",
    "BucketServerSideEncryptionConfiguration",
    "BucketPolicy",
    "BucketOwnershipControls",
    "BucketLifecycleConfiguration",
    // kms
    "Alias",
};

}  // namespace

const ClassDefaults* DefaultsFor(std::string_view environment_class) {
  for (const ClassDefaults& d : kDefaults) {
    if (d.environment_class == environment_class) return &d;
  }
  return nullptr;
}

ClassLimits DefaultLimits(const ClassDefaults& d) {
  ClassLimits l;
  l.environment_class = std::string(d.environment_class);
  l.max_zones = d.max_zones;
  for (std::string_view s : d.allowed_nat_strategies) l.allowed_nat_strategies.emplace_back(s);
  l.default_nat_strategy = std::string(d.default_nat_strategy);
  l.min_vpc_prefix = d.min_vpc_prefix;
  l.max_vpc_prefix = d.max_vpc_prefix;
  for (std::string_view v : d.kubernetes_versions) l.cluster.kubernetes_versions.emplace_back(v);
  l.cluster.max_nodes_per_pool = d.max_nodes_per_pool;
  for (std::string_view a : d.endpoint_access) l.cluster.endpoint_access.emplace_back(a);
  for (std::string_view f : d.instance_families) l.cluster.instance_families.emplace_back(f);
  return l;
}

std::span<const std::string_view> UntaggableKinds() { return kUntaggable; }

}  // namespace platform::fn::policy::internal
