#!/usr/bin/env bash
# Starts function-platform on a free loopback port and renders every bundled
# example with the real crossplane CLI (`crossplane composition render`, with
# Crossplane core as its engine instead of the Crossplane image in Docker),
# printing what it renders.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
crossplane=$(scripts/tools.sh crossplane)
core=$(scripts/tools.sh crossplane-core)
fn="${build_dir}/function/function-platform"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$fn" --insecure --address "127.0.0.1:${port}" 2>"${work}/function.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
  sleep 0.05
done
sed "s|localhost:9443|127.0.0.1:${port}|" examples/functions.yaml >"${work}/functions.yaml"

render() {  # <xr> <composition>
  # The XRD of the Composition (xrds/ holds one per Composition, by the same
  # name): render treats a claim-based (LegacyCluster) XR as Crossplane does.
  local extra=("--xrd=xrds/$(basename "$2")")
  # What Crossplane would hand the function as required resources (an
  # XEnvironment named by the XR, say) sits beside the example under required/.
  local required
  required="$(dirname "$1")/required/$(basename "$1")"
  [[ -f "$required" ]] && extra+=("--required-resources=${required}")
  echo "# crossplane composition render $1 $2 functions.yaml --include-function-results --crossplane-binary=${core} ${extra[*]}"
  "$crossplane" composition render "$1" "$2" "${work}/functions.yaml" --include-function-results \
    --crossplane-binary="$core" "${extra[@]}"
  echo
}
for kind in xenvironment xcluster xdatabase; do
  for xr in examples/${kind}/xr*.yaml; do
    # A namespaced XR (metadata.namespace set) takes the namespaced Composition.
    if python3 -c 'import sys, yaml; sys.exit(0 if (yaml.safe_load(open(sys.argv[1]))["metadata"].get("namespace")) else 1)' "$xr"; then
      render "$xr" "compositions/${kind}-namespaced.yaml"
    else
      render "$xr" "compositions/${kind}.yaml"
    fi
  done
done
