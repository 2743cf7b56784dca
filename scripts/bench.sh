#!/bin/bash
# The rule table benchmark of docs/PERFORMANCE.md: installs what is missing,
# builds a release tree (no debug checksum audit) and runs rule_bench, which
# prints its table and writes bench-rules.json. Needs no root, NIC or
# hugepages. Arguments go to rule_bench (--rounds N, --rules 1,10,100, ...).
# RELAY_BENCH_BUILD_DIR and RELAY_BENCH_JSON override build-release and
# bench-rules.json. The figures are for reading, never a pass/fail verdict.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

BUILD=${RELAY_BENCH_BUILD_DIR:-build-release}
JSON=${RELAY_BENCH_JSON:-bench-rules.json}

install_deps || log "WARNING: dependencies are missing; the build may fail"
configure "$BUILD" -Dbuildtype=release -Db_ndebug=true || die "meson setup of $BUILD failed"
ninja -C "$BUILD" tests/bench/rule_bench || die "build of rule_bench failed"

lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core|Hypervisor vendor):' >&2
awk '/^HugePages_Total/ {print "HugePages_Total: " $2 " (rule_bench runs with --no-huge)"}' \
    /proc/meminfo >&2
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"

# rule_bench removes its EAL runtime dir, rule_bench_PID, unless it is killed.
"$BUILD/tests/bench/rule_bench" --json "$JSON" "$@" &
BENCH_PID=$!
trap 'kill -TERM "$BENCH_PID" 2>/dev/null' INT TERM
rc=0
wait "$BENCH_PID" || rc=$?
# A trapped signal ends the first wait early; wait for the bench to exit.
kill -0 "$BENCH_PID" 2>/dev/null && { wait "$BENCH_PID" || rc=$?; }
dpdk_runtime_cleanup "rule_bench_$BENCH_PID"
[ "$rc" -eq 0 ] && log "figures written to $JSON"
exit "$rc"
