#!/bin/bash
# What `meson install` puts in place, installed into a temporary DESTDIR:
#
#   install_test.sh BUILD_DIR files   no root: every file is where
#       `meson introspect --installed` says, no build or DESTDIR path leaks into
#       the installed text, the installed example config passes
#       `dpdk-relay --check`, and `systemd-analyze verify` accepts the unit.
#   install_test.sh BUILD_DIR e2e     root (exit 77 otherwise): all of the
#       above, then tests/e2e/relay_e2e.sh runs the INSTALLED dpdk-relay and
#       relaystate, once plainly and once with only the capabilities and
#       NoNewPrivileges of the installed unit.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"

if [ $# -lt 2 ] || { [ "$2" != files ] && [ "$2" != e2e ]; }; then
    echo "usage: $0 BUILD_DIR files|e2e" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
MODE=$2
if [ "$MODE" = e2e ] && [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the e2e test needs root (network namespaces, veth, af_packet)"
    exit 77
fi

STEP=setup
DEST=$(mktemp -d)
cleanup() {
    stop_child
    rm -rf "$DEST"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
show_log() { :; }

# installed FILE_NAME: the install path (without DESTDIR) of the one built or
# source file named FILE_NAME.
installed() {
    "$RELAY_PY" - "$1" "$INSTALLED_JSON" <<'PY'
import json, os, sys
name, table = sys.argv[1], json.loads(sys.argv[2])
hits = [dst for src, dst in table.items() if os.path.basename(src) == name]
if len(hits) != 1:
    sys.exit(f"{name}: {len(hits)} install paths in meson introspect --installed: {hits}")
print(hits[0])
PY
}

# ---------------------------------------------------------------------------
step install
out=$(meson install -C "$BUILD" --no-rebuild --destdir "$DEST" 2>&1) ||
    fail "meson install --destdir exited $?: $(echo "$out" | tail -n 5)"
INSTALLED_JSON=$(meson introspect --installed "$BUILD") || fail "meson introspect --installed"
BIN_RELAY=$(installed dpdk-relay) || fail "$BIN_RELAY"
BIN_STATE=$(installed relaystate) || fail "$BIN_STATE"
CONFIG=$(installed relay.yaml) || fail "$CONFIG"
ENV_FILE=$(installed dpdk-relay.default) || fail "$ENV_FILE"
# -Dsystemdsystemunitdir=no installs no unit.
UNIT=$(installed dpdk-relay.service 2>/dev/null) || UNIT=
MAN_RELAY=$(installed dpdk-relay.8) || fail "$MAN_RELAY"
MAN_STATE=$(installed relaystate.8) || fail "$MAN_STATE"
prefix=$(meson introspect --buildoptions "$BUILD" |
    "$RELAY_PY" -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
for f in "$BIN_RELAY" "$BIN_STATE" "$CONFIG" "$ENV_FILE" ${UNIT:+"$UNIT"} "$MAN_RELAY" "$MAN_STATE"; do
    [ -s "$DEST$f" ] || fail "$f is not in DESTDIR"
done
for f in "$BIN_RELAY" "$BIN_STATE"; do
    [ -x "$DEST$f" ] || fail "$f is not executable"
done
sysconfdir=$(dirname "$(dirname "$CONFIG")")
[ "$CONFIG" = "$sysconfdir/dpdk-relay/relay.yaml" ] || fail "relay.yaml is installed as $CONFIG"
[ "$ENV_FILE" = "$sysconfdir/default/dpdk-relay" ] ||
    fail "the environment file is installed as $ENV_FILE, not beside relay.yaml in $sysconfdir/default"
[[ "$MAN_RELAY" == */man8/dpdk-relay.8* ]] || fail "dpdk-relay.8 installed as $MAN_RELAY"
pass "prefix $prefix: $BIN_RELAY, $BIN_STATE, $CONFIG, $ENV_FILE, ${UNIT:-no unit}, $MAN_RELAY, $MAN_STATE"

# ---------------------------------------------------------------------------
step paths
for f in "$CONFIG" "$ENV_FILE" ${UNIT:+"$UNIT"} "$MAN_RELAY" "$MAN_STATE"; do
    left=$(grep -n -e "$DEST" -e "$BUILD" -e '@[A-Z_]*@' "$DEST$f") &&
        fail "$f holds a build path or an unsubstituted variable: $left"
done
if [ -n "$UNIT" ]; then
    grep -q "^ExecStart=$BIN_RELAY " "$DEST$UNIT" || fail "the unit does not start $BIN_RELAY"
    grep -q "^Environment=DPDK_RELAY_CONFIG=$CONFIG\$" "$DEST$UNIT" || fail "the unit does not run $CONFIG"
    grep -q "^EnvironmentFile=-$ENV_FILE\$" "$DEST$UNIT" || fail "the unit does not read $ENV_FILE"
fi
pass "the unit, the environment file, the config and the man pages name the installed paths"

# ---------------------------------------------------------------------------
step check-config
out=$("$DEST$BIN_RELAY" --check --config "$DEST$CONFIG" --file-prefix "install-check-$$" 2>&1) ||
    fail "dpdk-relay --check --config DESTDIR$CONFIG exited $?: $out"
echo "$out" | grep -q RELAY || fail "--check printed no RELAY rule: $out"
"$DEST$BIN_STATE" --version >/dev/null || fail "relaystate --version"
pass "the installed dpdk-relay accepts the installed config"

# ---------------------------------------------------------------------------
# systemd-analyze verify --root checks the unit as systemd would load it from
# DESTDIR, including that every command it runs exists and is executable
# there and that man finds the pages it names. The commands that belong to the system (kill, dpdk-hugepages.py) get
# an empty stand-in in DESTDIR once found on this host. Units the service only
# orders itself after (network.target, ...) are not in DESTDIR: with
# --recursive-errors=no they do not count, only the unit's own problems do.
step systemd-verify
if [ -z "$UNIT" ]; then
    pass "no unit installed (-Dsystemdsystemunitdir=no): nothing to verify"
elif ! analyze=$(command -v systemd-analyze); then
    echo "SKIP: no systemd-analyze (package systemd)"
    exit 77
else
    sed -n 's/^Exec[A-Za-z]*=[-+@:!]*\([^ ]*\).*/\1/p' "$DEST$UNIT" | sort -u >"$DEST/.commands"
    while read -r cmd; do
        [ -e "$DEST$cmd" ] && continue
        [ -x "$cmd" ] || fail "the unit runs $cmd, which this host does not have"
        mkdir -p "$DEST$(dirname "$cmd")"
        printf '#!/bin/sh\n# stand-in for the host'"'"'s %s\n' "$cmd" >"$DEST$cmd"
        chmod +x "$DEST$cmd"
    done <"$DEST/.commands"
    # It also looks up the unit's Documentation=man:... pages: the installed ones.
    out=$(MANPATH="$DEST$(dirname "$(dirname "$MAN_RELAY")")" \
        "$analyze" verify --recursive-errors=no --root="$DEST" "$UNIT" 2>&1)
    rc=$?
    [ -n "$out" ] && printf '    %s\n' "${out//$'\n'/$'\n'    }"
    [ $rc = 0 ] || fail "systemd-analyze verify exited $rc"
    echo "$out" | grep -v 'Unit [a-z.-]*\.target not found' | grep -q . &&
        fail "systemd-analyze verify warned about the unit"
    pass "systemd-analyze verify --root=DESTDIR accepts $UNIT ($(tr '\n' ' ' <"$DEST/.commands"))"
fi

[ "$MODE" = files ] && { echo "ALL PASSED"; exit 0; }

# ---------------------------------------------------------------------------
# The installed unit's capability bounding set and NoNewPrivileges, as setpriv
# spells them: "-all,+sys_admin,+net_raw,...".
unit_bounding_set() {
    local caps c out=-all
    caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$DEST$UNIT")
    [ -n "$caps" ] || return 1
    for c in $caps; do
        c=${c#CAP_}
        out+=",+${c,,}"
    done
    echo "$out"
}

step relay-e2e
run_child bash "$HERE/../e2e/relay_e2e.sh" "$DEST$BIN_RELAY" "$DEST$BIN_STATE" 1 ||
    fail "relay_e2e.sh with the installed programs"
pass "relay_e2e.sh passed with $BIN_RELAY and $BIN_STATE from DESTDIR"

[ -n "$UNIT" ] || { echo "ALL PASSED"; exit 0; }
step relay-e2e-sandboxed
caps=$(unit_bounding_set) || fail "the unit sets no CapabilityBoundingSet"
grep -q '^NoNewPrivileges=yes$' "$DEST$UNIT" || fail "the unit does not set NoNewPrivileges"
run_child setpriv --bounding-set "$caps" --inh-caps -all --no-new-privs \
    bash "$HERE/../e2e/relay_e2e.sh" "$DEST$BIN_RELAY" "$DEST$BIN_STATE" 1 ||
    fail "relay_e2e.sh under setpriv --bounding-set $caps --no-new-privs"
pass "relay_e2e.sh passed again with only the unit's capabilities ($caps) and no new privileges"

echo "ALL PASSED"
exit 0
