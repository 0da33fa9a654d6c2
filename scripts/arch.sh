# Sourced by the image scripts: the architecture an image is built for and
# the tools that differ by it. The target is $PLATFORM_ARCH (a Debian
# architecture name: amd64, arm64), default this machine's own; another one
# needs the binaries cross-built for it (scripts/cross-build.sh) and
# qemu-user-static, whose emulator lists the libraries they load.
#
# Sets: arch (Debian name, also the OCI one), host_arch, triplet (GNU), strip
# (a strip for the target).
host_arch=$(dpkg --print-architecture)
arch=${PLATFORM_ARCH:-$host_arch}
case "$arch" in
  amd64) triplet=x86_64-linux-gnu loader=/lib64/ld-linux-x86-64.so.2 emulator=qemu-x86_64-static ;;
  arm64) triplet=aarch64-linux-gnu loader=/lib/ld-linux-aarch64.so.1 emulator=qemu-aarch64-static ;;
  *) echo "PLATFORM_ARCH=${arch}: only amd64 and arm64 are built" >&2; exit 1 ;;
esac
if [[ "$arch" == "$host_arch" ]]; then
  strip=strip
else
  strip=${triplet}-strip
  command -v "$strip" >/dev/null && command -v "$emulator" >/dev/null ||
    { echo "no ${strip} or ${emulator}: scripts/install-deps.sh ${arch} installs them" >&2; exit 1; }
fi

# The absolute paths of the loader and of every shared library <binary>
# loads, one per line: ldd for this machine's architecture; for another,
# the target's own loader under emulation (what ldd runs), resolving in the
# target's multiarch folders.
shared_libraries() {  # <binary>
  local list
  if [[ "$arch" == "$host_arch" ]]; then
    list=$(ldd "$1")
  else
    list=$("$emulator" -L / "$loader" --list "$1")
  fi
  awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$list" | LC_ALL=C sort -u
}
