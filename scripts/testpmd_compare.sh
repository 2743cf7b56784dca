#!/bin/bash
# DPDK's own testpmd (io forwarding: receive a burst, send it untouched) as an
# external baseline for dpdk-relay, on this machine. Both programs run, one
# after the other, on the SAME two virtual devices fed with the SAME packets,
# and the packet rate each sustains is compared. Indicative only: one forwarding
# core of a small, possibly shared machine and virtual devices, not a NIC.
#
#   port 0 net_pcap0  rx_pcap=FILE,infinite_rx=1: replays FILE forever from
#                     memory (each frame copied into a fresh mbuf), so feeding
#                     costs both programs the same; its TX counts and frees.
#   port 1 net_null0  no-rx=1: receives nothing, its TX counts and frees.
#
# Traffic (one pcap file each, FRAME bytes a frame, no FCS, built with scapy):
#   relay    UDP between endpoints A 10.80.0.11 and B 10.80.0.12 on NPORTS relay
#            ports (3000 up) of dpdk-relay's address 10.80.0.1, A and B sending
#            alternately. The first replay teaches the relay its endpoints; after
#            that every frame is relayed, back out of port 0 (where the endpoints
#            are). testpmd: --port-topology=loop, port 0 -> port 0.
#   rewrite  UDP from 2*NPORTS source address/port pairs to 203.0.113.10, which a
#            DEST rule maps to 10.1.0.53 on port 1's subnet (static neighbour, no
#            ARP): rewritten and routed out of port 1. testpmd: paired topology,
#            port 0 -> port 1.
# dpdk-relay runs one config with both rules (a table that small is tried entry
# by entry, and after the warm-up every rewritten flow is in the worker's flow
# cache), relay ports enabled from the start. Its useful work is checked
# from /relay/stats: relayed_packets (relay) or rewritten_dest and
# forwarded_packets (rewrite) must be nearly all of what it received, so the
# figure is relaying or rewriting, not dropping.
#
# Both programs: -l 0-1 (main lcore 0, one worker / forwarding lcore 1), one
# queue pair, 1024 descriptors, bursts of 32, --no-pci, EAL memory by
# eal_memory (hugepages when enough are free, else --no-huge; decided once for
# all runs), a file prefix of their own. Each run: start, WARMUP s, ethdev
# counters read over the telemetry socket, DURATION s, read again; the rate is
# port 0's ipackets over the window (the same method for both programs). Each
# (traffic, program) pair runs REPS times, testpmd and dpdk-relay interleaved;
# the table shows medians and the spread (min-max). Also recorded per run: the
# share of the window the forwarding thread was on a CPU and waiting for one
# (/proc/PID/task/TID/schedstat: other work on CPU 1 shows there), CPU 1's steal
# share, CPU 0's busy share (only the sleeping main lcore is ours there: the rest
# is other work) and the load average (which counts our own polling thread, ~1).
#
# Run as root (installs what is missing with apt-get):
#   scripts/testpmd_compare.sh [options] [DPDK_RELAY]
# Options (or environment):
#   -o FILE   TC_JSON      JSON output (default testpmd-compare.json)
#   -d SEC    TC_DURATION  measured seconds per run (default 10)
#   -w SEC    TC_WARMUP    warm-up seconds per run (default 3)
#   -r N      TC_REPS      runs per traffic and program (default 3)
#   -t LIST   TC_TRAFFIC   traffic kinds, comma-separated (default relay,rewrite)
#   -s BYTES  TC_FRAME     frame size in the pcap files, 60-1514 (default 64)
#   -n N      TC_NPORTS    relay ports (default 1000; each pcap holds 2*N frames)
#   -m MODE   TC_MEMORY    auto (default: hugepages if free) or nohuge
#             TC_KEEP_LOGS non-empty: keep the logs, configs and pcap files
#   DPDK_RELAY (or RELAY_BIN): a dpdk-relay binary; by default this tree's
#             release build, which the script builds (build-release, or
#             RELAY_BENCH_BUILD_DIR)
# A debug build checks every checksum fixup in full: measure a release build.
# Everything it creates (processes, /var/run/dpdk/tpc-*, temp files) goes on
# exit, failure or signal.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/lib.sh"

