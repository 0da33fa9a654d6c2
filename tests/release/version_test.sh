#!/usr/bin/env bash
# scripts/version.sh against this clone and against a small copy of it.
#
#   tests/release/version_test.sh tree      # every place in the clone agrees with VERSION
#   tests/release/version_test.sh control   # a copy with one place changed fails, naming it;
#                                           # `set` rewrites every place, and check passes again
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$repo/scripts/version.sh

fail() { echo "FAIL: $*" >&2; exit 1; }

case "${1:-}" in
  tree)
    "$version" check
    [[ "$("$version" print)" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "print: not X.Y.Z"
    echo "PASS: every place agrees with VERSION $("$version" print)"
    ;;
  control)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # A few files, one of each kind of place: a package reference, a
    # version line after a package line, the chart's appVersion, a
    # PLATFORM_VERSION= line. Outside a git work tree, so every file is read.
    files=(VERSION deploy/kustomize/base/function.yaml package/configuration/crossplane.yaml
      deploy/helm/platform/Chart.yaml deploy/helm/platform/values.yaml docs/render-in-ci.md)
    for f in "${files[@]}"; do install -D -m 0644 "$repo/$f" "$tmp/$f"; done
    want=$("$version" print)
    "$version" --root "$tmp" check || fail "the unchanged copy should agree"

    # One place changed: check fails and names the file and line.
    sed -i "s|function-platform:v${want}|function-platform:v9.9.9|" "$tmp/deploy/kustomize/base/function.yaml"
    line=$(grep -n 'function-platform:v9.9.9' "$tmp/deploy/kustomize/base/function.yaml" | cut -d: -f1)
    [[ -n "$line" ]] || fail "the copy was not changed"
    if out=$("$version" --root "$tmp" check 2>&1); then fail "check passed a changed place"; fi
    grep -qF "deploy/kustomize/base/function.yaml:${line}:" <<<"$out" ||
      fail "check did not name the changed place: $out"
    [[ $(grep -c ':[0-9]*: v' <<<"$out") == 1 ]] || fail "check named more than the changed place: $out"

    # The Configuration's dependency on the function (a version line after
    # a package line) is checked too.
    cp "$repo/deploy/kustomize/base/function.yaml" "$tmp/deploy/kustomize/base/function.yaml"
    sed -i "s|\">=v${want}\"|\">=v0.0.1\"|" "$tmp/package/configuration/crossplane.yaml"
    if out=$("$version" --root "$tmp" check 2>&1); then fail "check passed the dependency's version"; fi
    grep -qF 'package/configuration/crossplane.yaml:' <<<"$out" || fail "dependency not named: $out"

    # set rewrites every place and VERSION; check agrees again.
    "$version" --root "$tmp" set 1.2.3
    [[ "$("$version" --root "$tmp" print)" == 1.2.3 ]] || fail "set did not rewrite VERSION"
    "$version" --root "$tmp" check || fail "check after set"
    grep -q '^appVersion: v1.2.3$' "$tmp/deploy/helm/platform/Chart.yaml" || fail "appVersion not set"
    [[ $(grep -c '^  version: v1.2.3$' "$tmp/deploy/helm/platform/values.yaml") == 3 ]] ||
      fail "values.yaml versions not set"
    grep -q 'function-platform:v1.2.3' "$tmp/deploy/kustomize/base/function.yaml" || fail "package not set"
    grep -q '">=v1.2.3"' "$tmp/package/configuration/crossplane.yaml" || fail "dependency not set"
    # Nothing else moved: the same lines, only versions changed.
    for f in "${files[@]}"; do
      [[ $(wc -l <"$repo/$f") == $(wc -l <"$tmp/$f") ]] || fail "$f changed its line count"
    done
    diff <(sed "s/${want//./\\.}/X/g" "$repo/deploy/helm/platform/values.yaml") \
      <(sed 's/1\.2\.3/X/g' "$tmp/deploy/helm/platform/values.yaml") || fail "values.yaml changed beyond versions"
    # A version that is not X.Y.Z is refused.
    if "$version" --root "$tmp" set banana 2>/dev/null; then fail "set took banana"; fi
    echo "PASS: a changed place fails check, set rewrites every place"
    ;;
  *)
    echo "usage: $0 tree|control" >&2
    exit 2
    ;;
esac
