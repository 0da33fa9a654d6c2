#!/usr/bin/env bash
# Builds the two Crossplane packages with the real `crossplane xpkg build`:
#
#   scripts/package.sh <build dir>
#
# - <build dir>/package/function-platform.xpkg: package/crossplane.yaml and
#   the input CRD, with the runtime image of scripts/image.sh embedded;
# - <build dir>/package/configuration-platform.xpkg: the XRDs and
#   Compositions, with package/configuration/crossplane.yaml (dependencies on
#   the function and the AWS provider families), and the examples.
#
# Both are built by `crossplane xpkg build` of the Crossplane v2 CLI, which
# parses the apiextensions.crossplane.io/v2 XRDs, and read back with
# `crossplane xpkg extract` as a check that Crossplane finds the package.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(cd "${1:?usage: scripts/package.sh <build dir>}" && pwd)
crossplane=$(scripts/tools.sh crossplane)
image_tar="${build_dir}/image/function-platform.tar"
out="${build_dir}/package"
[[ -f "$image_tar" ]] || { echo "no ${image_tar}: run scripts/image.sh first (make image)" >&2; exit 1; }

# Each package root holds its own metadata and nothing else's.
rm -rf "${out}/roots"
mkdir -p "${out}/roots/function/input" "${out}/roots/configuration"
cp package/crossplane.yaml "${out}/roots/function/"
cp package/input/*.yaml "${out}/roots/function/input/"

"$crossplane" xpkg build --package-root="${out}/roots/function" \
  --embed-runtime-image-tarball="$image_tar" --examples-root=examples \
  --package-file="${out}/function-platform.xpkg" >&2
cfg="${out}/roots/configuration"
cp package/configuration/crossplane.yaml "${cfg}/"
mkdir -p "${cfg}/xrds" "${cfg}/compositions"
cp xrds/*.yaml "${cfg}/xrds/"
cp compositions/*.yaml "${cfg}/compositions/"
"$crossplane" xpkg build --package-root="$cfg" --examples-root=examples \
  --package-file="${out}/configuration-platform.xpkg" >&2
(cd "$out" && "$crossplane" xpkg extract --from-xpkg "${out}/configuration-platform.xpkg" \
  -o "${out}/configuration-platform.gz" >&2)
for f in "${out}"/*.xpkg; do echo "$(stat -c %s "$f") ${f}"; done