usage() {
    sed -n '/^# Run as root/,/^# A debug build/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

JSON=${TC_JSON:-testpmd-compare.json}
DURATION=${TC_DURATION:-10}
WARMUP=${TC_WARMUP:-3}
REPS=${TC_REPS:-3}
TRAFFIC=${TC_TRAFFIC:-relay,rewrite}
FRAME=${TC_FRAME:-64}
NPORTS=${TC_NPORTS:-1000}
MEMORY=${TC_MEMORY:-auto}
while getopts 'o:d:w:r:t:s:n:m:h' opt; do
    case $opt in
        o) JSON=$OPTARG ;;
        d) DURATION=$OPTARG ;;
        w) WARMUP=$OPTARG ;;
        r) REPS=$OPTARG ;;
        t) TRAFFIC=$OPTARG ;;
        s) FRAME=$OPTARG ;;
        n) NPORTS=$OPTARG ;;
        m) MEMORY=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
RELAY_BIN=${1:-${RELAY_BIN:-}}
IFS=, read -r -a TRAFFIC_LIST <<<"$TRAFFIC"
for v in "$DURATION" "$WARMUP" "$REPS" "$FRAME" "$NPORTS"; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "not a whole number: '$v'"
done
if [ "$DURATION" -eq 0 ] || [ "$REPS" -eq 0 ]; then die "duration and repetitions must be > 0"; fi
if [ "$FRAME" -lt 60 ] || [ "$FRAME" -gt 1514 ]; then die "frame size $FRAME: 60 to 1514 bytes"; fi
if [ "$NPORTS" -lt 1 ] || [ "$NPORTS" -gt 1000 ]; then
    # 2*NPORTS frames sit in the pcap PMD's replay ring, taken from the RX mbuf
    # pool, which dpdk-relay sizes for its descriptors (about 5,700 mbufs here).
    die "relay ports $NPORTS: 1 to 1000"
fi
[ ${#TRAFFIC_LIST[@]} -gt 0 ] || die "no traffic given"
for v in "${TRAFFIC_LIST[@]}"; do
    case $v in relay | rewrite) ;; *) die "unknown traffic '$v' (relay, rewrite)" ;; esac
done
case $MEMORY in auto | nohuge) ;; *) die "memory mode '$MEMORY': auto or nohuge" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (DPDK runtime directories, telemetry sockets)"
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (main lcore 0, forwarding lcore 1)"

DEPS=(dpdk dpdk-dev python3-scapy python3 util-linux coreutils)
[ -n "$RELAY_BIN" ] || DEPS+=("${BUILD_DEPS[@]}")
install_deps || die "missing packages (see above)"
if [ -z "$RELAY_BIN" ]; then
    release_build src/control/dpdk-relay
    RELAY_BIN=$RELEASE_DIR/src/control/dpdk-relay
fi
for tool in dpdk-testpmd /usr/bin/dpdk-telemetry.py lscpu stdbuf "$RELAY_PY"; do
    command -v "$tool" >/dev/null || die "$tool missing"
done
[ -x "$RELAY_BIN" ] || die "$RELAY_BIN is not an executable"
"$RELAY_PY" -c 'import scapy.all' 2>/dev/null || die "$RELAY_PY does not see scapy (python3-scapy)"

RELAY_ADDR=10.80.0.1         # dpdk-relay's address on port 0 (the feed)
EP_A=10.80.0.11              # relay endpoints A and B
EP_B=10.80.0.12
SINK_ADDR=10.1.0.1           # dpdk-relay's address on port 1 (the sink)
VIP=203.0.113.10             # the DEST rule's match ...
VIP_TO=10.1.0.53             # ... and its target, a static neighbour on port 1
VIP_TO_MAC=02:00:00:01:00:35
RELAY_LO=3000
RELAY_HI=$((RELAY_LO + NPORTS - 1))
FEED_DEV=net_pcap0
SINK_DEV=net_null0
PMD_FPREFIX="tpc-pmd-$$"
RELAY_FPREFIX="tpc-relay-$$"
PMD_MBUFS=8192               # testpmd's pool; dpdk-relay sizes its own (~5,700)
TMP=$(mktemp -d /tmp/testpmd-compare.XXXXXX)
RESULTS="$TMP/results.jsonl" # one JSON line a run, from measure.py
FAILED="$TMP/failed.tsv"     # traffic program reason
read -r -a EAL_MEM <<<"$(eal_memory "$MEMORY" 512)"
PROG_PID=
PROG_FPREFIX=
: >"$RESULTS"
: >"$FAILED"

