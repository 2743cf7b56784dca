#!/bin/bash
# The benchmarks of docs/PERFORMANCE.md: installs what is missing, builds a
# release tree (no debug checksum audit) and runs
#   rule_bench        rule-table lookup cost from 1 to 10,000 rules -> bench-rules.json
#   dpdk-relay-bench  the worker pipeline against an io-forward baseline on
#                     net_ring, relay / rewrite / mixed traffic   -> bench-relay.json
#
#   scripts/bench.sh              both
#   scripts/bench.sh rules [ARGS] rule_bench alone, ARGS passed on (--rounds N, --rules 1,10,...)
#   scripts/bench.sh relay [ARGS] dpdk-relay-bench alone (--rounds N, --scenarios ..., --workers N)
#
# dpdk-relay-bench runs on hugepages (--huge) when 1 GB of them is free on a
# mounted hugetlbfs, as a deployment would, and says so when it cannot; with two
# or more CPUs it also measures two workers at once (--workers 2). Needs no root
# or NIC. RELAY_BENCH_BUILD_DIR overrides build-release. The figures are for
# reading, never a pass/fail verdict.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

WHICH=${1:-all}
case "$WHICH" in
rules | relay) shift ;;
all)
    [ $# -eq 0 ] || shift
    [ $# -eq 0 ] || die "arguments go to one bench: scripts/bench.sh rules|relay ARGS"
    ;;
*) die "usage: scripts/bench.sh [rules|relay] [ARGS]" ;;
esac

install_deps || log "WARNING: dependencies are missing; the build may fail"
release_build tests/bench/rule_bench tests/bench/dpdk-relay-bench

lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core|Hypervisor vendor|L3 cache):' >&2
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"

BENCH_PID=
trap '[ -n "$BENCH_PID" ] && kill -TERM "$BENCH_PID" 2>/dev/null' INT TERM
# run PREFIX COMMAND...: runs a bench in the background (so that a signal
# reaches it), waits, and removes its EAL runtime dir PREFIX_PID.
run() {
    local prefix=$1 rc=0
    shift
    "$@" &
    BENCH_PID=$!
    wait "$BENCH_PID" || rc=$?
    # A trapped signal ends the first wait early; wait for the bench to exit.
    kill -0 "$BENCH_PID" 2>/dev/null && { wait "$BENCH_PID" || rc=$?; }
    dpdk_runtime_cleanup "${prefix}_$BENCH_PID"
    BENCH_PID=
    return "$rc"
}

rc=0
if [ "$WHICH" != relay ]; then
    log "== rule_bench (--no-huge)"
    run rule_bench "$RELEASE_DIR/tests/bench/rule_bench" --json bench-rules.json "$@" || rc=1
    [ "$rc" -eq 0 ] && log "figures written to bench-rules.json"
fi
if [ "$WHICH" != rules ]; then
    opts=()
    free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
    size=$(awk '/^Hugepagesize/ {print $2}' /proc/meminfo)
    if grep -q hugetlbfs /proc/mounts && [ $(( ${free:-0} * ${size:-0} )) -ge $((1024 * 1024)) ]; then
        opts+=(--huge)
    else
        log "no 1 GB of free hugepages: dpdk-relay-bench runs with --no-huge, and its TLB misses" \
            "inflate the figures (echo 1024 > /proc/sys/vm/nr_hugepages; mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages)"
    fi
    [ "$(nproc)" -ge 2 ] && opts+=(--workers 2)
    log "== dpdk-relay-bench ${opts[*]}"
    run relay_bench "$RELEASE_DIR/tests/bench/dpdk-relay-bench" --json bench-relay.json "${opts[@]}" "$@" || rc=1
    [ "$rc" -eq 0 ] && log "figures written to bench-relay.json"
fi
exit "$rc"
