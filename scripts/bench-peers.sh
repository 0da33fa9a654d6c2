#!/usr/bin/env bash
# Our function side by side with its peer, function-patch-and-transform
# v0.10.8 (`make bench-peers`; docs/performance.md). A benchmark, not a test.
#
#   scripts/bench-peers.sh [build dir] [concurrency] [seconds]   defaults: build 8 20
#
# For each of three XRs: the prod XEnvironment (examples/xenvironment/xr-prod.yaml
# with its policy), an XCluster that takes its network from an Environment
# (examples/xcluster/xr-environment.yaml, with that XEnvironment and the
# policy as required resources) and a namespaced XDatabase in an
# XEnvironment's network (examples/xdatabase/xr-namespaced.yaml, with the
# XEnvironment and its connection Secret):
#  1. our function renders it through `crossplane composition render`;
#  2. bench/peers/peer_input.py turns what it rendered into a P&T input that
#     composes the same resources (each a base, every value taken from the XR
#     a FromCompositeFieldPath patch), and writes both requests;
#  3. both servers run as processes, plaintext on loopback, and the same
#     client (runfunction_bench --target --request) drives each with the same
#     concurrency and duration, checking every response;
#  4. each server's CPU time over its run (/proc/<pid>/stat) per call, its
#     RSS after the run, and the client's throughput and latency are printed
#     with the ratios;
#  5. the floor: our handler alone, in process, against the protobuf decode,
#     encode and free of these very request and response bytes with
#     protobuf's own types, which any server of them does;
#  6. the gRPC floor: a server that does only that over gRPC, served as ours
#     serves (runfunction_bench --serve-floor), driven by the same client: its
#     CPU per call is what a grpc++ server that decodes and encodes these
#     bytes with protobuf's generated types spends, so P&T's CPU over it is
#     the most such a server could be better than P&T.
# Then one table of all three, with the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
build_dir=${1:-build}
concurrency=${2:-8}
seconds=${3:-20}
ours_bin="${build_dir}/function/function-platform"
bench="${build_dir}/bench/runfunction_bench"
require_built "$ours_bin" "$bench"
crossplane=$(scripts/tools.sh crossplane)
core=$(scripts/tools.sh crossplane-core)
peer_bin=$(scripts/tools.sh patch-and-transform)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start() {  # <name> <port> <binary> [args]: starts a server, records its pid in $started
  local name=$1 port=$2
  shift 2
  "$@" >"${work}/${name}.log" 2>&1 &
  started=$!
  pids+=("$started")
  wait_port "$port" || { tail -20 "${work}/${name}.log" >&2; echo "bench-peers: ${name} did not start" >&2; exit 1; }
}

# <label> <xr> <composition> <xrd> <required>
cases=(
  "XEnvironment examples/xenvironment/xr-prod.yaml compositions/xenvironment.yaml xrds/xenvironment.yaml examples/xenvironment/required/xr-prod.yaml"
  "XCluster examples/xcluster/xr-environment.yaml compositions/xcluster.yaml xrds/xcluster.yaml examples/xcluster/required/xr-environment.yaml"
  "XDatabase examples/xdatabase/xr-namespaced.yaml compositions/xdatabase-namespaced.yaml xrds/xdatabase-namespaced.yaml examples/xdatabase/required/xr-namespaced.yaml"
)

ours_port=$(free_port)
start ours "$ours_port" "$ours_bin" --insecure --address "127.0.0.1:${ours_port}"
ours_pid=$started
peer_port=$(free_port)
start peer "$peer_port" "$peer_bin" --insecure --address "127.0.0.1:${peer_port}"
peer_pid=$started
cat >"${work}/functions.yaml" <<YAML
apiVersion: pkg.crossplane.io/v1
kind: Function
metadata:
  name: terraforming-function-platform
  annotations:
    render.crossplane.io/runtime: Development
    render.crossplane.io/runtime-development-target: 127.0.0.1:${ours_port}
spec:
  package: function-platform
YAML

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
run() {  # <dir> <name> <port> <pid> <request> <resources>
  local before after
  before=$(cpu_ticks "$4")
  "$bench" --target "127.0.0.1:$3" --request "$5" --min-desired "$6" \
    --concurrency "$concurrency" --duration "${seconds}s" --warmup 2s --json >"$1/$2.report.json"
  after=$(cpu_ticks "$4")
  python3 - "$1/$2.report.json" "$((after - before))" "$(getconf CLK_TCK)" "$(rss_kb "$4")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ticks, hz, rss = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# The server's CPU over warm-up and measurement, per call of both.
calls = r["requests"] + r["throughput_rps"] * r["warmup_seconds"]
r["server_cpu_ms_per_call"] = ticks / hz / max(calls, 1) * 1e3
r["server_rss_mb"] = rss / 1024
json.dump(r, open(sys.argv[1], "w"))
PY
}

