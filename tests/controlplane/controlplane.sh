#!/usr/bin/env bash
# A private Kubernetes control plane for tests: etcd and kube-apiserver on
# loopback, free ports, TLS from certificates made here, an admin kubeconfig,
# and the CRDs our manifests and rendered resources are checked against.
#
#   controlplane.sh up   <state-dir>   start, load CRDs, print the kubeconfig path
#   controlplane.sh bare <state-dir>   start without loading CRDs (the Crossplane
#                                      fixture installs its own), print the path
#   controlplane.sh stop-apiserver <state-dir>   stop kube-apiserver alone (an outage)
#   controlplane.sh start-apiserver <state-dir>  start it again as it was, wait until ready
#   controlplane.sh down <state-dir>   stop what `up` or `bare` started there
#                                      (and what callers recorded in its pids
#                                      file), remove it
#
# `up` records the processes it starts in <state-dir>/pids; `down` stops only
# those, so it is safe to run when a test failed half-way or never started.
# Upstream CRDs come from `scripts/tools.sh upstream-crds`: PLATFORM_SHARED_CRDS,
# else ../shared/crds beside the clone, else a copy fetched and checked by
# scripts/fetch-crds.sh; they are read, never changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cmd=${1:-}
state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || { echo "usage: $0 up|bare|stop-apiserver|start-apiserver|down <state-dir>" >&2; exit 2; }

log() { printf 'controlplane: %s\n' "$*" >&2; }

# True while <pid> runs; a zombie (exited, not yet reaped) counts as gone.
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z ]]
}

stop_pids() {
  [[ -f "$state/pids" ]] || return 0
  local pid
  # Newest first: the API server before etcd.
  for pid in $(tac "$state/pids"); do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $(tac "$state/pids"); do
    # A throwaway control plane needs no graceful drain: two seconds, then kill.
    for _ in $(seq 20); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$state/pids"
}

# shellcheck source=common.sh
source "$here/common.sh"

