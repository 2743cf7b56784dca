#!/bin/bash
# Qualitative comparison, on this machine, of the same stateless 1:1 address
# rewrite done by the kernel (nftables) and by dpdk-relay (DEST/SOURCE), with the
# same traffic generator and the same veths. Not a test and not a benchmark of
# record: veths, namespaces and a generator sharing the CPUs say little about a
# real NIC. It measures packets per second DELIVERED to a sink:
#
#   ns gen: dpdk-testpmd txonly      ns mid: the rewriter               ns sink
#   eth0 10.79.1.2 ----------- kcPIDc 10.79.1.1   kcPIDs 10.79.2.1 ----------- eth0 10.79.2.10
#   UDP 10.79.1.2:9000 -> 203.0.113.10:9    --DEST-->    10.79.1.2:9000 -> 10.79.2.10:9
#
# Modes, all with the same two rules: DEST 203.0.113.10 -> 10.79.2.10 before
# routing, SOURCE 10.79.2.10 -> 203.0.113.10 out of the generator's side after
# routing (the one-way test flow hits DEST; SOURCE is evaluated and misses):
#   kernel     nftables in ns mid: `ip daddr set` in a prerouting chain that also
#              says notrack (no conntrack), `ip saddr set` in postrouting; IPv4
#              forwarding on in ns mid only; static neighbours.
#   af_packet  dpdk-relay, 1 worker, owns both middle veth ends with net_af_packet.
#   af_xdp     the same with net_af_xdp (one queue; veth has no zero copy, so XDP
#              copy mode). If it does not start, the reason is reported.
# CPUs: the generator (both testpmd lcores) runs on CPU 0, the middle box on CPU 1:
# dpdk-relay's worker lcore (-l 0-1: main lcore 0, worker 1) and, with KC_RX=napi
# (default), the middle's receive processing too: GRO on the generator-facing
# veth end gives it a NAPI instance (UDP is not merged: rx-udp-gro-forwarding is
# off), made threaded and pinned to CPU 1. That kthread runs the kernel's
# forwarding and nftables, af_packet's copy into its ring, or XDP and the AF_XDP
# copy. KC_RX=sender keeps veth's default, where all that runs in the softirq of
# the sending CPU (CPU 0, the generator's); KC_RX=rps steers it to CPU 1 with RPS
# (much slower here: a cross-CPU kick for nearly every packet, on a VM).
# With napi, dpdk-relay's busy-polling worker and the kthread share CPU 1.
#
# Counting: offered = frames the generator put on its veth (gen eth0 tx_packets +
# tx_dropped: those the middle's input refused count as offered); delivered =
# frames that reached the sink rewritten (an nftables counter at netdev ingress of
# the sink's eth0, which drops them there so the sink's stack costs nothing);
# middle = frames the rewriter rewrote (the nft rule's counter, dpdk-relay's
# rewritten_dest). Each run: generator started, WARMUP s, counters read, DURATION
# s, counters read, generator stopped. Each (mode, frame size) runs REPS times,
# interleaved with the other modes; the table shows medians. Frame size is the
# length on the veth (Ethernet header included, no FCS). The busy share of each
# CPU over the window is recorded too (from /proc/stat: other work counts).
# A row with delivered/offered >= 0.95 is marked generator-bound: the middle kept
# up, so its figure is only a lower bound of what the middle can do.
#
# Run as root (installs nftables and what else is missing with apt-get):
#   scripts/kernel_compare.sh [options] [DPDK_RELAY]
# Options (or environment):
#   -o FILE   KC_JSON      JSON output (default kernel-compare.json)
#   -d SEC    KC_DURATION  measured seconds per run (default 10)
#   -w SEC    KC_WARMUP    warm-up seconds per run (default 3)
#   -r N      KC_REPS      runs per mode and size (default 3)
#   -s LIST   KC_SIZES     frame sizes, comma-separated (default 64,512)
#   -m LIST   KC_MODES     modes, comma-separated (default kernel,af_packet,af_xdp)
#             KC_RX        napi (default), sender or rps: see CPUs above
#             KC_KEEP_LOGS non-empty: keep the generator's and dpdk-relay's logs
#   DPDK_RELAY (or RELAY_BIN): a dpdk-relay binary; by default this tree's
#             release build, which the script builds (build-release, or
#             RELAY_BENCH_BUILD_DIR)
# A debug build checks every checksum fixup in full: measure a release build.
# Everything it creates (namespaces, veths, processes, /var/run/dpdk/kc-*) goes
# on exit, failure or signal.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"

