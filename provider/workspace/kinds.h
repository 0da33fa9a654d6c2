// The API types of the Workspace kind and its ProviderConfigs
// (provider/API.md).
#ifndef PROVIDER_WORKSPACE_KINDS_H_
#define PROVIDER_WORKSPACE_KINDS_H_

#include "provider/kube/client.h"
#include "provider/runtime/providerconfig.h"

namespace workspace {

inline constexpr char kGroup[] = "terraform.workloads.terraforming.io";
inline constexpr char kModernGroup[] = "terraform.workloads.m.terraforming.io";
inline constexpr char kVersion[] = "v1alpha1";

inline const kube::Resource kWorkspaces{kGroup, kVersion, "workspaces", "Workspace", false};
inline const kube::Resource kProviderConfigs{kGroup, kVersion, "providerconfigs", "ProviderConfig",
                                             false};
inline const kube::Resource kProviderConfigUsages{kGroup, kVersion, "providerconfigusages",
                                                  "ProviderConfigUsage", false};

inline const kube::Resource kModernWorkspaces{kModernGroup, kVersion, "workspaces", "Workspace",
                                              true};
inline const kube::Resource kModernProviderConfigs{kModernGroup, kVersion, "providerconfigs",
                                                   "ProviderConfig", true};
inline const kube::Resource kClusterProviderConfigs{
    kModernGroup, kVersion, "clusterproviderconfigs", "ClusterProviderConfig", false};
inline const kube::Resource kModernProviderConfigUsages{
    kModernGroup, kVersion, "providerconfigusages", "ProviderConfigUsage", true};

inline runtime::ProviderConfigKinds LegacyConfigKinds() {
  return {kProviderConfigs, std::nullopt, kProviderConfigUsages, false};
}
inline runtime::ProviderConfigKinds ModernConfigKinds() {
  return {kModernProviderConfigs, kClusterProviderConfigs, kModernProviderConfigUsages, true};
}

// The annotation that restores a kept state version.
inline constexpr char kRollbackAnnotation[] = "workloads.terraforming.io/rollback-to";
// The annotation that approves a plan (spec.forProvider.requireApproval) by
// its fingerprint.
inline constexpr char kApprovePlanAnnotation[] = "workloads.terraforming.io/approve-plan";
// While set, the stored dependency lock file is not put back before `tofu
// init`: init picks the newest provider versions the module allows, and the
// lock file it writes is stored (how providers are upgraded).
inline constexpr char kUpgradeProvidersAnnotation[] = "workloads.terraforming.io/upgrade-providers";
// Points a Workspace that has no state yet at the state of an earlier one
// (its uid), which is gone (deleted with deletionPolicy Orphan, restored from
// a backup, moved from the cluster-scoped kind to the namespaced one): that
// state is moved to this Workspace before its first plan.
inline constexpr char kAdoptStateAnnotation[] = "workloads.terraforming.io/adopt-state-of";
// On a state Secret made outside the provider (a state imported from a
// local apply, bootstrap/bootstrap.sh handover): where it came from. Such a
// Secret names no Workspace, and kAdoptStateAnnotation adopts it as it would
// an earlier Workspace's.
inline constexpr char kImportedFromAnnotation[] = "workloads.terraforming.io/imported-from";
// "latest" or a state serial: a Workspace with no state of its own takes
// that version from the ProviderConfig's backup bucket (spec.state.backup).
inline constexpr char kRestoreBackupAnnotation[] = "workloads.terraforming.io/restore-backup";
// The condition that says whether the current state is in the backup bucket.
inline constexpr char kBackedUpCondition[] = "BackedUp";

}  // namespace workspace

#endif  // PROVIDER_WORKSPACE_KINDS_H_
