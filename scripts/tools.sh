#!/usr/bin/env bash
# Prints the path of a Go-built test tool, building it first if the tools
# cache does not have it yet.
#
#   scripts/tools.sh crossplane
#
# The cache lives outside the clone so fresh clones and CI reuse it:
# $PLATFORM_TOOLS_DIR, default ~/.cache/terraforming-platform/tools, one
# folder per tool and version. Builds go through a small wrapper module so
# that modules with replace lines build too; the Go build cache is kept.
# To use a binary of your own, set CROSSPLANE_BIN.
set -euo pipefail

tools_dir="${PLATFORM_TOOLS_DIR:-${HOME}/.cache/terraforming-platform/tools}"

# crank, the crossplane CLI. The Go module proxy serves
# github.com/crossplane/crossplane (v1.20.x) but not crossplane/v2, so render
# comes from v1.20.11, the newest release it serves.
CROSSPLANE_MODULE=github.com/crossplane/crossplane
CROSSPLANE_VERSION=v1.20.11

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
    go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg" >&2
  )
  mv "$out.tmp" "$out"
}

case "${1:-}" in
  crossplane)
    if [[ -n "${CROSSPLANE_BIN:-}" ]]; then echo "$CROSSPLANE_BIN"; exit 0; fi
    out="${tools_dir}/crossplane-${CROSSPLANE_VERSION}/crossplane"
    if [[ ! -x "$out" ]]; then
      go_build crossplane "$CROSSPLANE_VERSION" "${CROSSPLANE_MODULE}/cmd/crank@${CROSSPLANE_VERSION}" \
        "${CROSSPLANE_MODULE}/cmd/crank" "$out"
    fi
    echo "$out"
    ;;
  *)
    echo "usage: $0 crossplane" >&2
    exit 2
    ;;
esac