cleanup() {
    stop_child
    stop_prog
    dpdk_runtime_cleanup "$PMD_FPREFIX"
    dpdk_runtime_cleanup "$RELAY_FPREFIX"
    if [ -n "${TC_KEEP_LOGS:-}" ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Programs. start_prog pmd|relay TRAFFIC PCAP [LOG]: starts one in the background,
# sets PROG_PID and PROG_FPREFIX, waits until it forwards. PROG_WHY says why not.
eal_vdevs() {
    echo "--vdev $FEED_DEV,rx_pcap=$1,infinite_rx=1 --vdev $SINK_DEV,no-rx=1"
}
start_prog() {
    local prog=$1 traffic=$2 pcap=$3 ready topo=paired
    PROG_LOG=${4:-$TMP/$prog-$traffic.log}
    PROG_WHY=
    : >"$PROG_LOG"
    case $prog in
        pmd)
            PROG_FPREFIX=$PMD_FPREFIX
            ready='packet forwarding - ports='
            [ "$traffic" = relay ] && topo=loop
            # --stats-period keeps testpmd running without a terminal; its main
            # lcore then sleeps a second at a time, and prints nothing this long.
            # testpmd's stdout is a file: line-buffer it, or "ready" shows at exit.
            # shellcheck disable=SC2046 # eal_vdevs prints several words
            stdbuf -oL -eL dpdk-testpmd -l 0-1 "${EAL_MEM[@]}" --no-pci --file-prefix "$PROG_FPREFIX" \
                $(eal_vdevs "$pcap") -- --forward-mode=io --port-topology="$topo" \
                --nb-cores=1 --rxq=1 --txq=1 --rxd=1024 --txd=1024 --burst=32 \
                --total-num-mbufs=$PMD_MBUFS --auto-start --stats-period=86400 \
                >"$PROG_LOG" 2>&1 </dev/null &
            ;;
        relay)
            PROG_FPREFIX=$RELAY_FPREFIX
            ready='^dpdk-relay: ready'
            # shellcheck disable=SC2046
            "$RELAY_BIN" -l 0-1 "${EAL_MEM[@]}" --no-pci --file-prefix "$PROG_FPREFIX" \
                $(eal_vdevs "$pcap") -- --config "$TMP/relay.yaml" \
                >"$PROG_LOG" 2>&1 </dev/null &
            ;;
    esac
    PROG_PID=$!
    wait_ready "$PROG_PID" "$PROG_LOG" "$ready" && return 0
    if [ -n "$READY_RC" ]; then
        PROG_WHY="exited $READY_RC"
        PROG_PID=
        dpdk_runtime_cleanup "$PROG_FPREFIX"
        return 1
    fi
    PROG_WHY="not ready after 30 s"
    stop_prog
    return 1
}
# stop_prog: SIGTERM (both stop cleanly on it), SIGKILL after 10 s; sets PROG_RC.
stop_prog() {
    if [ -n "$PROG_PID" ]; then
        stop_pid "$PROG_PID" 10
        PROG_RC=$STOP_RC
        PROG_PID=
    fi
    [ -n "$PROG_FPREFIX" ] && dpdk_runtime_cleanup "$PROG_FPREFIX"
}

# ---------------------------------------------------------------------------
# measure.py PREFIX PID WARMUP DURATION PROG TRAFFIC REP: talks to the telemetry
# socket itself (as dpdk-telemetry.py does), so that each counter reading is
# timestamped right where it is taken; prints one JSON line.
cat >"$TMP/measure.py" <<'EOF'
import json, os, socket, sys, time
prefix, pid, warmup, duration, prog, traffic, rep = sys.argv[1:]
path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
s = None
for _ in range(50):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        break
    except OSError:
        s.close()
        s = None
        time.sleep(0.1)
