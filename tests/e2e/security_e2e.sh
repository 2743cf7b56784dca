#!/bin/bash
# End-to-end test of hijack-resistant learning: two clients (c1, c2) in a call
# and an attacker (c3) beside them, on relay ports in each learning mode.
#
#   security_e2e.sh DPDK_RELAY [WORKERS]
#
# Needs root (exit 77 = skipped otherwise).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"

e2e_check $# 1 "$0 DPDK_RELAY [WORKERS]"

RELAY_BIN=$1
WORKERS=${2:-1}
PFX="rlys$$"                 # namespaces PFX-sw, PFX-r, PFX-c1..3, named as netns_sweep_stale expects
FPREFIX="relay-sec-$$"
TMP=$(mktemp -d)
RELAY_LOG="$TMP/relay.log"
STOP="$TMP/stop"
RELAY_PID=
BG_PID=
STEP=setup

trap relay_cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
    echo "----- dpdk-relay log ($RELAY_LOG) -----"
    tail -n 40 "$RELAY_LOG" 2>/dev/null
    echo "----- end of log -----"
    for f in "$TMP"/*.out; do
        [ -f "$f" ] && { echo "----- $f -----"; tail -n 5 "$f"; }
    done
}

# clients PORT ACTION...: c1, c2 and c3 on client ports PORT+10000+i.
clients() {
    local port=$1
    shift
    "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$port" --stop-file "$STOP" \
        --ep "c1=${NS_CLIENT[1]}:$((port + 10001))" --ep "c2=${NS_CLIENT[2]}:$((port + 10002))" \
        --ep "c3=${NS_CLIENT[3]}:$((port + 10003))" "$@" >"$TMP/clients.out" 2>&1
}
# attacker PORT ACTION...: c3 alone (the call's clients run in another process).
attacker() {
    local port=$1
    shift
    "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$port" \
        --ep "c3=${NS_CLIENT[3]}:$((port + 10003))" "$@" >"$TMP/attacker.out" 2>&1
}
# call PORT: c1 and c2 talk through PORT in the background until call_end.
call() {
    bg_start "$TMP/call.out" "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$1" \
        --stop-file "$STOP" --ep "c1=${NS_CLIENT[1]}:$(($1 + 10001))" \
        --ep "c2=${NS_CLIENT[2]}:$(($1 + 10002))" 'c1<>c2*until' ||
        fail "the call stopped at once: $(cat "$TMP/call.out")"
}
call_end() {
    bg_end || fail "the call lost or misdirected a datagram: $(tail -n 2 "$TMP/call.out")"
    CALL=$(grep -o '[0-9]* round trips' "$TMP/call.out")
}
endpoints_of() {
    jget "$(tel "/relay/port,$1")" "' '.join('%s:%s' % (u[s]['addr'], u[s]['port']) for s in 'ab' if s in u)"
}
rises() { # rises COUNTER BEFORE: prints how much COUNTER rose
    echo $(($(counter "$(stats)" "$1") - $2))
}
pair() { echo "${CLIENT_IP[1]}:$(($1 + 10001)) ${CLIENT_IP[2]}:$(($1 + 10002))"; }

# ---------------------------------------------------------------------------
step setup
[ -x "$RELAY_BIN" ] || fail "$RELAY_BIN is not an executable"
"$RELAY_PY" -c 'import scapy' 2>/dev/null || fail "$RELAY_PY cannot import scapy (python3-scapy)"
netns_setup "$PFX" 3 || fail "cannot build the namespaces"
cat >"$TMP/relay.yaml" <<EOF2
ports:
  - { name: lan, device: net_af_packet0, address: $RELAY_ADDR/$RELAY_PREFIX_LEN }
rules:
  - "-A PREROUTING -p udp --dport 3000:3009 -j RELAY"
  - { hook: prerouting, match: { proto: udp, dport: 3100-3109 }, target: RELAY, learning: strict }
  - { hook: prerouting, match: { proto: udp, dport: 3200-3209 }, target: RELAY, learning: probation }
  - hook: prerouting
    match: { proto: udp, dport: 3300-3309 }
    target: RELAY
    allow: [${CLIENT_IP[1]}, ${CLIENT_IP[2]}]
relay: { initial_state: enabled, probation_packets: 4, probation_ms: 1000, reset_interval: 5 }
EOF2
relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$TMP/relay.yaml" ||
    fail "dpdk-relay did not start (exit ${RELAY_RC:-still running})"
mode=$(stat -c %a "/var/run/dpdk/$FPREFIX")
[ "$mode" = 700 ] || fail "the telemetry directory has mode $mode, expected 700"
pass "dpdk-relay up with $WORKERS worker(s); /var/run/dpdk/$FPREFIX has mode 700"

# ---------------------------------------------------------------------------
step a-reset
clients 3000 'c1>-' 'c2>c1' 'c1<>c2*3' || fail "the call on 3000: $(cat "$TMP/clients.out")"
resets=$(counter "$(stats)" drop_relay_reset)
attacker 3000 'c3>-' || fail "the attacker's packet was relayed"
[ "$(endpoints_of 3000)" = "${CLIENT_IP[3]}:13003" ] || fail "3000 has $(endpoints_of 3000) after the attack"
[ "$(rises drop_relay_reset "$resets")" = 1 ] || fail "drop_relay_reset did not rise by 1"
# The attacker now holds A; c2 becomes B. c1 coming back within reset_interval is refused.
limited=$(counter "$(stats)" drop_relay_reset_limited)
clients 3000 'c2>c3' 'c1>-' || fail "c2 to the attacker, then c1: $(cat "$TMP/clients.out")"
[ "$(rises drop_relay_reset_limited "$limited")" = 1 ] || fail "drop_relay_reset_limited did not rise by 1"
pass "reset (as documented): one packet from c3 took 3000 over; a second reset within 5 s was refused"

# ---------------------------------------------------------------------------
step b-strict
clients 3100 'c1>-' 'c2>c1' || fail "learning c1 and c2 on 3100: $(cat "$TMP/clients.out")"
refused=$(counter "$(stats)" drop_relay_strict)
call 3100
attacker 3100 'c3>-*20' || fail "an attacker's packet got through: $(cat "$TMP/attacker.out")"
call_end
[ "$(rises drop_relay_strict "$refused")" = 20 ] || fail "drop_relay_strict rose by $(rises drop_relay_strict "$refused"), expected 20"
[ "$(endpoints_of 3100)" = "$(pair 3100)" ] || fail "3100 has $(endpoints_of 3100)"
r=$(tel /relay/learn,3100,5)
[ "$(jget "$r" "(u['learning'], u['learning_window'] > 0)")" = "('strict', True)" ] || fail "/relay/learn answered $r"
# A reload keeps the window open (README "Reload").
r=$(tel /relay/reload)
jget "$r" "''.join(u['message'])" | grep -q '^reloaded' || fail "the reload answered $r"
attacker 3100 'c3>-' || fail "the resetting packet was relayed"
[ "$(endpoints_of 3100)" = "${CLIENT_IP[3]}:13103" ] || fail "the window did not let c3 in: $(endpoints_of 3100)"
r=$(tel /relay/learn,3100,99999)
jget "$r" "u['error']" | grep -q '"99999" is not a number from 0 to 3600' || fail "/relay/learn,3100,99999 answered $r"
pass "strict: 20 packets from c3 dropped and counted during the call ($CALL, nothing lost); a learning window, kept across a reload, let it in"

# ---------------------------------------------------------------------------
step c-allow
before=$(counter "$(stats)" drop_relay_not_allowed)
attacker 3300 'c3>-' || fail "c3's packet went somewhere"
[ "$(rises drop_relay_not_allowed "$before")" = 1 ] || fail "drop_relay_not_allowed did not rise by 1"
[ -z "$(endpoints_of 3300)" ] || fail "3300 learned $(endpoints_of 3300)"
clients 3300 'c1>-' 'c2>c1' 'c1<>c2*2' || fail "c1 and c2 on 3300: $(cat "$TMP/clients.out")"
pass "allow: c3 is never learned, c1 and c2 are"

# ---------------------------------------------------------------------------
step d-probation
clients 3200 'c1>-' 'c2>c1' 'c1<>c2*2' || fail "learning c1 and c2 on 3200: $(cat "$TMP/clients.out")"
started=$(counter "$(stats)" relay_probation_started)
# Two attempts while the call pauses, each ended by a word of the call.
attacker 3200 --interval 0.3 'c3>-*3' || fail "fewer than 4 packets got c3 something"
[ "$(endpoints_of 3200)" = "$(pair 3200)" ] || fail "3200 has $(endpoints_of 3200) after 3 packets"
clients 3200 'c1<>c2*1' || fail "the call after the first attempt: $(cat "$TMP/clients.out")"
attacker 3200 --interval 0.01 'c3>-*10' || fail "10 packets in 0.1 s got c3 something"
[ "$(endpoints_of 3200)" = "$(pair 3200)" ] || fail "3200 has $(endpoints_of 3200) after 10 fast packets"
clients 3200 'c1<>c2*1' || fail "the call after the second attempt: $(cat "$TMP/clients.out")"
call 3200
attacker 3200 --interval 0.1 'c3>-*25' || fail "c3 got through during the call"
call_end
[ "$(endpoints_of 3200)" = "$(pair 3200)" ] || fail "3200 has $(endpoints_of 3200) after the call"
attempts=$(rises relay_probation_started "$started")
[ "$attempts" -ge 2 ] || fail "relay_probation_started rose by $attempts"
[ "$(counter "$(stats)" relay_replaced)" = 0 ] || fail "an endpoint was replaced"
pass "probation: 3 slow packets, then 10 in 0.1 s, while the call paused, and 25 during the live call ($CALL): nothing replaced, $attempts attempts counted"

step d-probation-move
# c2's address changes mid-call (as behind a NAT that rebinds); it keeps its port.
nsx "${NS_CLIENT[2]}" ip addr del "${CLIENT_IP[2]}/$RELAY_PREFIX_LEN" dev eth0 || fail "ip addr del"
nsx "${NS_CLIENT[2]}" ip addr add "10.77.0.22/$RELAY_PREFIX_LEN" dev eth0 || fail "ip addr add"
CLIENT_IP[2]=10.77.0.22
clients 3200 --interval 0.3 'c2>>c1' 'c1<>c2*3' || fail "c2 was not relearned: $(cat "$TMP/clients.out")"
[ "$(endpoints_of 3200)" = "$(pair 3200)" ] || fail "3200 has $(endpoints_of 3200) after the move"
[ "$(counter "$(stats)" relay_replaced)" = 1 ] || fail "relay_replaced is not 1"
pass "c2 moved to 10.77.0.22 and was relearned ($(grep -o 'in round [0-9]*' "$TMP/clients.out"), 0.3 s apart), then talked with c1"

# ---------------------------------------------------------------------------
step e-martians
before=$(counter "$(stats)" drop_relay_refused)
nsx "${NS_CLIENT[3]}" "$RELAY_PY" - "$RELAY_MAC" "$RELAY_ADDR" <<'PY' || fail "scapy could not send"
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
mac, relay = sys.argv[1], sys.argv[2]
sources = ["0.0.0.7", "127.0.0.1", "224.0.0.9", "255.255.255.255", relay, "10.77.0.255"]
frames = [Ether(dst=mac) / IP(src=s, dst=relay) / UDP(sport=13003, dport=3005) / Raw(b"x" * 20)
          for s in sources]
frames.append(Ether(dst=mac) / IP(src="10.77.0.13", dst=relay) / UDP(sport=0, dport=3005) / Raw(b"x" * 20))
sendp(frames, iface="eth0")
PY
for ((i = 0; i < 20; i++)); do
    [ "$(rises drop_relay_refused "$before")" -ge 7 ] && break
    sleep 0.1
done
[ "$(rises drop_relay_refused "$before")" = 7 ] || fail "drop_relay_refused rose by $(rises drop_relay_refused "$before"), expected 7"
[ "$(jget "$(tel /relay/port,3005)" "u['state']")" = 1 ] || fail "3005 learned something"
pass "0.0.0.0/8, loopback, multicast, limited broadcast, the box itself, the subnet's broadcast and source port 0: 7 refused"

# ---------------------------------------------------------------------------
step f-event-log
c1e="${CLIENT_IP[1]}:13001"
for want in "learned A $c1e on \*:3000" "took over (reset) A ${CLIENT_IP[3]}:13003 on \*:3000" \
    "refused (reset_interval) $c1e on \*:3000" "refused (strict port) ${CLIENT_IP[3]}:13103 on \*:3100" \
    "refused (not in allow) ${CLIENT_IP[3]}:13303 on \*:3300" "on probation ${CLIENT_IP[3]}:13203 on \*:3200" \
    "replaced after probation B 10.77.0.22:13202 on \*:3200" "refused (never learned) 127.0.0.1:13003 on \*:3005"; do
    grep -q "^relay event: $want (lcore [0-9]*)$" "$RELAY_LOG" || fail "no event 'relay event: $want' in the log"
done
# A flood of refusals: 2000 spoofed packets from 127.0.0.9, as fast as scapy sends.
suppressed=$(counter "$(stats)" events_suppressed)
t0=$(date +%s)
nsx "${NS_CLIENT[3]}" "$RELAY_PY" - "$RELAY_MAC" "$RELAY_ADDR" <<'PY' || fail "scapy could not send"
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp, conf
conf.verb = 0
frame = Ether(dst=sys.argv[1]) / IP(src="127.0.0.9", dst=sys.argv[2]) / UDP(sport=9, dport=3006) / Raw(b"x" * 20)
sendp([frame] * 2000, iface="eth0")
PY
seconds=$(($(date +%s) - t0 + 1))
for ((i = 0; i < 30; i++)); do
    grep -q "more events on lcore [0-9]* suppressed" "$RELAY_LOG" && break
    sleep 0.1
done
lines=$(grep -c "refused (never learned) 127.0.0.9:9" "$RELAY_LOG")
summary=$(grep "more events on lcore [0-9]* suppressed" "$RELAY_LOG" | head -n 1)
[ -n "$summary" ] || fail "no 'events suppressed' line after the flood"
# At most 50 a second per worker, over the seconds the flood spanned.
[ "$lines" -le $((50 * (seconds + 1) * WORKERS)) ] || fail "$lines log lines for 2000 refusals in $seconds s: not rate limited"
left=$(rises events_suppressed "$suppressed")
[ $((lines + left)) -ge 1900 ] || fail "$lines logged + $left suppressed, of 2000 refusals"
pass "each learning, reset and refusal logged; 2000 refusals in $seconds s gave $lines lines and '${summary#relay event: }'"

step f-json-log
relay_stop 20
RELAY_PROG_ARGS=--log-json relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$TMP/relay.yaml" ||
    fail "dpdk-relay --log-json did not start (exit ${RELAY_RC:-still running})"
clients 3001 'c1>-' 'c2>c1' || fail "learning on 3001: $(cat "$TMP/clients.out")"
line=$(grep '"event":"learned"' "$RELAY_LOG" | tail -n 1)
[ "$(jget "$line" "(j['event'], j['slot'], j['endpoint'], j['relay_port'], j['address'])")" = \
  "('learned', 'B', '${CLIENT_IP[2]}:13003', 3001, '*')" ] || fail "the JSON line is '$line'"
pass "--log-json: $line"

relay_stop 20
[ "$RELAY_RC" = 0 ] || fail "dpdk-relay exited $RELAY_RC on SIGTERM"
echo "ALL PASSED ($WORKERS worker(s))"
exit 0
