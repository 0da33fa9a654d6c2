#!/usr/bin/env bash
# Builds runfunction_fuzzer (clang, libFuzzer, ASan, UBSan, LSan) and fuzzes
# the request handler for a bounded time, then admission_review_fuzzer, the
# admission webhook's request path, for $FUZZ_ADMISSION_SECONDS (default 20).
# `make fuzz` and `make test` run it.
#
#   scripts/fuzz.sh [build-dir] [seconds]     defaults: build-fuzz 60
#
# 1. configures <build-dir> with PLATFORM_FUZZ=ON and builds only the fuzzer;
# 2. encodes fuzz/corpus-src/*.textproto into binary seeds with protoc;
# 3. runs every seed once on its own (each must parse and pass the checks);
# 4. fuzzes for <seconds> from a working corpus inside <build-dir>, seeded
#    from the seeds and kept between runs, so the source tree is never
#    written to.
#
# Exits non-zero on a crash, invariant violation, sanitizer report, leak, OOM
# or timeout, printing the report and the path of the input that caused it.
# Environment: JOBS (build parallelism, default 2), FUZZ_ARGS (extra libFuzzer
# flags, e.g. FUZZ_ARGS=-seed=1).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-fuzz}
seconds=${2:-60}
jobs=${JOBS:-2}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
  echo "fuzz.sh: seconds must be a positive integer, not '$seconds'" >&2
  exit 2
fi

out="${build_dir}/fuzz"
seeds="${out}/seeds"
corpus="${out}/corpus"
artifacts="${out}/artifacts"
fuzzer="${out}/runfunction_fuzzer"

fail() {
  echo "fuzz: FAILED: $*" >&2
  exit 1
}

# --- 1. configure and build -------------------------------------------------
if [[ -f "${build_dir}/CMakeCache.txt" ]] &&
  ! grep -Eq '^CMAKE_CXX_COMPILER:[A-Z]+=.*clang\+\+' "${build_dir}/CMakeCache.txt"; then
  fail "${build_dir} was configured with another compiler; remove it (make clean) and rerun"
fi
mkdir -p "$out"
if ! CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DPLATFORM_FUZZ=ON \
  -DPLATFORM_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"${out}/configure.log" 2>&1; then
  cat "${out}/configure.log" >&2
  fail "cmake configure (log: ${out}/configure.log)"
fi
cmake --build "$build_dir" --target runfunction_fuzzer admission_review_fuzzer -j "$jobs" ||
  fail "build"

# --- 2. seeds ---------------------------------------------------------------
protoc=$(sed -n 's/^Protobuf_PROTOC_EXECUTABLE:[A-Z]*=//p' "${build_dir}/CMakeCache.txt")
[[ -x "$protoc" ]] || protoc=$(command -v protoc) || fail "protoc not found (protobuf-compiler)"
includes=(-I proto)
# google/protobuf/struct.proto: Debian's protoc finds it by itself; say where
# explicitly in case another protoc is on PATH.
[[ -f /usr/include/google/protobuf/struct.proto ]] && includes+=(-I /usr/include)

rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
seed_files=()
for src in fuzz/corpus-src/*.textproto; do
  seed="${seeds}/$(basename "$src" .textproto)"
  if ! "$protoc" "${includes[@]}" --encode=apiextensions.fn.proto.v1.RunFunctionRequest \
    apiextensions/fn/proto/v1/run_function.proto <"$src" >"$seed" 2>"${out}/protoc.log"; then
    cat "${out}/protoc.log" >&2
    fail "protoc --encode ${src}"
  fi
  seed_files+=("$seed")
done
[[ ${#seed_files[@]} -gt 0 ]] || fail "no seeds in fuzz/corpus-src"

# Sanitizer settings: leaks are errors, UBSan stops at the first report, and
# the stack traces are symbolized.
export ASAN_OPTIONS="${ASAN_OPTIONS:+${ASAN_OPTIONS}:}detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+${UBSAN_OPTIONS}:}halt_on_error=1:print_stacktrace=1"
command -v llvm-symbolizer >/dev/null 2>&1 && export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer)}

# Prints the tail of a libFuzzer log and the path of the input it saved.
report() {  # <log>
  echo "----- last lines of $1" >&2
  tail -n 80 "$1" >&2
  echo "-----" >&2
  local unit
  unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$1" | tail -n 1)
  # Running files one by one, libFuzzer saves nothing: the input is the file.
  [[ -n "$unit" ]] || unit=$(sed -n 's/^Running: \(.*\)$/\1/p' "$1" | tail -n 1)
  if [[ -n "$unit" ]]; then
    echo "fuzz: the failing input is ${unit}" >&2
    echo "fuzz: reproduce with: RUNFUNCTION_FUZZER_DUMP=1 ${fuzzer} ${unit}" >&2
  fi
}

# --- 3. every seed on its own -------------------------------------------------
seed_log="${out}/seeds.log"
if ! RUNFUNCTION_FUZZER_SEEDS=1 "$fuzzer" -runs=0 -artifact_prefix="${artifacts}/" \
  "${seed_files[@]}" >"$seed_log" 2>&1; then
  report "$seed_log"
  fail "a seed failed (log: ${seed_log})"
fi
executed=$(grep -c '^Executed ' "$seed_log" || true)
[[ "$executed" -eq ${#seed_files[@]} ]] ||
  fail "ran ${executed} of ${#seed_files[@]} seeds (log: ${seed_log})"
echo "fuzz: ${executed} seeds from fuzz/corpus-src run clean"

# --- 4. bounded fuzzing ------------------------------------------------------
cp "${seed_files[@]}" "$corpus/"
corpus_before=$(find "$corpus" -type f | wc -l)
# The working corpus is kept between runs; when it has grown large, keep only
# the inputs that add coverage.
if [[ "$corpus_before" -gt 2000 ]]; then
  merge_log="${out}/merge.log"
  rm -rf "${corpus}.new"
  mkdir -p "${corpus}.new"
  # A merge steps over inputs that crash; any it met is a failure all the same.
  if ! "$fuzzer" -merge=1 -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -artifact_prefix="${artifacts}/" "${corpus}.new" "$corpus" >"$merge_log" 2>&1 ||
    grep -q 'Test unit written to' "$merge_log"; then
    report "$merge_log"
    fail "an input of the working corpus failed while minimizing it (log: ${merge_log})"
  fi
  rm -rf "$corpus"
  mv "${corpus}.new" "$corpus"
  cp "${seed_files[@]}" "$corpus/"
  echo "fuzz: minimized the working corpus from ${corpus_before} to $(find "$corpus" -type f | wc -l) inputs"
  corpus_before=$(find "$corpus" -type f | wc -l)
fi
fuzz_log="${out}/fuzz.log"
echo "fuzz: fuzzing for ${seconds}s (corpus ${corpus}, ${corpus_before} inputs; log ${fuzz_log})"
status=0
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
  -max_len=1048576 -dict=fuzz/runfunction.dict -print_final_stats=1 \
  -artifact_prefix="${artifacts}/" ${FUZZ_ARGS:-} "$corpus" >"$fuzz_log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
  report "$fuzz_log"
  fail "runfunction_fuzzer exited with status ${status} (log: ${fuzz_log})"
fi

final_stat() { sed -n "s/^stat::$1: *//p" "$fuzz_log" | tail -n 1; }
done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$fuzz_log" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$done_line")
echo "fuzz: OK runfunction_fuzzer ${seconds}s: $(final_stat number_of_executed_units) execs" \
  "($(final_stat average_exec_per_sec)/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}" \
  "(+$(final_stat new_units_added) new), peak rss $(final_stat peak_rss_mb) MB, no crashes, leaks or timeouts"

# --- 5. the admission webhook's request path ---------------------------------
# JSON bodies: the seeds are fuzz/admission-corpus/*.json as they are.
admission_seconds=${FUZZ_ADMISSION_SECONDS:-20}
fuzzer="${out}/admission_review_fuzzer"
admission_corpus="${out}/admission-corpus"
mkdir -p "$admission_corpus"
cp fuzz/admission-corpus/*.json "$admission_corpus/"
seed_log="${out}/admission-seeds.log"
if ! "$fuzzer" -runs=0 -artifact_prefix="${artifacts}/" fuzz/admission-corpus/*.json \
  >"$seed_log" 2>&1; then
  report "$seed_log"
  fail "an admission seed failed (log: ${seed_log})"
fi
fuzz_log="${out}/admission-fuzz.log"
status=0
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
"$fuzzer" -max_total_time="$admission_seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -timeout=10 -max_len=65536 -print_final_stats=1 -artifact_prefix="${artifacts}/" \
  ${FUZZ_ARGS:-} "$admission_corpus" >"$fuzz_log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
  report "$fuzz_log"
  fail "admission_review_fuzzer exited with status ${status} (log: ${fuzz_log})"
fi
echo "fuzz: OK admission_review_fuzzer ${admission_seconds}s: $(final_stat number_of_executed_units)" \
  "execs ($(final_stat average_exec_per_sec)/s), peak rss $(final_stat peak_rss_mb) MB, no crashes," \
  "leaks or timeouts"