usage() {
    sed -n '/^# Run as root/,/^# A debug build/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

JSON=${KC_JSON:-kernel-compare.json}
DURATION=${KC_DURATION:-10}
WARMUP=${KC_WARMUP:-3}
REPS=${KC_REPS:-3}
SIZES=${KC_SIZES:-64,512}
MODES=${KC_MODES:-kernel,af_packet,af_xdp}
RX=${KC_RX:-napi}
while getopts 'o:d:w:r:s:m:h' opt; do
    case $opt in
        o) JSON=$OPTARG ;;
        d) DURATION=$OPTARG ;;
        w) WARMUP=$OPTARG ;;
        r) REPS=$OPTARG ;;
        s) SIZES=$OPTARG ;;
        m) MODES=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
RELAY_BIN=${1:-${RELAY_BIN:-}}
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
IFS=, read -r -a MODE_LIST <<<"$MODES"
for v in "$DURATION" "$WARMUP" "$REPS" "${SIZE_LIST[@]}"; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "not a whole number: '$v'"
done
if [ "$DURATION" -eq 0 ] || [ "$REPS" -eq 0 ]; then die "duration and repetitions must be > 0"; fi
for v in "${SIZE_LIST[@]}"; do
    if [ "$v" -lt 60 ] || [ "$v" -gt 1514 ]; then die "frame size $v: 60 to 1514 bytes"; fi
done
for v in "${MODE_LIST[@]}"; do
    case $v in kernel | af_packet | af_xdp) ;; *) die "unknown mode '$v' (kernel, af_packet, af_xdp)" ;; esac
done
case $RX in napi | sender | rps) ;; *) die "KC_RX=$RX: napi, sender or rps" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, veth, af_packet, nftables)"
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (generator on CPU 0, middle box on CPU 1)"

DEPS=(dpdk nftables ethtool iproute2 util-linux python3)
RELAY_MODES=
[[ " ${MODE_LIST[*]} " == *" af_"* ]] && RELAY_MODES=1
[ -n "$RELAY_MODES" ] && [ -z "$RELAY_BIN" ] && DEPS+=("${BUILD_DEPS[@]}")
install_deps || die "missing packages (see above)"
for tool in dpdk-testpmd nft ethtool taskset "$RELAY_PY"; do
    command -v "$tool" >/dev/null || die "$tool missing"
done
if [ -n "$RELAY_MODES" ]; then
    if [ -z "$RELAY_BIN" ]; then
        release_build src/control/dpdk-relay
        RELAY_BIN=$RELEASE_DIR/src/control/dpdk-relay
    fi
    [ -x "$RELAY_BIN" ] || die "$RELAY_BIN is not an executable"
fi

VIP=203.0.113.10             # the address the generator sends to, mapped to the sink
GEN=10.79.1.2                # the generator
MID_C=10.79.1.1              # the middle on the generator's side
MID_S=10.79.2.1              # the middle on the sink's side
SINK=10.79.2.10
SPORT=9000
DPORT=9
MID_CPU=1                    # the middle box's CPU; the generator's is 0
PFX="rlyk$$"                 # namespaces PFX-r (middle), PFX-c1 (gen), PFX-s1 (sink)
NS_RELAY="$PFX-r"            # lib.sh's name for the middle namespace
NS_GEN="$PFX-c1"
NS_SINK="$PFX-s1"
IF_C="kc$$c"                 # the middle's veth ends, unique to find their NAPI kthread
IF_S="kc$$s"
GEN_FPREFIX="kc-gen-$$"
RELAY_FPREFIX="kc-relay-$$"
TMP=$(mktemp -d)
RESULTS="$TMP/results.tsv"   # one line a run, see measure
FAILED="$TMP/failed.tsv"     # mode reason
RELAY_PID=
GEN_PID=
: >"$RESULTS"
: >"$FAILED"

