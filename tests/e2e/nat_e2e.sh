#!/bin/bash
# End-to-end test of DEST and SOURCE: dpdk-relay routes between a client and a
# server namespace on two af_packet ports, and publishes the server as
# 203.0.113.10, stateless in both directions:
#
#   client  10.78.1.2 -> 203.0.113.10  --DEST-->    10.78.1.2 -> 10.78.2.10  server
#   client  10.78.1.2 <- 203.0.113.10  <--SOURCE--  10.78.1.2 <- 10.78.2.10  server
#
# Real kernel traffic goes through it (ping, an HTTP download over TCP, UDP
# request/response, UDP datagrams the kernels fragment), captured inbound on
# both hosts and checked by tshark's checksum validation and the kernels' own
# counters. A RELAY range in the same config must keep relaying.
#
#   nat_e2e.sh DPDK_RELAY [WORKERS]
#
# Needs root (exit 77 = skipped otherwise). Prints PASS/FAIL per step and stops
# at the first failure with the relay's log.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"

e2e_check $# 1 "$0 DPDK_RELAY [WORKERS]"

RELAY_BIN=$1
WORKERS=${2:-1}
PUBLIC=203.0.113.10          # the server's published address
CLIENT_GW=10.78.1.1          # the box on the client side (port "client")
SERVER_GW=10.78.2.1          # the box on the server side (port "server")
CLIENT=10.78.1.2
SERVER=10.78.2.10
HTTP_PORT=8080
UDP_PORT=5300
RELAY_PORT=3000
FILE_MB=6
BIG=8000                     # a UDP payload past the 1500-byte MTU: sent as fragments
PFX="rlyn$$"                 # namespaces PFX-r, PFX-c1, PFX-s1
NS_RELAY="$PFX-r"
NS_C="$PFX-c1"
NS_S="$PFX-s1"
RELAY_IFS=(client0 server0)  # net_af_packet0 = port client, net_af_packet1 = port server
FPREFIX="nat-e2e-$$"         # EAL --file-prefix
TMP=$(mktemp -d)
RELAY_LOG="$TMP/relay.log"
RELAY_PID=
HTTP_PID=
CAP_PIDS=()
STEP=setup

stop_captures() {
    local pid
    for pid in "${CAP_PIDS[@]}"; do
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    CAP_PIDS=()
}
cleanup() {
    stop_captures
    if [ -n "$HTTP_PID" ]; then
        kill -TERM "$HTTP_PID" 2>/dev/null
        wait "$HTTP_PID" 2>/dev/null
    fi
    relay_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
    echo "----- dpdk-relay log ($RELAY_LOG) -----"
    tail -n 80 "$RELAY_LOG" 2>/dev/null
    echo "----- end of log -----"
    if [ -n "$RELAY_PID" ]; then
        echo "----- /relay/stats (non-zero totals) -----"
        nonzero "$(stats 2>/dev/null)" 2>/dev/null || echo "    (no answer from telemetry)"
    fi
}

