#!/bin/bash
# End-to-end test of what an operator watches: Prometheus metrics from
# relaystate --metrics (checked by promtool, counters moving with a
# ping-pong), and a dpdk-dumpcap capture of a running relay read back by
# tshark. dpdk-dumpcap attaches as a DPDK secondary process, which needs the
# relay on hugepages: the test reserves and mounts them if it must, and puts
# things back as they were.
#
#   ops_e2e.sh DPDK_RELAY RELAYSTATE [WORKERS]
#
# Needs root (exit 77 = skipped otherwise).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"

e2e_check $# 2 "$0 DPDK_RELAY RELAYSTATE [WORKERS]"

RELAY_BIN=$1
RELAYSTATE=$2
WORKERS=${3:-1}
PORT=3000
PFX="rlyo$$"                 # namespaces PFX-sw, PFX-r, PFX-c1..2, named as netns_sweep_stale expects
FPREFIX="relay-ops-$$"
TMP=$(mktemp -d)
RELAY_LOG="$TMP/relay.log"
RELAY_PID=
BG_PID=
STOP="$TMP/stop"
HUGE_BEFORE=
MOUNTED=
MADE_DIR=
STEP=setup
HUGE_MB=512

cleanup() {
    relay_cleanup # dpdk-dumpcap runs as BG_PID
    [ -n "$MOUNTED" ] && umount /dev/hugepages
    [ -n "$MADE_DIR" ] && rmdir /dev/hugepages
    [ -n "$HUGE_BEFORE" ] && echo "$HUGE_BEFORE" >/proc/sys/vm/nr_hugepages
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
    echo "----- dpdk-relay log ($RELAY_LOG) -----"
    tail -n 40 "$RELAY_LOG" 2>/dev/null
    echo "----- end of log -----"
    [ -f "$TMP/dumpcap.log" ] && { echo "----- dumpcap -----"; tail -n 10 "$TMP/dumpcap.log"; }
}

clients() {
    "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$PORT" \
        --ep "c1=${NS_CLIENT[1]}:40001" --ep "c2=${NS_CLIENT[2]}:40002" "$@" >"$TMP/clients.out" 2>&1 ||
        fail "clients $*: $(cat "$TMP/clients.out")"
}
# metric FILE NAME{LABELS}: the sample's value, or "none".
metric() { awk -v m="$2 " 'index($0, m) == 1 { v = $NF } END { print (v == "" ? "none" : v) }' "$1"; }
scrape() {
    "$RELAYSTATE" --file-prefix "$FPREFIX" --metrics --output "$1" || fail "relaystate --metrics exited $?"
    promtool check metrics <"$1" >"$TMP/promtool.out" 2>&1 ||
        fail "promtool check metrics: $(head -n 5 "$TMP/promtool.out")"
}

# hugepages: $HUGE_MB of 2 MB pages free on a mounted hugetlbfs, reserving
# and mounting what is missing (a machine without systemd may lack even the
# mount point).
hugepages() {
    local free need=$((HUGE_MB / 2))
    if ! grep -q hugetlbfs /proc/mounts; then
        [ -d /dev/hugepages ] || { mkdir /dev/hugepages && MADE_DIR=1; } || return 1
        mount -t hugetlbfs nodev /dev/hugepages && MOUNTED=1 || return 1
    fi
    free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
    if [ "$free" -lt "$need" ]; then
        HUGE_BEFORE=$(cat /proc/sys/vm/nr_hugepages)
        echo $((HUGE_BEFORE + need - free)) >/proc/sys/vm/nr_hugepages
        free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
    fi
    [ "$free" -ge "$need" ]
}

# ---------------------------------------------------------------------------
step setup
for tool in promtool dpdk-dumpcap tshark; do
    command -v "$tool" >/dev/null || fail "$tool is missing (packages prometheus, dpdk, tshark)"
done
netns_setup "$PFX" 2 || fail "cannot build the namespaces"
hugepages || fail "cannot reserve $HUGE_MB MB of hugepages"
cat >"$TMP/relay.yaml" <<EOF2
ports:
  - { name: lan, device: net_af_packet0, address: $RELAY_ADDR/$RELAY_PREFIX_LEN }
rules:
  - "-A PREROUTING -p udp --dport 3000:3009 -j RELAY"
relay: { initial_state: enabled }
EOF2
RELAY_MEM_MB=$HUGE_MB relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$TMP/relay.yaml" auto ||
    fail "dpdk-relay did not start (exit ${RELAY_RC:-still running})"
grep -q -- '--no-huge' /proc/"$RELAY_PID"/cmdline && fail "dpdk-relay runs without hugepages"
pass "dpdk-relay up with $WORKERS worker(s) on hugepages"

