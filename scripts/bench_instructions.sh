#!/bin/bash
# Instructions per packet of the worker's stages, counted by callgrind: unlike
# cycles, the same on every run of the same build, so a change that makes the
# fast path longer shows as a number, not as noise.
#
#   scripts/bench_instructions.sh [SCENARIO,...]     (default: relay-1,relay-65536,relay-65536-onearm,rewrite-1,rewrite-100,rewrite-10000,rewrite-10000-new,mixed)
#
# Builds the release tree (build-release, or RELAY_BENCH_BUILD_DIR) with debug
# symbols off, runs dpdk-relay-bench under valgrind --tool=callgrind with a few
# small rounds, collecting only inside its measured rounds (round_of, but not
# within warm_up: neither learning relay ports beforehand nor the first round,
# whose flows are new to the flow cache, is counted), and prints for each
# scenario the instructions per packet of process_burst itself (with what is
# inlined into it: the relay dispatch, the flow cache, parse, prerouting and
# the route, SOURCE, resolve), of each stage it
# calls (relay_direct, classify, flush), of the whole pipeline (process_burst +
# flush) and of the io-forward baseline loop; and the pipeline's mispredicted
# conditional branches per packet in callgrind's model of a branch predictor
# (--branch-sim: a table of two-bit counters, simpler than a real core's, but
# a branch that goes either way at random fails in both). Writes the same as
# JSON to bench-instructions.json (RELAY_INSTR_JSON). Needs no root.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

JSON=${RELAY_INSTR_JSON:-bench-instructions.json}
SCENARIOS=${1:-relay-1,relay-65536,relay-65536-onearm,rewrite-1,rewrite-100,rewrite-10000,rewrite-10000-new,mixed}
ROUNDS=2      # measured rounds; measure() runs one more to warm up and check
PACKETS=4096  # per round

DEPS+=(valgrind)
install_deps || log "WARNING: dependencies are missing"
command -v valgrind >/dev/null || die "valgrind is missing"
release_build tests/bench/dpdk-relay-bench

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
IFS=, read -r -a names <<<"$SCENARIOS"
for name in "${names[@]}"; do
    log "callgrind: $name"
    # The bench removes its EAL runtime dir itself.
    valgrind --tool=callgrind --branch-sim=yes --callgrind-out-file="$TMP/$name.out" \
        --toggle-collect='*round_of*' --toggle-collect='*warm_up*' \
        "$RELEASE_DIR/tests/bench/dpdk-relay-bench" --rounds "$ROUNDS" --packets "$PACKETS" \
        --scenarios "$name" >"$TMP/$name.log" 2>&1 || { cat "$TMP/$name.log"; die "$name failed under callgrind"; }
    callgrind_annotate --inclusive=yes --threshold=100 "$TMP/$name.out" >"$TMP/$name.txt" 2>/dev/null &&
        callgrind_annotate --threshold=100 "$TMP/$name.out" >"$TMP/$name.self.txt" 2>/dev/null &&
        callgrind_annotate --inclusive=yes --show=Bcm --threshold=100 "$TMP/$name.out" \
            >"$TMP/$name.bcm.txt" 2>/dev/null ||
        die "callgrind_annotate failed for $name"
done

"$RELAY_PY" - "$TMP" "$JSON" "$(( ROUNDS * PACKETS ))" "${names[@]}" <<'PY'
import json, re, sys

tmp, out, packets, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
# Stage functions, in packet-path order, as callgrind names them.
# parse(), prerouting() with route(), and resolve() are inlined into process_burst.
stages = [
    ("relay_direct (relaying direct relay ports)", ["relay::Worker::relay_direct("]),
    ("classify (both hooks)", ["relay::(anonymous namespace)::classify("]),
    ("flush (TX burst, counters)", ["relay::Worker::flush("]),
]
line = re.compile(r"^\s*([\d,]+)\s+\([\d. %]+\)\s+(.*)$")
results = []


def costs(path):
    cost = {}
    with open(path) as f:
        for l in f:
            m = line.match(l)
            if m:
                fn = m.group(2)
                cost[fn] = cost.get(fn, 0) + int(m.group(1).replace(",", ""))
    return cost


for name in names:
    cost, own = costs(f"{tmp}/{name}.txt"), costs(f"{tmp}/{name}.self.txt")
    missed = costs(f"{tmp}/{name}.bcm.txt")

    def incl(*keys, table=cost):
        return sum(v for fn, v in table.items() if any(k in fn for k in keys)) / packets

    row = {"scenario": name, "packets": packets,
           "stages": {"process_burst itself (see below)":
                      round(incl("relay::Worker::process_burst(", table=own), 1)},
           "pipeline": round(incl("relay::Worker::process_burst(") + incl("relay::Worker::flush("), 1),
           "baseline": round(incl("baseline_loop("), 1),
           "mispredicted": round(incl("relay::Worker::process_burst(", table=missed) +
                                 incl("relay::Worker::flush(", table=missed), 3)}
    row["stages"].update({label: round(incl(*keys), 1) for label, keys in stages})
    results.append(row)

labels = list(results[0]["stages"])
print(f"\ninstructions per packet (inclusive), {packets} packets a scenario\n")
width = max(len(label) for label in labels) + 2
col = max(len(r["scenario"]) for r in results) + 2
print(f"{'stage':{width}}" + "".join(f"{r['scenario']:>{col}}" for r in results))
for label in labels:
    print(f"{label:{width}}" + "".join(f"{r['stages'][label]:>{col}.1f}" for r in results))
print(f"{'pipeline (burst + flush)':{width}}" + "".join(f"{r['pipeline']:>{col}.1f}" for r in results))
print(f"{'baseline io-forward':{width}}" + "".join(f"{r['baseline']:>{col}.1f}" for r in results))
print(f"{'mispredicted branches (pipeline)':{width}}" +
      "".join(f"{r['mispredicted']:>{col}.3f}" for r in results))
print("\nThe first row is process_burst's own instructions, with what is inlined into it: "
      "the burst loop,\nthe classifier-free dispatch of direct relay ranges, the flow cache "
      "(lookups, inserts and\nthe rewrite of cached flows), the general parse, DEST, local "
      "delivery and the route\n(prerouting), SOURCE rewrites, the next hop's MAC (resolve) "
      "and putting packets on TX\nlists. The other stages are calls, inclusive: "
      "relay_direct with the relay path\ninlined into it. Mispredicted branches: conditional "
      "branches per packet that\ncallgrind's model of a branch predictor gets wrong.")
with open(out, "w") as f:
    json.dump({"packets_per_scenario": packets, "results": results}, f, indent=2)
PY
log "written to $JSON"
