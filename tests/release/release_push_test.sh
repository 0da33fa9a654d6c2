#!/usr/bin/env bash
# `scripts/release.sh push`, the push step of a release, against a local OCI
# registry (crane registry serve on loopback) from a copy of the tree: it
# refuses a tag that is not v<VERSION> and a version the changelog has no
# section for, and otherwise pushes each package with `crossplane xpkg push`
# and records <reference>@<digest> as the registry has it. The packages are
# the Configuration, built here, under each package's name: what is tested is
# the push, not the packages (PackageTest tests those).
set -euo pipefail
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

mkdir -p "$tmp/root/xrds" "$tmp/root/compositions" "$tmp/release"
cp package/configuration/crossplane.yaml "$tmp/root/"
cp xrds/*.yaml "$tmp/root/xrds/"
cp compositions/*.yaml "$tmp/root/compositions/"
"$crossplane" xpkg build --package-root="$tmp/root" --package-file="$tmp/cfg.xpkg" >/dev/null 2>&1
for name in function-platform configuration-platform provider-workloads; do
  cp "$tmp/cfg.xpkg" "$tmp/release/${name}-amd64.xpkg"
done

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crane" registry serve --address "127.0.0.1:${port}" >"$tmp/registry.log" 2>&1 &
registry=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:${port}/v2/" >/dev/null && break; sleep 0.1; done
export PLATFORM_REGISTRY="127.0.0.1:${port}/platform"

# Refused: another tag; no changelog section for the version.
if RELEASE_TAG=v99.0.0 scripts/release.sh push "$tmp/release" 2>"$tmp/err"; then fail "pushed under tag v99.0.0"; fi
grep -q 'is not v' "$tmp/err" || fail "tag refusal: $(cat "$tmp/err")"
if ! grep -q "^## \[${version}\]" CHANGELOG.md; then
  if RELEASE_TAG="v${version}" scripts/release.sh push "$tmp/release" 2>"$tmp/err"; then
    fail "pushed without a changelog section"
  fi
  grep -q "CHANGELOG.md has no section \[${version}\]" "$tmp/err" || fail "changelog refusal: $(cat "$tmp/err")"
  sed -i "s/^## \[Unreleased\]/## [Unreleased]\n\n## [${version}] - 2000-01-01/" CHANGELOG.md
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
