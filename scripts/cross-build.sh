#!/usr/bin/env bash
# Cross-builds function-platform, platform-admission and provider-workloads
# for another architecture on this one, with Debian's cross toolchain and the
# target's libraries installed beside the native ones
# (scripts/install-deps.sh <arch> installs both; cmake/toolchains/ says how
# CMake uses them).
#
#   scripts/cross-build.sh arm64 <build dir>
#
# A Release build without the tests (they run on the native build), of
# exactly what goes into the images; ccache serves repeated builds.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: scripts/cross-build.sh arm64 <build dir>}
build_dir=${2:?usage: scripts/cross-build.sh arm64 <build dir>}
case "$arch" in
  arm64) toolchain=cmake/toolchains/aarch64-linux-gnu.cmake ;;
  *) echo "cross-build.sh: no toolchain for ${arch} (arm64 only)" >&2; exit 2 ;;
esac

# yaml-cpp's -dev package is not Multi-Arch: installing its arm64 build
# removes the native one. So the arm64 .deb (and its library's, for the
# symlink it holds) is unpacked into <build dir>/sysroot and CMake is pointed
# at it; the program loads the library installed by libyaml-cpp0.7:<arch>.
# The .debs are kept in the provider image's cache ($PLATFORM_DEB_CACHE).
debs=${PLATFORM_DEB_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/terraforming-platform/debs}
sysroot="$build_dir/sysroot"
mkdir -p "$debs" "$build_dir"
files=()
for pkg in libyaml-cpp-dev libyaml-cpp0.7; do
  f=$(apt-cache show --no-all-versions "${pkg}:${arch}" | awk '/^Package:/ {p = $2} /^Version:/ {v = $2}
    /^Architecture:/ {a = $2} END {gsub(/:/, "%3a", v); print p "_" v "_" a ".deb"}')
  [[ -s "$debs/$f" ]] || (cd "$debs" && apt-get download -q=2 -o APT::Sandbox::User=root "${pkg}:${arch}")
  files+=("$f")
done
if [[ "$(cat "$sysroot.stamp" 2>/dev/null)" != "${files[*]}" ]]; then
  rm -rf "$sysroot"
  for f in "${files[@]}"; do dpkg-deb -x "$debs/$f" "$sysroot"; done
  echo "${files[*]}" >"$sysroot.stamp"
fi
yaml_cpp_dir=$(cd "$sysroot" && pwd)/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH -a"$arch" 2>/dev/null)/cmake/yaml-cpp
[[ -f "$yaml_cpp_dir/yaml-cpp-config.cmake" ]] || { echo "no yaml-cpp for ${arch} in ${sysroot}" >&2; exit 1; }

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  echo "configuring the ${arch} cross-build in ${build_dir}" >&2
fi
# No RPATH: the binaries load every library from the system folders, as in
# the images, never from the build folder's sysroot.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLATFORM_TESTS=OFF \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/$toolchain" -Dyaml-cpp_DIR="$yaml_cpp_dir" -DCMAKE_SKIP_RPATH=ON >/dev/null
# ccache sees paths under the clone as relative ones, so another clone (CI's)
# reuses what this one compiled.
export CCACHE_BASEDIR=$PWD
echo "building function-platform, platform-admission and provider-workloads for ${arch} (about 20 minutes the first time)" >&2
cmake --build "$build_dir" -j "${JOBS:-2}" --target function-platform platform-admission provider-workloads