# ---------------------------------------------------------------------------
step a-metrics
scrape "$TMP/before.prom"
clients 'c1>-' 'c2>c1' 'c1<>c2*20'
scrape "$TMP/after.prom"
for m in 'dpdk_relay_up' 'dpdk_relay_relayed_packets_total' 'dpdk_relay_relay_learned_total' \
    'dpdk_relay_drops_total{reason="relay_unlearned"}' 'dpdk_relay_relay_ports{state="set2"}' \
    'dpdk_relay_rule_hits_total{rule="0",text="-A PREROUTING -p udp --dport 3000:3009 -j RELAY"}' \
    'dpdk_relay_port_packets_total{port="lan",direction="rx"}' \
    'dpdk_relay_port_packets_total{port="lan",direction="tx"}'; do
    b=$(metric "$TMP/before.prom" "$m") a=$(metric "$TMP/after.prom" "$m")
    [ "$a" != none ] || fail "no sample $m"
    echo "    $m: $b -> $a"
    case $m in
    dpdk_relay_up) [ "$a" = 1 ] || fail "$m is $a" ;;
    dpdk_relay_relayed_packets_total) [ $((a - b)) = 41 ] || fail "$m rose by $((a - b)), 41 relayed" ;;
    dpdk_relay_relay_learned_total) [ $((a - b)) = 2 ] || fail "$m rose by $((a - b))" ;;
    *relay_unlearned*) [ $((a - b)) = 1 ] || fail "$m rose by $((a - b))" ;;
    *set2*) [ "$a" = 1 ] || fail "$m is $a" ;;
    *) [ "$a" -ge $((b + 41)) ] || fail "$m rose by $((a - b)), expected 41 or more" ;;
    esac
done
busy=0
for ((l = 1; l <= WORKERS; l++)); do
    v=$(metric "$TMP/after.prom" "dpdk_relay_worker_cycles_total{lcore=\"$l\",state=\"busy\"}")
    [ "$v" != none ] || fail "no busy cycles for lcore $l"
    busy=$((busy + v))
done
[ "$busy" -gt 0 ] || fail "no worker counted busy cycles"
relay_pid=$RELAY_PID
RELAY_PID=  # scrape a relay that is not there
"$RELAYSTATE" --file-prefix "relay-ops-none-$$" --metrics --output "$TMP/down.prom"
rc=$?
RELAY_PID=$relay_pid
[ $rc = 3 ] && [ "$(metric "$TMP/down.prom" dpdk_relay_up)" = 0 ] || fail "an absent relay gave exit $rc and $(cat "$TMP/down.prom")"
pass "promtool accepts the metrics; they moved with 41 relayed datagrams; an absent relay reads dpdk_relay_up 0"

# ---------------------------------------------------------------------------
step b-capture
bg_start "$TMP/dumpcap.log" dpdk-dumpcap --file-prefix="$FPREFIX" -p -i net_af_packet0 \
    -f "udp port $PORT" -w "$TMP/relay.pcapng" || fail "dpdk-dumpcap exited: $(tail -n 3 "$TMP/dumpcap.log")"
# It names its file once it is attached, then counts packets on one line.
for ((i = 0; i < 100; i++)); do
    grep -q '^File: ' "$TMP/dumpcap.log" && break
    kill -0 "$BG_PID" 2>/dev/null || fail "dpdk-dumpcap exited: $(tail -n 3 "$TMP/dumpcap.log")"
    sleep 0.1
done
grep -q '^File: ' "$TMP/dumpcap.log" || fail "dpdk-dumpcap did not start capturing"
sleep 0.5
clients 'c1<>c2*10'
sleep 0.5
kill -INT "$BG_PID"
wait "$BG_PID"
BG_PID=
rx=$(tshark -r "$TMP/relay.pcapng" -Y "ip.dst == $RELAY_ADDR && udp.dstport == $PORT" 2>/dev/null | wc -l)
tx=$(tshark -r "$TMP/relay.pcapng" -Y "ip.src == $RELAY_ADDR && udp.srcport == $PORT && !(ip.dst == $RELAY_ADDR)" 2>/dev/null | wc -l)
[ "$rx" = 20 ] && [ "$tx" = 20 ] || fail "the capture holds $rx datagrams to and $tx from $RELAY_ADDR:$PORT, expected 20 and 20"
pass "dpdk-dumpcap -f 'udp port $PORT' captured the 20 datagrams received and the 20 relayed"

relay_stop 20
[ "$RELAY_RC" = 0 ] || fail "dpdk-relay exited $RELAY_RC on SIGTERM"
echo "ALL PASSED ($WORKERS worker(s))"
exit 0