cleanup() {
    stop_child
    stop_gen
    relay_stop 5
    netns_teardown "$PFX"
    dpdk_runtime_cleanup "$GEN_FPREFIX"
    dpdk_runtime_cleanup "$RELAY_FPREFIX"
    if [ -n "${KC_KEEP_LOGS:-}" ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Topology: lib.sh's netns_add_host cables each host to the middle and turns the
# host side's offloads off (complete checksums, no TSO/GRO) and GRO off on the
# middle side.
netns_sweep_stale
ip netns add "$NS_RELAY" || die "cannot create namespace $NS_RELAY"
netns_quiet "$NS_RELAY"
ip -n "$NS_RELAY" link set lo up
netns_add_host "$NS_GEN" "$GEN/24" "$MID_C" "$IF_C" || die "cannot build $NS_GEN"
netns_add_host "$NS_SINK" "$SINK/24" "$MID_S" "$IF_S" || die "cannot build $NS_SINK"
nsx "$NS_RELAY" sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$IF_C.rp_filter=0" "net.ipv4.conf.$IF_S.rp_filter=0"
case $RX in
    napi)
        nsx "$NS_RELAY" ethtool -K "$IF_C" gro on rx-udp-gro-forwarding off rx-gro-list off >/dev/null ||
            die "cannot turn GRO on on $IF_C (KC_RX=sender runs without)"
        nsx "$NS_RELAY" sh -c "echo 1 >/sys/class/net/$IF_C/threaded" ||
            die "cannot make $IF_C's NAPI threaded (KC_RX=sender runs without)" ;;
    rps)
        nsx "$NS_RELAY" sh -c "printf %x $((1 << MID_CPU)) >/sys/class/net/$IF_C/queues/rx-0/rps_cpus" ||
            die "cannot set RPS on $IF_C" ;;
esac
MAC_C=$(nsx "$NS_RELAY" cat "/sys/class/net/$IF_C/address")
MAC_GEN=$(nsx "$NS_GEN" cat /sys/class/net/eth0/address)
MAC_SINK=$(nsx "$NS_SINK" cat /sys/class/net/eth0/address)
# The sink counts the test flow as it arrives rewritten and drops it at ingress;
# anything still addressed to the VIP is counted apart (it must stay 0).
nsx "$NS_SINK" nft -f - <<EOF || die "nftables in $NS_SINK failed"
table netdev kc {
    counter delivered {}
    counter unrewritten {}
    chain in {
        type filter hook ingress device "eth0" priority 0; policy accept;
        ip saddr $GEN ip daddr $SINK udp dport $DPORT counter name "delivered" drop
        ip daddr $VIP counter name "unrewritten" drop
    }
}
EOF

# pin_napi: the NAPI kthread of IF_C onto MID_CPU (it is created anew when the
# veth's NAPI is, e.g. when an XDP program is attached).
pin_napi() {
    local f pid n=0
    [ "$RX" = napi ] || return 0
    for f in /proc/[0-9]*/status; do
        grep -q "^Name:[[:space:]]*napi/$IF_C" "$f" 2>/dev/null || continue
        pid=${f#/proc/}
        pid=${pid%/status}
        taskset -p -c "$MID_CPU" "$pid" >/dev/null && n=$((n + 1))
    done
    [ "$n" -gt 0 ] || log "  WARNING: no NAPI kthread napi/$IF_C-* found to pin"
}

# nft_packets NS FAMILY TABLE COUNTER
nft_packets() {
    nsx "$1" nft list counter "$2" "$3" "$4" 2>/dev/null | awk '$1 == "packets" { print $2; exit }'
}
relay_rewritten() {
    jget "$(telemetry "$RELAY_FPREFIX" /relay/stats 2>/dev/null)" "u['total'].get('rewritten_dest', 0)" 2>/dev/null
}

# snapshot MODE: "SECONDS OFFERED DELIVERED MIDDLE UNREWRITTEN", counters since
# the namespaces were built (the middle's since the mode started); the first
# two lines of per-CPU times of /proc/stat go to TMP/stat.
snapshot() {
    local t gtx gdrop del unrew mid
    t=$(date +%s.%N)
    grep -E '^cpu[01] ' /proc/stat >"$TMP/stat.$2"
    read -r gtx gdrop < <(nsx "$NS_GEN" cat /sys/class/net/eth0/statistics/tx_packets \
        /sys/class/net/eth0/statistics/tx_dropped | tr '\n' ' ')
    del=$(nft_packets "$NS_SINK" netdev kc delivered)
    unrew=$(nft_packets "$NS_SINK" netdev kc unrewritten)
    case $1 in
        kernel) mid=$(nft_packets "$NS_RELAY" ip kc rewritten) ;;
        *) mid=$(relay_rewritten) ;;
    esac
    echo "$t $((gtx + gdrop)) ${del:-0} ${mid:-0} ${unrew:-0}"
}