if s is None:
    sys.exit(f"cannot connect to {path}")
maxlen = json.loads(s.recv(1024))["max_output_len"]

def q(cmd):
    s.send(cmd.encode())
    reply = json.loads(s.recv(maxlen))
    return reply[cmd.split(",")[0]]

ports = {q(f"/ethdev/info,{p}")["name"]: p for p in q("/ethdev/list")}
feed, sink = ports["net_pcap0"], ports["net_null0"]
# The forwarding thread: EAL 22.11 names it rte-worker-1 in both programs.
worker = None
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        if open(f"/proc/{pid}/task/{tid}/comm").read().strip() in ("rte-worker-1", "lcore-worker-1"):
            worker = tid
    except OSError:
        pass

def cpu_times():
    out = {}
    for line in open("/proc/stat"):
        f = line.split()
        if f[0] in ("cpu0", "cpu1"):
            out[f[0]] = [int(v) for v in f[1:9]]
    return out

def snap():
    r = {"cpu": cpu_times()}
    if worker:
        r["sched"] = [int(v) for v in open(f"/proc/{pid}/task/{worker}/schedstat").read().split()[:2]]
    r["t"] = time.monotonic()
    r["feed"] = q(f"/ethdev/stats,{feed}")
    r["sink"] = q(f"/ethdev/stats,{sink}")
    r["t"] = (r["t"] + time.monotonic()) / 2
    if prog == "relay":
        r["relay"] = q("/relay/stats")["total"]
    return r

load = os.getloadavg()[0]
time.sleep(float(warmup))
a = snap()
time.sleep(float(duration))
b = snap()
dt = b["t"] - a["t"]
d = lambda k, port: b[port][k] - a[port][k]
res = {"traffic": traffic, "program": prog, "run": int(rep), "seconds": round(dt, 3),
       "load_1min_at_start": load,
       "feed_rx_packets": d("ipackets", "feed"), "feed_tx_packets": d("opackets", "feed"),
       "sink_tx_packets": d("opackets", "sink"), "sink_rx_packets": d("ipackets", "sink"),
       "feed_rx_nombuf": d("rx_nombuf", "feed"), "feed_imissed": d("imissed", "feed"),
       "tx_errors": d("oerrors", "feed") + d("oerrors", "sink")}
res["rx_pps"] = round(res["feed_rx_packets"] / dt)
if prog == "relay":
    res["relay_stats"] = {k: b["relay"][k] - a["relay"].get(k, 0) for k in b["relay"]
                          if b["relay"][k] != a["relay"].get(k, 0)}
shares = {}
for c in ("cpu0", "cpu1"):
    v = [y - x for x, y in zip(a["cpu"][c], b["cpu"][c])]
    tot = sum(v) or 1
    # user nice system idle iowait irq softirq steal
    shares[c] = {"busy": round(1 - (v[3] + v[4]) / tot, 3), "steal": round(v[7] / tot, 3)}
res["cpu_share"] = shares
if worker:
    wall = dt * 1e9
    res["worker_on_cpu"] = round((b["sched"][0] - a["sched"][0]) / wall, 3)
    res["worker_waiting"] = round((b["sched"][1] - a["sched"][1]) / wall, 3)
print(json.dumps(res))
EOF

# ---------------------------------------------------------------------------
# The config, the same for every run of dpdk-relay.
cat >"$TMP/relay.yaml" <<EOF
ports:
  - { name: feed, device: $FEED_DEV, address: $RELAY_ADDR/24 }
  - { name: sink, device: $SINK_DEV, address: $SINK_ADDR/24 }
rules:
  - "-A PREROUTING -p udp --dport $RELAY_LO:$RELAY_HI -j RELAY"
  - "-A PREROUTING -d $VIP -j DEST --to=$VIP_TO"
neighbours:
  - { address: $VIP_TO, mac: "$VIP_TO_MAC" }
