#!/bin/bash
# The whole test run, as CI does it (.ci/run): installs what is missing, builds,
# runs the suites unit, concurrency, packet and e2e (e2e needs root, else skipped),
# then a ThreadSanitizer build of src/common running the concurrency suite, an
# ASan+UBSan build running the unit and packet suites, and a clang build of the
# libFuzzer harnesses (tests/fuzz) running each for RELAY_FUZZ_SECONDS (default
# 20) as suite fuzz. Idempotent. Ends with the line "N passed, N failed, N
# skipped" and exits non-zero when a test or a build failed (a failed build
# counts as one failure).
# RELAY_BUILD_DIR, RELAY_TSAN_BUILD_DIR, RELAY_ASAN_BUILD_DIR and
# RELAY_FUZZ_BUILD_DIR override the build dirs (build, build-tsan, build-asan,
# build-fuzz). RELAY_SKIP_E2E=1 leaves the e2e suite out (its root namespaces
# would collide with another run's on the same machine).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

BUILD=${RELAY_BUILD_DIR:-build}
BUILD_TSAN=${RELAY_TSAN_BUILD_DIR:-build-tsan}
BUILD_ASAN=${RELAY_ASAN_BUILD_DIR:-build-asan}
BUILD_FUZZ=${RELAY_FUZZ_BUILD_DIR:-build-fuzz}
BUILD_FAILURES=0
RUN_FAILURES=0

install_deps || log "WARNING: dependencies are missing; the build may fail"

# build_and_test DIR "MESON OPTIONS" SUITE...
build_and_test() {
    local dir=$1 opts=$2 suite args=()
    shift 2
    echo "=== $dir: configure and build"
    rm -f "$dir/meson-logs/testlog.json"
    # shellcheck disable=SC2086
    if ! configure "$dir" $opts || ! ninja -C "$dir"; then
        echo "FAIL: build of $dir"
        BUILD_FAILURES=$((BUILD_FAILURES + 1))
        return
    fi
    for suite in "$@"; do
        args+=(--suite "$suite")
    done
    echo "=== $dir: meson test ${args[*]}"
    if ! meson test -C "$dir" --no-rebuild --print-errorlogs "${args[@]}" </dev/null &&
        [ ! -s "$dir/meson-logs/testlog.json" ]; then
        echo "FAIL: meson test in $dir failed before running any test"
        RUN_FAILURES=$((RUN_FAILURES + 1))
    fi
}

suites=(unit concurrency packet e2e)
[ "${RELAY_SKIP_E2E:-0}" = 1 ] && suites=(unit concurrency packet)
build_and_test "$BUILD" "" "${suites[@]}"
build_and_test "$BUILD_TSAN" "-Db_sanitize=thread -Dcommon_only=true" concurrency
# UBSan aborts on its first report (meson.build adds -fno-sanitize-recover).
build_and_test "$BUILD_ASAN" "-Db_sanitize=address,undefined" unit packet
# libFuzzer needs clang; only the harnesses and the libraries are built.
CXX=clang++ build_and_test "$BUILD_FUZZ" \
    "-Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false" fuzz

"$RELAY_PY" - "$((BUILD_FAILURES + RUN_FAILURES))" \
    "$BUILD/meson-logs/testlog.json" "$BUILD_TSAN/meson-logs/testlog.json" \
    "$BUILD_ASAN/meson-logs/testlog.json" "$BUILD_FUZZ/meson-logs/testlog.json" <<'PY'
import json, os, sys

passed = skipped = 0
failures = []
failed = int(sys.argv[1])
for path in sys.argv[2:]:
    if not os.path.exists(path):
        continue
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            test = json.loads(line)
            result = test.get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append(f"{test.get('name')} ({result}) in {os.path.dirname(os.path.dirname(path))}")
for name in failures:
    print(f"failed: {name}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