for c in "${cases[@]}"; do
  read -r label xr composition xrd required <<<"$c"
  dir="${work}/${label}"
  mkdir -p "$dir"
  "$crossplane" composition render "$xr" "$composition" "${work}/functions.yaml" \
    --required-resources="$required" --xrd="$xrd" --crossplane-binary="$core" >"${dir}/rendered.yaml"
  counts=$(bench/peers/peer_input.py "${dir}/rendered.yaml" "$xr" "$composition" "$required" "$dir")
  echo "bench-peers: ${label} (${xr}): ${counts}" >&2
  resources=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["resources"])' "${dir}/counts.json")
  echo "$counts" >"${dir}/counts.txt"
  # The floor: our handler in this process (no gRPC) against protobuf's
  # own decode, encode and free of the same bytes.
  "$bench" --in-process-only --request "${dir}/ours.json" --min-desired "$resources" \
    --concurrency 1 --duration "${seconds}s" --warmup 2s --json >"${dir}/floor.json"
  run "$dir" ours "$ours_port" "$ours_pid" "${dir}/ours.json" "$resources"
  run "$dir" peer "$peer_port" "$peer_pid" "${dir}/peer.json" "$resources"
  floor_port=$(free_port)
  start "${label}-floor" "$floor_port" "$bench" --serve-floor "127.0.0.1:${floor_port}" \
    --request "${dir}/ours.json" --min-desired "$resources"
  floor_pid=$started
  run "$dir" grpc-floor "$floor_port" "$floor_pid" "${dir}/ours.json" "$resources"
  kill "$floor_pid"
  wait "$floor_pid" 2>/dev/null || true
done

labels=()
for c in "${cases[@]}"; do read -r label _ <<<"$c"; labels+=("$label"); done
python3 - "$work" "$concurrency" "$seconds" "$(cut -d' ' -f1 /proc/loadavg)" "${labels[@]}" <<'PY'
import json, os, sys
work, c, s, load, labels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def load_case(label):
    d = os.path.join(work, label)
    return {n: json.load(open(os.path.join(d, f"{n}.json")))
            for n in ("ours.report", "peer.report", "floor", "grpc-floor.report")} | {
        "counts": open(os.path.join(d, "counts.txt")).read().strip()}
cases = {label: load_case(label) for label in labels}
rows = [
    ("server CPU per call", lambda r: r["server_cpu_ms_per_call"], "ms", True),
    (f"calls/s at {c} in flight", lambda r: r["throughput_rps"], "", False),
    ("p50 latency", lambda r: r["latency_us"]["p50"] / 1e3, "ms", True),
    ("p99 latency", lambda r: r["latency_us"]["p99"] / 1e3, "ms", True),
    ("RSS after the run", lambda r: r["server_rss_mb"], "MB", True),
    ("response size", lambda r: r["response_bytes"] / 1e3, "KB", None),
]
print(f"{'':<14} {'':<24} {'function-platform':>18} {'patch-and-transform':>20} {'ratio':>7}")
for label in labels:
    k = cases[label]
    ours, peer = k["ours.report"], k["peer.report"]
    for i, (name, get, unit, lower_is_better) in enumerate(rows):
        a, b = get(ours), get(peer)
        if lower_is_better is None:
            ratio = b / a if a else float("nan")
        elif a and b:
            ratio = b / a if lower_is_better else a / b
        else:
            ratio = float("nan")
        print(f"{label if i == 0 else '':<14} {name:<24} {a:>15.2f} {unit:<2} {b:>17.2f} {unit:<2}"
              f" {ratio:>6.1f}x")
    f = k["floor"]
    print(f"{'':<14} {'handler / floor':<24} {f['handler_cpu_us'] / 1e3:>12.3f} ms"
          f" / {f['floor_cpu_us'] / 1e3:.3f} ms = {f['handler_over_floor']:.2f}x"
          f"  ({k['counts']})")
    g = k["grpc-floor.report"]["server_cpu_ms_per_call"]
    if g > 0:
        print(f"{'':<14} {'gRPC floor, server CPU':<24} {g:>15.2f} ms: ours is"
              f" {ours['server_cpu_ms_per_call'] / g:.2f}x that; P&T {peer['server_cpu_ms_per_call'] / g:.1f}x"
              f" (the most a server decoding and encoding as ours does could reach)")
print(f"({s}s per server and kind, {c} calls in flight, the same client; load average {load}"
      f" at the end on {os.cpu_count()} CPUs; ratio: how many times better function-platform"
      f" is, and for the response the peer's size over ours. Floor: protobuf's own decode,"
      f" encode and free of the same request and response bytes, in process, 1 thread; gRPC"
      f" floor: a server doing only that over gRPC, driven as the others.)")
failed = [(label, name, r) for label in labels for name, r in
          (("function-platform", cases[label]["ours.report"]),
           ("patch-and-transform", cases[label]["peer.report"]),
           ("in process", cases[label]["floor"]),
           ("gRPC floor", cases[label]["grpc-floor.report"])) if r["errors"]]
for label, name, r in failed:
    print(f"bench-peers: {label}: {name}: {r['errors']} wrong responses: {r.get('first_error')}",
          file=sys.stderr)
sys.exit(1 if failed else 0)
PY