relay:
  initial_state: enabled
EOF
"$RELAY_BIN" --check --config "$TMP/relay.yaml" >"$TMP/check.log" 2>&1 ||
    die "dpdk-relay rejects the config: $(cat "$TMP/check.log")"

# The feed port's MAC, which the frames must be sent to (net_pcap makes one up):
# a short dpdk-relay run on a one-frame file, asked over telemetry.
"$RELAY_PY" - "$TMP/probe.pcap" <<'EOF' || die "scapy failed"
import sys
from scapy.all import Ether, IP, UDP, wrpcap
wrpcap(sys.argv[1], [Ether(dst="ff:ff:ff:ff:ff:ff") / IP(src="10.80.0.99", dst="10.80.0.1") / UDP(dport=9)])
EOF
start_prog relay probe "$TMP/probe.pcap" "$TMP/probe.log" ||
    die "dpdk-relay did not start ($PROG_WHY): $(why_failed "$TMP/probe.log")"
FEED_MAC=
for p in $(jget "$(telemetry "$RELAY_FPREFIX" /ethdev/list)" "' '.join(map(str, u))"); do
    info=$(telemetry "$RELAY_FPREFIX" "/ethdev/info,$p")
    [ "$(jget "$info" "u['name']")" = "$FEED_DEV" ] && FEED_MAC=$(jget "$info" "u['mac_addr'].lower()")
done
stop_prog
[[ "$FEED_MAC" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || die "cannot read $FEED_DEV's MAC (got '$FEED_MAC')"

# The traffic files.
"$RELAY_PY" - "$TMP" "$FRAME" "$FEED_MAC" "$RELAY_ADDR" "$EP_A" "$EP_B" "$RELAY_LO" "$NPORTS" "$VIP" <<'EOF' ||
import sys
from scapy.all import Ether, IP, UDP, Raw, wrpcap
tmp, frame, mac, addr, ep_a, ep_b, lo, n, vip = sys.argv[1:]
frame, lo, n = int(frame), int(lo), int(n)
def pad(p):
    return p / Raw(b"\x00" * max(0, frame - len(p)))
relay = []
for i in range(n):
    for k, ep in enumerate((ep_a, ep_b)):
        relay.append(pad(Ether(src=f"02:00:00:00:00:{11 + k:02x}", dst=mac) /
                         IP(src=ep, dst=addr) / UDP(sport=20000 + i, dport=lo + i)))
rewrite = []
for i in range(2 * n):
    rewrite.append(pad(Ether(src="02:00:00:00:00:20", dst=mac) /
                       IP(src=f"10.80.0.{20 + i % 200}", dst=vip) / UDP(sport=20000 + i, dport=9)))
for name, pkts in (("relay", relay), ("rewrite", rewrite)):
    assert all(len(bytes(p)) == frame for p in pkts), name
    wrpcap(f"{tmp}/{name}.pcap", pkts)
EOF
    die "scapy failed to write the traffic files"

# ---------------------------------------------------------------------------
log "testpmd_compare: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
log "  traffic ${TRAFFIC_LIST[*]}, $FRAME-byte frames, $NPORTS relay ports, ${REPS} x (${WARMUP} s warm-up" \
    "+ ${DURATION} s), EAL memory: ${EAL_MEM[*]}; $FEED_DEV MAC $FEED_MAC"
declare -A FAILED_PAIR=()
for ((rep = 1; rep <= REPS; rep++)); do
    for traffic in "${TRAFFIC_LIST[@]}"; do
        for prog in pmd relay; do
            [ -n "${FAILED_PAIR[$traffic/$prog]:-}" ] && continue
            if ! start_prog "$prog" "$traffic" "$TMP/$traffic.pcap"; then
                reason="did not start ($PROG_WHY): $(why_failed "$PROG_LOG")"
                log "  $traffic $prog: $reason"
                printf '%s\t%s\t%s\n' "$traffic" "$prog" "$reason" >>"$FAILED"
                FAILED_PAIR[$traffic/$prog]=1
                continue
            fi
            if ! run_child "$RELAY_PY" "$TMP/measure.py" "$PROG_FPREFIX" "$PROG_PID" "$WARMUP" \
                "$DURATION" "$prog" "$traffic" "$rep" >>"$RESULTS" 2>"$TMP/measure.err"; then
                reason="measurement failed: $(tr '\n' ' ' <"$TMP/measure.err" | cut -c1-300)"
                log "  $traffic $prog: $reason"
                printf '%s\t%s\t%s\n' "$traffic" "$prog" "$reason" >>"$FAILED"
                FAILED_PAIR[$traffic/$prog]=1
                stop_prog
                continue
            fi
            stop_prog
            jget "$(tail -n 1 "$RESULTS")" "'  %-7s %-10s run %d: %9.0f pps received%s%s; CPU 0 busy %.0f%%' % (
                j['traffic'], 'testpmd' if j['program'] == 'pmd' else 'dpdk-relay', j['run'], j['rx_pps'],
                '' if j['program'] == 'pmd' else ', relayed %.3f, rewritten %.3f of it' % (
                    j['relay_stats'].get('relayed_packets', 0) / max(1, j['feed_rx_packets']),
                    j['relay_stats'].get('rewritten_dest', 0) / max(1, j['feed_rx_packets'])),
                ('; worker on CPU %.0f%%, waiting %.0f%%' % (100 * j['worker_on_cpu'], 100 * j['worker_waiting'])
                 if 'worker_on_cpu' in j else '; forwarding thread not found'),
                j['cpu_share']['cpu0']['busy'] * 100)" >&2
            [ "${PROG_RC:-0}" -eq 124 ] && log "  (had to be killed)"
        done
    done
done

# ---------------------------------------------------------------------------
"$RELAY_PY" - "$RESULTS" "$FAILED" "$JSON" "$RELAY_BIN" "$DURATION" "$WARMUP" "$REPS" "$FRAME" \
    "$NPORTS" "${EAL_MEM[*]}" <<'EOF'
import json, os, platform, statistics, subprocess, sys
results, failed, out, relay_bin, duration, warmup, reps, frame, nports, eal_mem = sys.argv[1:]
runs = [json.loads(l) for l in open(results) if l.strip()]
fails = [dict(zip(("traffic", "program", "reason"), l.rstrip("\n").split("\t", 2)))
         for l in open(failed) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True,
            text=True).stdout.splitlines() if l.startswith("Model name:")), "?")
