#!/usr/bin/env bash
# `scripts/release.sh push`, the push step of a release, against a local OCI
# registry (crane registry serve on loopback) from a copy of the tree: it
# refuses a tag that is not v<VERSION> and a version the changelog has no
# section for, and otherwise pushes each package with `crossplane xpkg push`
# and records <reference>@<digest> as the registry has it. The packages are
# the Configuration, built here, under each package's name: what is tested is
# the push, not the packages (PackageTest tests those).
#
#   release_push_test.sh
#   release_push_test.sh multiarch <build dir> <arm64 build dir>
#
# The second form pushes the real packages of both architectures (make
# package provider-package arm64) as a release does, and checks that the
# Function and Provider packages are multi-platform indexes whose amd64 and
# arm64 entries are the images of those architectures.
set -euo pipefail
mode=${1:-refusals}
repo=$(cd "$(dirname "$0")/../.." && pwd)
crossplane=$("$repo/scripts/tools.sh" crossplane)
crane=$("$repo/scripts/tools.sh" crane)

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
registry=
cleanup() {
  # Only the registry this test started, by its pid.
  if [[ -n "$registry" ]]; then
    kill "$registry" 2>/dev/null || true
    wait "$registry" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The committed tree, with the working copy's scripts.
mkdir -p "$tmp/clone"
git -C "$repo" archive HEAD | tar -x -C "$tmp/clone"
cp "$repo/scripts/release.sh" "$repo/scripts/version.sh" "$tmp/clone/scripts/"
cd "$tmp/clone"
version=$(scripts/version.sh print)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crane" registry serve --address "127.0.0.1:${port}" >"$tmp/registry.log" 2>&1 &
registry=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:${port}/v2/" >/dev/null && break; sleep 0.1; done
export PLATFORM_REGISTRY="127.0.0.1:${port}/platform"
with_changelog_section() {
  grep -q "^## \[${version}\]" CHANGELOG.md ||
    sed -i "s/^## \[Unreleased\]/## [Unreleased]\n\n## [${version}] - 2000-01-01/" CHANGELOG.md
}

if [[ "$mode" == multiarch ]]; then
  amd64_build=${2:?usage: release_push_test.sh multiarch <build dir> <arm64 build dir>}
  arm64_build=${3:?usage: release_push_test.sh multiarch <build dir> <arm64 build dir>}
  for arch in amd64 arm64; do
    build=$amd64_build
    [[ "$arch" == arm64 ]] && build=$arm64_build
    mkdir -p "$tmp/release-$arch"
    for name in function-platform configuration-platform provider-workloads; do
      f="$build/package/${name}.xpkg"
      [[ -f "$f" ]] || fail "no $f: run make package provider-package arm64 (make test does)"
      cp "$f" "$tmp/release-$arch/${name}-${arch}.xpkg"
    done
  done
  with_changelog_section
  RELEASE_TAG="v${version}" scripts/release.sh push "$tmp/release-amd64" "$tmp/release-arm64" \
    >/dev/null 2>"$tmp/err" || fail "push: $(cat "$tmp/err")"
  for name in function-platform provider-workloads; do
    ref="${PLATFORM_REGISTRY}/${name}:v${version}"
    "$crane" manifest "$ref" >"$tmp/index.json"
    python3 - "$tmp/index.json" "$ref" <<'PY' || fail "$ref is not an amd64 + arm64 index: $(cat "$tmp/index.json")"
import json, sys
m = json.load(open(sys.argv[1]))
platforms = sorted(f'{d["platform"]["os"]}/{d["platform"]["architecture"]}' for d in m.get("manifests", []))
sys.exit(0 if platforms == ["linux/amd64", "linux/arm64"] else 1)
PY
    for arch in amd64 arm64; do
      got=$("$crane" config --platform "linux/$arch" "$ref" | python3 -c 'import json, sys; print(json.load(sys.stdin)["architecture"])')
      [[ "$got" == "$arch" ]] || fail "$ref for linux/$arch holds a $got image"
    done
  done
  # The Configuration has no runtime: one package for every architecture.
  ref="${PLATFORM_REGISTRY}/configuration-platform:v${version}"
  "$crane" manifest "$ref" | grep -q '"manifests"' && fail "$ref was pushed as an index"
  grep -qxF "${ref}@$("$crane" digest "$ref")" "$tmp/release-amd64/pushed.txt" || fail "$ref not recorded"
  echo "PASS: the Function and Provider packages are amd64 + arm64 indexes, each entry of its architecture"
  exit 0
fi

mkdir -p "$tmp/root/xrds" "$tmp/root/compositions" "$tmp/release"
cp package/configuration/crossplane.yaml "$tmp/root/"
cp xrds/*.yaml "$tmp/root/xrds/"
cp compositions/*.yaml "$tmp/root/compositions/"
"$crossplane" xpkg build --package-root="$tmp/root" --package-file="$tmp/cfg.xpkg" >/dev/null 2>&1
for name in function-platform configuration-platform provider-workloads; do
  cp "$tmp/cfg.xpkg" "$tmp/release/${name}-amd64.xpkg"
done

# Refused: another tag; no changelog section for the version.
if RELEASE_TAG=v99.0.0 scripts/release.sh push "$tmp/release" 2>"$tmp/err"; then fail "pushed under tag v99.0.0"; fi
grep -q 'is not v' "$tmp/err" || fail "tag refusal: $(cat "$tmp/err")"
if ! grep -q "^## \[${version}\]" CHANGELOG.md; then
  if RELEASE_TAG="v${version}" scripts/release.sh push "$tmp/release" 2>"$tmp/err"; then
    fail "pushed without a changelog section"
  fi
  grep -q "CHANGELOG.md has no section \[${version}\]" "$tmp/err" || fail "changelog refusal: $(cat "$tmp/err")"
  with_changelog_section
fi
[[ ! -e "$tmp/release/pushed.txt" ]] || fail "a refused push wrote pushed.txt"

# Pushed: each package under its name and the version, by the digest the
# registry serves.
RELEASE_TAG="v${version}" scripts/release.sh push "$tmp/release" >/dev/null 2>"$tmp/err" ||
  fail "push: $(cat "$tmp/err")"
[[ $(wc -l <"$tmp/release/pushed.txt") == 3 ]] || fail "pushed.txt: $(cat "$tmp/release/pushed.txt")"
for name in function-platform configuration-platform provider-workloads; do
  ref="${PLATFORM_REGISTRY}/${name}:v${version}"
  grep -qxF "${ref}@$("$crane" digest "$ref")" "$tmp/release/pushed.txt" || fail "$ref not recorded by its digest"
done
echo "PASS: the push refuses a wrong tag and a missing changelog section, and pushes all three packages"
