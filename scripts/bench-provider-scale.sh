#!/usr/bin/env bash
# provider-workloads at scale against a real control plane (`make
# bench-provider-scale`; figures in docs/provider-scale.md). A benchmark, not
# a test: it prints figures and whether each meets its target.
#
#   scripts/bench-provider-scale.sh [build dir]        default: build
#
# Environment (all optional):
#   WORKSPACES=1000 ANSIBLE_RUNS=1000   how many of each (cluster-scoped, trivial runs)
#   RATE=2               --max-reconcile-rate (the provider's default)
#   REST_SECONDS=120     the window in which requests at rest are counted
#   LONG_POLL=24h        --poll while "at rest" is measured (no re-observation in the window)
#   DEFAULT_POLL=1       also restart with the default --poll 10m --poll-jitter 1m and count
#                        the requests of the re-observation it drives (0: skip)
#   DEFAULT_POLL_SECONDS=600  that window (a whole poll period: each object once)
#   SINGLE=10            reconciles of each kind timed one at a time on the idle provider
#   KEEP=1               keep the temporary folder (logs, audit log) and print where
#
# Starts a private control plane (tests/controlplane/controlplane.sh bare: etcd
# and kube-apiserver on free loopback ports) with an audit policy that logs
# every request of the user provider-workloads (a client certificate of its
# own, so kubectl and this script are not counted), loads the provider's CRDs,
# creates a state namespace, its encryption key, a ProviderConfig and the
# objects, then runs build/provider/provider-workloads through the phases in
# bench/provider_scale/bench.py. OpenTofu and ansible-playbook are run through
# wrappers that log each invocation's wall time, so a reconcile's time can be
# split into the tools' own and the provider's.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
provider="${build_dir}/provider/provider-workloads"
[[ -x "$provider" ]] || { echo "no ${provider}: build first (make build)" >&2; exit 1; }
kubectl=$(scripts/tools.sh kubectl)
tofu=$(scripts/tools.sh tofu)
ansible_playbook=$(command -v ansible-playbook) || {
  echo "no ansible-playbook in PATH (scripts/install-deps.sh installs ansible-core)" >&2
  exit 1
}

work=$(mktemp -d)
state="${work}/controlplane"
cleanup() {
  tests/controlplane/controlplane.sh down "$state" >/dev/null 2>&1 || true
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "bench-provider-scale: kept ${work}" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

echo "bench-provider-scale: starting a control plane" >&2
kubeconfig=$(tests/controlplane/controlplane.sh bare "$state" | tail -1)
pki="${state}/pki"

# The provider's own client certificate: user provider-workloads, group
# system:masters (it needs no RBAC of its own here), so the audit policy can
# single out its requests.
(
  cd "$pki"
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=provider-workloads" \
    -keyout provider.key -out provider.csr 2>/dev/null
  openssl x509 -req -in provider.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile admin.ext -out provider.crt 2>/dev/null
)
cat >"${work}/provider.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: $(cat "${state}/apiserver.url"), certificate-authority: ${pki}/ca.crt}
users:
- name: provider-workloads
  user: {client-certificate: ${pki}/provider.crt, client-key: ${pki}/provider.key}
contexts:
- name: bench
  context: {cluster: bench, user: provider-workloads}
current-context: bench
KUBECONFIG

# kube-apiserver again, with the audit policy: the provider's requests,
# metadata only (a request's line when it completes; a watch's also when it
# starts, so a window counts it at once).
cat >"${work}/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [provider-workloads]
- level: None
YAML
tests/controlplane/controlplane.sh stop-apiserver "$state"
printf '%s\0' --audit-policy-file="${work}/audit-policy.yaml" \
  --audit-log-path="${work}/audit.log" --audit-log-maxsize=0 --audit-log-mode=blocking \
  >>"${state}/apiserver.args"
tests/controlplane/controlplane.sh start-apiserver "$state" >/dev/null

"$kubectl" --kubeconfig "$kubeconfig" create -f provider/package/crds >/dev/null
"$kubectl" --kubeconfig "$kubeconfig" wait --for=condition=Established --timeout=120s crd --all \
  >/dev/null

python3 bench/provider_scale/bench.py \
  --provider "$provider" --tofu "$tofu" --ansible-playbook "$ansible_playbook" \
  --state "$state" --provider-kubeconfig "${work}/provider.kubeconfig" \
  --audit-log "${work}/audit.log" --work "$work" \
  --workspaces "${WORKSPACES:-1000}" --ansible-runs "${ANSIBLE_RUNS:-1000}" \
  --rate "${RATE:-2}" --rest-seconds "${REST_SECONDS:-120}" --long-poll "${LONG_POLL:-24h}" \
  --default-poll "${DEFAULT_POLL:-1}" --default-poll-seconds "${DEFAULT_POLL_SECONDS:-600}" \
  --single "${SINGLE:-10}" --paused "${PAUSED:-0}"
