#!/usr/bin/env bash
# Fetches the upstream CRDs the tests load into a folder, each pinned by
# commit and sha256 in scripts/upstream-crds.lock, so a machine without a
# local snapshot (a fresh GitHub runner) tests against exactly the same files.
#
#   scripts/fetch-crds.sh <dest>
#
# <dest>/<local path> for every line of the lock (crossplane/, provider-aws/,
# capi/, reference-providers/, argocd/). Files already in <dest> with the
# right sha256 are kept, so a second run downloads nothing. Every file is
# checked before it is put in place; any mismatch or failed download names
# the file and exits 1, leaving nothing unchecked in <dest>.
#
# PLATFORM_CRDS_BASE_URL replaces https://raw.githubusercontent.com: each file
# is fetched from <base>/<repository>/<commit>/<upstream path>, so a mirror
# (or a test's local HTTP server) only needs that layout.
# scripts/tools.sh upstream-crds decides whether fetching is needed at all.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: scripts/fetch-crds.sh <dest>}
base=${PLATFORM_CRDS_BASE_URL:-https://raw.githubusercontent.com}
base=${base%/}
lock="$repo/scripts/upstream-crds.lock"

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
partial="$dest/.partial"
rm -rf "$partial"
trap 'rm -rf "$partial"' EXIT

# sha256 of each named file under a folder that exists there, as
# "<sha256> <name>" lines (one sha256sum for all: 119 files).
sums() {  # <folder> <name>...
  local dir=$1
  shift
  (cd "$dir" && for f in "$@"; do [[ -f "$f" ]] && printf '%s\0' "$f"; done | xargs -0 -r sha256sum --) |
    sed 's/^\([0-9a-f]*\)  /\1 /'
}

# The lock: local path -> "repository commit upstream sha256".
declare -A pin
locals=()
while read -r local repository commit upstream sha; do
  [[ -z "$local" || "$local" == \#* ]] && continue
  pin[$local]="$repository $commit $upstream $sha"
  locals+=("$local")
done <"$lock"

# What is missing or wrong in <dest>.
declare -A have
while read -r sha local; do have[$local]=$sha; done < <(sums "$dest" "${locals[@]}")
todo=()
for local in "${locals[@]}"; do
  read -r _ _ _ sha <<<"${pin[$local]}"
  [[ "${have[$local]:-}" == "$sha" ]] && continue
  # A file that does not match is never left where the tests would read it.
  rm -f "$dest/$local"
  todo+=("$local")
done
if ((${#todo[@]} == 0)); then
  echo "upstream CRDs: all ${#locals[@]} in ${dest} match the lock" >&2
  exit 0
fi

echo "upstream CRDs: fetching ${#todo[@]} of ${#locals[@]} from ${base} into ${dest}" >&2
mkdir -p "$partial/files"
config="$partial/curl.config"
for local in "${todo[@]}"; do
  read -r repository commit upstream _ <<<"${pin[$local]}"
  printf 'url = "%s/%s/%s/%s"\noutput = "%s/%s"\n' "$base" "$repository" "$commit" "$upstream" \
    "$partial/files" "$local" >>"$config"
done
# Several at once (119 small files); a failed one is reported below by name.
curl --config "$config" --parallel --parallel-max 8 --create-dirs --fail --silent --show-error \
  --location --retry 3 --connect-timeout 20 >&2 || true

declare -A got
while read -r sha local; do got[$local]=$sha; done < <(sums "$partial/files" "${todo[@]}")
failed=0
for local in "${todo[@]}"; do
  read -r repository commit upstream sha <<<"${pin[$local]}"
  if [[ -z "${got[$local]:-}" ]]; then
    echo "upstream CRDs: ${local}: not fetched from ${base}/${repository}/${commit}/${upstream}" >&2
    failed=1
  elif [[ "${got[$local]}" != "$sha" ]]; then
    echo "upstream CRDs: ${local}: sha256 ${got[$local]}, the lock says ${sha} (${repository}@${commit:0:12} ${upstream})" >&2
    failed=1
  else
    mkdir -p "$(dirname "$dest/$local")"
    mv -f "$partial/files/$local" "$dest/$local"
  fi
done
if ((failed)); then
  echo "upstream CRDs: not every file could be fetched and checked; ${dest} is incomplete" >&2
  exit 1
fi
echo "upstream CRDs: ${#todo[@]} fetched and checked" >&2