# ---------------------------------------------------------------------------
# The middle box, one mode at a time.
kernel_up() {
    local ns=$NS_RELAY
    ip -n "$ns" addr add "$MID_C/24" dev "$IF_C" || return 1
    ip -n "$ns" addr add "$MID_S/24" dev "$IF_S" || return 1
    ip -n "$ns" neigh replace "$SINK" lladdr "$MAC_SINK" dev "$IF_S" nud permanent || return 1
    ip -n "$ns" neigh replace "$GEN" lladdr "$MAC_GEN" dev "$IF_C" nud permanent || return 1
    nsx "$ns" nft -f - <<EOF || return 1
table ip kc {
    counter rewritten {}
    chain pre {
        type filter hook prerouting priority raw; policy accept;
        notrack
        ip daddr $VIP counter name "rewritten" ip daddr set $SINK
    }
    chain post {
        type filter hook postrouting priority 100; policy accept;
        ip saddr $SINK oifname "$IF_C" ip saddr set $VIP
    }
}
EOF
    nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
}
kernel_down() {
    local ns=$NS_RELAY
    nsx "$ns" sysctl -qw net.ipv4.ip_forward=0
    nsx "$ns" nft flush ruleset
    ip -n "$ns" neigh flush dev "$IF_C" 2>/dev/null
    ip -n "$ns" neigh flush dev "$IF_S" 2>/dev/null
    ip -n "$ns" addr flush dev "$IF_C"
    ip -n "$ns" addr flush dev "$IF_S"
}

# relay_up MODE: dpdk-relay in ns mid on both veth ends, 1 worker lcore.
relay_up() {
    local mode=$1 dev0 dev1 vdevs i
    RELAY_WHY=
    case $mode in
        af_packet)
            dev0=net_af_packet0 dev1=net_af_packet1
            vdevs=(--vdev "$dev0,iface=$IF_C" --vdev "$dev1,iface=$IF_S") ;;
        af_xdp)
            dev0=net_af_xdp0 dev1=net_af_xdp1
            vdevs=(--vdev "$dev0,iface=$IF_C,start_queue=0,queue_count=1"
                   --vdev "$dev1,iface=$IF_S,start_queue=0,queue_count=1") ;;
    esac
    cat >"$TMP/relay.yaml" <<EOF
ports:
  - { name: client, device: $dev0, address: $MID_C/24 }
  - { name: server, device: $dev1, address: $MID_S/24 }
rules:
  - "-A PREROUTING -d $VIP -j DEST --to=$SINK"
  - "-A POSTROUTING -s $SINK -o client -j SOURCE --to=$VIP"
neighbours:
  - { address: $SINK, mac: "$MAC_SINK" }
  - { address: $GEN, mac: "$MAC_GEN" }
EOF
    RELAY_LOG="$TMP/relay-$mode.log"
    : >"$RELAY_LOG"
    # shellcheck disable=SC2046 # eal_lcores and eal_memory print several words
    ip netns exec "$NS_RELAY" "$RELAY_BIN" $(eal_lcores 1) $(eal_memory nohuge 512) --no-pci \
        --file-prefix "$RELAY_FPREFIX" "${vdevs[@]}" -- --config "$TMP/relay.yaml" \
        >"$RELAY_LOG" 2>&1 </dev/null &
    RELAY_PID=$!
    for ((i = 0; i < 300; i++)); do
        grep -qs '^dpdk-relay: ready' "$RELAY_LOG" && return 0
        if ! kill -0 "$RELAY_PID" 2>/dev/null; then
            wait "$RELAY_PID"
            RELAY_WHY="exited $?"
            RELAY_PID=
            return 1
        fi
        sleep 0.1
    done
    RELAY_WHY="not ready after 30 s"
    return 1
}
relay_down() {
    relay_stop 10
    dpdk_runtime_cleanup "$RELAY_FPREFIX"
}

