#!/usr/bin/env bash
# Prints the path of a test tool (Go-built; spdx-tools: a Python virtualenv),
# building it first if the tools cache does not have it yet.
#
#   scripts/tools.sh crossplane
#
# The cache lives outside the clone so fresh clones and CI reuse it:
# $PLATFORM_TOOLS_DIR, default ~/.cache/terraforming-platform/tools, one
# folder per tool and version. Builds go through a small wrapper module so
# that modules with replace lines build too; the Go build cache is kept.
# To use binaries of your own, set CROSSPLANE_BIN, CROSSPLANE_CORE_BIN,
# KUBE_APISERVER_BIN, KUBECTL_BIN, KUBE_CONTROLLER_MANAGER_BIN, ETCD_BIN,
# HELM_BIN, HELMFILE_BIN, TOFU_BIN, TOFU_ARM64_BIN, CRANE_BIN, VEGETA_BIN, PT_BIN or
# PYSPDXTOOLS_BIN or MOTO_SERVER_BIN; for folders of CRDs, AWS_EXTRA_CRDS_DIR or
# PLATFORM_SHARED_CRDS.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tools_dir="${PLATFORM_TOOLS_DIR:-${HOME}/.cache/terraforming-platform/tools}"

# The crossplane CLI (render, resource validate, xpkg) of Crossplane v2:
# github.com/crossplane/cli/v2. `go install` is refused here (it reads a
# version list the module proxy does not serve), but the module itself is
# served, so it is downloaded and built in a copy of its folder.
CROSSPLANE_CLI_MODULE=github.com/crossplane/cli/v2
CROSSPLANE_CLI_VERSION=v2.5.0
# Crossplane core (`crossplane core start`, `rbac start`, `internal render`,
# which the CLI's render runs with --crossplane-binary). Its module,
# github.com/crossplane/crossplane/v2, has a replace line and the module proxy
# refuses it, so it is built from a source snapshot of the tag when one sits
# beside the clone ($PLATFORM_THIRD_PARTY, default ../shared/third_party), and
# from a git checkout of the tag otherwise.
CROSSPLANE_CORE_VERSION=v2.3.4
CROSSPLANE_CORE_GIT=https://github.com/crossplane/crossplane.git
# The version stamp both read: core refuses packages whose
# spec.crossplane.version it cannot check against an unstamped build.
CROSSPLANE_VERSION_VAR=github.com/crossplane/crossplane-runtime/v2/pkg/version.version

# crane: a local OCI registry (`crane registry serve`) the packages are
# pushed to, and pulled from by Crossplane's package manager, in the tests.
CRANE_VERSION=v0.22.1

# kube-apiserver and kubectl from k8s.io/kubernetes. Its go.mod replaces every
# staging module with a folder, so the wrapper module replaces each with the
# published module of the matching v0 version instead.
KUBERNETES_VERSION=v1.35.4
# etcd: the v3.6 line the Kubernetes 1.35 client is built against.
ETCD_VERSION=v3.6.16

# helm (v4: its default .Capabilities.KubeVersion follows the client-go it is
# built with, so `helm template` needs no --kube-version to match the tests).
HELM_VERSION=v4.2.4
# helmfile: its go.mod pins k8s.io modules with replace lines, which `go get`
# ignores in a dependency, so the wrapper module repeats them (read from the
# upstream go.mod, as for Kubernetes).
HELMFILE_VERSION=v1.7.4

# OpenTofu, which the provider's Workspace kind runs. Its go.mod replaces
# hashicorp/hcl/v2 with OpenTofu's fork (and sets two godebug keys); `go get`
# ignores both in a dependency, so the wrapper module repeats them.
TOFU_VERSION=v1.12.6

# spdx-tools (the SPDX project's own Python parser and validator, pyspdxtools),
# which checks the images' SBOMs: a virtualenv in the tools cache, installed
# with pip from the package index.
SPDX_TOOLS_VERSION=0.8.5
# moto's server: a real S3-protocol server on loopback for the state
# backup tests (PyPI, in a virtualenv of its own like spdx-tools).
MOTO_VERSION=5.2.6

