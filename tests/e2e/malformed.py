#!/usr/bin/python3
"""Sends malformed and awkward frames at dpdk-relay, one at a time, and checks
for each which counters moved and what (if anything) reached the endpoints.

Run inside the sending client's namespace (scapy uses that namespace's eth0):

    ip netns exec NS_C1 /usr/bin/python3 malformed.py --file-prefix P \
        --relay-mac MAC --src 10.77.0.11:40001 --relay 10.77.0.1:3000 \
        --mode disabled|enabled [--listen NS_C1:40001 --listen NS_C2:40002]

--mode disabled: the relay port is disabled; every frame must be dropped and
counted under its reason and nothing may arrive anywhere.
--mode enabled: the port has learned A = --src and B = the second --listen; the
awkward but valid frames (IP options, fragments, Ethernet padding) must reach B
intact or be dropped and counted; nothing else may arrive anywhere and the
learned endpoints must survive (martian sources must not take the port over).
"""

import argparse
import json
import logging
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from udp_client import udp_endpoint  # noqa: E402

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (IP, UDP, Ether, IPv6, IPOption_EOL, IPOption_NOP,  # noqa: E402
                       Raw, conf, fragment, get_if_hwaddr)

conf.verb = 0

DROP_ANY = "any drop"


class Telemetry:
    """A client of the DPDK telemetry socket (the protocol of dpdk-telemetry.py)."""

    def __init__(self, prefix):
        path = os.path.join("/var/run/dpdk", prefix, "dpdk_telemetry.v2")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        self.max_len = json.loads(self.sock.recv(1024))["max_output_len"]

    def __call__(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len))
        return reply[cmd.split(",")[0]]

    def totals(self):
        return self("/relay/stats")["total"]


def snmp(ns):
    """The kernel's IP/UDP MIB counters inside namespace NS, as {"Ip.X": n}."""
    # /proc/net is per network namespace of the reading task: read it from a
    # process started there.
    import subprocess
    text = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                          check=True, capture_output=True, text=True).stdout.splitlines()
    out = {}
    for names, values in zip(text[0::2], text[1::2]):
        proto = names.split(":")[0]
        for k, v in zip(names.split()[1:], values.split()[1:]):
            out[f"{proto}.{k}"] = int(v)
    return out


