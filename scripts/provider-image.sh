#!/usr/bin/env bash
# Builds provider-workloads' runtime image without a Docker daemon (podman)
# and without pulling a base image: the root filesystem is unpacked from the
# Debian packages the provider runs at run time (OpenTofu's local-exec needs
# /bin/sh; ansible-core with Python; git and ssh for Git sources), plus the
# stripped provider binary and its supervisor program, the libraries the
# provider loads and OpenTofu.
#
#   scripts/provider-image.sh <build dir>
#   PLATFORM_ARCH=arm64 scripts/provider-image.sh <arm64 build dir>
#
# PLATFORM_ARCH (scripts/arch.sh) names the image's architecture, default
# this machine's. For arm64 the userland comes from the arm64 .debs (dpkg
# multiarch: apt downloads them on any machine), the build dir holds a
# cross-build (scripts/cross-build.sh), OpenTofu is cross-compiled
# (scripts/tools.sh tofu-arm64), and the image is tagged <tag>-arm64 in
# podman's store, beside the native one.
#
# Two layers: the Debian userland (unchanged while the package versions are)
# and the provider's own files. The .debs are downloaded once into a cache
# outside the clone ($PLATFORM_DEB_CACHE, default
# ~/.cache/terraforming-platform/debs), one file per package version, and the
# unpacked userland is kept in <build dir>/provider-image/debian until the
# package set or this script changes, so a rebuild downloads and unpacks
# nothing. No maintainer script runs; what they would create that matters
# here (/bin/sh, the CA bundle, byte-compiled Python) is made below.
# Reproducible: every file and the image carry the time of the last commit.
#
# Writes <build dir>/provider-image/provider-workloads.tar (docker-archive,
# what `crossplane xpkg build --embed-runtime-image-tarball` takes) and leaves
# the image in podman's store as $PROVIDER_IMAGE; and
# <build dir>/provider-image/provider-workloads.spdx.json, its SBOM
# (scripts/sbom.py): every package of its dpkg status database, the packages
# of the libraries copied from this machine, the provider and OpenTofu.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?usage: scripts/provider-image.sh <build dir>}
source scripts/arch.sh
# The tag is the release version (VERSION), so a release builds what it names.
suffix=""
[[ "$arch" == "$host_arch" ]] || suffix="-${arch}"
image=${PROVIDER_IMAGE:-xpkg.crossplane.io/terraforming/provider-workloads:v$(scripts/version.sh print)${suffix}}
binary="${build_dir}/provider/provider-workloads"
supervisor="${build_dir}/provider/provider-workloads-supervisor"
out="${build_dir}/provider-image"
debs=${PLATFORM_DEB_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/terraforming-platform/debs}
for b in "$binary" "$supervisor"; do
  [[ -x "$b" ]] || { echo "no ${b}: build first (make build)" >&2; exit 1; }
done
if [[ "$arch" == "$host_arch" ]]; then
  tofu=${TOFU:-$(scripts/tools.sh tofu)}
else
  tofu=${TOFU:-$(scripts/tools.sh "tofu-${arch}")}
fi
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
mkdir -p "$out" "$debs"

