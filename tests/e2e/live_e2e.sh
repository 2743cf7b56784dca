#!/bin/bash
# End-to-end test of live operation: config reloads under traffic, a reload
# that removes a relay range, idle timeouts, and a restart that keeps learned
# endpoints through the state file. Kernel UDP sockets in namespaces talk
# through the relay (udp_client.py) and count every datagram themselves.
#
#   live_e2e.sh DPDK_RELAY RELAYSTATE [WORKERS]
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
RELOADS=50
PFX="rlyl$$"                 # namespaces PFX-sw, PFX-r, PFX-c1..3, named as netns_sweep_stale expects
FPREFIX="relay-live-$$"
TMP=$(mktemp -d)
RELAY_LOG="$TMP/relay.log"
CONFIG="$TMP/relay.yaml"
STATE="$TMP/relay.state"
STOP="$TMP/stop"
RELAY_PID=
BG_PID=
STEP=setup

trap relay_cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
    echo "----- dpdk-relay log ($RELAY_LOG) -----"
    tail -n 60 "$RELAY_LOG" 2>/dev/null
    echo "----- end of log -----"
    for f in "$TMP"/bg*.log; do
        [ -f "$f" ] && { echo "----- $f -----"; tail -n 5 "$f"; }
    done
}

rs() { "$RELAYSTATE" --file-prefix "$FPREFIX" "$@"; }
# clients PORT CPORT ACTION...: c1..c3 on client port CPORT+i talk to relay port PORT.
clients() {
    local port=$1 cport=$2
    shift 2
    "$RELAY_PY" "$HERE/udp_client.py" --relay "$RELAY_ADDR:$port" --stop-file "$STOP" \
        --ep "c1=${NS_CLIENT[1]}:$((cport + 1))" --ep "c2=${NS_CLIENT[2]}:$((cport + 2))" \
        --ep "c3=${NS_CLIENT[3]}:$((cport + 3))" "$@"
}
# background PORT CPORT LOG: c1 and c2 ping-pong through PORT until bg_end.
background() {
    bg_start "$3" clients "$1" "$2" 'c1<>c2*until' ||
        fail "the background clients stopped at once: $(cat "$3")"
}
port_json() { tel "/relay/port,$1"; }
state_of() { jget "$(port_json "$1")" "u.get('state', u)"; }
endpoints_of() { jget "$(port_json "$1")" "' '.join('%s:%s' % (u[s]['addr'], u[s]['port']) for s in 'ab' if s in u)"; }
# config NAME: the config file the relay reads, in one of its versions.
config() { cp "$TMP/$1.yaml" "$CONFIG"; }
reload() { tel /relay/reload; }
# spread: min, median and max of the microseconds on stdin, one a line.
spread() {
    sort -n | awk '{ v[NR] = $1 } END { printf "min %d us, median %d us, max %d us", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
# logged WORDS: the microseconds after WORDS in each log line that has them.
logged() { grep -o "$1 [0-9]* us" "$RELAY_LOG" | awk '{ print $(NF - 1) }'; }

write_configs() {
    local ports relay
    ports="ports:
  - { name: lan, device: net_af_packet0, address: $RELAY_ADDR/$RELAY_PREFIX_LEN }"
    relay="relay: { initial_state: enabled, state_file: relay.state, state_interval: 1 }"
    cat >"$TMP/a.yaml" <<YAML
$ports
rules:
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  - "-A PREROUTING -p udp --dport 4000:4099 -j RELAY"
  - "-A PREROUTING -d 203.0.113.20 -j DEST --to=${CLIENT_IP[3]}"
$relay
YAML
    # b: other rules around the same ranges, one range more, a route.
    cat >"$TMP/b.yaml" <<YAML
$ports
routes:
  - { prefix: 192.168.0.0/16, via: ${CLIENT_IP[3]} }
rules:
  - "-A PREROUTING -d 203.0.113.21 -j DEST --to=${CLIENT_IP[2]}"
  - "-A PREROUTING -p udp --dport 4000:4099 -j RELAY"
  - "-A PREROUTING -p udp --dport 5000:5099 -j RELAY"
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  - "-A POSTROUTING -s ${CLIENT_IP[3]} -j SOURCE --to=203.0.113.20"
$relay
YAML
    # bad: an error on line 5, column 5.
    cat >"$TMP/bad.yaml" <<YAML
$ports
rules:
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  - "-A PREROUTING -p udp --dport 4000:99999 -j RELAY"
$relay
YAML
    # c: a without the range 4000-4099.
    grep -v 4000:4099 "$TMP/a.yaml" >"$TMP/c.yaml"
    # d: c plus a range whose endpoints are forgotten after 2 s of silence.
    cat "$TMP/c.yaml" >"$TMP/d.yaml"
    sed -i "s|^rules:|rules:\n  - { hook: prerouting, match: { proto: udp, dport: 6000-6009 }, target: RELAY, idle_timeout: 2 }|" "$TMP/d.yaml"
}

# ---------------------------------------------------------------------------
step setup
for f in "$RELAY_BIN" "$RELAYSTATE"; do
    [ -x "$f" ] || fail "$f is not an executable"
done
[ -x /usr/bin/dpdk-telemetry.py ] || fail "dpdk-telemetry.py missing (package dpdk-dev)"
netns_setup "$PFX" 3 || fail "cannot build the namespaces"
write_configs
config a
relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$CONFIG" ||
    fail "dpdk-relay did not start (exit ${RELAY_RC:-still running})"
grep -q "state file $STATE: none yet; starting clean" "$RELAY_LOG" ||
    fail "no 'state file ...: none yet' line in the log"
pass "dpdk-relay up with $WORKERS worker(s)"

# ---------------------------------------------------------------------------
step a-reloads-under-traffic
clients 3000 40000 'c1>-' 'c2>c1' >/dev/null || fail "learning c1 and c2 on 3000"
before=$(endpoints_of 3000)
background 3000 40000 "$TMP/bg-a.log"
sighups=0 bad=0 good=0
: >"$TMP/reload-us"
for ((i = 1; i <= RELOADS; i++)); do
    if ((i % 5 == 0)); then
        config bad
    elif ((i % 2)); then
        config b
    else
        config a
    fi
    if ((i % 10 == 3)); then
        # SIGHUP: the answer is in the log.
        n=$(grep -c 'relay event: reload' "$RELAY_LOG")
        kill -HUP "$RELAY_PID"
        for ((w = 0; w < 50; w++)); do
            [ "$(grep -c 'relay event: reload' "$RELAY_LOG")" -gt "$n" ] && break
            sleep 0.1
        done
        line=$(grep 'relay event: reload' "$RELAY_LOG" | tail -n 1)
        echo "$line" | grep -q 'reload done: reloaded' || fail "reload $i by SIGHUP: $line"
        sighups=$((sighups + 1))
        good=$((good + 1))
        continue
    fi
    r=$(reload)
    if ((i % 5 == 0)); then
        why=$(jget "$r" "''.join(u.get('message', [])) if 'error' in u else ''")
        [ "$why" = "$CONFIG:5:5: rules[1]: --dport: \"4000:99999\" is not a port or range (0-65535) in \"-A PREROUTING -p udp --dport 4000:99999 -j RELAY\"" ] ||
            fail "reload $i of a bad file answered $r"
        bad=$((bad + 1))
    else
        jget "$r" "u['us']" >>"$TMP/reload-us" 2>/dev/null || fail "reload $i answered $r"
        good=$((good + 1))
    fi
done
bg_end || fail "the clients lost or misdirected a datagram: $(tail -n 3 "$TMP/bg-a.log")"
trips=$(grep -o '[0-9]* round trips' "$TMP/bg-a.log")
after=$(endpoints_of 3000)
[ "$after" = "$before" ] || fail "endpoints of 3000 were '$before', now '$after'"
[ "$(state_of 3000)" = 15 ] || fail "port 3000 is in state $(state_of 3000), expected 15"
s=$(stats)
[ "$(counter "$s" reloads)" = "$good" ] || fail "reloads = $(counter "$s" reloads), expected $good"
[ "$(counter "$s" reloads_failed)" = "$bad" ] || fail "reloads_failed = $(counter "$s" reloads_failed), expected $bad"
lat=$(spread <"$TMP/reload-us")
pass "$good reloads ($sighups by SIGHUP) and $bad refused, $trips meanwhile with nothing lost, pair kept ($after); reload time $lat"
echo "    built in: $(logged 'built in' | spread); grace periods: $(logged 'grace period' | spread)"
echo "    the last reload: $(grep 'reloaded' "$RELAY_LOG" | tail -n 1)"

# ---------------------------------------------------------------------------
step b-remove-a-range
config a
reload >/dev/null
clients 4000 41000 'c3>-' 'c2>c3' 'c3<>c2*3' >/dev/null || fail "learning c3 and c2 on 4000"
background 3000 40000 "$TMP/bg-b.log"
unhandled=$(counter "$(stats)" drop_local_unhandled)
config c
r=$(reload)
jget "$r" "''.join(u['message'])" | grep -q '100 dropped' || fail "reload to c answered $r"
clients 4000 41000 'c3>-' 'c2>-' >/dev/null || fail "4000 still relays after its range went"
after=$(counter "$(stats)" drop_local_unhandled)
[ "$after" -ge $((unhandled + 2)) ] || fail "drop_local_unhandled $unhandled -> $after, expected +2"
out=$(rs 4000 2>&1) && fail "relaystate 4000 answered '$out' for a port that is gone"
bg_end || fail "3000 lost a datagram: $(tail -n 3 "$TMP/bg-b.log")"
pass "4000 stopped relaying ('$out'), 3000 went on: $(grep -o '[0-9]* round trips' "$TMP/bg-b.log")"

# ---------------------------------------------------------------------------
step c-idle-timeout
config d
reload >/dev/null
# Counted before the pair is learned: on a loaded machine its 2 s may run out
# before the next telemetry answer.
expired=$(counter "$(stats)" relay_expired)
clients 6000 42000 'c1>-' 'c2>c1' 'c1<>c2*2' >/dev/null || fail "learning c1 and c2 on 6000"
pj=$(port_json 6000)
[ "$(jget "$pj" "(u['state'], u['idle_timeout'], u['a']['age'] >= 0, u['b']['age'] >= 0)")" = "(15, 2, True, True)" ] ||
    fail "/relay/port,6000 answered $pj"
sleep 3.5
[ "$(state_of 6000)" = 1 ] || fail "after 3.5 s of silence 6000 is in state $(state_of 6000): $(port_json 6000)"
[ "$(counter "$(stats)" relay_expired)" = $((expired + 2)) ] || fail "relay_expired did not rise by 2"
clients 6000 42000 'c3>-' 'c2>c3' 'c3<>c2*2' >/dev/null || fail "a new pair on 6000"
[ "$(endpoints_of 6000)" = "${CLIENT_IP[3]}:42003 ${CLIENT_IP[2]}:42002" ] || fail "6000 has $(endpoints_of 6000)"
[ "$(endpoints_of 3000)" = "$before" ] || fail "3000 (no idle timeout) lost its pair: $(endpoints_of 3000)"
pass "6000 went back to SET0 after 2 s of silence, then learned c3 and c2; 3000 kept its pair"

# ---------------------------------------------------------------------------
step d-restart-with-state
clients 3000 40000 'c1<>c2*3' >/dev/null || fail "c1 and c2 before the restart"
relay_stop 20
[ "$RELAY_RC" = 0 ] || fail "dpdk-relay exited $RELAY_RC on SIGTERM"
# 6000's pair may have expired by now, or not.
saved=$(jget "$(cat "$STATE")" "[(p['port'], p['state']) for p in j['ports'] if p['port'] == 3000]") ||
    fail "the state file is not JSON: $(head -c 300 "$STATE")"
[ "$saved" = "[(3000, 15)]" ] || fail "the state file holds $saved for port 3000"
n=$(jget "$(cat "$STATE")" "len(j['ports'])")
relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$CONFIG" ||
    fail "dpdk-relay did not restart (exit ${RELAY_RC:-still running})"
grep -q "state file $STATE: restored $n relay ports\$" "$RELAY_LOG" ||
    fail "no 'restored $n relay ports' in the log"
# c1 speaks first: without the state it would be learned as A and get nowhere.
clients 3000 40000 'c1<>c2*5' 'c2<>c1*5' >/dev/null || fail "the conversation did not go on after the restart"
[ "$(endpoints_of 3000)" = "$before" ] || fail "3000 has $(endpoints_of 3000) after the restart"
pass "restarted with $n ports restored; c1 and c2 went on without learning again"

# ---------------------------------------------------------------------------
step e-truncated-state
relay_stop 20
head -c "$(($(stat -c %s "$STATE") / 2))" "$STATE" >"$TMP/half" && mv "$TMP/half" "$STATE"
relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$CONFIG" ||
    fail "dpdk-relay did not start with a truncated state file (exit ${RELAY_RC:-still running})"
line=$(grep "state file $STATE" "$RELAY_LOG")
echo "$line" | grep -q "not JSON (a truncated or foreign file).*; ignored, starting clean" ||
    fail "the log says '$line'"
[ "$(state_of 3000)" = 1 ] || fail "3000 is in state $(state_of 3000), expected the initial 1"
clients 3000 40000 'c1>-' 'c2>c1' >/dev/null || fail "learning again after a clean start"
pass "'${line#dpdk-relay: }'"

relay_stop 20
[ "$RELAY_RC" = 0 ] || fail "dpdk-relay exited $RELAY_RC on SIGTERM"
echo "ALL PASSED ($WORKERS worker(s))"
exit 0
