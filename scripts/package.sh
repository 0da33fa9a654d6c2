#!/usr/bin/env bash
# Builds the two Crossplane packages with the real `crossplane xpkg build`:
#
#   scripts/package.sh <build dir>
#
# - <build dir>/package/function-platform.xpkg: package/crossplane.yaml and
#   the input CRD, with the runtime image of scripts/image.sh embedded;
# - <build dir>/package/configuration-platform.xpkg: the XRDs and
#   Compositions, with package/configuration/crossplane.yaml (dependencies on
#   the function, the AWS provider families and the project's provider).
#
# The crossplane CLI the Go module proxy serves (v1.20, see scripts/tools.sh)
# cannot parse apiextensions.crossplane.io/v2 XRDs, so the Configuration is
# built as the OCI image an xpkg is (one layer, /package.yaml: the metadata
# first, then every object) with podman, and checked with the real
# `crossplane xpkg extract`, which finds the package the way Crossplane does.
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
  --embed-runtime-image-tarball="$image_tar" --package-file="${out}/function-platform.xpkg" >&2
cfg="${out}/roots/configuration"
{
  cat package/configuration/crossplane.yaml
  for f in xrds/*.yaml compositions/*.yaml; do
    echo '---'
    cat "$f"
  done
} >"${cfg}/package.yaml"
printf 'FROM scratch\nCOPY package.yaml /package.yaml\n' >"${cfg}/Containerfile"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
configuration_image=${PLATFORM_CONFIGURATION_IMAGE:-xpkg.crossplane.io/terraforming/configuration-platform:v0.1.0}
scripts/podman.sh build --quiet --timestamp "$epoch" --tag "$configuration_image" \
  --file "${cfg}/Containerfile" "$cfg" >/dev/null
rm -f "${out}/configuration-platform.xpkg"
scripts/podman.sh save --quiet --format docker-archive \
  --output "${out}/configuration-platform.xpkg" "$configuration_image"
(cd "$out" && "$crossplane" xpkg extract --from-xpkg "${out}/configuration-platform.xpkg" \
  -o "${out}/configuration-platform.gz" >&2)
for f in "${out}"/*.xpkg; do echo "$(stat -c %s "$f") ${f}"; done
