#!/usr/bin/env bash
# Rewrites helmfile.lock, offline.
#
#   deploy/helm/update-lock.sh [output]     (make helmfile-lock)
#
# Writes helmfile.lock beside this script, or `output`. HELM_BIN and
# HELMFILE_BIN pick the binaries, as for scripts/tools.sh.
#
# `helmfile deps` locks only charts from repositories: it writes a Chart.yaml
# whose dependencies are the releases' charts, runs `helm dependency update`
# on it and keeps the resulting Chart.lock as helmfile.lock. Our only chart is
# local, which `helmfile deps` skips, so this does the same for it: every
# release whose chart is a local folder becomes a file:// dependency pinned
# to the release's version, and helm resolves and hashes them (a version that
# does not match the chart's Chart.yaml fails here).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/helmfile.lock}
tools="$here/../../scripts/tools.sh"
helm=$("$tools" helm)
helmfile=$("$tools" helmfile)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# helm and helmfile get an empty home: no repositories, nothing fetched.
export HOME="$work/home" XDG_CACHE_HOME="$work/home/cache" XDG_CONFIG_HOME="$work/home/config" \
  XDG_DATA_HOME="$work/home/data"
mkdir -p "$HOME" "$work/lock"

releases=$(cd "$here" && "$helmfile" --helm-binary "$helm" list --output json 2>/dev/null)
helmfile_version=$("$helmfile" --version | awk '{print $NF}')

# The charts as siblings of the lock chart, so the file:// paths are
# relative: ../<chart folder as helmfile.yaml names it>.
python3 - "$releases" "$here" "$work" <<'PY'
import json, os, sys
releases, here, work = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
lines = ["apiVersion: v2", "name: helmfile-lock", "version: 0.0.0", "dependencies:"]
for r in releases:
    chart = r["chart"]
    if not (chart.startswith("./") or chart.startswith("../")):
        sys.exit(f"release {r['name']}: {chart} is not a local chart; use `helmfile deps`")
    folder = os.path.normpath(chart)
    link = os.path.join(work, folder)
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join(here, folder), link)
    lines += [f"  - name: {os.path.basename(folder)}",
              f"    repository: file://../{folder}",
              f"    version: \"{r['version'] or '*'}\"",
              f"    alias: {r['namespace']}-{r['name']}"]
open(os.path.join(work, "lock", "Chart.yaml"), "w").write("\n".join(lines) + "\n")
PY

"$helm" dependency update "$work/lock" >&2
# helmfile.lock is Chart.lock headed by helmfile's version, as `helmfile
# deps` writes it.
{
  echo "version: ${helmfile_version}"
  cat "$work/lock/Chart.lock"
  echo
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out" >&2
