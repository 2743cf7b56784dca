# shellcheck shell=bash disable=SC2034
# Shell functions shared by scripts/*.sh and tests/e2e/*.sh.
# Source it; it defines functions and a few variables and runs nothing.
#
# Test topology (netns_setup):
#
#   ns PFX-c1 eth0 10.77.0.11/24 --+
#   ns PFX-c2 eth0 10.77.0.12/24 --+-- ns PFX-sw: bridge br0
#   ns PFX-c3 eth0 10.77.0.13/24 --+
#   ns PFX-r  relay0 (no address) -+   <- dpdk-relay's net_af_packet, owns 10.77.0.1/24
#
# The relay's veth end sits in a namespace of its own rather than the root one, so
# the host's kernel (forwarding, firewall, other tenants) never sees relay traffic
# and nothing can leak towards a real network. The telemetry socket is a path, so
# relaystate and dpdk-telemetry.py reach it from any network namespace.
#
# Routed topology (nat_e2e.sh builds it with netns_add_host), one port per side:
#
#   ns PFX-c1 eth0 10.78.1.2/24  via 10.78.1.1 --- client0 -+ ns PFX-r: dpdk-relay,
#   ns PFX-s1 eth0 10.78.2.10/24 via 10.78.2.1 --- server0 -+ net_af_packet0 and 1

RELAY_PY=/usr/bin/python3   # Debian's python: it is the one that sees python3-scapy
RELAY_ADDR=10.77.0.1
RELAY_PREFIX_LEN=24
RELAY_IF=relay0

# What building needs (catch2 for the tests, which meson builds by default);
# DEPS, what install_deps installs, adds what the tests and the demo use.
BUILD_DEPS=(libdpdk-dev meson ninja-build pkg-config g++
            libboost-program-options-dev libyaml-cpp-dev nlohmann-json3-dev catch2)
DEPS=("${BUILD_DEPS[@]}" dpdk-dev dpdk
      python3-scapy tshark ethtool iproute2 iputils-ping libpcap-dev clang
      curl tcpdump prometheus groff-base mandoc
      libclang-rt-14-dev)  # the last: clang's libFuzzer and sanitizer runtimes