# ---------------------------------------------------------------------------
# The generator: dpdk-testpmd txonly on an af_packet port on gen's eth0, both
# lcores on CPU 0 (the main lcore only sleeps and prints stats).
start_gen() {
    local size=$1
    GEN_LOG="$TMP/gen-$size.log"
    : >"$GEN_LOG"
    ip netns exec "$NS_GEN" dpdk-testpmd --lcores 0@0,1@0 --no-huge -m 256 --no-pci \
        --file-prefix "$GEN_FPREFIX" --vdev "net_af_packet0,iface=eth0,qdisc_bypass=1" -- \
        --forward-mode=txonly --nb-cores=1 --rxq=1 --txq=1 --total-num-mbufs=8192 \
        --eth-peer="0,$MAC_C" --tx-ip="$GEN,$VIP" --tx-udp="$SPORT,$DPORT" \
        --txpkts="$size" --stats-period=5 >"$GEN_LOG" 2>&1 </dev/null &
    GEN_PID=$!
    wait_ready "$GEN_PID" "$GEN_LOG" 'packet forwarding - ports=' && return 0
    [ -n "$READY_RC" ] && GEN_PID=
    return 1
}
stop_gen() {
    if [ -n "$GEN_PID" ]; then
        stop_pid "$GEN_PID" 10
        GEN_PID=
    fi
    dpdk_runtime_cleanup "$GEN_FPREFIX"
}

# measure MODE SIZE REP: one run; appends to RESULTS: mode size rep seconds
# offered delivered middle unrewritten, then busy, user, system and softirq
# shares of CPU 0 and of CPU 1.
measure() {
    local mode=$1 size=$2 rep=$3 a b
    start_gen "$size" || { log "  the generator did not start: $(why_failed "$GEN_LOG")"; return 1; }
    pin_napi
    run_child sleep "$WARMUP"
    a=$(snapshot "$mode" a)
    run_child sleep "$DURATION"
    b=$(snapshot "$mode" b)
    stop_gen
    # shellcheck disable=SC2086 # a and b are five numbers each
    set -- $a $b
    # /proc/stat: cpuN user nice system idle iowait irq softirq steal ...
    awk -v m="$mode" -v s="$size" -v r="$rep" -v t0="$1" -v t1="$6" \
        -v o="$(($7 - $2))" -v d="$(($8 - $3))" -v x="$(($9 - $4))" -v u="$((${10} - $5))" '
        FNR == NR { for (k = 2; k <= 9; k++) before[$1, k] = $k; next }
        {
            tot = 0
            for (k = 2; k <= 9; k++) { v[k] = $k - before[$1, k]; tot += v[k] }
            if (tot <= 0) tot = 1
            cpu[$1] = sprintf("%.2f\t%.2f\t%.2f\t%.2f", 1 - (v[5] + v[6]) / tot,
                              (v[2] + v[3]) / tot, v[4] / tot, v[8] / tot)
            split(cpu[$1], c, "\t")
            txt[$1] = sprintf("%s %2.0f%% busy (%2.0f%% softirq)", $1, 100 * c[1], 100 * c[4])
        }
        END {
            dt = t1 - t0
            printf "%s\t%d\t%d\t%.3f\t%d\t%d\t%d\t%d\t%s\t%s\n", m, s, r, dt, o, d, x, u, cpu["cpu0"], cpu["cpu1"]
            printf "  %-9s %4d B  run %d: offered %7.0f pps, delivered %7.0f pps, middle %7.0f pps; %s, %s%s\n",
                m, s, r, o / dt, d / dt, x / dt, txt["cpu0"], txt["cpu1"],
                (u ? "; NOT REWRITTEN " u : "") > "/dev/stderr"
        }' "$TMP/stat.a" "$TMP/stat.b" >>"$RESULTS"
}

declare -A MODE_FAILED=()
log "kernel_compare: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
log "  modes ${MODE_LIST[*]}, frames ${SIZE_LIST[*]} B, ${REPS} x (${WARMUP} s warm-up + ${DURATION} s)," \
    "generator on CPU 0, middle on CPU $MID_CPU, receive path KC_RX=$RX"
for ((rep = 1; rep <= REPS; rep++)); do
    for mode in "${MODE_LIST[@]}"; do
        [ -n "${MODE_FAILED[$mode]:-}" ] && continue
        if [ "$mode" = kernel ]; then
            if ! kernel_up; then
                kernel_down
                MODE_FAILED[$mode]=1
                printf '%s\t%s\n' "$mode" "nftables set-up failed" >>"$FAILED"
                continue
            fi
        elif ! relay_up "$mode"; then
            reason="dpdk-relay did not start ($RELAY_WHY): $(why_failed "$RELAY_LOG")"
            log "  $mode: $reason"
            printf '%s\t%s\n' "$mode" "$reason" >>"$FAILED"
            MODE_FAILED[$mode]=1
            relay_down
            continue
        fi
        for size in "${SIZE_LIST[@]}"; do
            measure "$mode" "$size" "$rep" || die "the generator failed"
        done
        if [ "$mode" = kernel ]; then kernel_down; else relay_down; fi
    done
