#!/usr/bin/env bash
# Our function side by side with its peer, function-patch-and-transform
# v0.10.8 (`make bench-peers`; docs/performance.md). A benchmark, not a test.
#
#   scripts/bench-peers.sh [build dir] [concurrency] [seconds]   defaults: build 8 20
#
# For the prod XEnvironment (examples/xenvironment/xr-prod.yaml with its
# policy):
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
#  5. the floor: our handler alone, in process, its CPU split into the
#     protobuf decode, encode and free of these very bytes and the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
concurrency=${2:-8}
seconds=${3:-20}
ours_bin="${build_dir}/function/function-platform"
bench="${build_dir}/bench/runfunction_bench"
for b in "$ours_bin" "$bench"; do
  [[ -x "$b" ]] || { echo "no ${b}: build first (make build)" >&2; exit 1; }
done
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
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

start() {  # <name> <port> <binary> [args]: starts a server, records its pid in $started
  local name=$1 port=$2
  shift 2
  "$@" >"${work}/${name}.log" 2>&1 &
  started=$!
  pids+=("$started")
  wait_port "$port" || { tail -20 "${work}/${name}.log" >&2; echo "bench-peers: ${name} did not start" >&2; exit 1; }
}

xr=examples/xenvironment/xr-prod.yaml
composition=compositions/xenvironment.yaml
required=examples/xenvironment/required/xr-prod.yaml

ours_port=$(free_port)
start ours "$ours_port" "$ours_bin" --insecure --address "127.0.0.1:${ours_port}"
ours_pid=$started
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
"$crossplane" composition render "$xr" "$composition" "${work}/functions.yaml" \
  --required-resources="$required" --xrd=xrds/xenvironment.yaml --crossplane-binary="$core" \
  >"${work}/rendered.yaml"
counts=$(bench/peers/peer_input.py "${work}/rendered.yaml" "$xr" "$composition" "$required" "$work")
echo "bench-peers: prod XEnvironment: ${counts}" >&2
resources=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["resources"])' "${work}/counts.json")

peer_port=$(free_port)
start peer "$peer_port" "$peer_bin" --insecure --address "127.0.0.1:${peer_port}"
peer_pid=$started

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
run() {  # <name> <port> <pid> <request>
  local before after
  before=$(cpu_ticks "$3")
  "$bench" --target "127.0.0.1:$2" --request "$4" --min-desired "$resources" \
    --concurrency "$concurrency" --duration "${seconds}s" --warmup 2s --json >"${work}/$1.report.json"
  after=$(cpu_ticks "$3")
  python3 - "${work}/$1.report.json" "$((after - before))" "$(getconf CLK_TCK)" "$(rss_kb "$3")" <<'PY'
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
# The floor: our handler in this process (no gRPC), its CPU split into the
# protobuf work every server of these bytes must do (decode the request,
# encode the response, free both) and the rest.
"$bench" --in-process-only --request "${work}/ours.json" --min-desired "$resources" \
  --concurrency 1 --duration "${seconds}s" --warmup 2s --json >"${work}/floor.json"
run ours "$ours_port" "$ours_pid" "${work}/ours.json"
run peer "$peer_port" "$peer_pid" "${work}/peer.json"

python3 - "${work}/ours.report.json" "${work}/peer.report.json" "$concurrency" "$seconds" "$counts" \
  "${work}/floor.json" <<'PY'
import json, sys
ours, peer = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
c, s, counts = sys.argv[3], sys.argv[4], sys.argv[5]
rows = [
    ("server CPU per call", "server_cpu_ms_per_call", "ms", True),
    (f"calls/s at {c} in flight", "throughput_rps", "", False),
    ("p50 latency", ("latency_us", "p50"), "ms", True),
    ("p99 latency", ("latency_us", "p99"), "ms", True),
    ("RSS after the run", "server_rss_mb", "MB", True),
    ("response size", "response_bytes", "KB", True),
]
def get(r, key):
    v = r[key[0]][key[1]] if isinstance(key, tuple) else r[key]
    return v / 1e3 if key in (("latency_us", "p50"), ("latency_us", "p99"), "response_bytes") else v
print(f"{'':<26} {'function-platform':>18} {'patch-and-transform':>20} {'ratio':>7}")
for label, key, unit, lower_is_better in rows:
    a, b = get(ours, key), get(peer, key)
    ratio = (b / a if lower_is_better else a / b) if a and b else float("nan")
    if key == "response_bytes":
        ratio = b / a
    print(f"{label:<26} {a:>15.2f} {unit:<2} {b:>17.2f} {unit:<2} {ratio:>6.1f}x")
print(f"(the prod XEnvironment: {counts}; {s}s per server, {c} calls in flight, the same client;"
      f" ratio: how many times better function-platform is, and for the response the peer's size"
      f" over ours)")
floor = json.load(open(sys.argv[6]))
steps = floor["handler_cpu_us_per_request"]
proto = steps["decode"] + steps["encode"] + steps["free"]
total = proto + steps["run"]
print(f"\nthe floor, in process: handler {total / 1e3:.3f} ms per call = protobuf decode, encode and"
      f" free {proto / 1e3:.3f} ms + rendering {steps['run'] / 1e3:.3f} ms;"
      f" the handler is {total / proto:.1f}x the floor")
for name, r in (("function-platform", ours), ("patch-and-transform", peer), ("in process", floor)):
    if r["errors"]:
        sys.exit(f"bench-peers: {name}: {r['errors']} wrong responses: {r.get('first_error')}")
PY
