#!/usr/bin/env bash
# Does function-platform's memory keep growing under load? (`make bench-leak`;
# docs/performance.md). A benchmark, not a test: it runs for minutes.
#
#   scripts/bench-leak.sh [build dir] [minutes] [concurrency]   defaults: build 10 8
#
# Starts function-platform as a process (plaintext on loopback) and drives it
# with runfunction_bench --target (the benchmark's built-in XEnvironment
# request: 40 observed resources, the earlier step's desired state to pass
# through, the context) for the given minutes, sampling the server's RSS
# (VmRSS) every 5 s. The first minute (at most a fifth of the run) is
# warm-up: allocator arenas and gRPC's buffers reach their working size. The
# rest is split in halves, and the check fails when the second half's
# highest RSS is above the first half's by more than 4 MiB and 5%: memory
# that keeps growing, not one that settles. The samples are written to
# $LEAK_SAMPLES when set (seconds and KiB per line).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
build_dir=${1:-build}
minutes=${2:-10}
concurrency=${3:-8}
server="${build_dir}/function/function-platform"
bench="${build_dir}/bench/runfunction_bench"
require_built "$server" "$bench"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port=$(free_port)
"$server" --insecure --address "127.0.0.1:${port}" >"${work}/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_port "$port" || { echo "function-platform did not listen on ${port}" >&2; exit 1; }

seconds=$((minutes * 60))
"$bench" --target "127.0.0.1:${port}" --concurrency "$concurrency" --warmup 0s \
  --duration "${seconds}s" --json >"${work}/report.json" &
bench_pid=$!
pids+=("$bench_pid")
start=$(date +%s)
while kill -0 "$bench_pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/${server_pid}/status")
  echo "$(($(date +%s) - start)) ${rss}" >>"${work}/samples.txt"
  sleep 5
done
bench_status=0
wait "$bench_pid" || bench_status=$?
[[ -n "${LEAK_SAMPLES:-}" ]] && cp "${work}/samples.txt" "$LEAK_SAMPLES"

python3 - "${work}/samples.txt" "${work}/report.json" "$bench_status" "$minutes" <<'PY'
import json, sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
report = json.load(open(sys.argv[2]))
bench_status, minutes = int(sys.argv[3]), sys.argv[4]
end = samples[-1][0]
warmup = min(60, end // 5)
steady = [(t, kb) for t, kb in samples if t >= warmup]
if len(steady) < 4:
    sys.exit("bench-leak: too few samples; run for at least a minute")
half = len(steady) // 2
first, second = steady[:half], steady[half:]
first_max, second_max = max(kb for _, kb in first), max(kb for _, kb in second)
# Least-squares slope over the steady part, in KiB per minute.
n = len(steady)
mt = sum(t for t, _ in steady) / n
mk = sum(kb for _, kb in steady) / n
slope = sum((t - mt) * (kb - mk) for t, kb in steady) / max(sum((t - mt) ** 2 for t, _ in steady), 1)
calls = report["requests"]
print(f"bench-leak: {minutes} min, {calls} calls ({report['throughput_rps']:.0f}/s,"
      f" {report['errors']} errors), load average {report['loadavg_1m']:.2f} at the start")
print(f"RSS (MiB): start {samples[0][1] / 1024:.1f}, after warm-up ({warmup} s)"
      f" {steady[0][1] / 1024:.1f}, highest in the first half {first_max / 1024:.1f},"
      f" in the second half {second_max / 1024:.1f}, end {samples[-1][1] / 1024:.1f};"
      f" slope {slope * 60:.1f} KiB/min over {len(steady)} samples")
growing = second_max > first_max + max(4096, first_max * 0.05)
if bench_status != 0 or report["errors"]:
    sys.exit(f"bench-leak: the load failed (runfunction_bench exit {bench_status},"
             f" {report['errors']} errors: {report.get('first_error')})")
if growing:
    sys.exit("bench-leak: RSS keeps growing: the second half's highest is more than 4 MiB and 5%"
             " above the first half's")
print("bench-leak: RSS settles")
PY