# function-patch-and-transform, the benchmark's peer (make bench-peers,
# docs/performance.md): its module is refused by the module proxy, so it is
# built from the source snapshot beside the clone ($PLATFORM_THIRD_PARTY).
PT_VERSION=v0.10.8

# vegeta: the HTTP load generator of the admission benchmark (constant rate,
# latency percentiles); scripts/bench-admission.sh.
VEGETA_VERSION=v12.13.0

# Upstream CRDs of the AWS provider kinds the function composes that the
# snapshot beside the clone (../shared/crds/provider-aws) lacks: taken from
# the provider's own Go module (github.com/upbound/provider-aws/v2, whose zip
# holds package/crds), which the module proxy serves at this release.
AWS_PROVIDER_MODULE=github.com/upbound/provider-aws/v2
AWS_PROVIDER_CRDS_VERSION=v2.5.0
AWS_EXTRA_CRDS=(
  ec2.aws.upbound.io_vpcendpointroutetableassociations
  ec2.aws.m.upbound.io_vpcendpointroutetableassociations
  ec2.aws.upbound.io_flowlogs
  ec2.aws.m.upbound.io_flowlogs
  ec2.aws.upbound.io_defaultsecuritygroups
  ec2.aws.m.upbound.io_defaultsecuritygroups
  cloudwatchlogs.aws.upbound.io_groups
  cloudwatchlogs.aws.m.upbound.io_groups
  iam.aws.upbound.io_rolepolicies
  iam.aws.m.upbound.io_rolepolicies
  ec2.aws.upbound.io_launchtemplates
  ec2.aws.m.upbound.io_launchtemplates
  eks.aws.upbound.io_podidentityassociations
  eks.aws.m.upbound.io_podidentityassociations
  ec2.aws.upbound.io_transitgatewayvpcattachments
  ec2.aws.m.upbound.io_transitgatewayvpcattachments
)

# Reads `go build -v` on stdin: a line every 100 packages with the time so
# far, so that a first build of several minutes does not look stuck; any
# other line (a compiler error) is passed on as it is.
go_progress() {  # <name>
  local name=$1 n=0 start=$SECONDS line
  while IFS= read -r line; do
    if [[ "$line" =~ ^[A-Za-z0-9._~/-]+$ ]]; then
      n=$((n + 1))
      ((n % 100 == 0)) && echo "  ${name}: ${n} packages compiled ($((SECONDS - start)) s)" >&2
    else
      echo "$line" >&2
    fi
  done
  echo "  ${name}: done, ${n} packages compiled in $((SECONDS - start)) s" >&2
}

# Prints <tools>/<name>-<version>/bin/<program>, installing <requirement>
# from PyPI into that virtualenv first if it is not there yet.
pip_tool() {  # <name> <version> <requirement> <program>
  local venv="${tools_dir}/$1-$2"
  local out="${venv}/bin/$4"
  if [[ ! -x "$out" ]]; then
    echo "installing $1 $2 into ${venv} (first run only)" >&2
    # In place (a virtualenv's scripts name its folder); a failed install
    # leaves no program, so the next run starts again.
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$3" >&2
  fi
  echo "$out"
}

go_build() {  # <name> <version> <module@version> <main package> <output> [ldflags]
  local name=$1 version=$2 modver=$3 pkg=$4 out=$5 ldflags=${6:-}
  local src="${tools_dir}/src/${name}-${version}"
  mkdir -p "$src" "$(dirname "$out")"
  if [[ ! -f "$src/go.mod" ]]; then
    printf 'module local/%s\n\ngo 1.26\n' "$name" >"$src/go.mod"
  fi
  echo "building ${name} ${version} into ${out} (first run only)" >&2
  (
    cd "$src"
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod
    go get -tool "$modver" >&2
    go build -v -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg" 2>&1 | go_progress "$name"
  )
  mv "$out.tmp" "$out"
}

