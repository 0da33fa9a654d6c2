#!/usr/bin/env bash
# Builds the function's runtime image without a Docker daemon (podman), from
# nothing but the built binary and exactly the shared libraries it loads:
# no shell, no package manager, a non-root user. Reproducible: every file and
# the image itself carry the time of the last commit.
#
#   scripts/image.sh <build dir>
#   PLATFORM_ARCH=arm64 scripts/image.sh <arm64 build dir>
#
# PLATFORM_ARCH (scripts/arch.sh) names the image's architecture, default
# this machine's; for arm64 the build dir holds a cross-build
# (scripts/cross-build.sh) and the image is tagged <tag>-arm64 in podman's
# store, beside the native one.
# Writes <build dir>/image/function-platform.tar (docker-archive, what
# `crossplane xpkg build --embed-runtime-image-tarball` takes) and leaves the
# image in podman's store as $PLATFORM_IMAGE, the name examples and the
# Function package use; and <build dir>/image/function-platform.spdx.json,
# its SBOM (scripts/sbom.py): the Debian packages its libraries come from and
# the function itself.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?usage: scripts/image.sh <build dir>}
source scripts/arch.sh
# The tag is the release version (VERSION), so a release builds what it names.
suffix=""
[[ "$arch" == "$host_arch" ]] || suffix="-${arch}"
image=${PLATFORM_IMAGE:-xpkg.crossplane.io/terraforming/function-platform:v$(scripts/version.sh print)${suffix}}
# The function, and the admission webhook (docs/admission.md), which runs
# from the same image: one image to build, sign, scan and pull.
binary="${build_dir}/function/function-platform"
admission="${build_dir}/admission/platform-admission"
out="${build_dir}/image"
for b in "$binary" "$admission"; do
  [[ -x "$b" ]] || { echo "no ${b}: build first (make build)" >&2; exit 1; }
done

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
rootfs="${out}/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$binary" "$rootfs/function-platform"
install -m 0755 "$admission" "$rootfs/platform-admission"
"$strip" --strip-unneeded "$rootfs/function-platform" "$rootfs/platform-admission"
# The loader and every library they resolve, at the paths the binaries ask for.
{
  shared_libraries "$binary"
  shared_libraries "$admission"
} | LC_ALL=C sort -u |
  while read -r lib; do
    install -D -m 0755 "$(readlink -f "$lib")" "${rootfs}${lib}"
  done
printf 'root:x:0:0::/:/sbin/nologin\nnonroot:x:65532:65532::/:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
find "$rootfs" -exec touch -h -d "@${epoch}" {} +

# The SBOM: the package of every library, as installed here, and the function
# at the project's version (else the image's tag).
version=$(scripts/version.sh print)
scripts/sbom.py --image "$image" --output "${out}/function-platform.spdx.json" --created "$epoch" \
  --host-files "$rootfs" \
  --component function-platform "$version" "pkg:generic/function-platform@${version}" Apache-2.0 \
  --component platform-admission "$version" "pkg:generic/platform-admission@${version}" Apache-2.0

cat >"${out}/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
USER 65532:65532
EXPOSE 9443
ENTRYPOINT ["/function-platform"]
CONTAINERFILE

scripts/podman.sh build --quiet --timestamp "$epoch" --platform "linux/${arch}" --tag "$image" --file "${out}/Containerfile" "$out" >/dev/null
rm -f "${out}/function-platform.tar"
scripts/podman.sh save --quiet --format docker-archive --output "${out}/function-platform.tar" "$image"
echo "${image} $(scripts/podman.sh image inspect --format '{{.Id}}' "$image")"
