#!/usr/bin/env bash
# Lets this amd64 machine run arm64 programs and containers (podman run
# --arch arm64): registers qemu-user-static's aarch64 handler with the
# kernel's binfmt_misc, as systemd-binfmt would at boot, when it is not
# registered yet. Needs root (or sudo) the first time after each boot.
#
#   scripts/binfmt.sh
#
# The rule is Debian's own (/usr/lib/binfmt.d/qemu-aarch64.conf, from
# qemu-user-static); its F flag makes the kernel open the emulator once, at
# registration, so it also runs inside containers that do not have it.
set -euo pipefail
conf=/usr/lib/binfmt.d/qemu-aarch64.conf
dir=/proc/sys/fs/binfmt_misc
[[ -f "$conf" ]] || { echo "no ${conf}: scripts/install-deps.sh arm64 installs qemu-user-static" >&2; exit 1; }
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"

if [[ ! -e "$dir/register" ]]; then
  $sudo mount -t binfmt_misc binfmt_misc "$dir" ||
    { echo "cannot mount binfmt_misc on ${dir}: arm64 containers cannot run here" >&2; exit 1; }
fi
if [[ -e "$dir/qemu-aarch64" ]] && grep -qx enabled "$dir/qemu-aarch64"; then exit 0; fi
[[ -e "$dir/qemu-aarch64" ]] && echo -1 | $sudo tee "$dir/qemu-aarch64" >/dev/null
grep -v '^#' "$conf" | head -1 | $sudo tee "$dir/register" >/dev/null ||
  { echo "cannot register ${conf} with binfmt_misc" >&2; exit 1; }
echo "registered qemu-aarch64 with binfmt_misc: arm64 programs run under emulation" >&2