# Writes the wrapper go.mod for k8s.io/kubernetes: its godebug line, and one
# replace per staging module, read from the upstream go.mod itself.
kubernetes_wrapper() {  # <src dir>
  local src=$1 upstream staging_version
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  mkdir -p "$src"
  [[ -f "$src/go.mod" ]] && return 0
  upstream=$(cd "$src" && GOTOOLCHAIN=local go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  {
    printf 'module local/kubernetes\n\ngo 1.26\n\n'
    grep -E '^godebug ' "$upstream" || true
    echo
    sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*|replace \1 => \1 '"${staging_version}"'|p' "$upstream"
  } >"$src/go.mod.tmp"
  mv "$src/go.mod.tmp" "$src/go.mod"
}

# Writes the wrapper go.mod for helmfile: every replace of the upstream
# go.mod that points at a module version (none points at a folder).
helmfile_wrapper() {  # <src dir>
  local src=$1 upstream
  mkdir -p "$src"
  [[ -f "$src/go.mod" ]] && return 0
  upstream=$(cd "$src" && GOTOOLCHAIN=local go mod download -json "github.com/helmfile/helmfile@${HELMFILE_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  {
    printf 'module local/helmfile\n\ngo 1.26\n\n'
    # Lines inside `replace (...)` and one-line `replace a => b vX`.
    awk '/^replace \(/ {block=1; next}
         block && /^\)/ {block=0; next}
         block && /=>/ {sub(/^[[:space:]]+/, ""); print "replace " $0; next}
         /^replace [^(]/ {print}' "$upstream" | grep -E '=> [^ .][^ ]* v[0-9]'
  } >"$src/go.mod.tmp"
  grep -q '^replace ' "$src/go.mod.tmp" || { echo "no replace lines in $upstream" >&2; return 1; }
  mv "$src/go.mod.tmp" "$src/go.mod"
}

# Writes the wrapper go.mod for OpenTofu: its godebug block and replace lines.
tofu_wrapper() {  # <src dir>
  local src=$1 upstream
  mkdir -p "$src"
  [[ -f "$src/go.mod" ]] && return 0
  upstream=$(cd "$src" && GOTOOLCHAIN=local go mod download -json "github.com/opentofu/opentofu@${TOFU_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  {
    printf 'module local/tofu\n\ngo 1.26\n\n'
    awk '/^godebug \(/ {block=1; print; next}
         block {print; if ($0 ~ /^\)/) block=0; next}
         /^godebug [^(]/ {print}' "$upstream"
    echo
    grep -E '^replace [^(]' "$upstream"
  } >"$src/go.mod.tmp"
  grep -q '^replace ' "$src/go.mod.tmp" || { echo "no replace lines in $upstream" >&2; return 1; }
  mv "$src/go.mod.tmp" "$src/go.mod"
}

kubernetes_ldflags() {
  local minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  local flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  done
  echo "$flags"
}

# Builds the main package <pkg> of the Go module in <src> (its own go.mod and
# replace lines apply: it is the main module there) into <out>.
go_build_in() {  # <name> <version> <src> <pkg> <output> [ldflags]
  local name=$1 version=$2 src=$3 pkg=$4 out=$5 ldflags=${6:-}
  mkdir -p "$(dirname "$out")"
  echo "building ${name} ${version} into ${out} (first run only)" >&2
  (
    cd "$src"
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod
    go build -v -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg" 2>&1 | go_progress "$name"
  )
  mv "$out.tmp" "$out"
}

# The CLI's module, copied out of the read-only module cache.
crossplane_cli_source() {  # <src dir>
  local src=$1 dir
  [[ -f "$src/go.mod" ]] && return 0
  dir=$(mkdir -p "$tools_dir" && cd "$tools_dir" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json \
    "${CROSSPLANE_CLI_MODULE}@${CROSSPLANE_CLI_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d "$dir" ]] || { echo "cannot download ${CROSSPLANE_CLI_MODULE}@${CROSSPLANE_CLI_VERSION}" >&2; return 1; }
  rm -rf "$src.tmp"
  mkdir -p "$(dirname "$src")"
  cp -R "$dir" "$src.tmp"
  chmod -R u+w "$src.tmp"
  mv "$src.tmp" "$src"
}

# Crossplane core's source at the tag: the snapshot beside the clone, else git.
crossplane_core_source() {  # <src dir>
  local src=$1 third_party snapshot
  [[ -f "$src/go.mod" ]] && return 0
  third_party=${PLATFORM_THIRD_PARTY:-$repo/../shared/third_party}
  snapshot="$third_party/crossplane-${CROSSPLANE_CORE_VERSION}-src.tar.gz"
  rm -rf "$src.tmp"
  mkdir -p "$src.tmp"
  if [[ -f "$snapshot" ]]; then
    tar -xzf "$snapshot" -C "$src.tmp" --strip-components=1
  else
    echo "no ${snapshot}: cloning crossplane ${CROSSPLANE_CORE_VERSION} from ${CROSSPLANE_CORE_GIT}" >&2
    git clone --quiet --depth 1 --branch "$CROSSPLANE_CORE_VERSION" "$CROSSPLANE_CORE_GIT" "$src.tmp"
  fi
  mv "$src.tmp" "$src"
}

case "${1:-}" in
  crossplane)
    if [[ -n "${CROSSPLANE_BIN:-}" ]]; then echo "$CROSSPLANE_BIN"; exit 0; fi
    out="${tools_dir}/crossplane-cli-${CROSSPLANE_CLI_VERSION}/crossplane"
    if [[ ! -x "$out" ]]; then
      src="${tools_dir}/src/crossplane-cli-${CROSSPLANE_CLI_VERSION}"
      crossplane_cli_source "$src"
      go_build_in crossplane "$CROSSPLANE_CLI_VERSION" "$src" ./cmd/crossplane "$out" \
        "-X=${CROSSPLANE_VERSION_VAR}=${CROSSPLANE_CLI_VERSION}"
    fi
    echo "$out"
    ;;
  crossplane-core)
    if [[ -n "${CROSSPLANE_CORE_BIN:-}" ]]; then echo "$CROSSPLANE_CORE_BIN"; exit 0; fi
    out="${tools_dir}/crossplane-core-${CROSSPLANE_CORE_VERSION}/crossplane"
    if [[ ! -x "$out" ]]; then
      src="${tools_dir}/src/crossplane-core-${CROSSPLANE_CORE_VERSION}"
      crossplane_core_source "$src"
      go_build_in crossplane-core "$CROSSPLANE_CORE_VERSION" "$src" ./cmd/crossplane "$out" \
        "-X=${CROSSPLANE_VERSION_VAR}=${CROSSPLANE_CORE_VERSION}"
    fi
    echo "$out"
    ;;
  # Crossplane's own manifests at the core's tag (CRDs, the Helm chart's RBAC,
  # webhook configurations): the folder `cluster/` of its source.
  crossplane-cluster)
    src="${tools_dir}/src/crossplane-core-${CROSSPLANE_CORE_VERSION}"
    crossplane_core_source "$src"
    echo "$src/cluster"
    ;;
  crane)
    if [[ -n "${CRANE_BIN:-}" ]]; then echo "$CRANE_BIN"; exit 0; fi
    out="${tools_dir}/crane-${CRANE_VERSION}/crane"
    if [[ ! -x "$out" ]]; then
      go_build crane "$CRANE_VERSION" "github.com/google/go-containerregistry/cmd/crane@${CRANE_VERSION}" \
        github.com/google/go-containerregistry/cmd/crane "$out"
    fi
    echo "$out"
    ;;
  kube-apiserver | kubectl | kube-controller-manager)
    tool=$1
    case "$tool" in
      kubectl) override_var=KUBECTL_BIN ;;
      kube-apiserver) override_var=KUBE_APISERVER_BIN ;;
      *) override_var=KUBE_CONTROLLER_MANAGER_BIN ;;
    esac
    if [[ -n "${!override_var:-}" ]]; then echo "${!override_var}"; exit 0; fi
    out="${tools_dir}/kubernetes-${KUBERNETES_VERSION}/${tool}"
    if [[ ! -x "$out" ]]; then
      src="${tools_dir}/src/kubernetes-${KUBERNETES_VERSION}"
      kubernetes_wrapper "$src"
      go_build kubernetes "$KUBERNETES_VERSION" "k8s.io/kubernetes/cmd/${tool}@${KUBERNETES_VERSION}" \
        "k8s.io/kubernetes/cmd/${tool}" "$out" "$(kubernetes_ldflags)"
    fi
    echo "$out"
    ;;
  etcd)
    if [[ -n "${ETCD_BIN:-}" ]]; then echo "$ETCD_BIN"; exit 0; fi
    out="${tools_dir}/etcd-${ETCD_VERSION}/etcd"
    if [[ ! -x "$out" ]]; then
      go_build etcd "$ETCD_VERSION" "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" \
        go.etcd.io/etcd/server/v3 "$out"
    fi
    echo "$out"
    ;;
  helm)
    if [[ -n "${HELM_BIN:-}" ]]; then echo "$HELM_BIN"; exit 0; fi
    out="${tools_dir}/helm-${HELM_VERSION}/helm"
    if [[ ! -x "$out" ]]; then
      go_build helm "$HELM_VERSION" "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}" \
        helm.sh/helm/v4/cmd/helm "$out" \
        "-X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}"
    fi
    echo "$out"
    ;;
  helmfile)
    if [[ -n "${HELMFILE_BIN:-}" ]]; then echo "$HELMFILE_BIN"; exit 0; fi
    out="${tools_dir}/helmfile-${HELMFILE_VERSION}/helmfile"
    if [[ ! -x "$out" ]]; then
      helmfile_wrapper "${tools_dir}/src/helmfile-${HELMFILE_VERSION}"
      go_build helmfile "$HELMFILE_VERSION" "github.com/helmfile/helmfile@${HELMFILE_VERSION}" \
        github.com/helmfile/helmfile "$out" "-X go.szostok.io/version.version=${HELMFILE_VERSION}"
    fi
    echo "$out"
    ;;
  tofu)
    if [[ -n "${TOFU_BIN:-}" ]]; then echo "$TOFU_BIN"; exit 0; fi
    out="${tools_dir}/tofu-${TOFU_VERSION}/tofu"
    if [[ ! -x "$out" ]]; then
      tofu_wrapper "${tools_dir}/src/tofu-${TOFU_VERSION}"
      go_build tofu "$TOFU_VERSION" "github.com/opentofu/opentofu/cmd/tofu@${TOFU_VERSION}" \
        github.com/opentofu/opentofu/cmd/tofu "$out" "-X 'github.com/opentofu/opentofu/version.dev=no'"
    fi
    echo "$out"
    ;;
  # OpenTofu for the arm64 provider image: the same version, cross-compiled
  # (pure Go, no cgo), in a folder of its own.
  tofu-arm64)
    if [[ -n "${TOFU_ARM64_BIN:-}" ]]; then echo "$TOFU_ARM64_BIN"; exit 0; fi
    out="${tools_dir}/tofu-${TOFU_VERSION}/linux-arm64/tofu"
    if [[ ! -x "$out" ]]; then
      tofu_wrapper "${tools_dir}/src/tofu-${TOFU_VERSION}"
      # The name picks the source folder: the wrapper module of `tofu`.
      GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go_build tofu "$TOFU_VERSION" \
        "github.com/opentofu/opentofu/cmd/tofu@${TOFU_VERSION}" github.com/opentofu/opentofu/cmd/tofu "$out" \
        "-X 'github.com/opentofu/opentofu/version.dev=no'"
    fi
    echo "$out"
    ;;
  patch-and-transform)
    if [[ -n "${PT_BIN:-}" ]]; then echo "$PT_BIN"; exit 0; fi
    out="${tools_dir}/function-patch-and-transform-${PT_VERSION}/function-patch-and-transform"
    if [[ ! -x "$out" ]]; then
      third_party=${PLATFORM_THIRD_PARTY:-$repo/../shared/third_party}
      snapshot="$third_party/function-patch-and-transform-${PT_VERSION}-src.tar.gz"
      [[ -f "$snapshot" ]] || { echo "no ${snapshot}: the benchmark peer needs its source" >&2; exit 1; }
      src="${tools_dir}/src/function-patch-and-transform-${PT_VERSION}"
      if [[ ! -f "$src/go.mod" ]]; then
        rm -rf "$src.tmp" && mkdir -p "$src.tmp"
        tar -xzf "$snapshot" -C "$src.tmp" --strip-components=1
        mv "$src.tmp" "$src"
      fi
      go_build_in function-patch-and-transform "$PT_VERSION" "$src" . "$out"
    fi
    echo "$out"
    ;;
  vegeta)
    if [[ -n "${VEGETA_BIN:-}" ]]; then echo "$VEGETA_BIN"; exit 0; fi
    out="${tools_dir}/vegeta-${VEGETA_VERSION}/vegeta"
    if [[ ! -x "$out" ]]; then
      go_build vegeta "$VEGETA_VERSION" "github.com/tsenart/vegeta/v12@${VEGETA_VERSION}" \
        github.com/tsenart/vegeta/v12 "$out" "-X main.Version=${VEGETA_VERSION}"
    fi
    echo "$out"
    ;;
  # pyspdxtools of SPDX_TOOLS_VERSION, in a virtualenv of its own.
  spdx-tools)
    if [[ -n "${PYSPDXTOOLS_BIN:-}" ]]; then echo "$PYSPDXTOOLS_BIN"; exit 0; fi
    pip_tool spdx-tools "$SPDX_TOOLS_VERSION" "spdx-tools==${SPDX_TOOLS_VERSION}" pyspdxtools
    ;;
  # moto_server of MOTO_VERSION, in a virtualenv of its own.
  moto)
    if [[ -n "${MOTO_SERVER_BIN:-}" ]]; then echo "$MOTO_SERVER_BIN"; exit 0; fi
    pip_tool moto "$MOTO_VERSION" "moto[server]==${MOTO_VERSION}" moto_server
    ;;
  # A folder of the CRDs in AWS_EXTRA_CRDS (override: AWS_EXTRA_CRDS_DIR).
  aws-crds)
    if [[ -n "${AWS_EXTRA_CRDS_DIR:-}" ]]; then echo "$AWS_EXTRA_CRDS_DIR"; exit 0; fi
    out="${tools_dir}/aws-crds-${AWS_PROVIDER_CRDS_VERSION}"
    missing=0
    for crd in "${AWS_EXTRA_CRDS[@]}"; do [[ -f "$out/$crd.yaml" ]] || missing=1; done
    if ((missing)); then
      echo "fetching CRDs of ${AWS_PROVIDER_MODULE}@${AWS_PROVIDER_CRDS_VERSION} into ${out} (first run only)" >&2
      moddir=$(cd "${TMPDIR:-/tmp}" && GOTOOLCHAIN=local GOFLAGS=-mod=mod \
        go mod download -json "${AWS_PROVIDER_MODULE}@${AWS_PROVIDER_CRDS_VERSION}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
      mkdir -p "$out.tmp"
      for crd in "${AWS_EXTRA_CRDS[@]}"; do
        cp "$moddir/package/crds/$crd.yaml" "$out.tmp/"
        chmod u+w "$out.tmp/$crd.yaml"
      done
      rm -rf "$out" && mv "$out.tmp" "$out"
    fi
    echo "$out"
    ;;
  # The folder of upstream CRDs the tests load (scripts/upstream-crds.lock):
  # $PLATFORM_SHARED_CRDS if set, the snapshot beside the clone
  # (../shared/crds) if there is one, else a copy fetched and checked by
  # scripts/fetch-crds.sh into the tools cache, one folder per lock.
  upstream-crds)
    if [[ -n "${PLATFORM_SHARED_CRDS:-}" ]]; then echo "$PLATFORM_SHARED_CRDS"; exit 0; fi
    if [[ -d "$repo/../shared/crds" ]]; then (cd "$repo/../shared/crds" && pwd); exit 0; fi
    out="${tools_dir}/upstream-crds-$(sha256sum "$repo/scripts/upstream-crds.lock" | cut -c1-12)"
    "$repo/scripts/fetch-crds.sh" "$out"
    echo "$out"
    ;;
  *)
    echo "usage: $0 crossplane|crossplane-core|crossplane-cluster|crane|kube-apiserver|kubectl|kube-controller-manager|etcd|helm|helmfile|tofu|tofu-arm64|vegeta|patch-and-transform|spdx-tools|moto|aws-crds|upstream-crds" >&2
    exit 2
    ;;
esac
