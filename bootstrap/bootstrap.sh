#!/usr/bin/env bash
# The management cluster's bootstrap, in three steps (bootstrap/README.md):
#
#   bootstrap/bootstrap.sh apply      the one manual apply of bootstrap/terraform
#                                     (VPC, EKS, IAM for the controllers), local state
#   bootstrap/bootstrap.sh install    Crossplane, the state key, Argo CD and the
#                                     app of apps, which installs the platform's packages
#   bootstrap/bootstrap.sh handover   the local state into the cluster: a Workspace of
#                                     the same module adopts it, and from then on the
#                                     management cluster manages itself
#   bootstrap/bootstrap.sh all        the three in order
#
# Settings (environment):
#   BOOTSTRAP_VARS     the module's variables, JSON (default bootstrap/terraform/bootstrap.tfvars.json;
#                      example.tfvars.json shows them); the Workspace gets the same values
#   BOOTSTRAP_DIR      the module's folder, where the local state is (default bootstrap/terraform)
#   GIT_URL, GIT_REF, GIT_PATH
#                      where the Workspace reads the module: this repository, a pinned tag or
#                      commit (default: the commit checked out here), bootstrap/terraform
#   STATE_NAMESPACE    the ProviderConfig's state namespace (default crossplane-system)
#   PROVIDER_CONFIG    the cluster-scoped ProviderConfig the Workspace uses (default "default")
#   WORKSPACE          the Workspace's name (default management-cluster)
#   STAGE              the Argo CD stage whose Application runs in this cluster (default prod)
#   TOFU, KUBECTL, HELM, AWS   the tools (default: from PATH)
#   BOOTSTRAP_TIMEOUT  seconds to wait for each step (default 900)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
tofu=${TOFU:-tofu}
kubectl=${KUBECTL:-kubectl}
helm=${HELM:-helm}
aws=${AWS:-aws}
dir=${BOOTSTRAP_DIR:-$here/terraform}
vars=${BOOTSTRAP_VARS:-$here/terraform/bootstrap.tfvars.json}
state_ns=${STATE_NAMESPACE:-crossplane-system}
provider_config=${PROVIDER_CONFIG:-default}
workspace=${WORKSPACE:-management-cluster}
stage=${STAGE:-prod}
timeout=${BOOTSTRAP_TIMEOUT:-900}
git_url=${GIT_URL:-https://github.com/terraforming/platform.git}
git_path=${GIT_PATH:-bootstrap/terraform}
# Crossplane and Argo CD as the platform is tested with them.
crossplane_chart_version=${CROSSPLANE_CHART_VERSION:-2.3.4}
argocd_chart_version=${ARGOCD_CHART_VERSION:-9.1.4}

die() {
  echo "bootstrap: $*" >&2
  exit 1
}
say() { echo "bootstrap: $*" >&2; }

# A top-level output of the applied module (tofu output -json), as text.
output() {
  "$tofu" -chdir="$dir" output -json "$1" | python3 -c 'import json, sys
v = json.load(sys.stdin)
print(v if isinstance(v, str) else json.dumps(v))'
}

apply() {
  [[ -f "$vars" ]] || die "no variables at $vars: copy terraform/example.tfvars.json there and fill it in"
  "$tofu" -chdir="$dir" init -input=false
  "$tofu" -chdir="$dir" apply -input=false -var-file="$vars"
}

install() {
  local cluster region
  cluster=$(output cluster_name)
  region=$(output region)
  "$aws" eks update-kubeconfig --name "$cluster" --region "$region" >&2

  say "installing Crossplane ${crossplane_chart_version}"
  "$helm" repo add crossplane-stable https://charts.crossplane.io/stable --force-update >&2
  "$helm" upgrade --install crossplane crossplane-stable/crossplane --version "$crossplane_chart_version" \
    --namespace crossplane-system --create-namespace --wait --timeout "${timeout}s" >&2
  # Upbound's AWS families run under one service account name, the one
  # terraform/iam.tf binds the Crossplane role to with Pod Identity. Made
  # before any provider is installed: Crossplane keeps a default that exists.
  "$kubectl" apply -f - >&2 <<EOF
apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata:
  name: default
spec:
  serviceAccountTemplate:
    metadata:
      name: provider-aws
EOF

  # The key that seals Workspace state (deploy/README.md): made once, here,
  # and never in Git. Keep a copy outside the cluster: a backup of the state
  # cannot be opened without it (docs/operations.md).
  if ! "$kubectl" -n "$state_ns" get secret provider-workloads-state-key >/dev/null 2>&1; then
    say "creating the state key crossplane-system/provider-workloads-state-key (copy it somewhere safe)"
    "$kubectl" -n "$state_ns" create secret generic provider-workloads-state-key \
      --from-literal=key="$(openssl rand -base64 48)" >&2
  fi

  say "installing Argo CD ${argocd_chart_version} and the app of apps"
  "$helm" repo add argo https://argoproj.github.io/argo-helm --force-update >&2
  "$helm" upgrade --install argocd argo/argo-cd --version "$argocd_chart_version" \
    --namespace argocd --create-namespace --wait --timeout "${timeout}s" >&2
  "$kubectl" apply -f "$repo/deploy/argocd/project.yaml" -f "$repo/deploy/argocd/root.yaml" >&2
  # This cluster is the stage's destination: registered under its name.
  "$kubectl" apply -f - >&2 <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: platform-${stage}
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: cluster
stringData:
  name: platform-${stage}
  server: https://kubernetes.default.svc
EOF
  say "waiting for provider-workloads and its ProviderConfig (Argo CD syncs them)"
  wait_for "provider-workloads to be healthy" \
    "$kubectl" wait provider.pkg.crossplane.io/provider-workloads --for=condition=Healthy --timeout=10s
  wait_for "ProviderConfig $provider_config" \
    "$kubectl" get providerconfigs.terraform.workloads.terraforming.io "$provider_config"
}

# Runs "$@" until it succeeds, for up to $timeout seconds.
wait_for() {
  local what=$1 deadline=$((SECONDS + timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "gave up waiting for $what after ${timeout}s"
    sleep 5
  done
}

# The module's variables as the Workspace's varmap (YAML flow = JSON).
varmap() {
  if [[ -f "$vars" ]]; then python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$vars"; else echo '{}'; fi
}

# The Workspace's status as one word, from one read: adopted (Ready, its
# current plan of <ref> empty), changes: <summary>, error:
# <Synced message>, or waiting. A plan counts when it comes from the
# reconcile that handled the request <token> (the
# crossplane.io/reconcile-requested-at annotation this run applied; the
# plan's plannedAt only moves when its result does), and, for a commit, when
# it checked out <ref>.
verdict() {  # <ref> <token>
  "$kubectl" get workspaces.terraform.workloads.terraforming.io "$workspace" -o json 2>/dev/null |
    python3 -c '
import json, re, sys
ref, token = sys.argv[1], sys.argv[2]
try:
    ws = json.load(sys.stdin)
except ValueError:
    print("waiting"); sys.exit()
status = ws.get("status", {})
conds = {c["type"]: c for c in status.get("conditions", [])}
at = status.get("atProvider", {})
plan = at.get("plan")
synced = conds.get("Synced", {})
if plan is not None:
    current = status.get("lastHandledReconcileAt") == token
    if re.fullmatch("[0-9a-f]{40}", ref):
        current = current and at.get("source", {}).get("commit") == ref
    if not current:
        plan = None
if synced.get("status") == "False":
    print("error: " + synced.get("message", ""))
elif plan is None or "state" not in at:
    print("waiting")
elif plan.get("add") or plan.get("change") or plan.get("destroy"):
    print("changes: {} to add, {} to change, {} to destroy".format(plan.get("add"), plan.get("change"), plan.get("destroy")))
elif conds.get("Ready", {}).get("status") == "True":
    print("adopted")
else:
    print("waiting")' "$1" "$2"
}

# Whether the Workspace holds a state already (adopted earlier).
holds_state() {
  "$kubectl" get workspaces.terraform.workloads.terraforming.io "$workspace" \
    -o jsonpath='{.status.atProvider.state.serial}' 2>/dev/null | grep -q .
}

handover() {
  local state="$dir/terraform.tfstate"
  local ref=${GIT_REF:-$(git -C "$repo" rev-parse HEAD)}
  local id=""
  if holds_state; then
    # Adopted by an earlier run: only the Workspace is applied again (a
    # fixed module, a new GIT_REF), never the local state.
    say "Workspace $workspace holds its state already; applying it again"
    id=$("$kubectl" get workspaces.terraform.workloads.terraforming.io "$workspace" \
      -o jsonpath='{.metadata.annotations.workloads\.terraforming\.io/adopt-state-of}')
  else
    [[ -f "$state" ]] || die "no local state at $state: run '$0 apply' first"
    local lineage
    lineage=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["lineage"])' "$state")
    id="bootstrap-${lineage:0:8}"
    # The state, gzipped as the provider stores it, in a Secret that names
    # its origin; the Workspace adopts it (copies it into its own Secret,
    # sealed with the ProviderConfig's key) and deletes it. Created, not
    # applied: apply would copy the whole state into an annotation.
    if ! "$kubectl" -n "$state_ns" get secret "tfstate-$id" >/dev/null 2>&1; then
      say "importing the local state (lineage $lineage) as $state_ns/tfstate-$id"
      "$kubectl" -n "$state_ns" create secret generic "tfstate-$id" \
        --from-file=tfstate=<(gzip -9nc "$state") --dry-run=client -o json |
        python3 -c 'import json, sys
s = json.load(sys.stdin)
s["metadata"]["annotations"] = {"workloads.terraforming.io/imported-from": "bootstrap/terraform (local apply)"}
print(json.dumps(s))' | "$kubectl" create -f - >&2
    fi
  fi

  # deletionPolicy Orphan: deleting this Workspace must never destroy the
  # cluster it runs in. requireApproval: every later change to the
  # management cluster waits for a person.
  say "applying Workspace $workspace ($git_url $ref, $git_path)"
  local token
  token="handover-$(date -u +%Y%m%dT%H%M%SZ)-$$-${RANDOM}"
  "$kubectl" apply -f - >&2 <<EOF
apiVersion: terraform.workloads.terraforming.io/v1alpha1
kind: Workspace
metadata:
  name: ${workspace}
  annotations:
    workloads.terraforming.io/adopt-state-of: "${id}"
    crossplane.io/reconcile-requested-at: "${token}"
spec:
  deletionPolicy: Orphan
  providerConfigRef:
    name: ${provider_config}
  forProvider:
    source: Git
    git:
      url: "${git_url}"
      ref: "${ref}"
      path: "${git_path}"
    varmap: $(varmap)
    requireApproval: true
EOF

  say "waiting for the Workspace's plan of $ref"
  local deadline=$((SECONDS + timeout)) now="" last=""
  while ((SECONDS < deadline)); do
    now=$(verdict "$ref" "$token")
    [[ "$now" == adopted || "$now" == changes:* ]] && break
    if [[ "$now" == error:* && "$now" != "$last" ]]; then say "$now"; fi
    last=$now
    sleep 5
  done
  # Once the cluster holds the state, the local copy must never be applied
  # again: two writers would diverge.
  if [[ -f "$state" ]] && holds_state; then
    local kept
    kept="$state.handed-over-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$state" "$kept"
    rm -f "$state.backup"
    say "the cluster holds the state now; the local copy is kept as $kept (never apply it again)"
  fi
  case "$now" in
    adopted)
      say "handed over: Workspace $workspace manages the management cluster"
      ;;
    changes:*)
      die "Workspace $workspace holds the state, but its plan of $ref has ${now#changes: }: the module or its variables differ from what was applied. Nothing was applied (requireApproval). Fix the module in Git and run handover again with the new GIT_REF, or approve the plan (workloads.terraforming.io/approve-plan)"
      ;;
    *)
      die "gave up after ${timeout}s waiting for Workspace $workspace (last: $now)"
      ;;
  esac
}

case "${1:-}" in
  apply) apply ;;
  install) install ;;
  handover) handover ;;
  all)
    apply
    install
    handover
    ;;
  *)
    echo "usage: $0 apply|install|handover|all" >&2
    exit 2
    ;;
esac
