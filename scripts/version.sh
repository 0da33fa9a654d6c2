#!/usr/bin/env bash
# The platform's release version has one source, the file VERSION (X.Y.Z,
# no leading v). Scripts that tag images and packages read it from there;
# manifests, the chart, docs and tests that must spell it out are checked
# against it, and rewritten by `set` for a release.
#
#   scripts/version.sh [--root <dir>] print        # the version, e.g. 0.1.0
#   scripts/version.sh [--root <dir>] check        # every place agrees with VERSION
#   scripts/version.sh [--root <dir>] set X.Y.Z    # rewrite VERSION and every place
#
# `check` prints file:line and what it found for every disagreement and
# exits 1. --root names another tree (the tests use a copy of a few files);
# the default is this clone.
#
# A place that names the release version is any of:
#   - a package or image of ours with a tag: xpkg.crossplane.io/terraforming/<name>:vX.Y.Z
#   - a `version:` line right after a `package: xpkg.crossplane.io/terraforming/<name>`
#     line (the Helm values, the Configuration's dependency on the function:
#     `version: ">=vX.Y.Z"`)
#   - `appVersion: vX.Y.Z` of a Helm chart under deploy/helm
#   - PLATFORM_VERSION=vX.Y.Z or PLATFORM_VERSION: vX.Y.Z (scripts, CI examples)
#   - a git tag of ours in the docs: `--branch vX.Y.Z`, "tag `vX.Y.Z`"
# CHANGELOG.md names past versions on purpose and is left alone, and so are
# the lines listed in NOT_THE_RELEASE below.
set -euo pipefail

# Lines that name another version of ours on purpose: <file>|<text on the line>.
NOT_THE_RELEASE=(
  # The chart test overrides provider.version and expects the override back.
  'tests/e2e/delivery_test.cc|provider-workloads:v0.2.0'
)

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" == --root ]]; then
  root=$(cd "${2:?--root needs a folder}" && pwd)
  shift 2
fi
semver='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$'

read_version() {
  local v
  [[ -f "$root/VERSION" ]] || { echo "no VERSION in $root" >&2; exit 1; }
  v=$(tr -d '[:space:]' <"$root/VERSION")
  [[ "$v" =~ $semver ]] || { echo "VERSION: \"$v\" is not X.Y.Z" >&2; exit 1; }
  echo "$v"
}

# The files to look at: tracked files in a git work tree (so build folders
# and stray copies are not read), every file under --root otherwise.
candidate_files() {
  if git -C "$root" rev-parse --show-toplevel 2>/dev/null | grep -qxF "$root"; then
    git -C "$root" ls-files -z
  else
    (cd "$root" && find . -type f ! -path './.git/*' -printf '%P\0')
  fi | grep -zv -e '^CHANGELOG\.md$' -e '^VERSION$' |
    (cd "$root" && xargs -0 -r grep -lZ -E 'terraforming/|PLATFORM_VERSION|appVersion|--branch v|tag `v' --) || true
}

# Reads NUL-separated file names on stdin. Mode check: prints every place
# whose version is not $want and exits 1 if there is one. Mode set: rewrites
# every place to $want.
scan() {  # <check|set> <want>
  # The program comes from a variable: stdin carries the file names.
  local program
  program=$(cat <<'PY'
import re, sys, pathlib
mode, want, root = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
skip = [tuple(e.split('|', 1)) for e in sys.argv[4:]]
V = r'[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.]+)?'
# Each pattern's group 1 is the version.
anywhere = [
    re.compile(r'xpkg\.crossplane\.io/terraforming/[a-z0-9-]+:v(' + V + r')'),
    re.compile(r'PLATFORM_VERSION(?:=|:\s*)"?v(' + V + r')'),
    re.compile(r'--branch v(' + V + r')'),
    re.compile(r'tag `v(' + V + r')`'),
]
chart_app_version = re.compile(r'^appVersion:\s*"?v(' + V + r')')
package_line = re.compile(r'^\s*(?:-\s+)?package:\s*xpkg\.crossplane\.io/terraforming/[a-z0-9-]+\s*$')
version_line = re.compile(r'^\s*version:\s*"?(?:>=)?v(' + V + r')')
bad = []
names = [n for n in sys.stdin.buffer.read().decode().split('\0') if n]
for name in names:
    path = root / name
    lines = path.read_text().split('\n')
    patterns_of = lambda i: anywhere + (
        [chart_app_version] if name.startswith('deploy/helm/') and name.endswith('Chart.yaml') else []) + (
        [version_line] if i > 0 and package_line.match(lines[i - 1]) else [])
    changed = False
    for i, line in enumerate(lines):
        if any(name == f and text in line for f, text in skip):
            continue
        for pattern in patterns_of(i):
            for m in pattern.finditer(line):
                if m.group(1) != want:
                    bad.append(f'{name}:{i + 1}: v{m.group(1)}, VERSION says {want}')
        if mode == 'set':
            new = line
            for pattern in patterns_of(i):
                new = pattern.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + want +
                                  m.group(0)[m.end(1) - m.start(0):], new)
            if new != line:
                lines[i], changed = new, True
    if changed:
        path.write_text('\n'.join(lines))
if mode == 'check' and bad:
    print('\n'.join(bad))
    sys.exit(1)
PY
  )
  python3 -c "$program" "$1" "$2" "$root" "${NOT_THE_RELEASE[@]}"
}

case "${1:-}" in
  print)
    read_version
    ;;
  check)
    want=$(read_version)
    if ! candidate_files | scan check "$want"; then
      echo "these places disagree with VERSION (${want}): scripts/version.sh set ${want} rewrites them" >&2
      exit 1
    fi
    ;;
  set)
    new=${2:?usage: $0 set X.Y.Z}
    new=${new#v}
    [[ "$new" =~ $semver ]] || { echo "\"$new\" is not X.Y.Z" >&2; exit 2; }
    candidate_files | scan set "$new"
    echo "$new" >"$root/VERSION"
    ;;
  *)
    echo "usage: $0 [--root <dir>] print | check | set X.Y.Z" >&2
    exit 2
    ;;
esac