log() { printf '%s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Installs whatever of DEPS is missing; apt-get update only when something is.
install_deps() {
    local missing=() p
    for p in "${DEPS[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        log "missing packages (need root to install): ${missing[*]}"
        return 1
    fi
    log "installing: ${missing[*]}"
    echo 'wireshark-common wireshark-common/install-setcap boolean false' | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || return 1
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null || return 1
}

# EAL core options for WORKERS worker lcores plus main lcore 0. When the machine
# has fewer CPUs than lcores, lcores share the last CPUs (slow, but correct).
eal_lcores() {
    local workers=$1 ncpu map i cpu
    ncpu=$(nproc)
    if [ "$ncpu" -gt "$workers" ]; then
        echo "-l 0-$workers"
        return
    fi
    map="0@0"
    for ((i = 1; i <= workers; i++)); do
        cpu=$(( i < ncpu ? i : ncpu - 1 ))
        map+=",$i@$cpu"
    done
    echo "--lcores $map"
}

# eal_memory [MODE] [MB]: EAL memory options for MB megabytes (default 256).
# MODE nohuge (tests): always --no-huge. MODE auto: hugepages when that many are
# free on a mounted hugetlbfs, else --no-huge.
eal_memory() {
    local mb=${2:-256} free size
    if [ "${1:-nohuge}" = auto ] && grep -q hugetlbfs /proc/mounts; then
        free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
        size=$(awk '/^Hugepagesize/ {print $2}' /proc/meminfo)
        if [ $(( ${free:-0} * ${size:-0} )) -ge $((mb * 1024)) ]; then
            echo "-m $mb"
            return
        fi
    fi
    echo "--no-huge -m $mb"
}

# configure DIR [MESON OPTIONS]: meson setup, or reconfigure a dir set up before.
configure() {
    local dir=$1
    shift
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$dir" "$@"
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
}

# release_build TARGET...: builds TARGETs in the release tree that the
# benchmarks measure (no debug checksum audit): build-release at the top of the
# source tree, or RELAY_BENCH_BUILD_DIR. Sets RELEASE_DIR; dies on failure.
release_build() {
    RELEASE_DIR=${RELAY_BENCH_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build-release}
    configure "$RELEASE_DIR" -Dbuildtype=release -Db_ndebug=true ||
        die "meson setup of $RELEASE_DIR failed"
    ninja -C "$RELEASE_DIR" "$@" || die "build of $* failed"
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# netns_setup PFX NCLIENTS: builds the topology above. Sets NS_SW, NS_RELAY,
# NS_CLIENT[i] and CLIENT_IP[i] (i = 1..NCLIENTS), RELAY_MAC.
netns_setup() {
    local pfx=$1 nclients=$2 i ns
    netns_sweep_stale
    NS_SW="$pfx-sw"
    NS_RELAY="$pfx-r"
    NS_CLIENT=()
    CLIENT_IP=()
    for ns in "$NS_SW" "$NS_RELAY"; do
        ip netns add "$ns" || return 1
        netns_quiet "$ns"
    done
    # With br_netfilter loaded, a bridge validates, defragments and drops IPv4 and
    # ARP in its netfilter hooks: off, so malformed frames reach the relay as sent.
    nsx "$NS_SW" sysctl -qew net.bridge.bridge-nf-call-iptables=0 \
        net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
    ip -n "$NS_SW" link add br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0 \
        nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 || return 1
    ip -n "$NS_SW" link set br0 up || return 1

    ip -n "$NS_SW" link add r type veth peer name "$RELAY_IF" netns "$NS_RELAY" || return 1
    ip -n "$NS_SW" link set r master br0 up || return 1
    nsx "$NS_RELAY" sysctl -qw "net.ipv6.conf.$RELAY_IF.disable_ipv6=1"
    # The relay must see frames as they were sent, never merged by GRO.
    nsx "$NS_RELAY" ethtool -K "$RELAY_IF" gro off >/dev/null 2>&1
    ip -n "$NS_RELAY" link set "$RELAY_IF" up || return 1
    RELAY_MAC=$(nsx "$NS_RELAY" cat "/sys/class/net/$RELAY_IF/address") || return 1

    for ((i = 1; i <= nclients; i++)); do
        ns="$pfx-c$i"
        NS_CLIENT[i]=$ns
        CLIENT_IP[i]="10.77.0.$((10 + i))"
        ip netns add "$ns" || return 1
        netns_quiet "$ns"
        ip -n "$NS_SW" link add "c$i" type veth peer name eth0 netns "$ns" || return 1
        ip -n "$NS_SW" link set "c$i" master br0 up || return 1
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "${CLIENT_IP[i]}/$RELAY_PREFIX_LEN" dev eth0 || return 1
        ip -n "$ns" link set eth0 up || return 1
        # A kernel socket sending over veth leaves the UDP checksum to an offload
        # that never happens; dpdk-relay would relay it unfinished.
        nsx "$ns" ethtool -K eth0 tx off >/dev/null || return 1
    done
}

# No IPv6 (router solicitations, MLD, DAD) in our namespaces: only the traffic
# a test sends reaches the relay.
netns_quiet() {
    nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# netns_add_host NS ADDR/LEN GATEWAY RELAY_IFNAME: a host namespace NS whose eth0
# (ADDR, default route via GATEWAY) is cabled by a veth to RELAY_IFNAME in
# NS_RELAY, which must exist. Offloads are off on eth0: what it sends to
# dpdk-relay carries finished checksums in real-sized frames (a veth would leave
# checksums to an offload that never happens and pass TSO/GSO frames whole), and
# what it receives is neither merged by GRO, so a capture there shows the frames
# as the relay sent them, nor trusted to an rx offload: the kernel checks them.
netns_add_host() {
    local ns=$1 addr=$2 gw=$3 rif=$4
    ip netns add "$ns" || return 1
    netns_quiet "$ns"
    ip -n "$NS_RELAY" link add "$rif" type veth peer name eth0 netns "$ns" || return 1
    nsx "$NS_RELAY" sysctl -qw "net.ipv6.conf.$rif.disable_ipv6=1"
    # The relay must see frames as they were sent, never merged by GRO.
    nsx "$NS_RELAY" ethtool -K "$rif" gro off >/dev/null 2>&1
    ip -n "$NS_RELAY" link set "$rif" up || return 1
    nsx "$ns" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null || return 1
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr" dev eth0 || return 1
    ip -n "$ns" link set eth0 up || return 1
    ip -n "$ns" route add default via "$gw" dev eth0 || return 1
}

# netns_csum_errors NS: IP header errors plus UDP and TCP checksum errors that
# the kernel of NS counted (/proc/net/snmp), as one number.
netns_csum_errors() {
    # shellcheck disable=SC2016 # awk's own $ fields
    nsx "$1" awk '
        $2 !~ /^[0-9-]/ { for (k = 2; k <= NF; k++) col[$1, $k] = k; next }
        $1 == "Ip:" && (($1, "InHdrErrors") in col) { n += $col[$1, "InHdrErrors"] }
        ($1 == "Udp:" || $1 == "Tcp:") && (($1, "InCsumErrors") in col) { n += $col[$1, "InCsumErrors"] }
        END { print n + 0 }' /proc/net/snmp
}

# netns_wait_listen NS tcp|udp PORT [TENTHS]: waits until a socket in NS listens
# on (TCP) or is bound to (UDP) PORT.
netns_wait_listen() {
    local ns=$1 proto=$2 port=$3 tries=${4:-100} i opt=-Hltn
    [ "$proto" = udp ] && opt=-Hlun
    for ((i = 0; i < tries; i++)); do
        [ -n "$(nsx "$ns" ss "$opt" "sport = :$port" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# netns_teardown PFX: removes every namespace named PFX-* (their veths go with
# them) after ending the processes still inside them, which only we started.
netns_teardown() {
    local pfx=$1 ns pid
    [ -n "$pfx" ] || return 0
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$pfx-"); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -TERM "$pid" 2>/dev/null
        done
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$pfx-"); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
}

# netns_sweep_stale: removes the namespaces of earlier runs (named rly[LETTER]PID-*,
# e.g. rlyd for the demo, rlyn for nat_e2e.sh) whose process is gone, e.g. after
# a kill -9 that gave the traps no chance.
netns_sweep_stale() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
                grep -E '^rly[a-z]?[0-9]+-(sw|r|c[0-9]+|s[0-9]+)$'); do
        pid=${ns%%-*}
        pid=${pid#rly}
        pid=${pid#[a-z]}
        kill -0 "$pid" 2>/dev/null || netns_teardown "${ns%%-*}"
    done
}

# e2e_check ARGC NEEDED USAGE: what an end-to-end script does first: exit 2
# with USAGE when it got fewer than NEEDED arguments, 77 (meson: skipped) when
# not root.
e2e_check() {
    if [ "$1" -lt "$2" ]; then
        echo "usage: $3" >&2
        exit 2
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: the e2e test needs root (network namespaces, veth, af_packet)"
        exit 77
    fi
}

# relay_start LOG DPDK_RELAY WORKERS FILE_PREFIX CONFIG [MEMORY MODE]: starts
# dpdk-relay in NS_RELAY, sets RELAY_PID, waits for "dpdk-relay: ready". Its ports
# are net_af_packet0, 1, ... on the interfaces of NS_RELAY listed in RELAY_IFS
# (default: RELAY_IF alone), each with one queue pair per worker and the devargs
# in RELAY_VDEV_ARGS, if any. RELAY_MEM_MB sets the EAL memory (default 256);
# RELAY_PROG_ARGS adds program options after --config.
relay_start() {
    local logf=$1 bin=$2 workers=$3 fprefix=$4 config=$5 mem=${6:-nohuge} vdevs=() ifc n=0
    for ifc in "${RELAY_IFS[@]:-$RELAY_IF}"; do
        vdevs+=(--vdev "net_af_packet$n,iface=$ifc${RELAY_VDEV_ARGS:+,$RELAY_VDEV_ARGS}")
        [ "$workers" -gt 1 ] && vdevs[-1]+=",qpairs=$workers"
        n=$((n + 1))
    done
    : >"$logf" # before the job starts: the wait below must not read an older run's log
    # shellcheck disable=SC2046
    ip netns exec "$NS_RELAY" "$bin" $(eal_lcores "$workers") $(eal_memory "$mem" "${RELAY_MEM_MB:-256}") --no-pci \
        --file-prefix "$fprefix" "${vdevs[@]}" -- --config "$config" ${RELAY_PROG_ARGS:-} >"$logf" 2>&1 </dev/null &
    RELAY_PID=$!
    wait_ready "$RELAY_PID" "$logf" '^dpdk-relay: ready' && return 0
    [ -n "$READY_RC" ] && { RELAY_RC=$READY_RC; RELAY_PID=; }
    return 1
}

# wait_ready PID LOG PATTERN: waits up to 30 s for a line of LOG matching
# PATTERN. Returns 1 if it never came; if PID exited, READY_RC is its status.
wait_ready() {
    local pid=$1 log=$2 pattern=$3 i
    READY_RC=
    for ((i = 0; i < 300; i++)); do
        grep -qs -- "$pattern" "$log" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            READY_RC=$?
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# why_failed LOG: the lines of a program's log that say why it failed, on one line.
why_failed() {
    local why
    why=$(grep -iE 'error|fail|cannot|unable|not supported|invalid|denied|cause' "$1" 2>/dev/null | tail -n 3)
    [ -n "$why" ] || why=$(tail -n 2 "$1" 2>/dev/null)
    echo "$why" | tr '\n' ' ' | cut -c1-400
}

# stop_pid PID [TIMEOUT]: SIGTERM, wait up to TIMEOUT seconds (default 20),
# then SIGKILL; sets STOP_RC to the exit status (124 when it had to be killed).
stop_pid() {
    local pid=$1 timeout=${2:-20} i
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_RC=124
    else
        wait "$pid"
        STOP_RC=$?
    fi
}

# relay_stop [TIMEOUT]: stops the dpdk-relay of relay_start; sets RELAY_RC.
relay_stop() {
    [ -n "$RELAY_PID" ] || return 0
    stop_pid "$RELAY_PID" "${1:-20}"
    RELAY_RC=$STOP_RC
    RELAY_PID=
    return 0
}

# run_child CMD...: runs CMD and returns its status, but as a job that a trapped
# signal interrupts (bash runs traps only between foreground commands);
# stop_child, from the EXIT trap, ends it.
run_child() {
    local rc
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID"
    rc=$?
    CHILD_PID=
    return $rc
}
stop_child() {
    if [ -n "${CHILD_PID:-}" ]; then
        kill -TERM "$CHILD_PID" 2>/dev/null
        wait "$CHILD_PID" 2>/dev/null
        CHILD_PID=
    fi
}

# relay_cleanup: what an EXIT trap of the e2e scripts and the demo undoes: the
# background job (bg_start), the child, the relay, the namespaces PFX-*, the
# EAL runtime dir of FPREFIX and TMP.
relay_cleanup() {
    bg_stop
    stop_child
    relay_stop 5
    netns_teardown "$PFX"
    dpdk_runtime_cleanup "$FPREFIX"
    rm -rf "$TMP"
}

# bg_start LOG CMD...: runs CMD in the background as BG_PID, output to LOG,
# after removing the file STOP names (clients that run *until it exists);
# fails if CMD is gone half a second later. bg_end: creates STOP, waits for
# the job and returns its status. bg_stop: kills it, if it runs.
bg_start() {
    local log=$1
    shift
    rm -f "$STOP"
    "$@" >"$log" 2>&1 &
    BG_PID=$!
    sleep 0.5
    kill -0 "$BG_PID" 2>/dev/null
}
bg_end() {
    local rc
    touch "$STOP"
    wait "$BG_PID"
    rc=$?
    BG_PID=
    return $rc
}
bg_stop() {
    if [ -n "${BG_PID:-}" ]; then
        kill "$BG_PID" 2>/dev/null
        wait "$BG_PID" 2>/dev/null
        BG_PID=
    fi
}

# dpdk_runtime_cleanup FILE_PREFIX: EAL leaves its runtime dir behind.
dpdk_runtime_cleanup() {
    [ -n "$1" ] && rm -rf "/var/run/dpdk/$1"
}

# telemetry FILE_PREFIX CMD: one telemetry command through Debian's client;
# prints the reply as one JSON line.
telemetry() {
    echo "$2" | "$RELAY_PY" /usr/bin/dpdk-telemetry.py -f "$1"
}

# jget JSON EXPR: prints a Python expression evaluated on the parsed JSON `j`;
# `u` is j unwrapped from a telemetry reply ({"/cmd": u}) when it is one.
jget() {
    "$RELAY_PY" -c '
import json, sys
j = json.loads(sys.argv[1])
u = j
if isinstance(j, dict) and len(j) == 1 and next(iter(j)).startswith("/"):
    u = j[next(iter(j))]
print(eval(sys.argv[2]))' "$1" "$2"
}

# Step reporting and counters for the e2e scripts, which set STEP and FPREFIX
# and define show_log (what to print before giving up).
step() { STEP=$1; echo "--- $STEP"; }
pass() { echo "PASS $STEP: $*"; }
fail() { echo "FAIL $STEP: $*"; show_log; exit 1; }
tel() { telemetry "$FPREFIX" "$1"; }
stats() { tel /relay/stats; }
counter() { jget "$1" "j['/relay/stats']['total'].get('$2', 0)"; }