make_pki() {
  local pki=$1
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=platform-test-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
      -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=platform-admin" \
      -keyout admin.key -out admin.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile admin.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

# Starts etcd and kube-apiserver and writes the admin kubeconfig; prints its
# path.
start() {
  local etcd apiserver
  etcd=$("$repo/scripts/tools.sh" etcd)
  apiserver=$("$repo/scripts/tools.sh" kube-apiserver)

  stop_pids
  rm -rf "$state"
  mkdir -p "$state/logs"
  make_pki "$state/pki"
  local pki="$state/pki"

  local etcd_port etcd_peer api_port
  etcd_port=$(free_port)
  etcd_peer=$(free_port)
  api_port=$(free_port)

  local etcd_url="http://127.0.0.1:${etcd_port}"
  setsid "$etcd" --name test --data-dir "$state/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:${etcd_peer}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer}" \
    --initial-cluster "test=http://127.0.0.1:${etcd_peer}" \
    --unsafe-no-fsync --log-level warn >"$state/logs/etcd.log" 2>&1 </dev/null &
  echo $! >>"$state/pids"
  wait_for etcd 30 curl -sf "${etcd_url}/health" || { tail -20 "$state/logs/etcd.log" >&2; return 1; }

  # The arguments are kept so that `start-apiserver` starts it again alike.
  local api_args=(
    --etcd-servers="$etcd_url"
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port"
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key"
    --client-ca-file="$pki/ca.crt"
    --service-account-issuer="https://127.0.0.1:${api_port}"
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key"
    --authorization-mode=RBAC --disable-admission-plugins=ServiceAccount
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true
    --cert-dir="$state/apiserver-certs")
  printf '%s\0' "$apiserver" "${api_args[@]}" >"$state/apiserver.args"
  printf 'https://127.0.0.1:%s\n' "$api_port" >"$state/apiserver.url"
  start_apiserver

  local kubeconfig="$state/kubeconfig"
  cat >"$kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:${api_port}
    certificate-authority: ${pki}/ca.crt
users:
- name: admin
  user:
    client-certificate: ${pki}/admin.crt
    client-key: ${pki}/admin.key
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KUBECONFIG
  wait_apiserver
  echo "$kubeconfig"
}

# kube-apiserver alone, with the arguments `start` kept: its pid goes to the
# pids file (for `down`) and to apiserver.pid (for `stop-apiserver`).
start_apiserver() {
  local args=()
  mapfile -d '' args <"$state/apiserver.args"
  setsid "${args[@]}" >>"$state/logs/kube-apiserver.log" 2>&1 </dev/null &
  echo $! >>"$state/pids"
  echo $! >"$state/apiserver.pid"
}

wait_apiserver() {
  local pki="$state/pki"
  wait_for kube-apiserver 60 curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" \
    --key "$pki/admin.key" "$(cat "$state/apiserver.url")/readyz" ||
    { tail -30 "$state/logs/kube-apiserver.log" >&2; return 1; }
}

# Stops kube-apiserver alone (etcd keeps the data), as an outage would.
stop_apiserver() {
  local pid
  pid=$(cat "$state/apiserver.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

up() {
  local kubeconfig
  kubeconfig=$(start)
  # What Crossplane would generate for our XRDs, so XRs and claims validate.
  /usr/bin/python3 "$here/xrd_crds.py" "$state/xrd-crds" "$repo"/xrds/*.yaml
  load_crds "$("$repo/scripts/tools.sh" kubectl)" "$kubeconfig"
  echo "$kubeconfig"
}

load_crds() {  # <kubectl> <kubeconfig>
  local kubectl=$1 kubeconfig=$2
  local shared
  shared=$("$repo/scripts/tools.sh" upstream-crds)
  [[ -d "$shared" ]] || { log "no upstream CRDs at $shared (set PLATFORM_SHARED_CRDS)"; return 1; }
  local dirs=("$shared/crossplane" "$shared/provider-aws" "$shared/capi" "$shared/argocd")
  # The AWS kinds we compose that the snapshot lacks (scripts/tools.sh aws-crds).
  dirs+=("$("$repo/scripts/tools.sh" aws-crds)")
  # The project's own CRDs: the function's input, and the provider's.
  local own
  for own in "$repo/package/input" "$repo/provider/package/crds" "$state/xrd-crds"; do
    [[ -d "$own" ]] && dirs+=("$own")
  done
  # One kubectl per folder, in parallel, then one poll for Established:
  # several times faster than a serial apply and `kubectl wait --all`.
  local d total=0 pids=()
  for d in "${dirs[@]}"; do
    total=$((total + $(find "$d" -maxdepth 1 -name '*.yaml' | wc -l)))
    "$kubectl" --kubeconfig "$kubeconfig" create -f "$d" >>"$state/logs/crds.log" 2>&1 &
    pids+=($!)
  done
  for d in "${pids[@]}"; do
    wait "$d" || { tail -20 "$state/logs/crds.log" >&2; return 1; }
  done
  local established=0 deadline=$((SECONDS + 120))
  while ((established < total)); do
    if ((SECONDS >= deadline)); then
      log "only ${established} of ${total} CRDs established after 120s"
      return 1
    fi
    sleep 0.2
    established=$("$kubectl" --kubeconfig "$kubeconfig" get crd -o go-template='{{range .items}}{{range .status.conditions}}{{if eq .type "Established"}}{{.status}}{{"\n"}}{{end}}{{end}}{{end}}' | grep -c True || true)
  done
  log "${total} CRDs established"
}

case "$cmd" in
  up) up ;;
  bare) start ;;
  stop-apiserver) stop_apiserver ;;
  start-apiserver)
    start_apiserver
    wait_apiserver
    ;;
  down)
    stop_pids
    rm -rf "$state"
    ;;
  *)
    echo "usage: $0 up|bare|stop-apiserver|start-apiserver|down <state-dir>" >&2
    exit 2
    ;;
esac
