#!/bin/bash
# End-to-end test of dpdk-relay: namespaces, a bridge, veths, real kernel UDP
# sockets (the original pingpong test, plus malformed input and the control CLI).
#
#   relay_e2e.sh DPDK_RELAY RELAYSTATE [WORKERS]
#
# Needs root (exit 77 = skipped otherwise). Prints PASS/FAIL per step and stops
# at the first failure with the relay's log.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"

e2e_check $# 2 "$0 DPDK_RELAY RELAYSTATE [WORKERS]"

RELAY_BIN=$1
RELAYSTATE=$2
WORKERS=${3:-1}
PORT=3000
PFX="rly$$"                  # namespaces PFX-sw, PFX-r, PFX-c1..3
FPREFIX="relay-e2e-$$"       # EAL --file-prefix
TMP=$(mktemp -d)
RELAY_LOG="$TMP/relay.log"
RELAY_PID=
STEP=setup

trap relay_cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
    echo "----- dpdk-relay log ($RELAY_LOG) -----"
    tail -n 80 "$RELAY_LOG" 2>/dev/null
    echo "----- end of log -----"
}

rs() { "$RELAYSTATE" --file-prefix "$FPREFIX" "$@"; }
# read_port: js = the port's state as relaystate --json prints it.
read_port() { js=$(rs --json "$PORT" 2>&1) || fail "relaystate --json $PORT exited $?: $js"; }
# obj JSON SUFFIX: the reply object (unwrapped from {"/cmd": ...}) plus a Python suffix.
obj() { jget "$1" "u$2"; }
clients() {
    run_child "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$PORT" \
        --ep "c1=${NS_CLIENT[1]}:40001" --ep "c2=${NS_CLIENT[2]}:40002" \
        --ep "c3=${NS_CLIENT[3]}:40003" "$@"
}
malformed() {
    run_child nsx "${NS_CLIENT[1]}" "$RELAY_PY" "$HERE/malformed.py" --file-prefix "$FPREFIX" \
        --relay-mac "$RELAY_MAC" --src "${CLIENT_IP[1]}:40001" --relay "$RELAY_ADDR:$PORT" "$@"
}
# expect_endpoint JSON SLOT ADDR PORT
expect_endpoint() {
    local got
    got=$(jget "$1" "'%s:%s' % (u['$2']['addr'], u['$2']['port']) if u.get('$2') else 'none'")
    [ "$got" = "$3:$4" ] || fail "endpoint $2 is $got, expected $3:$4"
}
expect_state() {
    local js=$1 want=$2 got
    got=$(obj "$js" "['state']")
    [ "$got" = "$want" ] || fail "state is $got, expected $want ($js)"
}
# kernel_oracle: no client kernel may have seen a bad IP or UDP checksum.
kernel_oracle() {
    local i bad
    for i in 1 2 3; do
        bad=$(nsx "${NS_CLIENT[i]}" awk '
            $1 == "Ip:" && $2 !~ /^[0-9]/ { for (k = 2; k <= NF; k++) if ($k == "InHdrErrors") ik = k; next }
            $1 == "Ip:"  { n += $ik }
            $1 == "Udp:" && $2 !~ /^[0-9]/ { for (k = 2; k <= NF; k++) if ($k == "InCsumErrors") uk = k; next }
            $1 == "Udp:" { n += $uk }
            END { print n + 0 }' /proc/net/snmp)
        [ "$bad" = 0 ] || fail "client c$i's kernel counted $bad IP header/UDP checksum errors"
    done
}

# ---------------------------------------------------------------------------
step setup
for f in "$RELAY_BIN" "$RELAYSTATE"; do
    [ -x "$f" ] || fail "$f is not an executable"
done
[ -x /usr/bin/dpdk-telemetry.py ] || fail "dpdk-telemetry.py missing (package dpdk-dev)"
"$RELAY_PY" -c 'import scapy' 2>/dev/null || fail "$RELAY_PY cannot import scapy (python3-scapy)"
netns_setup "$PFX" 3 || fail "cannot build the namespaces"
cat >"$TMP/relay.yaml" <<EOF
ports:
  - { name: lan, device: net_af_packet0, address: $RELAY_ADDR/$RELAY_PREFIX_LEN }
rules:
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  # DEST and SOURCE beside RELAY (nat_e2e.sh exercises them): nothing here
  # matches them, and relaying must go on exactly as without them.
  - "-A PREROUTING -d 203.0.113.20 -j DEST --to=${CLIENT_IP[3]}"
  - "-A POSTROUTING -s ${CLIENT_IP[3]} -o lan -j SOURCE --to=203.0.113.20"
relay: { initial_state: disabled, learning: reset, idle_timeout: 0 }
EOF
relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$TMP/relay.yaml" ||
    fail "dpdk-relay did not print 'dpdk-relay: ready' (exit ${RELAY_RC:-still running})"
pass "dpdk-relay up with $WORKERS worker(s) on $RELAY_IF ($RELAY_MAC), namespaces $PFX-*"

# ---------------------------------------------------------------------------
step a-ping
out=$(nsx "${NS_CLIENT[1]}" ping -c 2 -W 2 "$RELAY_ADDR" 2>&1) ||
    fail "ping $RELAY_ADDR from c1: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
s=$(stats)
[ "$(counter "$s" icmp_echo_replies)" -ge 2 ] || fail "icmp_echo_replies < 2: $s"
[ "$(counter "$s" arp_replies)" -ge 1 ] || fail "arp_replies < 1: $s"
pass "ping answered ($(echo "$out" | grep -o '[0-9]* received'))"

# ---------------------------------------------------------------------------
step b-disabled
read_port
expect_state "$js" 0
human=$(rs "$PORT") || fail "relaystate $PORT exited $?"
echo "$human" | head -n 1 | grep -q "^$PORT .*: *0 " || fail "relaystate $PORT printed: $human"
before=$(counter "$(stats)" drop_relay_disabled)
clients 'c1>-' || fail "a disabled port answered"
after=$(counter "$(stats)" drop_relay_disabled)
[ "$after" -gt "$before" ] || fail "drop_relay_disabled did not rise ($before -> $after)"
read_port
expect_state "$js" 0
pass "nothing relayed, drop_relay_disabled $before -> $after, state 0 ('$human')"

# ---------------------------------------------------------------------------
step c-pingpong
out=$(rs "$PORT" 1) || fail "relaystate $PORT 1 exited $?: $out"
read_port; expect_state "$js" 1
clients 'c1>-' 'c2>c1' 'c1<>c2*50' || fail "ping-pong between c1 and c2"
read_port
expect_state "$js" 15
[ "$(obj "$js" "['names']")" = ALL ] || fail "names are not ALL: $js"
expect_endpoint "$js" a "${CLIENT_IP[1]}" 40001
expect_endpoint "$js" b "${CLIENT_IP[2]}" 40002
[ "$(obj "$js" "['to_a_packets']")" = 51 ] || fail "to_a_packets is not 51: $js"
[ "$(obj "$js" "['to_b_packets']")" = 50 ] || fail "to_b_packets is not 50: $js"
tj=$(tel "/relay/port,$PORT")
cmp_keys="(u['state'], u['names'], *[(u.get(s) or {}).get(k) for s in 'ab' for k in ('addr', 'port', 'mac', 'ifport')], u['to_a_packets'], u['to_b_packets'])"
r1=$(jget "$js" "$cmp_keys")
r2=$(jget "$tj" "(j['/relay/port'], $cmp_keys)[1]") || fail "dpdk-telemetry.py answered: $tj"
[ "$r1" = "$r2" ] || fail "relaystate --json and dpdk-telemetry.py disagree: $r1 vs $r2"
s=$(stats)
[ "$(counter "$s" relayed_packets)" = 101 ] || fail "relayed_packets is not 101: $s"
[ "$(counter "$s" relay_learned)" = 2 ] || fail "relay_learned is not 2: $s"
kernel_oracle
pass "A=c1 B=c2, 101 datagrams relayed from $RELAY_ADDR:$PORT, state 15 ALL via relaystate and telemetry"
jget "$s" "'    rx_packets per worker lcore: ' + ', '.join(f\"{k}={v.get('rx_packets', 0)}\" for k, v in u.get('lcores', {}).items())"
rs "$PORT" | sed "s/^/    /"

# ---------------------------------------------------------------------------
step d-third-client
s=$(stats)
resets=$(counter "$s" relay_resets)
clients 'c3>-' || fail "the resetting packet of c3 was forwarded"
read_port
expect_state "$js" 2
expect_endpoint "$js" a "${CLIENT_IP[3]}" 40003
[ "$(obj "$js" ".get('b')")" = None ] || fail "B not cleared: $js"
[ "$(counter "$(stats)" relay_resets)" -gt "$resets" ] || fail "relay_resets did not rise"
clients 'c1>c3' 'c3>c1' || fail "c1 (now B) and c3 (now A)"
read_port
expect_state "$js" 15
expect_endpoint "$js" a "${CLIENT_IP[3]}" 40003
expect_endpoint "$js" b "${CLIENT_IP[1]}" 40001
pass "c3 reset the port (SET1, A=c3), then c1 learned as B and relayed both ways"

# ---------------------------------------------------------------------------
step e-disable
out=$(rs "$PORT" 0) || fail "relaystate $PORT 0 exited $?: $out"
read_port
expect_state "$js" 0
before=$(counter "$(stats)" drop_relay_disabled)
clients 'c1>-' 'c3>-' 'c2>-' || fail "a disabled port relayed"
after=$(counter "$(stats)" drop_relay_disabled)
[ $((after - before)) -ge 3 ] || fail "drop_relay_disabled rose by $((after - before)), sent 3"
read_port; expect_state "$js" 0
pass "disabled: 3 datagrams dropped and counted, nothing relayed"

step e-control-errors
"$RELAYSTATE" --file-prefix "relay-e2e-none-$$" "$PORT" >/dev/null 2>&1
rc=$?; [ $rc = 3 ] || fail "relaystate on a missing socket exited $rc, expected 3"
rs "$PORT" 16 >/dev/null 2>&1
rc=$?; [ $rc = 1 ] || [ $rc = 2 ] || fail "relaystate $PORT 16 exited $rc, expected 1 or 2"
rs 4000 >/dev/null 2>&1
rc=$?; [ $rc = 1 ] || fail "relaystate 4000 (no relay port) exited $rc, expected 1"
rs "$PORT" nonsense >/dev/null 2>&1
rc=$?; [ $rc = 1 ] || [ $rc = 2 ] || fail "relaystate $PORT nonsense exited $rc, expected 1 or 2"
for cmd in "/relay/set,$PORT,99" "/relay/set,$PORT,x" "/relay/set,70000,1" "/relay/port,abc" "/relay/port"; do
    r=$(tel "$cmd")
    jget "$r" "isinstance(u, dict) and 'error' in u" | grep -qx True || fail "$cmd answered $r, expected an error"
done
read_port; expect_state "$js" 0
pass "bad requests answered with errors (exit 3/1/2), state unchanged"

# ---------------------------------------------------------------------------
step f-malformed-disabled
malformed --mode disabled --listen "${NS_CLIENT[1]}:40001" --listen "${NS_CLIENT[2]}:40002" ||
    fail "malformed frames to a disabled port"
kill -0 "$RELAY_PID" 2>/dev/null || fail "dpdk-relay died"
pass "every frame dropped and counted"

step f-malformed-enabled
out=$(rs "$PORT" 1) || fail "relaystate $PORT 1 exited $?: $out"
clients 'c1>-' 'c2>c1' 'c1<>c2*10' || fail "ping-pong after re-enabling"
malformed --mode enabled --listen "${NS_CLIENT[1]}:40001" --listen "${NS_CLIENT[2]}:40002" ||
    fail "malformed frames from A to an active port"
kill -0 "$RELAY_PID" 2>/dev/null || fail "dpdk-relay died"
read_port
expect_endpoint "$js" a "${CLIENT_IP[1]}" 40001
expect_endpoint "$js" b "${CLIENT_IP[2]}" 40002
clients 'c1<>c2*10' || fail "ping-pong after the malformed burst"
out=$(nsx "${NS_CLIENT[2]}" ping -c 1 -W 2 "$RELAY_ADDR" 2>&1) || fail "ping after the malformed burst"
kernel_oracle
pass "malformed frames dropped and counted, endpoints kept, 10+10 more round trips relayed"
tel /relay/stats | "$RELAY_PY" -c '
import json, sys
t = json.load(sys.stdin)["/relay/stats"]["total"]
print("    " + ", ".join(f"{k}={v}" for k, v in t.items() if v))'

# ---------------------------------------------------------------------------
# Eight more ports, each with its own client ports: with several workers the
# kernel's fanout spreads these flows over the RX queues, so every worker relays
# and endpoints of one port get learned on different lcores.
step h-many-ports
for p in $(seq 3001 3008); do
    out=$(rs "$p" 1) || fail "relaystate $p 1 exited $?: $out"
    run_child "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$p" \
        --ep "c1=${NS_CLIENT[1]}:$((38000 + p))" --ep "c2=${NS_CLIENT[2]}:$((39000 + p))" \
        'c1>-' 'c2>c1' 'c1<>c2*10' >"$TMP/clients.log" ||
        { cat "$TMP/clients.log"; fail "ping-pong on port $p"; }
done
s=$(stats)
per_lcore=$(jget "$s" "' '.join(str(v.get('relayed_packets', 0)) for v in u['lcores'].values())")
[ "$(wc -w <<<"$per_lcore")" = "$WORKERS" ] || fail "/relay/stats has lcores '$per_lcore', expected $WORKERS workers: $s"
for n in $per_lcore; do
    [ "$n" -gt 0 ] || fail "a worker relayed nothing (relayed_packets per lcore: $per_lcore)"
done
r=$(tel /relay/ports)
listed=$(jget "$r" "sorted(e['port'] for e in u.get('ports', {}).values() if e['state'] == 15)")
[ "$listed" = "[3000, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008]" ] ||
    fail "/relay/ports lists $listed in state 15, expected 3000-3008: $r"
pass "8 ports x 21 datagrams relayed, /relay/ports lists 9 ports in state 15, relayed per worker: $per_lcore"

# ---------------------------------------------------------------------------
step g-sigterm
final_relayed=$(counter "$(stats)" relayed_packets)
relay_stop 20
[ "$RELAY_RC" = 0 ] || fail "dpdk-relay exited $RELAY_RC on SIGTERM (124 = had to be killed)"
grep -Eq '^relayed_packets [0-9]+$' "$RELAY_LOG" || fail "no final 'relayed_packets N' line"
grep -Eq '^rx_packets [0-9]+$' "$RELAY_LOG" || fail "no final 'rx_packets N' line"
printed=$(awk '$1 == "relayed_packets" { v = $2 } END { print v }' "$RELAY_LOG")
[ "$printed" = "$final_relayed" ] || fail "final relayed_packets $printed, telemetry said $final_relayed"
pass "exit 0, final counters printed (relayed_packets $printed)"

echo "ALL PASSED ($WORKERS worker(s))"
exit 0
