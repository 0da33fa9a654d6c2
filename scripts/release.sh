#!/usr/bin/env bash
# A release, as .github/workflows/release.yml runs it on a v* tag, on this
# machine: everything up to the push needs no network, so a release can be
# rehearsed (and its artifacts inspected) before a tag exists.
#
#   scripts/release.sh [--arch amd64|arm64] [--tag vX.Y.Z] [--push] [<build dir>]
#   scripts/release.sh push <release dir>...
#
# The first form:
#   1. checks the version: VERSION is X.Y.Z, every place that names it agrees
#      (scripts/version.sh check), and --tag, if given, is v<VERSION>;
#   2. builds function-platform and provider-workloads (Release, no tests) in
#      <build dir> (default build-release-<arch>): natively for this
#      machine's architecture, cross-built for the other
#      (scripts/cross-build.sh; scripts/install-deps.sh arm64 installs the
#      toolchain);
#   3. builds both runtime images and all three packages with the project's
#      scripts (image.sh, package.sh, provider-image.sh, provider-package.sh);
#   4. copies them to <build dir>/release/<name>-<arch>.{xpkg,tar}, makes an
#      SPDX SBOM of each image when syft is installed (the workflow always
#      does), and lists every artifact with its sha256 and image ID
#      (SHA256SUMS-<arch>, artifacts-<arch>.txt);
#   5. with --push, and only then, pushes (the second form).
#
# The second form pushes the packages found in the release folders, one per
# architecture of each (a multi-platform package when there are several),
# with `crossplane xpkg push`, to $PLATFORM_REGISTRY (default
# xpkg.crossplane.io/terraforming) as :v<VERSION>, using the credentials of
# the local docker configuration; it writes <first dir>/pushed.txt, one
# <reference>@<digest> per package, which the workflow signs. It refuses to
# push a version CHANGELOG.md has no section for.
#
# ARCH: amd64 (default) or arm64, on an amd64 machine; the image scripts
# take it as PLATFORM_ARCH (scripts/arch.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

registry=${PLATFORM_REGISTRY:-xpkg.crossplane.io/terraforming}
packages=(function-platform configuration-platform provider-workloads)
log() { echo "release: $*" >&2; }
die() { log "$*"; exit 1; }

check_version() {  # [tag]
  scripts/version.sh check >&2 || die "the tree disagrees with VERSION; fix it before releasing"
  version=$(scripts/version.sh print)
  if [[ -n "${1:-}" && "$1" != "v${version}" ]]; then
    die "tag $1 is not v${version} (VERSION); tag the commit whose VERSION it names"
  fi
}