nonzero() { jget "$1" "'    ' + ', '.join(f'{k}={v}' for k, v in u['total'].items() if v)"; }
# delta BEFORE AFTER NAME: how much counter NAME rose between two stats replies.
delta() { echo $(($(counter "$2" "$3") - $(counter "$1" "$3"))); }
nat_check() {
    run_child "$RELAY_PY" "$HERE/nat_check.py" udp --client "$NS_C:41000" \
        --server "$NS_S:$UDP_PORT" --to "$PUBLIC:$UDP_PORT" --seen-source "$CLIENT" "$@"
}
# Background jobs below start with `ip netns exec` itself rather than nsx: a
# function would run in a subshell, and its $! would not stop with a signal.
#
# capture NS NAME: inbound IPv4 on NS's eth0 (frames that came from the relay)
# into TMP/NAME.pcap, written packet by packet. Its kernel buffer (-B, KiB)
# holds the whole test's traffic: with the default 2 MiB, a tcpdump that got
# no CPU during the download dropped a third of its frames.
capture() {
    local ns=$1 name=$2 i
    ip netns exec "$ns" tcpdump -i eth0 -Q in -n -s 0 -B 65536 -U --immediate-mode -Z root -w "$TMP/$name.pcap" ip \
        >"$TMP/$name.tcpdump.log" 2>&1 </dev/null &
    CAP_PIDS+=($!)
    for ((i = 0; i < 50; i++)); do
        grep -qs 'listening on' "$TMP/$name.tcpdump.log" && return 0
        sleep 0.1
    done
    fail "tcpdump in $ns did not start: $(cat "$TMP/$name.tcpdump.log")"
}
# tcount NAME FILTER: frames of TMP/NAME.pcap matching a display filter, with
# tshark validating every IPv4, ICMP, TCP and UDP checksum.
tcount() {
    tshark -r "$TMP/$1.pcap" -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -o udp.check_checksum:TRUE -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l
}
BAD='ip.checksum.status == "Bad" || icmp.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad"'
kernels_clean() {
    local ns n
    for ns in "$NS_C" "$NS_S"; do
        n=$(netns_csum_errors "$ns")
        [ "$n" = 0 ] || fail "the kernel of $ns counted $n IP header or TCP/UDP checksum errors"
    done
}

# ---------------------------------------------------------------------------
step setup
[ -x "$RELAY_BIN" ] || fail "$RELAY_BIN is not an executable"
[ -x /usr/bin/dpdk-telemetry.py ] || fail "dpdk-telemetry.py missing (package dpdk-dev)"
for tool in curl tcpdump tshark ethtool ss sha256sum; do
    command -v "$tool" >/dev/null || fail "$tool missing (scripts/lib.sh install_deps installs it)"
done
netns_sweep_stale
ip netns add "$NS_RELAY" || fail "cannot create namespace $NS_RELAY"
netns_quiet "$NS_RELAY"
netns_add_host "$NS_C" "$CLIENT/24" "$CLIENT_GW" "${RELAY_IFS[0]}" || fail "cannot build $NS_C"
netns_add_host "$NS_S" "$SERVER/24" "$SERVER_GW" "${RELAY_IFS[1]}" || fail "cannot build $NS_S"
# Stateless means no conntrack anywhere: the namespaces have no firewall rules
# (a fresh namespace loads none, and a rule is what would hook conntrack in).
if command -v nft >/dev/null; then
    for ns in "$NS_RELAY" "$NS_C" "$NS_S"; do
        [ -z "$(nsx "$ns" nft list ruleset 2>/dev/null)" ] || fail "$ns has nftables rules"
    done
fi
cat >"$TMP/relay.yaml" <<EOF
ports:
  - { name: client, device: net_af_packet0, address: $CLIENT_GW/24 }
  - { name: server, device: net_af_packet1, address: $SERVER_GW/24 }
rules:
  - "-A PREROUTING -p udp --dport $RELAY_PORT:$((RELAY_PORT + 9)) -j RELAY"
  - "-A PREROUTING -d $PUBLIC -j DEST --to=$SERVER"
  - "-A POSTROUTING -s $SERVER -o client -j SOURCE --to=$PUBLIC"
relay: { initial_state: enabled, learning: reset, idle_timeout: 0 }
buffer_size: 16384
EOF
# Frames of up to 16 KiB from net_af_packet (see step 4), and the memory their
# buffers take.
RELAY_VDEV_ARGS="framesz=16384,blocksz=16384"
RELAY_MEM_MB=512
relay_start "$RELAY_LOG" "$RELAY_BIN" "$WORKERS" "$FPREFIX" "$TMP/relay.yaml" ||
    fail "dpdk-relay did not print 'dpdk-relay: ready' (exit ${RELAY_RC:-still running})"
pass "dpdk-relay up with $WORKERS worker(s) on ${RELAY_IFS[*]}, namespaces $PFX-*"

