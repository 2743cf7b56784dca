#!/bin/bash
# A demonstration of dpdk-relay: two clients in network namespaces ping-pong UDP
# datagrams through the relay port 3000 of config/demo.yaml.
#
#   sudo scripts/demo.sh [ROUND_TRIPS]
#
# Installs what is missing, builds (into $RELAY_BUILD_DIR, default build), sets
# up the namespaces, starts dpdk-relay, enables port 3000 with relaystate, runs
# the clients, prints what they received, the port's state and the counters, and
# tears everything down on exit, Ctrl-C or failure. Idempotent.
set -u -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ROUNDS=${1:-24}
BUILD=${RELAY_BUILD_DIR:-build}
PORT=3000
PFX="rlyd$$"
FPREFIX="relay-demo-$$"
TMP=$(mktemp -d)
RELAY_LOG="$TMP/relay.log"
RELAY_PID=

trap relay_cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "run as root: the demo creates network namespaces and veths"
[ -f config/demo.yaml ] || die "config/demo.yaml is missing"

install_deps || die "cannot install the dependencies"
configure "$BUILD" >"$TMP/meson.log" 2>&1 || { cat "$TMP/meson.log"; die "meson setup $BUILD failed"; }
ninja -C "$BUILD" src/control/dpdk-relay src/control/relaystate >"$TMP/ninja.log" 2>&1 || { tail -n 40 "$TMP/ninja.log"; die "build failed"; }
RELAY_BIN="$BUILD/src/control/dpdk-relay"
RELAYSTATE="$BUILD/src/control/relaystate"
rs() { "$RELAYSTATE" --file-prefix "$FPREFIX" "$@"; }

echo "== namespaces $PFX-*: c1 ${RELAY_ADDR%.*}.11, c2 ${RELAY_ADDR%.*}.12, relay $RELAY_ADDR on $RELAY_IF"
netns_setup "$PFX" 2 || die "cannot set up the namespaces"

echo "== dpdk-relay --config config/demo.yaml"
if ! relay_start "$RELAY_LOG" "$RELAY_BIN" 1 "$FPREFIX" config/demo.yaml auto; then
    cat "$RELAY_LOG"
    die "dpdk-relay did not start"
fi
grep '^dpdk-relay' "$RELAY_LOG" | sed 's/^/   /'

echo "== relaystate $PORT (initial state)"
rs "$PORT" | sed 's/^/   /'
echo "== relaystate $PORT 1 (enable, no endpoint known)"
rs "$PORT" 1 | sed 's/^/   /' || die "relaystate $PORT 1 failed"

echo "== c1 sends first (learned as A), c2 answers (learned as B), then $ROUNDS round trips"
run_child "$RELAY_PY" tests/e2e/udp_client.py --verbose --relay "$RELAY_ADDR:$PORT" \
    --ep "c1=${NS_CLIENT[1]}:40001" --ep "c2=${NS_CLIENT[2]}:40002" \
    'c1>-' 'c2>c1' "c1<>c2*$ROUNDS" || die "the clients did not get every datagram"

echo "== relaystate $PORT"
rs "$PORT" | sed 's/^/   /'
echo "== counters (/relay/stats via dpdk-telemetry.py, non-zero totals)"
telemetry "$FPREFIX" /relay/stats | "$RELAY_PY" -c '
import json, sys
for k, v in json.load(sys.stdin)["/relay/stats"]["total"].items():
    if v:
        print(f"   {k:24} {v}")'

echo "== stopping dpdk-relay (SIGTERM)"
relay_stop 20
echo "   exit status $RELAY_RC; its last lines:"
tail -n 30 "$RELAY_LOG" | sed 's/^/   /'
[ "$RELAY_RC" = 0 ] || die "dpdk-relay exited $RELAY_RC"
echo "== done"
