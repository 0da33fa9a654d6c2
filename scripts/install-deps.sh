#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, if any are missing.
# Safe to run repeatedly: it only calls apt-get when something is absent.
#
#   scripts/install-deps.sh          # the native build, the tests and podman
#   scripts/install-deps.sh arm64    # and the arm64 cross-build: Debian's
#                                    # cross toolchain, the arm64 builds of
#                                    # the libraries (multiarch) and
#                                    # qemu-user-static to run arm64 images
set -euo pipefail

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates openssl curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libexpat1-dev
  clang libclang-rt-14-dev clang-format
  golang-go python3-yaml ansible-core
  # a real sshd serving a private Git repository to the provider's tests
  openssh-server openssh-client
  # podman and what it needs to build, run and publish ports of the
  # function's image as root (apt-get runs with --no-install-recommends)
  podman runc conmon netavark aardvark-dns containernetworking-plugins iptables nftables
  fuse-overlayfs slirp4netns uidmap catatonit
)

if [[ "${1:-}" == arm64 ]]; then
  # The libraries function-platform and provider-workloads link, for arm64;
  # protoc and grpc_cpp_plugin stay native (cmake/toolchains). yaml-cpp's
  # -dev package is not Multi-Arch: its arm64 build would remove the native
  # one, so only its library is installed here and scripts/cross-build.sh
  # unpacks the arm64 -dev package into the build folder.
  packages=(
    crossbuild-essential-arm64 qemu-user-static
    libgrpc++-dev:arm64 libprotobuf-dev:arm64 libabsl-dev:arm64 libyaml-cpp0.7:arm64
    libspdlog-dev:arm64 libfmt-dev:arm64 libssl-dev:arm64 libcurl4-openssl-dev:arm64
    libmicrohttpd-dev:arm64 zlib1g-dev:arm64 libexpat1-dev:arm64
  )
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "adding the arm64 architecture to dpkg (multiarch)" >&2
    $sudo dpkg --add-architecture arm64
    $sudo apt-get update -qq
  fi
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [arm64]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# A Go toolchain newer than Debian's may already be on PATH; only then is
# golang-go not needed.
if command -v go >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == golang-go ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
