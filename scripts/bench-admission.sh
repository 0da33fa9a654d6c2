#!/usr/bin/env bash
# Admission latency of platform-admission at a constant rate (`make
# bench-admission`; figures in docs/performance.md). A benchmark, not a test.
#
#   scripts/bench-admission.sh [build dir] [rate/s] [seconds]   defaults: build 200 30
#
# Starts a private control plane (tests/controlplane/controlplane.sh) for the
# webhook's watches and certificates, starts the webhook on loopback, and
# drives it with vegeta (scripts/tools.sh vegeta) at <rate> reviews per
# second over HTTPS with keep-alive, as kube-apiserver calls it. Three
# bodies, one run each: an allowed Environment claim (/validate: the whole
# function runs), a denied one (/validate), and the team default (/mutate).
# Prints p50, p90, p99 and max latency and the success rate of each, and the
# webhook's CPU time per review.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
build_dir=${1:-build}
rate=${2:-200}
seconds=${3:-30}
admission="${build_dir}/admission/platform-admission"
require_built "$admission"
vegeta=$(scripts/tools.sh vegeta)
kubectl=$(scripts/tools.sh kubectl)

work=$(mktemp -d)
state="${work}/controlplane"
server=
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  tests/controlplane/controlplane.sh down "$state" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench-admission: starting a control plane" >&2
kubeconfig=$(tests/controlplane/controlplane.sh up "$state" | tail -1)
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: bench-admission}
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-payments
  labels: {platform.terraforming.io/team: payments}
---
apiVersion: apiextensions.crossplane.io/v1beta1
kind: EnvironmentConfig
metadata: {name: platform-policy}
data:
  policy:
    authorization:
      - {name: payments-nonprod, teams: [payments], classes: [dev, test]}
YAML

port=$(free_port)
"$admission" --kubeconfig="$kubeconfig" --address="127.0.0.1:${port}" --namespace=bench-admission \
  --hosts=127.0.0.1 --log-format=json >"${work}/admission.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  [[ "$(curl -sk "https://127.0.0.1:${port}/readyz")" == ok ]] && break
  sleep 0.2
done
[[ "$(curl -sk "https://127.0.0.1:${port}/readyz")" == ok ]] ||
  { tail -20 "${work}/admission.log" >&2; echo "bench-admission: the webhook is not ready" >&2; exit 1; }

review() {  # <environment class> <team or ""> -> an AdmissionReview body
  python3 - "$1" "$2" <<'PY'
import json, sys
env, team = sys.argv[1], sys.argv[2]
params = {"environment": env, "region": "eu-west-1", "costCenter": "cc-1234"}
if team:
    params["team"] = team
claim = {"apiVersion": "platform.terraforming.io/v1alpha1", "kind": "Environment",
         "metadata": {"name": "payments-" + env, "namespace": "team-payments"},
         "spec": {"parameters": params}}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "bench", "operation": "CREATE", "namespace": "team-payments",
                              "name": claim["metadata"]["name"],
                              "kind": {"group": "platform.terraforming.io", "version": "v1alpha1",
                                       "kind": "Environment"},
                              "object": claim}}))
PY
}
review dev payments >"${work}/allowed.json"
review prod payments >"${work}/denied.json"
review dev "" >"${work}/mutate.json"

cpu_ticks() { awk '{print $14 + $15}' "/proc/${server}/stat"; }
hz=$(getconf CLK_TCK)
printf '%-26s %8s %8s %8s %8s %8s %9s %12s\n' case rate p50 p90 p99 max success "CPU/review"
for case in allowed:validate denied:validate mutate:mutate; do
  body=${case%%:*}
  path=${case##*:}
  before=$(cpu_ticks)
  printf 'POST https://127.0.0.1:%s/%s\nContent-Type: application/json\n@%s\n' "$port" "$path" \
    "${work}/${body}.json" |
    "$vegeta" attack -rate="${rate}/s" -duration="${seconds}s" -insecure -keepalive=true \
      -timeout=5s >"${work}/${body}.bin"
  after=$(cpu_ticks)
  "$vegeta" report -type=json <"${work}/${body}.bin" >"${work}/${body}.report.json"
  python3 - "${work}/${body}.report.json" "$body /$path" "$rate" "$((after - before))" "$hz" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name, rate, ticks, hz = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lat = r["latencies"]
ms = lambda ns: f"{ns / 1e6:.2f}ms"
cpu = ticks / hz / max(r["requests"], 1) * 1e3
print(f"{name:<26} {rate + '/s':>8} {ms(lat['50th']):>8} {ms(lat['90th']):>8} {ms(lat['99th']):>8} "
      f"{ms(lat['max']):>8} {r['success'] * 100:>8.1f}% {cpu:>10.2f}ms")
codes = r.get("status_codes", {})
if set(codes) != {"200"}:
    sys.exit(f"bench-admission: status codes {codes}, errors {r.get('errors', [])[:3]}")
PY
done
echo "(${seconds}s per case; latency measured by vegeta over loopback HTTPS with keep-alive;" \
  "CPU/review from /proc/<pid>/stat)"
