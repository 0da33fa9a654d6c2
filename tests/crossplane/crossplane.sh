#!/usr/bin/env bash
# Crossplane core v2 on the test control plane, with our packages installed
# the way a platform team installs them.
#
#   crossplane.sh up   <state-dir> <build-dir>   start everything, print the
#                                                admin kubeconfig's path
#   crossplane.sh down <state-dir>               stop it, remove <state-dir>
#   crossplane.sh kill-function  <state-dir>     SIGKILL the function
#   crossplane.sh start-function <state-dir>     start it again, same port
#
# Everything runs on loopback as host processes, each recorded by pid in
# <state-dir>/pids (controlplane.sh's file, so `down` stops them newest first):
#
# - etcd and kube-apiserver with RBAC authorization (controlplane.sh bare), and
#   kube-controller-manager with the garbage collector and the namespace and
#   ClusterRole aggregation controllers;
# - a local OCI registry (`crane registry serve`) holding our Function and
#   Configuration packages (built by scripts/package.sh with the crossplane CLI)
#   and stand-in packages for the AWS provider families: the upstream CRDs of
#   ../shared/crds/provider-aws in provider packages, with no controller;
# - Crossplane core v2.3.4: `crossplane core init` (core CRDs, TLS Secrets,
#   the default activation policy) and `crossplane core start`, running as
#   the `crossplane` ServiceAccount with the RBAC of Crossplane's own Helm
#   chart, PACKAGE_RUNTIME=External, webhooks on (a ValidatingWebhookConfiguration
#   whose URL is core's webhook on 127.0.0.1: Usages are enforced only so);
# - the RBAC manager (`crossplane rbac start`) as the `rbac-manager` ServiceAccount;
# - function-platform with mutual TLS (a server certificate for 127.0.0.1
#   signed by the CA `crossplane core init` made, which also signed core's
#   client certificate);
# - two test doubles: external-package-runtime (what the External runtime
#   leaves undone: each revision's TLS Secret name, the function's endpoint)
#   and simulated-cloud (stands in for provider-upjet-aws and Cluster API).
#
# Then the platform is installed through the package manager: ImageConfigs
# that point xpkg.crossplane.io/terraforming and xpkg.upbound.io/upbound at
# the local registry (how an air-gapped control plane mirrors packages), the
# Function and Configuration of deploy/kustomize/base (the Configuration's
# dependencies are resolved by Crossplane), the policy EnvironmentConfig,
# Cluster API's CRDs (not a Crossplane package: installed beside it) and the
# ClusterRole that lets Crossplane compose Cluster API objects.
#
# The RBAC manager serves metrics on :8080 and has no flag to move it: the
# port must be free.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cmd=${1:-}
state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || { echo "usage: $0 up <state-dir> <build-dir> | down <state-dir>" >&2; exit 2; }

log() { printf 'crossplane: %s\n' "$*" >&2; }
tool() { "$repo/scripts/tools.sh" "$1"; }
# shellcheck source=../controlplane/common.sh
source "$here/../controlplane/common.sh"
# Starts a process in its own session, logging to logs/<name>.log, and
# records its pid.
spawn() {  # <name> <command...>
  local name=$1
  shift
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >>"$state/pids"
}

# The upstream CRDs: PLATFORM_SHARED_CRDS, ../shared/crds, or a fetched copy.
SHARED_CRDS=
NS=crossplane-system
# The version the stand-in AWS provider packages carry: the release the
# upstream CRDs under ../shared/crds/provider-aws come from.
AWS_PROVIDER_VERSION=v2.6.0
# The version our packages are pushed as: the release version (VERSION).
PLATFORM_VERSION=v$("$repo/scripts/version.sh" print)

