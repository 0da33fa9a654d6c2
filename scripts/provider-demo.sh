#!/usr/bin/env bash
# provider-workloads on the bundled examples: a throwaway control plane
# (tests/controlplane/controlplane.sh), the provider as a process, and the
# cluster-scoped Workspace and AnsibleRun examples applied, waited for and
# shown, then deleted (destroy and the absent run) and everything stopped.
#
#   scripts/provider-demo.sh <build dir>
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(cd "${1:-build}" && pwd)
provider="${build_dir}/provider/provider-workloads"
[[ -x "$provider" ]] || { echo "no ${provider}: build first (make build)" >&2; exit 1; }
kubectl=$(scripts/tools.sh kubectl)
tofu=$(scripts/tools.sh tofu)

work=$(mktemp -d)
state="${work}/controlplane"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  tests/controlplane/controlplane.sh down "$state" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "# a control plane with the provider's CRDs (tests/controlplane/controlplane.sh)"
kubeconfig=$(tests/controlplane/controlplane.sh up "$state" 2>/dev/null)
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

k create namespace crossplane-system >/dev/null
# The examples' state key (the Secrets of secrets.yaml in crossplane-system).
awk 'BEGIN{RS="---\n"} /namespace: crossplane-system/ {print "---"; print}' \
  provider/examples/secrets.yaml | k apply -f - >/dev/null
k apply -f provider/examples/providerconfig.yaml

"$provider" --kubeconfig "$kubeconfig" --tofu "$tofu" --poll 30s --poll-jitter 0s \
  --work-dir "${work}/work" --cache-dir "${work}/cache" --state-namespace crossplane-system \
  --metrics-address 127.0.0.1:0 2>"${work}/provider.log" &
pid=$!

echo
echo "# kubectl apply -f provider/examples/workspace-inline.yaml -f provider/examples/ansiblerun-inline.yaml"
k apply -f provider/examples/workspace-inline.yaml -f provider/examples/ansiblerun-inline.yaml
for kind in workspaces.terraform.workloads.terraforming.io/hello \
  ansibleruns.ansible.workloads.terraforming.io/hello-file; do
  if ! k wait --for=condition=Ready --timeout=120s "$kind" >/dev/null; then
    echo "${kind} did not become Ready; the provider's log:" >&2
    tail -30 "${work}/provider.log" >&2
    exit 1
  fi
done
echo
k get workspaces.terraform.workloads.terraforming.io,ansibleruns.ansible.workloads.terraforming.io
for kind in workspaces.terraform.workloads.terraforming.io/hello \
  ansibleruns.ansible.workloads.terraforming.io/hello-file; do
  echo
  echo "# ${kind}: status.atProvider"
  k get "$kind" -o jsonpath='{.status.atProvider}' | python3 -m json.tool
done
echo
echo "# the state Secret (encrypted) and the events"
k -n crossplane-system get secrets -l workloads.terraforming.io/state=true
k -n default get events --sort-by=.lastTimestamp \
  -o custom-columns=OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message

echo
echo "# kubectl delete: destroy, and the playbook with state=absent"
k delete workspaces.terraform.workloads.terraforming.io/hello \
  ansibleruns.ansible.workloads.terraforming.io/hello-file --timeout=120s