class Check:
    def __init__(self, args):
        self.args = args
        self.tel = Telemetry(args.file_prefix)
        self.iface = args.iface
        self.src_mac = get_if_hwaddr(self.iface)
        self.src_ip, self.src_port = args.src
        self.relay_ip, self.relay_port = args.relay
        self.listen = [(ns, port, udp_endpoint(ns, port)) for ns, port in args.listen]
        # A plain packet socket, not scapy's: scapy pads frames to 60 bytes, which
        # would hide every truncation below.
        self.l2 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.l2.bind((self.iface, 0))
        self.failures = 0
        # Fresh IP ids each run: the kernel's reassembly queues outlive a run.
        self.ip_id = int.from_bytes(os.urandom(2), "big")

    # ---- frames -------------------------------------------------------------
    def eth(self, etype=None):
        e = Ether(src=self.src_mac, dst=self.args.relay_mac)
        if etype is not None:
            e.type = etype
        return e

    def ip(self, **kw):
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        kw.setdefault("src", self.src_ip)
        kw.setdefault("dst", self.relay_ip)
        return IP(id=self.ip_id, **kw)

    def udp(self, **kw):
        return UDP(sport=kw.pop("sport", self.src_port), dport=self.relay_port, **kw)

    def good(self, payload):
        return self.eth() / self.ip() / self.udp() / Raw(payload)

    def cases(self):
        """(name, [frames], expected counters, payload that may arrive at B[, frames the
        relay receives, default all])."""
        enabled = self.args.mode == "enabled"
        raw = bytes
        full = raw(self.good(b"truncate-me-please"))
        ip_hdr = raw(self.ip(proto=17, len=24))
        c = [
            # The kernel refuses to send less than an Ethernet header (EINVAL):
            # reported as skipped, left to the packet tests.
            ("ethernet_truncated", [full[:12]], "drop_malformed", None),
            ("ethernet_header_only", [raw(self.eth(0x0800))], "drop_malformed", None),
            ("ipv4_truncated", [full[:14 + 12]], "drop_malformed", None),
            ("ipv4_version_6", [raw(self.eth() / self.ip(version=6) / self.udp() / Raw(b"v6"))],
             "drop_malformed", None),
            ("ipv4_ihl_below_5", [raw(self.eth() / self.ip(ihl=4) / self.udp() / Raw(b"ihl4"))],
             "drop_malformed", None),
            ("ipv4_ihl_past_frame", [raw(self.eth() / self.ip(ihl=15, len=28) / self.udp())],
             "drop_malformed", None),
            ("ipv4_total_length_past_frame",
             [raw(self.eth() / self.ip(len=1000) / self.udp() / Raw(b"0123456789"))],
             "drop_truncated", None),
            ("ipv4_total_length_below_ihl",
             [raw(self.eth() / self.ip(len=12) / self.udp() / Raw(b"short"))],
             "drop_malformed", None),
            ("udp_truncated", [raw(self.eth(0x0800)) + ip_hdr + raw(self.udp())[:4]], "drop_malformed",
             None),
            ("udp_length_below_8", [raw(self.eth() / self.ip() / self.udp(len=4) / Raw(b"x" * 10))],
             "drop_malformed", None),
            ("udp_length_past_ip", [raw(self.eth() / self.ip() / self.udp(len=200) / Raw(b"y" * 10))],
             "drop_malformed", None),
            ("ethertype_ipv6", [raw(self.eth() / IPv6(dst="fe80::1") / UDP(dport=3000) / Raw(b"v6"))],
             "drop_non_ipv4", None),
            ("ethertype_unknown", [raw(self.eth(0x88B5) / Raw(b"\0" * 46))], "drop_non_ipv4", None),
            ("arp_truncated", [raw(self.eth(0x0806) / Raw(b"\0\1\x08\0"))], DROP_ANY + "|arp_ignored",
             None),
        ]
        opt_payload = b"ip-options-" + os.urandom(4).hex().encode()
        opts = [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_EOL()]
        c.append(("ipv4_options_to_relay_port",
                  [raw(self.eth() / self.ip(options=opts) / self.udp() / Raw(opt_payload))],
                  DROP_ANY, opt_payload))
        # net_af_packet joins a fanout group with PACKET_FANOUT_FLAG_DEFRAG: the
        # kernel reassembles fragments before the relay sees them, and holds a lone
        # tail until its reassembly timeout. Over af_packet these cases check only
        # that the reassembled datagram goes to B alone, or is dropped and counted;
        # the relay's own fragment handling is the packet tests' business.
        frag_payload = b"fragmented-" + os.urandom(30).hex().encode()
        frags = fragment(self.ip() / self.udp() / Raw(frag_payload), fragsize=40)
        c.append(("fragments_to_relay_port", [raw(self.eth() / f) for f in frags],
                  "drop_fragment" if enabled else DROP_ANY, frag_payload, 1))
        tail = fragment(self.ip() / self.udp() / Raw(frag_payload), fragsize=40)[-1]
        c.append(("fragment_tail_only", [raw(self.eth() / tail)], "nothing", None, 0))
        pad_payload = b"padded-" + os.urandom(4).hex().encode()
        c.append(("ethernet_padding", [raw(self.good(pad_payload)) + b"\xee" * 24],
                  "drop_relay_disabled" if not enabled else "never", pad_payload))
        for name, addr in [("own_address", self.relay_ip), ("broadcast", "10.77.0.255"),
                           ("limited_broadcast", "255.255.255.255"), ("multicast", "224.0.0.1"),
                           ("zero", "0.0.0.0"), ("loopback", "127.0.0.1")]:
            c.append((f"source_{name}",
                      [raw(self.eth() / self.ip(src=addr) / self.udp(sport=5555) / Raw(b"martian"))],
                      "drop_relay_refused|drop_malformed" if enabled else DROP_ANY, None))
        return c

    # ---- one case -----------------------------------------------------------
    def settle(self, before, nframes):
        """Waits until the relay has counted the frames (or a second passed)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            now = self.tel.totals()
            if now.get("rx_packets", 0) - before.get("rx_packets", 0) >= nframes:
                time.sleep(0.05)  # the rest of the burst's commit
                return self.tel.totals()
            time.sleep(0.01)
        return self.tel.totals()

    def received(self, seconds):
        got = []
        deadline = time.monotonic() + seconds
        socks = [s for _, _, s in self.listen]
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not socks:
                return got
            ready, _, _ = select.select(socks, [], [], left)
            for ns, port, s in self.listen:
                if s in ready:
                    try:
                        data, addr = s.recvfrom(65535)
                    except BlockingIOError:
                        continue  # the kernel dropped it on a bad checksum (see snmp)
                    got.append((ns, port, data, addr))

    def run_case(self, name, frames, expect, may_arrive, rx_expected=None):
        before = self.tel.totals()
        state_before = self.tel(f"/relay/port,{self.relay_port}")
        snmp_before = {ns: snmp(ns) for ns, _, _ in self.listen}
        sent = 0
        for f in frames:
            try:
                self.l2.send(f)
                sent += 1
            except OSError as e:
                print(f"  SKIP {name}: the kernel refuses to send it ({e.strerror})", flush=True)
                return
        if rx_expected is None:
            rx_expected = sent
        after = self.settle(before, max(rx_expected, 1))
        got = self.received(0.3 if may_arrive else 0.1)
        state_after = self.tel(f"/relay/port,{self.relay_port}")
        delta = {k: after[k] - before.get(k, 0) for k in after
                 if isinstance(after[k], int) and after[k] != before.get(k, 0)}
        moved = ", ".join(f"{k}+{v}" for k, v in sorted(delta.items()) if k != "rx_packets")
        problems = []

        drops = {k: v for k, v in delta.items() if k.startswith("drop_")}
        delivered = False
        b_ns, b_port = (self.listen[1][0], self.listen[1][1]) if len(self.listen) > 1 else (None, None)
        for ns, port, data, addr in got:
            if (may_arrive is not None and data == may_arrive and ns == b_ns and port == b_port
                    and addr == (self.relay_ip, self.relay_port)):
                delivered = True
            else:
                problems.append(f"{ns}:{port} received {data[:40]!r} from {addr[0]}:{addr[1]}")
        if delta.get("rx_packets", 0) < rx_expected:
            problems.append(f"rx_packets rose by {delta.get('rx_packets', 0)}, "
                            f"expected {rx_expected} (sent {sent})")
        if not delivered:
            if expect == "nothing":
                pass
            elif expect == "never":
                problems.append("valid datagram not relayed to B")
            elif not any(drops.get(e, 0) >= 1 for e in expect.split("|") if e.startswith("drop_")) \
                    and not (DROP_ANY in expect and drops) \
                    and not ("arp_ignored" in expect and delta.get("arp_ignored")):
                problems.append(f"expected {expect} to rise")
        if delivered and self.args.mode == "disabled":
            problems.append("relayed although the port is disabled")
        relayed = delta.get("relayed_packets", 0)
        if relayed and not delivered:
            problems.append(f"relayed_packets rose by {relayed} but B received nothing intact")
        for key in ("relay_learned", "relay_resets"):
            if delta.get(key):
                problems.append(f"{key} rose by {delta[key]}")
        if self.args.mode == "enabled":
            for k in ("a", "b"):
                if state_before.get(k) is not None:
                    keep = {f: state_before[k].get(f) for f in ("addr", "port", "mac")}
                    now = {f: (state_after.get(k) or {}).get(f) for f in ("addr", "port", "mac")}
                    if keep != now:
                        problems.append(f"endpoint {k} changed: {keep} -> {now}")
            if (state_before.get("state", 0) & 3) != (state_after.get("state", 0) & 3):
                problems.append(f"state {state_before.get('state')} -> {state_after.get('state')}")
        # Fragments may only ever reach B: the kernel's reassembly counter of
        # every other listener must stay still.
        for ns, port, _ in self.listen:
            if ns == b_ns and port == b_port:
                continue
            reasm = snmp(ns)["Ip.ReasmReqds"] - snmp_before[ns]["Ip.ReasmReqds"]
            if reasm:
                problems.append(f"{ns} received {reasm} fragment(s): sent to the wrong endpoint")

        verdict = "relayed to B intact" if delivered else "dropped"
        if problems:
            self.failures += 1
            print(f"  FAIL {name}: {verdict}; counters: {moved or 'none'}; " + "; ".join(problems),
                  flush=True)
        else:
            print(f"  PASS {name}: {verdict}; counters: {moved or 'none'}", flush=True)

    def run(self):
        for case in self.cases():
            self.run_case(*case)
        return 1 if self.failures else 0


def addr_port(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file-prefix", required=True)
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--relay-mac", required=True)
    ap.add_argument("--src", required=True, type=addr_port, help="ADDR:PORT the frames come from")
    ap.add_argument("--relay", required=True, type=addr_port, help="ADDR:PORT of the relay port")
    ap.add_argument("--mode", choices=("disabled", "enabled"), required=True)
    ap.add_argument("--listen", action="append", default=[], type=addr_port,
                    help="NETNS:PORT to watch; with --mode enabled: A first, then B")
    args = ap.parse_args()
    if args.mode == "enabled" and len(args.listen) != 2:
        ap.error("--mode enabled needs --listen A and --listen B")
    return Check(args).run()


if __name__ == "__main__":
    sys.exit(main())