NAMES = {"pmd": "testpmd", "relay": "dpdk-relay"}
# Useful work: what the program did with what it received. testpmd io: frames sent
# on (any port); dpdk-relay: frames relayed (relay) or rewritten and routed (rewrite).
def useful(r):
    n = max(1, r["feed_rx_packets"])
    if r["program"] == "pmd":
        return (r["feed_tx_packets"] + r["sink_tx_packets"]) / n
    st = r["relay_stats"]
    if r["traffic"] == "relay":
        return min(st.get("relayed_packets", 0), r["feed_tx_packets"]) / n
    return min(st.get("rewritten_dest", 0), st.get("forwarded_packets", 0), r["sink_tx_packets"]) / n
rows = []
for traffic in dict.fromkeys(r["traffic"] for r in runs):
    row = {"traffic": traffic}
    for prog in ("pmd", "relay"):
        rs = sorted((r for r in runs if r["traffic"] == traffic and r["program"] == prog),
                    key=lambda r: r["run"])
        if not rs:
            continue
        pps = [r["rx_pps"] for r in rs]
        row[NAMES[prog]] = {
            "median_pps": round(statistics.median(pps)), "min_pps": min(pps), "max_pps": max(pps),
            "useful_fraction": round(statistics.median(useful(r) for r in rs), 4),
            "worker_on_cpu_median": round(statistics.median(r.get("worker_on_cpu", 0) for r in rs), 3),
            # CPU 0 holds only the main lcore, which sleeps: what is busy there is other work.
            "cpu0_busy_median": round(statistics.median(r["cpu_share"]["cpu0"]["busy"] for r in rs), 3),
            "runs": rs}
    if "testpmd" in row and "dpdk-relay" in row:
        t, d = row["testpmd"], row["dpdk-relay"]
        row["fraction_of_testpmd"] = round(d["median_pps"] / t["median_pps"], 3) if t["median_pps"] else None
        # Run by run: dpdk-relay's run r against the testpmd run just before it.
        by_run = {r["run"]: r["rx_pps"] for r in t["runs"]}
        per = [r["rx_pps"] / by_run[r["run"]] for r in d["runs"] if by_run.get(r["run"])]
        row["fraction_per_run"] = [round(v, 3) for v in per]
    rows.append(row)