# ---------------------------------------------------------------------------
# Both hosts resolve and ping their side of the box, which learns their MACs
# from the ARP requests: no packet below waits for a neighbour.
step 0-box-ping
for pair in "$NS_C:$CLIENT_GW" "$NS_S:$SERVER_GW"; do
    out=$(nsx "${pair%%:*}" ping -c 2 -i 0.2 -W 2 "${pair#*:}" 2>&1) ||
        fail "ping ${pair#*:} from ${pair%%:*}: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
done
s=$(stats)
[ "$(counter "$s" icmp_echo_replies)" -ge 4 ] || fail "icmp_echo_replies < 4: $s"
pass "the box answers ping on $CLIENT_GW and $SERVER_GW"

capture "$NS_S" server
capture "$NS_C" client
s0=$(stats)

# ---------------------------------------------------------------------------
step 1-ping
out=$(nsx "$NS_C" ping -c 3 -i 0.2 -W 2 "$PUBLIC" 2>&1) ||
    fail "ping $PUBLIC from the client: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
echo "$out" | grep -q "3 received" || fail "ping $PUBLIC: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
[ "$(echo "$out" | grep -c "bytes from $PUBLIC:")" = 3 ] || fail "replies not from $PUBLIC: $out"
s=$(stats)
[ "$(delta "$s0" "$s" rewritten_dest)" -ge 3 ] || fail "rewritten_dest rose by less than 3"
[ "$(delta "$s0" "$s" rewritten_source)" -ge 3 ] || fail "rewritten_source rose by less than 3"
pass "3/3 echo requests to $PUBLIC answered by $SERVER through DEST and SOURCE"

# ---------------------------------------------------------------------------
step 2-tcp
mkdir -p "$TMP/www"
head -c "$((FILE_MB << 20))" /dev/urandom >"$TMP/www/blob"
want=$(sha256sum <"$TMP/www/blob" | cut -d' ' -f1)
ip netns exec "$NS_S" "$RELAY_PY" "$HERE/nat_check.py" http-server --bind "$SERVER:$HTTP_PORT" \
    --directory "$TMP/www" >"$TMP/http.log" 2>&1 </dev/null &
HTTP_PID=$!
netns_wait_listen "$NS_S" tcp "$HTTP_PORT" || fail "the HTTP server did not start: $(cat "$TMP/http.log")"
t0=$(date +%s.%N)
run_child ip netns exec "$NS_C" curl -sS --fail --noproxy '*' --connect-timeout 10 --max-time 150 \
    -o "$TMP/got" "http://$PUBLIC:$HTTP_PORT/blob" 2>"$TMP/curl.log" ||
    fail "curl http://$PUBLIC:$HTTP_PORT/blob: $(cat "$TMP/curl.log")"
