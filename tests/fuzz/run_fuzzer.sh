#!/bin/bash
# run_fuzzer.sh FUZZER CORPUS WORKDIR [LIBFUZZER OPTIONS...]: runs a libFuzzer
# harness for RELAY_FUZZ_SECONDS seconds (default 20) on a copy of CORPUS in
# WORKDIR/corpus, so that what it learns never lands in the source tree. Exits
# non-zero on a crash, a leak, a timeout (10 s for one input) or running out
# of memory; the input that did it is in WORKDIR/artifacts.
set -u
fuzzer=$1 corpus=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" || exit 1
cp -r "$corpus"/. "$work/corpus/" || exit 1
# UBSan aborts on its first report, so that libFuzzer keeps the input.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
# libFuzzer's own exit code for a finding is 77, which meson reads as a
# skipped test: -error_exitcode makes a finding a failure.
"$fuzzer" -max_total_time="${RELAY_FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=4096 -error_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" &
pid=$!
wait $pid
rc=$?
# fuzz_burst removes its EAL runtime dir (file prefix relay_fuzz_PID) when it
# exits, but not when it dies of a finding.
rm -rf "/var/run/dpdk/relay_fuzz_$pid" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/relay_fuzz_$pid"
for f in "$work"/artifacts/*; do
    [ -e "$f" ] || continue
    echo "finding: $f ($(stat -c %s "$f") bytes)"
    od -A d -t x1 "$f" | head -n 20
done
exit $rc