doc = {
    "what": "packets per second received and handled by dpdk-testpmd --forward-mode=io and by "
            "dpdk-relay (1 worker), on the same virtual devices (net_pcap0 infinite_rx replay -> "
            "discarding TX), the same packets. INDICATIVE: one forwarding core of a small, possibly "
            "shared VM; medians of the runs, spread as min-max",
    "machine": {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
                "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
    "method": {"devices": "port 0 net_pcap0 rx_pcap=FILE,infinite_rx=1 (TX counts and frees); "
                          "port 1 net_null0 no-rx=1 (TX counts and frees)",
               "rate": "port 0 ipackets over the window, ethdev telemetry, same for both",
               "lcores": "-l 0-1: main lcore 0, forwarding lcore 1", "eal_memory": eal_mem,
               "frame_bytes": int(frame), "relay_ports": int(nports),
               "testpmd": "--forward-mode=io --nb-cores=1 --rxq=1 --txq=1 --rxd=1024 --txd=1024 "
                          "--burst=32; --port-topology=loop (relay: 0->0) or paired (rewrite: 0->1)",
               "warmup_s": int(warmup), "duration_s": int(duration), "runs": int(reps),
               "dpdk_relay": relay_bin, "dpdk_relay_workers": 1},
    "results": rows, "failed": fails}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print(f"\nINDICATIVE ({cpu}, {os.cpu_count()} CPUs, possibly shared): medians of {reps} run(s) of "
      f"{duration} s, {frame}-byte frames, 1 forwarding lcore; load average now "
      + " ".join(f"{v:.2f}" for v in os.getloadavg()))
print(f"{'traffic':<8} {'testpmd pps':>12} {'(min-max)':>21} {'dpdk-relay pps':>15} {'(min-max)':>21}"
      f" {'fraction':>8} {'per run':>17} {'relay useful':>12}")
mm = lambda x: f"({x['min_pps']}-{x['max_pps']})" if x else ""
for r in rows:
    t, d = r.get("testpmd"), r.get("dpdk-relay")
    print(f"{r['traffic']:<8} {t['median_pps'] if t else '-':>12} {mm(t):>21} "
          f"{d['median_pps'] if d else '-':>15} {mm(d):>21} "
          f"{r.get('fraction_of_testpmd') if r.get('fraction_of_testpmd') is not None else '-':>8} "
          f"{','.join(str(v) for v in r.get('fraction_per_run', [])):>17} "
          f"{(str(round(100 * d['useful_fraction'], 1)) + '%') if d else '-':>12}")
print("CPU 0 busy in the runs (main lcore sleeps; the rest is other work): "
      + ", ".join(f"{r['traffic']} {n} {100 * r[n]['cpu0_busy_median']:.0f}%" for r in rows
                  for n in ("testpmd", "dpdk-relay") if n in r) + " (medians)")
print("relay useful: share of dpdk-relay's received frames relayed and sent (relay) or rewritten, "
      "routed and sent (rewrite), by its counters and port 0's / port 1's TX.")
for r in rows:
    d = r.get("dpdk-relay")
    if d and d["useful_fraction"] < 0.99:
        print(f"WARNING: {r['traffic']}: dpdk-relay handled only {100 * d['useful_fraction']:.1f}% "
              "of what it received: its rate is not all useful work")
for f in fails:
    print(f"{f['traffic']:<8} {NAMES.get(f['program'], f['program'])} FAILED: {f['reason']}")
print(f"written to {out}")
sys.exit(0 if rows and not fails else 1)
EOF
