#!/usr/bin/env bash
# test.sh -- run every pantau test, as CI does (.ci/run calls this).
#
# Installs what is missing (scripts/deps.sh), checks the style (scripts/checkstyle.sh: banned
# calls, assignments in conditions, clang-format on the files it governs; a finding fails the
# run before anything is built), builds twice, and runs ctest in each tree:
#   build-asan/  clang, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer targets
#   build/       gcc, RelWithDebInfo: the programs the demo and the benchmarks run
# Each ctest run starts its own PostgreSQL (the `servers` fixture) and the tests start their own
# mosquitto brokers, all on loopback on free ports, with their data under the build tree. Tests
# run two at a time (jobs), integration tests too, each in its own databases: copies of one
# migrated template (tests/harness: PgCluster.schema_database); tests/CMakeLists.txt lists the
# few that run alone (PANTAU_SERIAL_TESTS).
# Works when run twice in a row and after a run that was killed. The last line is ctest's
# summary (of the failing run, if one failed).
#
#   scripts/test.sh              everything
#   scripts/test.sh -L unit      only some tests: arguments go to both ctest runs
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

bash scripts/deps.sh || exit 1
echo "test: style (scripts/checkstyle.sh)"
bash scripts/checkstyle.sh || exit 1

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
jobs=2

build() {   # build DIR CC [cmake args...]
    local dir=$1 cc=$2
    shift 2
    echo "test: configure $dir ($cc)"
    CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 \
        || { cat "$dir.configure.log"; return 1; }
    echo "test: build $dir"
    cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 \
        || { grep -E 'error|Error' -A3 "$dir.build.log" | head -80; return 1; }
}

run_ctest() {   # run_ctest DIR [ctest args...]: output in DIR/ctest.log, summary in $summary
    local dir=$1
    shift
    echo "test: ctest in $dir"
    (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" "$@") 2>&1 | tee "$dir/ctest.log"
    local rc=${PIPESTATUS[0]}
    summary=$(grep -E '^[0-9]+% tests passed' "$dir/ctest.log" | tail -n 1)
    [ -n "$summary" ] || summary="$dir: ctest printed no summary"
    return "$rc"
}

mkdir -p build build-asan
build build-asan clang -DPANTAU_SANITIZE=ON -DPANTAU_FUZZ=ON || exit 1
build build gcc || exit 1

# the sanitizer tree skips the tests labelled plain_only (tests/CMakeLists.txt: SQL, the web
# pages' JavaScript, timing): the plain tree runs every test
run_ctest build-asan -LE plain_only "$@"
asan_rc=$?
asan_summary=$summary
run_ctest build "$@"
plain_rc=$?
plain_summary=$summary

echo
echo "test: sanitizer build (build-asan): $asan_summary"
echo "test: plain build (build):"
if [ "$asan_rc" -ne 0 ] && [ "$plain_rc" -eq 0 ]; then
    echo "$plain_summary"
    echo "test: FAILED under the sanitizers:"
    echo "$asan_summary"
    exit 1
fi
echo "$plain_summary"
[ "$asan_rc" -eq 0 ] && [ "$plain_rc" -eq 0 ]
