#!/bin/bash
# Startup failures end dpdk-relay with a non-zero exit and one line, naming the
# problem and what to do, as the last thing it prints:
#   no ports, a config device EAL does not have, more workers than the device
#   has queues, device frames larger than the buffers, no worker lcore, no
#   hugepages, a broken config, bad options.
# Usage: startup_errors.sh DPDK_RELAY. Needs root (veth); exits 77 otherwise.
set -u
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
RELAY=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONFIG="$HERE/../../config/demo.yaml"
TMP=$(mktemp -d)
VETH=rlyse$$
PREFIX=rly_se$$
cleanup() {
    ip link del "$VETH" 2>/dev/null
    rm -rf "$TMP" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
ip link add "$VETH" type veth peer name "${VETH}p" && ip link set "$VETH" up || exit 1
sed 's/net_af_packet0/net_null0/' "$CONFIG" > "$TMP/null.yaml"
printf 'ports:\n  - { name: lan, device: x, address: 10.0.0.1/33 }\n' > "$TMP/bad.yaml"

FAILED=0
# expect NAME EXPECTED_RC PATTERN -- ARGS...: the run exits EXPECTED_RC and its
# last stderr line starts with "dpdk-relay: " and matches PATTERN.
expect() {
    local name=$1 want_rc=$2 pattern=$3 rc last
    shift 4
    timeout 30 "$RELAY" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    last=$(tail -n 1 "$TMP/err")
    if [ "$rc" = "$want_rc" ] && [[ "$last" == "dpdk-relay: "* ]] && [[ "$last" =~ $pattern ]]; then
        echo "PASS $name: $last"
    else
        echo "FAIL $name: exit $rc (want $want_rc), last line: $last"
        cat "$TMP/err"
        FAILED=1
    fi
}
EAL=(--no-pci --file-prefix "$PREFIX" --log-level '*:error')

expect "no ports" 1 "no ethdev ports found.*--vdev" -- \
    -l 0-1 --no-huge -m 256 "${EAL[@]}" -- --config "$CONFIG"
expect "device not given to EAL" 1 'device "net_af_packet0" does not exist; pass it to EAL' -- \
    -l 0-1 --no-huge -m 256 "${EAL[@]}" --vdev net_null0 -- --config "$CONFIG"
expect "more workers than queues" 1 "2 workers need 2 queue pairs but the device allows 1.*qpairs" -- \
    --lcores 0@0,1@0,2@0 --no-huge -m 256 "${EAL[@]}" --vdev "net_af_packet0,iface=$VETH" \
    -- --config "$CONFIG"
expect "af_packet frames larger than the buffers" 1 \
    "RX queue 0 setup failed.*buffer_size \(2048 bytes\).*framesz= needs buffer_size >= framesz - 32" -- \
    -l 0-1 --no-huge -m 256 "${EAL[@]}" --vdev "net_af_packet0,iface=$VETH,framesz=4096" \
    -- --config "$CONFIG"
expect "no worker lcore" 1 "no worker lcore: give at least two lcores" -- \
    -l 0 --no-huge -m 256 "${EAL[@]}" --vdev net_null0 -- --config "$TMP/null.yaml"
expect "no hugepages" 1 "EAL initialisation failed.*hugepages.*--no-huge" -- \
    -l 0-1 "${EAL[@]}" --huge-dir "$TMP" --vdev net_null0 -- --config "$TMP/null.yaml"
expect "broken config" 1 "bad.yaml:2:.*ports\[0\]\.address" -- \
    -l 0-1 --no-huge -m 256 "${EAL[@]}" -- --config "$TMP/bad.yaml"
expect "unknown option" 2 "unrecognised option '--bogus' \(see --help\)" -- \
    --config "$CONFIG" --bogus
expect "no config" 2 "--config FILE is required" -- --check
exit $FAILED