t1=$(date +%s.%N)
got=$(sha256sum <"$TMP/got" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "sha256 $got of $(stat -c %s "$TMP/got") bytes, expected $want"
grep -q "^$CLIENT - .*\"GET /blob HTTP/1.[01]\" 200" "$TMP/http.log" ||
    fail "the server did not log GET /blob from $CLIENT: $(cat "$TMP/http.log")"
kill -TERM "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null
HTTP_PID=
pass "$FILE_MB MiB over HTTP from $PUBLIC:$HTTP_PORT, sha256 matches, the server saw $CLIENT" \
    "($(awk -v a="$t0" -v b="$t1" -v n="$FILE_MB" 'BEGIN { printf "%.1f s, %.1f MiB/s", b - a, n / (b - a) }'))"

# ---------------------------------------------------------------------------
step 3-udp
nat_check --size 200 --count 20 >"$TMP/udp.log" || { cat "$TMP/udp.log"; fail "UDP request/response"; }
pass "20 requests to $PUBLIC:$UDP_PORT seen from $CLIENT:41000, 20 replies from $PUBLIC:$UDP_PORT"

# ---------------------------------------------------------------------------
# The client's kernel sends each datagram as 6 IP fragments (MTU 1500).
# net_af_packet joins its sockets to a fanout group with
# PACKET_FANOUT_FLAG_DEFRAG, so the relay's kernel reassembles them and the
# relay receives one 8042-byte frame: it fits the 16 KiB buffers (framesz= and
# buffer_size above), DEST rewrites it whole, and the server port's MTU has the
# relay fragment it again. The server's kernel must reassemble it intact, and
# the replies take the same way back through SOURCE.
step 4-udp-fragments
s1=$(stats)
nat_check --size "$BIG" --reply-size "$BIG" --count 5 >"$TMP/frag.log"
rc=$?
s2=$(stats)
seen="rewritten_dest +$(delta "$s1" "$s2" rewritten_dest), rewritten_source +$(delta "$s1" "$s2" rewritten_source)"
seen+=", fragmented_packets +$(delta "$s1" "$s2" fragmented_packets), drop_truncated +$(delta "$s1" "$s2" drop_truncated)"
[ "$rc" = 0 ] || {
    cat "$TMP/frag.log"
    fail "$BIG-byte datagrams through DEST and SOURCE; for them the relay counted: $seen"
}
[ "$(delta "$s1" "$s2" fragmented_packets)" -ge 10 ] ||
    fail "the relay fragmented fewer than 10 datagrams: $seen"
pass "5 x $BIG bytes each way arrived whole and intact; the relay counted: $seen"

# ---------------------------------------------------------------------------
step 5-capture
sleep 0.3
stop_captures
for name in server client; do
    [ -s "$TMP/$name.pcap" ] || fail "the $name capture is empty: $(cat "$TMP/$name.tcpdump.log")"
    bad=$(tcount "$name" "$BAD")
    [ "$bad" = 0 ] || {
        tshark -r "$TMP/$name.pcap" -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
            -o udp.check_checksum:TRUE -Y "$BAD" 2>/dev/null | head -n 20
        fail "$bad frames with a bad checksum in the $name capture"
    }
done
# need NAME MIN WHAT FILTER: at least MIN frames of capture NAME match FILTER.
need() {
    local n
    n=$(tcount "$1" "$4")
    [ "$n" -ge "$2" ] ||
        fail "the $1 capture has $n frames of $3 ($4), expected >= $2; tcpdump: $(grep -h 'packets' "$TMP/$1.tcpdump.log" | tr '\n' ' ')"
    printf '    %s: %s frames of %s\n' "$1" "$n" "$3"
}
need server 3 "echo requests from the client" "icmp.type == 8 && ip.src == $CLIENT && ip.dst == $SERVER"
need server 100 "TCP from the client" "tcp && ip.src == $CLIENT && ip.dst == $SERVER && tcp.dstport == $HTTP_PORT"
need server 1 "the HTTP request" "http.request.uri == \"/blob\" && ip.src == $CLIENT"
need server 20 "UDP requests" "udp.dstport == $UDP_PORT && ip.src == $CLIENT && ip.dst == $SERVER && ip.flags.mf == 0 && ip.frag_offset == 0"
need server 5 "reassembled $BIG-byte requests" "udp.length == $((BIG + 8)) && ip.src == $CLIENT && ip.dst == $SERVER"
need client 3 "echo replies from $PUBLIC" "icmp.type == 0 && ip.src == $PUBLIC && ip.dst == $CLIENT"
need client $(((FILE_MB << 20) / 1500)) "TCP from $PUBLIC" "tcp.srcport == $HTTP_PORT && ip.src == $PUBLIC && tcp.len > 0"
need client 20 "UDP replies from $PUBLIC" "udp.srcport == $UDP_PORT && ip.src == $PUBLIC && ip.flags.mf == 0 && ip.frag_offset == 0"
need client 5 "reassembled $BIG-byte replies" "udp.length == $((BIG + 8)) && ip.src == $PUBLIC"
leak=$(tcount server "ip.addr == $PUBLIC")
[ "$leak" = 0 ] || fail "$leak frames reached the server with $PUBLIC in them (DEST missed them)"
leak=$(tcount client "ip.addr == $SERVER")
[ "$leak" = 0 ] || fail "$leak frames reached the client with $SERVER in them (SOURCE missed them)"
frags_s=$(tcount server "ip.flags.mf == 1 || ip.frag_offset > 0")
frags_c=$(tcount client "ip.flags.mf == 1 || ip.frag_offset > 0")
kernels_clean
pass "0 bad checksums (tshark) in $(tcount server ip) + $(tcount client ip) frames captured inbound," \
    "$frags_s + $frags_c of them IP fragments; 0 errors in the kernels' counters"

# ---------------------------------------------------------------------------
step 6-counters
s=$(stats)
[ "$(counter "$s" rewritten_dest)" -gt 0 ] || fail "rewritten_dest is 0: $s"
[ "$(counter "$s" rewritten_source)" -gt 0 ] || fail "rewritten_source is 0: $s"
[ "$(counter "$s" forwarded_packets)" -gt 0 ] || fail "forwarded_packets is 0: $s"
for c in drop_malformed drop_truncated drop_too_big drop_no_mbuf; do
    [ "$(counter "$s" $c)" = 0 ] || fail "$c is $(counter "$s" $c): $s"
done
# --check beside the running relay shows the same hits: rule 1 is the only DEST
# rule and rule 2 the only SOURCE rule.
chk=$("$RELAY_BIN" --check --config "$TMP/relay.yaml" --file-prefix "$FPREFIX") ||
    fail "dpdk-relay --check failed: $chk"
for pair in "1 DEST:rewritten_dest" "2 SOURCE:rewritten_source"; do
    want=$(counter "$s" "${pair#*:}")
    line=$(echo "$chk" | grep "^rule ${pair%%:*}: ")
    [[ "$line" == *", $want hits)" ]] || fail "--check shows '$line', expected $want hits"
done
echo "$chk" | grep -q "^hits: from the dpdk-relay running with file prefix $FPREFIX" ||
    fail "--check did not read the running relay: $(echo "$chk" | tail -n 1)"
pass "rewritten_dest $(counter "$s" rewritten_dest), rewritten_source $(counter "$s" rewritten_source)," \
    "fragmented_packets $(counter "$s" fragmented_packets), no malformed, truncated or too big;" \
    "--check shows the same hits"
nonzero "$s"
jget "$s" "'    rx_packets per worker lcore: ' + ', '.join(f\"{k}={v.get('rx_packets', 0)}\" for k, v in u.get('lcores', {}).items())"

# ---------------------------------------------------------------------------
# The RELAY range of the same config, across the two ports: both hosts send to
# the box's client-side address, and each gets the other's datagrams from it.
step 7-relay-coexists
before=$(counter "$(stats)" relayed_packets)
run_child "$RELAY_PY" "$HERE/udp_client.py" --relay "$CLIENT_GW:$RELAY_PORT" \
    --ep "c=$NS_C:40001" --ep "s=$NS_S:40002" 'c>-' 's>c' 'c<>s*20' >"$TMP/relay.log.udp" ||
    { cat "$TMP/relay.log.udp"; fail "relay ping-pong between the client and the server"; }
r=$(tel "/relay/port,$RELAY_PORT")
[ "$(jget "$r" "u['state']")" = 15 ] || fail "port $RELAY_PORT is not in state 15: $r"
after=$(counter "$(stats)" relayed_packets)
[ $((after - before)) = 41 ] || fail "relayed_packets rose by $((after - before)), expected 41"
pass "41 datagrams relayed on $CLIENT_GW:$RELAY_PORT between $CLIENT and $SERVER, state 15"

# ---------------------------------------------------------------------------
step 8-sigterm
final=$(counter "$(stats)" rewritten_dest)
relay_stop 20
[ "$RELAY_RC" = 0 ] || fail "dpdk-relay exited $RELAY_RC on SIGTERM (124 = had to be killed)"
printed=$(awk '$1 == "rewritten_dest" { v = $2 } END { print v }' "$RELAY_LOG")
[ "$printed" = "$final" ] || fail "final rewritten_dest '$printed', telemetry said $final"
pass "exit 0, final counters printed (rewritten_dest $printed)"

echo "ALL PASSED ($WORKERS worker(s))"
exit 0
