#!/usr/bin/env bash
# scripts/fetch-crds.sh against a local copy of the upstream CRDs served over
# HTTP on loopback, laid out as <repository>/<commit>/<upstream path> like
# raw.githubusercontent.com: every file arrives and matches the copy, a
# second run fetches nothing, a file changed in the folder is fetched again,
# and a tampered or missing file on the server fails naming that file.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
fetch=$repo/scripts/fetch-crds.sh
lock=$repo/scripts/upstream-crds.lock
# The local copy: the snapshot beside the clone, or what tools.sh fetched.
src=$("$repo/scripts/tools.sh" upstream-crds)

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
server=
cleanup() {
  # Only the server this test started, by its pid.
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Two trees to serve: the copy as is, and one where a file is tampered with
# and another is missing.
mapfile -t entries < <(grep -v -e '^#' -e '^[[:space:]]*$' "$lock")
# Symbolic links to the copy (one Python process: 238 links).
python3 - "$lock" "$src" "$tmp/www" <<'PY'
import os, sys
lock, src, www = sys.argv[1:]
for line in open(lock):
    if not line.strip() or line.startswith('#'):
        continue
    local, repository, commit, upstream, _ = line.split()
    for tree in ('good', 'bad'):
        link = os.path.join(www, tree, repository, commit, upstream)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join(src, local), link)
PY
read -r tampered t_repo t_commit t_upstream _ <<<"${entries[0]}"
read -r missing m_repo m_commit m_upstream _ <<<"${entries[${#entries[@]} - 1]}"
rm "$tmp/www/bad/$t_repo/$t_commit/$t_upstream" "$tmp/www/bad/$m_repo/$m_commit/$m_upstream"
{ cat "$src/$tampered"; echo "# one more line"; } >"$tmp/www/bad/$t_repo/$t_commit/$t_upstream"

# One server on a free loopback port (port 0: the kernel picks it); its
# first line says which.
# The files exist before the server starts: a background job opens its
# redirections only once forked, after the loop below may have looked.
: >"$tmp/server.out"
: >"$tmp/server.log"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/server.out" 2>"$tmp/server.log" &
server=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$tmp/server.out")
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || fail "the HTTP server did not start: $(cat "$tmp/server.log")"
requests() { grep -c '"GET ' "$tmp/server.log" || true; }

# Everything arrives and equals the copy.
PLATFORM_CRDS_BASE_URL="http://127.0.0.1:${port}/good" "$fetch" "$tmp/dest" 2>"$tmp/fetch.err" ||
  fail "fetch from the good tree: $(cat "$tmp/fetch.err")"
for entry in "${entries[@]}"; do
  read -r local _ <<<"$entry"
  cmp -s "$src/$local" "$tmp/dest/$local" || fail "$local differs from the copy"
done
[[ ! -e "$tmp/dest/.partial" ]] || fail "the partial folder was left behind"
[[ $(requests) == "${#entries[@]}" ]] || fail "expected ${#entries[@]} requests, saw $(requests)"

# A second run fetches nothing; a file changed in the folder is fetched again.
PLATFORM_CRDS_BASE_URL="http://127.0.0.1:${port}/good" "$fetch" "$tmp/dest" 2>/dev/null || fail "second run"
[[ $(requests) == "${#entries[@]}" ]] || fail "the second run fetched again"
echo "# edited" >>"$tmp/dest/$missing"
PLATFORM_CRDS_BASE_URL="http://127.0.0.1:${port}/good" "$fetch" "$tmp/dest" 2>/dev/null || fail "repair run"
cmp -s "$src/$missing" "$tmp/dest/$missing" || fail "the edited file was not fetched again"
[[ $(requests) == $((${#entries[@]} + 1)) ]] || fail "the repair fetched more than the edited file"

# A clone with no snapshot beside it (as on a CI runner): tools.sh
# upstream-crds fetches into the tools cache and prints that folder.
mkdir -p "$tmp/ci/clone/scripts"
cp "$repo/scripts/tools.sh" "$repo/scripts/fetch-crds.sh" "$lock" "$tmp/ci/clone/scripts/"
fetched=$(env -u PLATFORM_SHARED_CRDS PLATFORM_TOOLS_DIR="$tmp/ci/tools" \
  PLATFORM_CRDS_BASE_URL="http://127.0.0.1:${port}/good" "$tmp/ci/clone/scripts/tools.sh" upstream-crds 2>/dev/null) ||
  fail "tools.sh upstream-crds without a snapshot"
[[ "$fetched" == "$tmp/ci/tools/upstream-crds-"* ]] || fail "tools.sh upstream-crds printed $fetched"
cmp -s "$src/$missing" "$fetched/$missing" || fail "tools.sh upstream-crds: $missing not fetched"

# A tampered and a missing file fail, each named; neither is put in place.
if PLATFORM_CRDS_BASE_URL="http://127.0.0.1:${port}/bad" "$fetch" "$tmp/dest-bad" 2>"$tmp/bad.err"; then
  fail "fetch passed a tampered file"
fi
grep -q "^upstream CRDs: ${tampered}: sha256 " "$tmp/bad.err" || fail "tampered file not named: $(cat "$tmp/bad.err")"
grep -q "^upstream CRDs: ${missing}: not fetched" "$tmp/bad.err" || fail "missing file not named: $(cat "$tmp/bad.err")"
[[ ! -e "$tmp/dest-bad/$tampered" ]] || fail "the tampered file was put in place"
[[ -f "$tmp/dest-bad/${entries[1]%% *}" ]] || fail "the good files were not kept"
echo "PASS: ${#entries[@]} files fetched and checked; a tampered and a missing file refused by name"
