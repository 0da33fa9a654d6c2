#!/usr/bin/env bash
# Builds provider-workloads' Crossplane package with the real
# `crossplane xpkg build`:
#
#   scripts/provider-package.sh <build dir>
#
# <build dir>/package/provider-workloads.xpkg: provider/package/crossplane.yaml
# and the CRDs (provider/package/crds), the examples (provider/examples, every
# YAML file there), with the runtime image of scripts/provider-image.sh
# embedded. Checked with `crossplane xpkg extract`, which finds the package
# the way Crossplane does.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(cd "${1:?usage: scripts/provider-package.sh <build dir>}" && pwd)
crossplane=$(scripts/tools.sh crossplane)
image_tar="${build_dir}/provider-image/provider-workloads.tar"
out="${build_dir}/package"
[[ -f "$image_tar" ]] || {
  echo "no ${image_tar}: run scripts/provider-image.sh first (make provider-image)" >&2
  exit 1
}

# A package root of its own, so nothing else in the tree ends up inside.
root="${out}/roots/provider"
rm -rf "$root" "${out}/roots/provider-examples"
mkdir -p "${root}/crds" "${out}/roots/provider-examples"
cp provider/package/crossplane.yaml "${root}/"
cp provider/package/crds/*.yaml "${root}/crds/"
cp provider/examples/*.yaml "${out}/roots/provider-examples/"

rm -f "${out}/provider-workloads.xpkg"
"$crossplane" xpkg build --package-root="$root" --examples-root="${out}/roots/provider-examples" \
  --embed-runtime-image-tarball="$image_tar" --package-file="${out}/provider-workloads.xpkg" >&2
(cd "$out" && "$crossplane" xpkg extract --from-xpkg "${out}/provider-workloads.xpkg" \
  -o "${out}/provider-workloads.gz" >&2)
echo "$(stat -c %s "${out}/provider-workloads.xpkg") ${out}/provider-workloads.xpkg"