up() {
  local build=${1:?usage: $0 up <state-dir> <build-dir>}
  build=$(cd "$build" && pwd)
  local kubectl helm crane core cli kcm
  kubectl=$(tool kubectl)
  helm=$(tool helm)
  crane=$(tool crane)
  core=$(tool crossplane-core)
  cli=$(tool crossplane)
  kcm=$(tool kube-controller-manager)
  local cluster
  cluster=$(tool crossplane-cluster)
  for f in "$build/package/function-platform.xpkg" "$build/package/configuration-platform.xpkg" \
    "$build/function/function-platform" "$build/tests/simulated-cloud" \
    "$build/tests/external-package-runtime"; do
    [[ -e "$f" ]] || { log "missing $f: build first (make package)"; return 1; }
  done
  SHARED_CRDS=$(tool upstream-crds)
  [[ -d "$SHARED_CRDS" ]] || { log "no upstream CRDs at $SHARED_CRDS (set PLATFORM_SHARED_CRDS)"; return 1; }
  if python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",8080))' 2>/dev/null; then :; else
    log "port 8080 is in use: crossplane rbac start always serves its metrics there"
    return 1
  fi

  local kubeconfig
  kubeconfig=$("$repo/tests/controlplane/controlplane.sh" bare "$state")
  local pki="$state/pki"
  k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

  # The controllers Crossplane relies on: cascading and foreground deletion,
  # namespace deletion, and the aggregated `crossplane` ClusterRole.
  local kcm_port
  kcm_port=$(free_port)
  spawn kube-controller-manager "$kcm" --kubeconfig="$kubeconfig" \
    --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --controllers=garbagecollector,namespace,clusterrole-aggregation \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$kcm_port" \
    --use-service-account-credentials=false --concurrent-gc-syncs=5
  wait_for kube-controller-manager 60 curl -sfk "https://127.0.0.1:${kcm_port}/healthz" ||
    { tail -20 "$state/logs/kube-controller-manager.log" >&2; return 1; }

  # Crossplane's own RBAC, ServiceAccounts and (empty) TLS Secrets, from its
  # Helm chart at the core's tag.
  k create namespace "$NS" >/dev/null
  "$helm" template crossplane "$cluster/charts/crossplane" --namespace "$NS" >"$state/chart.yaml"
  python3 - "$state/chart.yaml" >"$state/chart-rbac.yaml" <<'PY'
import sys, yaml
keep = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret"}
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") in keep]
print(yaml.safe_dump_all(docs))
PY
  k apply -f "$state/chart-rbac.yaml" >/dev/null

  # A kubeconfig per ServiceAccount, from a TokenRequest: core and the RBAC
  # manager run with exactly the chart's permissions.
  local api
  api=$(k config view -o jsonpath='{.clusters[0].cluster.server}')
  for sa in crossplane rbac-manager; do
    local token
    token=$(k -n "$NS" create token "$sa" --duration=48h)
    cat >"$state/kubeconfig-$sa" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$api", certificate-authority: "$pki/ca.crt"}
users:
- name: $sa
  user: {token: "$token"}
contexts:
- name: test
  context: {cluster: test, user: $sa}
current-context: test
EOF
  done

  # core init, as the Helm chart's init container runs it: core CRDs, the CA
  # and client certificate, the lock, the default runtime config and the
  # activation policy. Its webhook configuration names a Service, which a
  # host process cannot back; ours below names a URL instead.
  local cp_env=(env KUBECONFIG="$state/kubeconfig-crossplane" POD_NAMESPACE="$NS"
    POD_SERVICE_ACCOUNT=crossplane)
  # Its CRDs are applied but not yet served when a later step needs them:
  # like the init container it is, it is run again until it completes.
  local attempt
  for attempt in $(seq 10); do
    if "${cp_env[@]}" CRDS_PATH="$cluster/crds" WEBHOOK_CONFIGS_PATH="$cluster/webhookconfigurations" \
      ENABLE_WEBHOOKS=false TLS_CA_SECRET_NAME=crossplane-root-ca \
      TLS_CLIENT_SECRET_NAME=crossplane-tls-client TLS_SERVER_SECRET_NAME=crossplane-tls-server \
      "$core" core init --activation='*' >>"$state/logs/crossplane-init.log" 2>&1; then
      break
    fi
    ((attempt < 10)) || { tail -20 "$state/logs/crossplane-init.log" >&2; return 1; }
    sleep 1
  done

  # The certificates a pod would get mounted, and the server certificates a
  # host process needs: for 127.0.0.1, signed by Crossplane's CA.
  local certs="$state/certs"
  mkdir -p "$certs/ca" "$certs/client" "$certs/webhook" "$certs/function"
  secret_file() { k -n "$NS" get secret "$1" -o "jsonpath={.data.${2//./\\.}}" | base64 -d >"$3"; }
  secret_file crossplane-root-ca tls.crt "$certs/ca/ca.crt"
  secret_file crossplane-root-ca tls.key "$certs/ca/ca.key"
  secret_file crossplane-tls-client tls.crt "$certs/client/tls.crt"
  secret_file crossplane-tls-client tls.key "$certs/client/tls.key"
  secret_file crossplane-tls-client ca.crt "$certs/client/ca.crt"
  for who in webhook function; do
    (
      cd "$certs/$who"
      openssl req -newkey rsa:2048 -nodes -subj "/CN=${who}.127.0.0.1" -keyout tls.key \
        -out tls.csr 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >tls.ext
      openssl x509 -req -in tls.csr -CA ../ca/ca.crt -CAkey ../ca/ca.key -CAcreateserial \
        -days 2 -extfile tls.ext -out tls.crt 2>/dev/null
      cp ../ca/ca.crt ca.crt
    )
  done
  # The Secret a package runtime would fill for each revision.
  k -n "$NS" create secret tls crossplane-package-runtime-tls --cert="$certs/webhook/tls.crt" \
    --key="$certs/webhook/tls.key" >/dev/null

  # The registry, and every package in it.
  local reg_port reg
  reg_port=$(free_port)
  reg="127.0.0.1:${reg_port}"
  spawn registry "$crane" registry serve --address "$reg"
  wait_for registry 30 curl -sf "http://${reg}/v2/"
  push() { "$cli" xpkg push -f "$1" "$2" >>"$state/logs/push.log" 2>&1 || { tail "$state/logs/push.log" >&2; return 1; }; }
  push "$build/package/function-platform.xpkg" "$reg/terraforming/function-platform:$PLATFORM_VERSION"
  push "$build/package/configuration-platform.xpkg" \
    "$reg/terraforming/configuration-platform:$PLATFORM_VERSION"
  stand_in_providers "$cli" "$reg"

  # Core and the RBAC manager.
  local webhook_port metrics_port health_port
  webhook_port=$(free_port)
  metrics_port=$(free_port)
  health_port=$(free_port)
  mkdir -p "$state/xpkg-cache"
  spawn crossplane "${cp_env[@]}" PACKAGE_RUNTIME=External ENABLE_WEBHOOKS=true \
    WEBHOOK_PORT="$webhook_port" TLS_SERVER_CERTS_DIR="$certs/webhook" \
    TLS_CLIENT_CERTS_DIR="$certs/client" XPKG_CACHE_DIR="$state/xpkg-cache" \
    METRICS_PORT="$metrics_port" HEALTH_PROBE_PORT="$health_port" \
    "$core" core start --debug ${CROSSPLANE_ARGS:-}
  spawn rbac-manager env KUBECONFIG="$state/kubeconfig-rbac-manager" \
    "$core" rbac start --provider-clusterrole=crossplane:allowed-provider-permissions
  wait_for crossplane 90 curl -sf "http://127.0.0.1:${health_port}/readyz" ||
    { tail -30 "$state/logs/crossplane.log" >&2; return 1; }
  python3 - "$cluster/webhookconfigurations/usage.yaml" "$certs/ca/ca.crt" \
    "https://127.0.0.1:${webhook_port}" >"$state/webhooks.yaml" <<'PY'
import base64, sys, yaml
ca = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
docs = []
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d:
        continue
    for w in d["webhooks"]:
        path = w["clientConfig"]["service"]["path"]
        w["clientConfig"] = {"url": sys.argv[3] + path, "caBundle": ca}
    docs.append(d)
print(yaml.safe_dump_all(docs))
PY
  k apply -f "$state/webhooks.yaml" >/dev/null

  # The function, and the two doubles.
  local fn_port
  fn_port=$(free_port)
  printf '%s\n' "$build/function/function-platform" --tls-certs-dir "$certs/function" \
    --address "127.0.0.1:${fn_port}" --debug >"$state/function.args"
  start_function
  spawn external-package-runtime "$build/tests/external-package-runtime" \
    --kubeconfig "$kubeconfig" --tls-secret crossplane-package-runtime-tls \
    --function "terraforming-function-platform=127.0.0.1:${fn_port}"
  # Deleting takes a second, so the order of deletions can be seen.
  spawn simulated-cloud "$build/tests/simulated-cloud" --kubeconfig "$kubeconfig" \
    --delete-delay-ms 1000

  # The platform, as deploy/ installs it.
  # ImageConfigs point each registry path at the local registry.
  local imageconfigs="$state/imageconfigs.yaml" org
  : >"$imageconfigs"
  for org in xpkg.crossplane.io/terraforming xpkg.upbound.io/upbound; do
    cat >>"$imageconfigs" <<EOF
---
apiVersion: pkg.crossplane.io/v1beta1
kind: ImageConfig
metadata: {name: mirror-${org##*/}}
spec:
  matchImages: [{prefix: ${org}/}]
  rewriteImage: {prefix: "$reg/${org##*/}/"}
EOF
  done
  k apply -f "$imageconfigs" >/dev/null
  # Cluster API and its AWS provider: installed beside Crossplane (clusterctl),
  # not through it.
  k apply --server-side -f "$SHARED_CRDS/capi" >/dev/null
  local base="$repo/deploy/kustomize/base"
  k apply -f "$base/runtimeconfig.yaml" -f "$base/function.yaml" \
    -f "$base/crossplane-rbac.yaml" >/dev/null
  k apply -f "$base/configuration.yaml" >/dev/null
  wait_for "Configuration configuration-platform" 240 configuration_ready ||
    { k get configurations,configurationrevisions,providers,functions,lock -o yaml >&2 || true; return 1; }
  # The RBAC manager's roles for the providers' kinds, aggregated into
  # Crossplane's: until then its first composition is refused.
  wait_for "Crossplane's permissions on the AWS kinds" 120 crossplane_may_compose ||
    { k get clusterrole crossplane -o yaml >&2; return 1; }
  k apply -f "$base/environmentconfig.yaml" >/dev/null
  log "Crossplane ready: $(k get xrd --no-headers | wc -l) XRDs, $(k get compositions --no-headers | wc -l) Compositions, $(k get providers --no-headers | wc -l) providers"
  echo "$kubeconfig"
}

# The function as a host process, from the arguments `up` recorded; its pid
# in function.pid (and pids). Tests kill it and start it again.
start_function() {
  local args port
  mapfile -t args <"$state/function.args"
  port=${args[-2]##*:}
  setsid "${args[@]}" >>"$state/logs/function-platform.log" 2>&1 </dev/null &
  echo $! >"$state/function.pid"
  echo $! >>"$state/pids"
  wait_for function-platform 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/${port}"
}

kill_function() {
  [[ -f "$state/function.pid" ]] || return 0
  kill -KILL "$(cat "$state/function.pid")" 2>/dev/null || true
  rm -f "$state/function.pid"
}

crossplane_may_compose() {
  local as=system:serviceaccount:${NS}:crossplane kind
  for kind in vpcs.ec2.aws.upbound.io instances.rds.aws.upbound.io clusters.eks.aws.upbound.io \
    groups.cloudwatchlogs.aws.upbound.io \
    roles.iam.aws.upbound.io keys.kms.aws.upbound.io; do
    k auth can-i create "$kind" --as="$as" >/dev/null || return 1
  done
  k auth can-i create vpcs.ec2.aws.m.upbound.io --as="$as" -n default >/dev/null
}

# Installed and healthy, with every XRD it brings established.
configuration_ready() {
  local cond xrds
  cond=$(k get configuration configuration-platform \
    -o jsonpath='{range .status.conditions[*]}{.type}={.status}{"\n"}{end}')
  grep -q '^Installed=True' <<<"$cond" && grep -q '^Healthy=True' <<<"$cond" || return 1
  xrds=$(k get xrd -o jsonpath='{range .items[*]}{range .status.conditions[?(@.type=="Established")]}{.status}{"\n"}{end}{end}')
  [[ $(grep -c True <<<"$xrds") -ge 6 ]]
}

# Provider packages holding the upstream CRDs of each AWS provider family the
# Configuration depends on (and the family's ProviderConfig package they all
# depend on, as the real ones do), pushed at the provider's release.
stand_in_providers() {  # <crossplane cli> <registry>
  local cli=$1 reg=$2 root="$state/providers"
  local family service
  local extra
  extra=$("$repo/scripts/tools.sh" aws-crds)
  for family in family-aws ec2 eks iam kms rds cloudwatchlogs; do
    local dir="$root/provider-aws-$family"
    [[ $family == family-aws ]] && dir="$root/provider-family-aws"
    mkdir -p "$dir/crds"
    if [[ $family == family-aws ]]; then
      cp "$SHARED_CRDS"/provider-aws/aws.upbound.io_*.yaml "$SHARED_CRDS"/provider-aws/aws.m.upbound.io_*.yaml "$dir/crds/"
    else
      cp "$SHARED_CRDS/provider-aws/${family}".aws.upbound.io_*.yaml \
        "$SHARED_CRDS/provider-aws/${family}".aws.m.upbound.io_*.yaml "$dir/crds/" 2>/dev/null || true
      cp "$extra/${family}".aws.upbound.io_*.yaml "$extra/${family}".aws.m.upbound.io_*.yaml \
        "$dir/crds/" 2>/dev/null || true
      compgen -G "$dir/crds/*.yaml" >/dev/null || { log "no CRDs for provider-aws-${family}"; return 1; }
    fi
    local name
    name=$(basename "$dir")
    {
      printf 'apiVersion: meta.pkg.crossplane.io/v1\nkind: Provider\nmetadata:\n'
      printf '  name: %s\n' "$name"
      printf '  annotations:\n    meta.crossplane.io/description: \"Test stand-in for upbound/%s (its upstream CRDs, no controller)\"\n' "$name"
      printf 'spec:\n  crossplane:\n    version: ">=v2.0.0"\n'
      if [[ $family != family-aws ]]; then
        printf '  dependsOn:\n  - apiVersion: pkg.crossplane.io/v1\n    kind: Provider\n'
        printf '    package: xpkg.upbound.io/upbound/provider-family-aws\n    version: ">=%s"\n' "$AWS_PROVIDER_VERSION"
      fi
    } >"$dir/crossplane.yaml"
    "$cli" xpkg build --package-root="$dir" --package-file="$root/$name.xpkg" \
      >>"$state/logs/push.log" 2>&1 || { tail "$state/logs/push.log" >&2; return 1; }
    push "$root/$name.xpkg" "$reg/upbound/$name:$AWS_PROVIDER_VERSION"
  done
}

case "$cmd" in
  up) up "${3:-}" ;;
  kill-function) kill_function ;;
  start-function) start_function ;;
  down) "$repo/tests/controlplane/controlplane.sh" down "$state" ;;
  *)
    echo "usage: $0 up <state-dir> <build-dir> | down <state-dir>" >&2
    exit 2
    ;;
esac