push() {  # <release dir>...
  (($#)) || die "usage: scripts/release.sh push <release dir>..."
  check_version "${RELEASE_TAG:-}"
  grep -q "^## \[${version}\]" CHANGELOG.md ||
    die "CHANGELOG.md has no section [${version}]: move [Unreleased] under it first (docs/releasing.md)"
  local crossplane crane first=$1 name files f ref pushed=()
  crossplane=$(scripts/tools.sh crossplane)
  crane=$(scripts/tools.sh crane)
  for name in "${packages[@]}"; do
    files=()
    for dir in "$@"; do
      for f in "$dir/$name"-*.xpkg; do [[ -f "$f" ]] && files+=("$f"); done
    done
    ((${#files[@]})) || die "no ${name}-<arch>.xpkg in $*"
    # The Configuration carries no runtime image: one package serves every
    # architecture, so only the first is pushed.
    [[ "$name" == configuration-platform ]] && files=("${files[0]}")
    ref="${registry}/${name}:v${version}"
    log "pushing ${files[*]} as ${ref}"
    "$crossplane" xpkg push --package-files="$(IFS=,; echo "${files[*]}")" "$ref" >&2
    pushed+=("${ref}@$("$crane" digest "$ref")")
  done
  printf '%s\n' "${pushed[@]}" | tee "$first/pushed.txt"
}

if [[ "${1:-}" == push ]]; then
  shift
  push "$@"
  exit 0
fi

arch=amd64 tag= do_push=0 build_dir=
while (($#)); do
  case "$1" in
    --arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
    --tag) tag=${2:?--tag needs vX.Y.Z}; shift 2 ;;
    --push) do_push=1; shift ;;
    -*) die "unknown option $1" ;;
    *) build_dir=$1; shift ;;
  esac
done
host_arch=$(dpkg --print-architecture)
[[ "$arch" == amd64 || "$arch" == arm64 ]] || die "--arch ${arch}: amd64 or arm64"
[[ "$arch" == "$host_arch" || "$host_arch" == amd64 ]] ||
  die "--arch ${arch} on a ${host_arch} machine: cross-builds run on amd64"
build_dir=${build_dir:-build-release-${arch}}
export PLATFORM_ARCH=$arch

# 1. The version.
check_version "$tag"
log "version ${version}, ${arch}"
grep -q "^## \[${version}\]" CHANGELOG.md ||
  log "note: CHANGELOG.md has no section [${version}] yet; push will refuse until it does"

# 2. The two programs: a build of their own, without the tests (which need
# tools a release does not).
if [[ "$arch" == "$host_arch" ]]; then
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLATFORM_TESTS=OFF >/dev/null
  fi
  cmake --build "$build_dir" -j "${JOBS:-2}" --target function-platform platform-admission \
    provider-workloads >&2
else
  scripts/cross-build.sh "$arch" "$build_dir" >&2
fi

# 3. Images and packages, by the scripts `make test` tests.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
scripts/image.sh "$build_dir" >&2
scripts/package.sh "$build_dir" >&2
scripts/provider-image.sh "$build_dir" >&2
scripts/provider-package.sh "$build_dir" >&2

# 4. The artifacts, named by architecture, with their digests.
out="$build_dir/release"
rm -rf "$out"
mkdir -p "$out"
cp "$build_dir/image/function-platform.tar" "$out/function-platform-image-${arch}.tar"
cp "$build_dir/provider-image/provider-workloads.tar" "$out/provider-workloads-image-${arch}.tar"
for name in "${packages[@]}"; do cp "$build_dir/package/${name}.xpkg" "$out/${name}-${arch}.xpkg"; done
if command -v "${SYFT:-syft}" >/dev/null; then
  for image in function-platform provider-workloads; do
    "${SYFT:-syft}" scan "docker-archive:$out/${image}-image-${arch}.tar" -q \
      -o "spdx-json=$out/${image}-image-${arch}.spdx.json"
  done
else
  log "no syft here: the SBOMs are made by the release workflow"
fi
shopt -s nullglob
(cd "$out" && sha256sum -- *.tar *.xpkg *.spdx.json >"SHA256SUMS-${arch}")
# The image ID (the config's digest) names an image or package across a
# push: `crossplane xpkg push` annotates the layers, so the manifest digest is
# only known once pushed (pushed.txt), but the config stays the same.
config_digest() {  # <docker-archive or xpkg tarball>
  tar -xOf "$1" manifest.json | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["Config"]
c = c.rsplit("/", 1)[-1].removesuffix(".json")
print(c if c.startswith("sha256:") else "sha256:" + c)'
}
{
  printf '%-45s %-10s %-71s %s\n' artifact bytes sha256 "image ID (config digest)"
  for f in "$out"/*.tar "$out"/*.xpkg; do
    printf '%-45s %-10s sha256:%-64s %s\n' "$(basename "$f")" "$(stat -c %s "$f")" \
      "$(sha256sum "$f" | cut -d' ' -f1)" "$(config_digest "$f")"
  done
} | tee "$out/artifacts-${arch}.txt"
log "artifacts of v${version} (${arch}) in ${out}"

# 5. The only step that needs the network.
if ((do_push)); then
  RELEASE_TAG=$tag push "$out"
else
  log "not pushed: scripts/release.sh push ${out} (or --push) publishes them"
fi