# What runs inside: /bin/sh (dash), coreutils, the C.UTF-8 locale (libc-bin;
# ansible-core insists on UTF-8), ansible-core (Python 3.11),
# git and ssh, the CA bundle. Their Depends and Pre-Depends, recursively;
# virtual names (<...>) are dropped, the real packages providing them are
# listed by apt-cache as alternatives.
#
# On a multiarch machine apt-cache also lists the other architectures' builds
# (<name>:<arch>) as alternatives; only the target's are kept. For a foreign
# target, each package is asked for as <name>:<arch>, or by its bare name
# when it is Architecture: all (it has no <name>:<arch>); a dependency apt
# names bare (perl's modules, through Multi-Arch: allowed) is qualified too,
# and the closure taken again until nothing changes.
roots=(dash coreutils libc-bin ansible-core git openssh-client ca-certificates)
closure() {  # <name>...: the names of the target's packages, sorted
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" | grep -v '^[ <]' | LC_ALL=C sort -u |
    if [[ "$arch" == "$host_arch" ]]; then
      grep -v ':'
    else
      grep -E "^[^:]+(:${arch})?\$" | qualify
    fi
}
qualify() {  # names on stdin: bare ones that are not Architecture: all get :<arch>
  local names=() all
  mapfile -t names
  ((${#names[@]})) || return 0
  all=$(apt-cache show --no-all-versions "${names[@]%:"${arch}"}" 2>/dev/null |
    awk '/^Package:/ {p = $2} /^Architecture: all$/ {print p}' | LC_ALL=C sort -u)
  for n in "${names[@]}"; do
    if [[ "$n" == *:* ]] || grep -qxF "$n" <<<"$all"; then echo "$n"; else echo "$n:${arch}"; fi
  done | LC_ALL=C sort -u
}
if [[ "$arch" == "$host_arch" ]]; then
  mapfile -t packages < <(closure "${roots[@]}")
else
  mapfile -t packages < <(printf '%s\n' "${roots[@]}" | qualify)
  for _ in 1 2 3 4; do
    mapfile -t next < <(closure "${packages[@]}")
    [[ "${next[*]}" == "${packages[*]}" ]] && break
    packages=("${next[@]}")
  done
fi
# The candidate version of each: the .deb file name apt-get download writes.
mapfile -t files < <(apt-cache show --no-all-versions "${packages[@]}" 2>/dev/null | awk '
  /^Package:/ {p = $2} /^Version:/ {v = $2} /^Architecture:/ {a = $2}
  /^$/ && p != "" {gsub(/:/, "%3a", v); print p "_" v "_" a ".deb"; p = ""}
  END {if (p != "") {gsub(/:/, "%3a", v); print p "_" v "_" a ".deb"}}' | LC_ALL=C sort -u)
missing=()
for f in "${files[@]}"; do
  # <name>_<version>_<arch>.deb: a foreign build is downloaded as <name>:<arch>.
  a=${f##*_}
  a=${a%.deb}
  if [[ -s "${debs}/${f}" ]]; then continue; fi
  if [[ "$a" == all || "$a" == "$host_arch" ]]; then missing+=("${f%%_*}"); else missing+=("${f%%_*}:${a}"); fi
done
if ((${#missing[@]})); then
  echo "downloading ${#missing[@]} of ${#files[@]} Debian packages into ${debs}" >&2
  (cd "$debs" && apt-get download -q=2 -o APT::Sandbox::User=root "${missing[@]}" >&2)
fi

# A dpkg status database in <root>, as dpkg would have left it for the .debs
# unpacked there: each package's control stanza marked installed in
# /var/lib/dpkg/status, and in /var/lib/dpkg/info the files it put in the
# image (<package>.list, <package>.md5sums, without what was dropped above)
# and its conffiles. What scanners (Trivy, Syft, Grype) read to find the
# packages of an image.
write_dpkg_database() {  # <root>
  local root=$1 f name ctrl path
  local db="${root}/var/lib/dpkg"
  ctrl=$(mktemp -d)
  mkdir -p "${db}/info" "${db}/updates"
  : >"${db}/status"
  for f in "${files[@]}"; do
    rm -rf "${ctrl:?}"/*
    dpkg-deb -e "${debs}/${f}" "$ctrl"
    awk '/^Package:/ {print; print "Status: install ok installed"; next} NF {print} END {print ""}' \
      "${ctrl}/control" >>"${db}/status"
    # dpkg names the files of a Multi-Arch: same package <package>:<arch>.
    name=$(dpkg-deb -f "${debs}/${f}" Package)
    if [[ "$(dpkg-deb -f "${debs}/${f}" Multi-Arch)" == same ]]; then
      name+=":$(dpkg-deb -f "${debs}/${f}" Architecture)"
    fi
    dpkg-deb --fsys-tarfile "${debs}/${f}" | tar -t | sed 's|^\.||; s|/$||; s|^$|/.|' |
      while IFS= read -r path; do
        if [[ -e "${root}${path}" || -L "${root}${path}" ]]; then printf '%s\n' "$path"; fi
      done >"${db}/info/${name}.list"
    if [[ -f "${ctrl}/md5sums" ]]; then
      while IFS= read -r line; do
        if [[ -e "${root}/${line#*  }" ]]; then printf '%s\n' "$line"; fi
      done <"${ctrl}/md5sums" >"${db}/info/${name}.md5sums"
    fi
    if [[ -f "${ctrl}/conffiles" ]]; then cp "${ctrl}/conffiles" "${db}/info/${name}.conffiles"; fi
  done
  rm -rf "$ctrl"
}

# The Debian userland, unpacked again only when the package set or this
# script changed.
debian="${out}/debian"
stamp="$({
  printf '%s\n' "${files[@]}"
  sha256sum "$0"
} | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "${out}/debian.stamp" 2>/dev/null)" != "$stamp" ]]; then
  echo "unpacking ${#files[@]} Debian packages" >&2
  rm -rf "$debian" "${out}/debian.stamp"
  mkdir -p "$debian"
  for f in "${files[@]}"; do dpkg-deb -x "${debs}/${f}" "$debian"; done
  # What maintainer scripts would have made, as far as it matters here.
  [[ -e "$debian/bin/sh" ]] || ln -s dash "$debian/bin/sh"
  [[ -e "$debian/usr/bin/python3" ]] || ln -s python3.11 "$debian/usr/bin/python3"
  mkdir -p "$debian/etc/ssl/certs"
  find "$debian/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z |
    xargs -0 cat >"$debian/etc/ssl/certs/ca-certificates.crt"
  # No documentation but the licences; no setuid or setgid programs.
  rm -rf "$debian/usr/share/man" "$debian/usr/share/info" "$debian/usr/share/locale" \
    "$debian/usr/share/lintian" "$debian/usr/share/bash-completion"
  find "$debian/usr/share/doc" -type f ! -name copyright -delete
  find "$debian/usr/share/doc" -type l -delete
  find "$debian" -type f -perm /6000 -exec chmod ug-s {} +
  # Byte-compiled Python, as py3compile would (the image cannot write its
  # own: it runs as a non-root user), without timestamps.
  if python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    python3 -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$debian" -p / \
      "$debian/usr/lib/python3.11" "$debian/usr/lib/python3/dist-packages" >/dev/null || true
  else
    echo "no host Python 3.11: the image carries no byte-compiled Python" >&2
  fi
  write_dpkg_database "$debian"
  find "$debian" -exec touch -h -d "@${epoch}" {} +
  echo "$stamp" >"${out}/debian.stamp"
fi

# The provider's own layer: the binary, the libraries it loads that the
# userland lacks, OpenTofu, the users and the writable /tmp.
top="${out}/top"
rm -rf "$top"
mkdir -p "$top/etc" "$top/tmp" "$top/usr/local/bin"
chmod 1777 "$top/tmp"
install -m 0755 "$binary" "$top/usr/local/bin/provider-workloads"
"$strip" --strip-unneeded "$top/usr/local/bin/provider-workloads"
# Next to the provider, which starts each tool's supervisor as this program.
install -m 0755 "$supervisor" "$top/usr/local/bin/provider-workloads-supervisor"
"$strip" --strip-unneeded "$top/usr/local/bin/provider-workloads-supervisor"
install -m 0755 "$tofu" "$top/usr/local/bin/tofu"
shared_libraries "$binary" |
  while read -r lib; do
    # Debian's own copy wins (at either side of the /usr merge).
    [[ -e "${debian}${lib}" || -e "${debian}/usr${lib}" || -e "${debian}${lib#/usr}" ]] && continue
    install -D -m 0755 "$(readlink -f "$lib")" "${top}${lib}"
  done
printf '%s\n' 'root:x:0:0::/root:/usr/sbin/nologin' \
  'provider:x:2000:2000::/tmp:/usr/sbin/nologin' \
  'nonroot:x:65532:65532::/tmp:/usr/sbin/nologin' >"$top/etc/passwd"
printf '%s\n' 'root:x:0:' 'provider:x:2000:' 'nonroot:x:65532:' >"$top/etc/group"
find "$top" -exec touch -h -d "@${epoch}" {} +

# The SBOM, from the image's dpkg status and the libraries of the top layer.
version=$(scripts/version.sh print)
tofu_version=$("$tofu" version 2>/dev/null | sed -n 's/^OpenTofu \(v[0-9][^ ]*\).*/\1/p' | head -1)
scripts/sbom.py --image "$image" --output "${out}/provider-workloads.spdx.json" --created "$epoch" \
  --dpkg-root "$debian" --host-files "$top" \
  --component provider-workloads "$version" "pkg:generic/provider-workloads@${version}" Apache-2.0 \
  --component opentofu "$tofu_version" "pkg:golang/github.com/opentofu/opentofu@${tofu_version}" MPL-2.0

# TMPDIR puts the working folders under /tmp/provider-workloads/{work,cache}
# (the provider's defaults), whatever arguments a DeploymentRuntimeConfig
# passes. Crossplane runs providers as 2000.
cat >"${out}/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY debian/ /
COPY top/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME=/tmp \
    TMPDIR=/tmp SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 2000:2000
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/provider-workloads"]
CONTAINERFILE

rm -f "${out}/provider-workloads.tar"
scripts/podman.sh build --quiet --timestamp "$epoch" --platform "linux/${arch}" --tag "$image" --file "${out}/Containerfile" \
  "$out" >/dev/null
scripts/podman.sh save --quiet --format docker-archive --output "${out}/provider-workloads.tar" "$image"
echo "${image} $(scripts/podman.sh image inspect --format '{{.Id}} {{.Size}}' "$image")"