done

# ---------------------------------------------------------------------------
"$RELAY_PY" - "$RESULTS" "$FAILED" "$JSON" "$RELAY_BIN" "$DURATION" "$WARMUP" "$REPS" "$RX" <<'EOF'
import json, os, platform, statistics, subprocess, sys
results, failed, out, relay_bin, duration, warmup, reps, rx = sys.argv[1:]
runs = {}
for line in open(results):
    f = line.rstrip("\n").split("\t")
    m, s, r, dt, o, d, x, u = f[:8]
    c = [float(v) for v in f[8:16]]
    dt = float(dt)
    cpus = {f"cpu{n}": dict(zip(("busy", "user", "system", "softirq"), c[4 * n:4 * n + 4])) for n in (0, 1)}
    runs.setdefault((m, int(s)), []).append({
        "run": int(r), "seconds": round(dt, 3), "offered_pps": round(int(o) / dt),
        "delivered_pps": round(int(d) / dt), "middle_rewritten_pps": round(int(x) / dt),
        "delivered_not_rewritten": int(u), "cpu_share": cpus})
fails = [dict(zip(("mode", "reason"), l.rstrip("\n").split("\t", 1))) for l in open(failed) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True,
            text=True).stdout.splitlines() if l.startswith("Model name:")), "?")
rows = []
for (m, s), rs in runs.items():
    med = lambda k: round(statistics.median(r[k] for r in rs))
    ratio = round(statistics.median(r["delivered_pps"] / r["offered_pps"] if r["offered_pps"] else 0
                                    for r in rs), 3)
    rows.append({"mode": m, "frame_bytes": s, "offered_pps": med("offered_pps"),
                 "delivered_pps": med("delivered_pps"), "delivered_ratio": ratio,
                 "middle_rewritten_pps": med("middle_rewritten_pps"),
                 "middle_cpu_busy": round(statistics.median(r["cpu_share"]["cpu1"]["busy"] for r in rs), 2),
                 # The middle kept up: the generator, not the middle, set the rate.
                 "generator_bound": ratio >= 0.95, "runs": rs})
doc = {
    "what": "packets per second delivered through a stateless 1:1 rewrite (DEST/SOURCE), "
            "kernel nftables vs dpdk-relay, over veths between network namespaces. "
            "QUALITATIVE: generator and middle box share a small machine; figures are "
            "medians of the runs, each computed on its own",
    "machine": {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
                "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
    "method": {"generator": "dpdk-testpmd txonly on net_af_packet (gen eth0), CPU 0",
               "middle_cpu": 1, "middle_receive_path": rx,
               "offered": "gen eth0 tx_packets + tx_dropped",
               "delivered": "nft netdev ingress counter in the sink, rewritten flow only",
               "warmup_s": int(warmup), "duration_s": int(duration), "runs": int(reps),
               "dpdk_relay": relay_bin, "dpdk_relay_workers": 1},
    "results": rows, "failed": fails}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print(f"\nQUALITATIVE ({cpu}, {os.cpu_count()} CPUs, shared): medians of {reps} run(s) of {duration} s,"
      f" receive path {rx}")
print(f"{'mode':<10} {'frame B':>7} {'offered pps':>12} {'delivered pps':>14} {'delivered/offered':>18}"
      f" {'CPU 1 busy':>10}")
for r in rows:
    print(f"{r['mode']:<10} {r['frame_bytes']:>7} {r['offered_pps']:>12} {r['delivered_pps']:>14} "
          f"{r['delivered_ratio']:>18.3f} {100 * r['middle_cpu_busy']:>9.0f}%"
          + ("  (generator-bound: the middle kept up)" if r["generator_bound"] else ""))
print("CPU 1 (the middle box's) busy share includes whatever else ran there.")
for f in fails:
    print(f"{f['mode']:<10} FAILED: {f['reason']}")
print(f"written to {out}")
sys.exit(0 if rows else 1)
EOF
