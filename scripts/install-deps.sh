#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, if any are missing.
# Safe to run repeatedly: it only calls apt-get when something is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates openssl curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev
  clang libclang-rt-14-dev clang-format
  golang-go python3-yaml ansible-core
  # a real sshd serving a private Git repository to the provider's tests
  openssh-server openssh-client
  # podman and what it needs to build, run and publish ports of the
  # function's image as root (apt-get runs with --no-install-recommends)
  podman runc conmon netavark aardvark-dns containernetworking-plugins iptables nftables
  fuse-overlayfs slirp4netns uidmap catatonit
)

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
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
