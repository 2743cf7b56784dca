#!/usr/bin/python3
"""UDP clients of the relay, one per network namespace, driven from one process.

Each endpoint's socket is a real kernel UDP socket created inside its client
namespace (setns, then back), so one script can order the sends of several
clients exactly and check every datagram that arrives, without races between
separate processes.

    udp_client.py --relay 10.77.0.1:3000 --ep c1=NS1:40001 --ep c2=NS2:40002 ACTION...

ACTION
  c1>c2      c1 sends a fresh payload; c2 must receive exactly it, from the relay
             address and port, and no other endpoint anything
  c1>-       c1 sends; no endpoint may receive anything within --quiet seconds
  c1>-*N     c1 sends N datagrams, one every --interval; none may arrive anywhere
  c2>>c1     c2 (whose address changed) is to be relearned: rounds of c1 sending
             (unchecked, c1 stays active) and c2 sending, one every --interval,
             until c1 receives c2's datagram (at most 20 rounds); what c1 sends
             may reach c2 once it is relearned
  c1<>c2*N   N round trips: c1>c2, then c2>c1 answering it
  c1<>c2*until  round trips until the file --stop-file names exists (at least one)
  quiet      no endpoint may receive anything within --quiet seconds

Prints one line per action; on the first failure prints FAIL and exits 1.
"""

import argparse
import ctypes
import os
import re
import select
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def netns_socket(ns, family=socket.AF_INET, kind=socket.SOCK_DGRAM):
    """A socket created inside the named network namespace (/var/run/netns/NS)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join("/var/run/netns", ns), os.O_RDONLY)
    try:
        setns(target)
        try:
            return socket.socket(family, kind)
        finally:
            setns(home)
    finally:
        os.close(target)
        os.close(home)


def udp_endpoint(ns, port):
    s = netns_socket(ns)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)
    return s


class Fail(Exception):
    pass


class Clients:
    def __init__(self, relay, endpoints, timeout, quiet, verbose=False, stop_file=None,
                 interval=0.1):
        self.relay = relay
        self.interval = interval
        self.stop_file = stop_file
        self.verbose = verbose
        self.timeout = timeout
        self.quiet_s = quiet
        self.socks = {name: udp_endpoint(ns, port) for name, (ns, port) in endpoints.items()}
        self.seq = 0
        self.sent = 0
        self.received = 0

    def close(self):
        for s in self.socks.values():
            s.close()

    def payload(self, src, dst):
        self.seq += 1
        return f"{src}>{dst} #{self.seq} t={time.monotonic():.6f}".encode()

    def send(self, src, data):
        self.socks[src].sendto(data, self.relay)
        self.sent += 1

    def poll(self, seconds):
        """Everything that arrives at any endpoint within `seconds`."""
        got = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            ready, _, _ = select.select(list(self.socks.values()), [], [], left)
            for name, s in self.socks.items():
                if s in ready:
                    while True:
                        try:
                            data, addr = s.recvfrom(65535)
                        except BlockingIOError:
                            break
                        got.append((name, data, addr))

    def expect(self, dst, data):
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail(f"{dst} received nothing within {self.timeout}s, expected {data!r}")
            for name, got, addr in self.poll_one(left):
                if name != dst:
                    raise Fail(f"{name} received {got!r} from {addr}, expected at {dst} only")
                if got != data:
                    raise Fail(f"{dst} received {got!r} from {addr}, expected {data!r}")
                if addr != self.relay:
                    raise Fail(f"{dst} received from {addr[0]}:{addr[1]}, expected source "
                               f"{self.relay[0]}:{self.relay[1]}")
                self.received += 1
                if self.verbose:
                    print(f"    {dst} received from {addr[0]}:{addr[1]}: {got.decode(errors='replace')}",
                          flush=True)
                return

    def poll_one(self, seconds):
        ready, _, _ = select.select(list(self.socks.values()), [], [], seconds)
        out = []
        for name, s in self.socks.items():
            if s in ready:
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    continue
                out.append((name, data, addr))
        return out

    def quiet(self):
        got = self.poll(self.quiet_s)
        if got:
            name, data, addr = got[0]
            raise Fail(f"{name} received {data!r} from {addr[0]}:{addr[1]}, expected nothing"
                       f" ({len(got)} datagram(s) in all)")

    def one_way(self, src, dst):
        data = self.payload(src, dst)
        self.send(src, data)
        if dst == "-":
            self.quiet()
        else:
            self.expect(dst, data)

    def relearn(self, moved, peer, rounds=20):
        for n in range(1, rounds + 1):
            self.send(peer, self.payload(peer, moved))
            data = self.payload(moved, peer)
            self.send(moved, data)
            for name, got, addr in self.poll(self.interval):
                if name == peer and got == data and addr == self.relay:
                    self.received += 1
                    return n
                if name != moved or addr != self.relay:
                    raise Fail(f"{name} received {got!r} from {addr[0]}:{addr[1]} while {moved} "
                               "was being relearned")
        raise Fail(f"{peer} received nothing from {moved} in {rounds} rounds")

    def run(self, action):
        if action == "quiet":
            self.quiet()
            return "nothing arrived"
        m = re.fullmatch(r"(\w+)<>(\w+)\*(\d+|until)", action)
        if m:
            a, b = m.group(1), m.group(2)
            n = 0
            while (n < int(m.group(3)) if m.group(3) != "until"
                   else n == 0 or not os.path.exists(self.stop_file)):
                self.one_way(a, b)
                self.one_way(b, a)
                n += 1
            return f"{n} round trips, {2 * n} datagrams relayed and checked"
        m = re.fullmatch(r"(\w+)>-\*(\d+)", action)
        if m:
            for _ in range(int(m.group(2))):
                self.send(m.group(1), self.payload(m.group(1), "-"))
                time.sleep(self.interval)
            self.quiet()
            return f"{m.group(2)} sent, nothing arrived anywhere"
        m = re.fullmatch(r"(\w+)>>(\w+)", action)
        if m:
            n = self.relearn(m.group(1), m.group(2))
            return f"relearned: {m.group(2)} received {m.group(1)}'s datagram in round {n}"
        m = re.fullmatch(r"(\w+)>(\w+|-)", action)
        if m:
            self.one_way(m.group(1), m.group(2))
            if m.group(2) == "-":
                return "sent, nothing arrived anywhere"
            return f"relayed to {m.group(2)}"
        raise Fail(f"bad action {action!r}")


def addr_port(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relay", required=True, type=addr_port, help="ADDR:PORT of the relay port")
    ap.add_argument("--ep", action="append", default=[], required=True,
                    help="NAME=NETNS:PORT, a client endpoint")
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for a datagram")
    ap.add_argument("--quiet", type=float, default=0.5, help="seconds of silence for '-'")
    ap.add_argument("--verbose", action="store_true", help="print every datagram received")
    ap.add_argument("--stop-file", help="for *until: stop once this file exists")
    ap.add_argument("--interval", type=float, default=0.1,
                    help="seconds between the sends of >-*N and >>")
    ap.add_argument("actions", nargs="+")
    args = ap.parse_args()

    endpoints = {}
    for spec in args.ep:
        name, _, rest = spec.partition("=")
        ns, _, port = rest.rpartition(":")
        endpoints[name] = (ns, int(port))
    for action in args.actions:
        for name in re.findall(r"\w+", action.split("*")[0]):
            if name not in endpoints and name != "quiet":
                ap.error(f"action {action!r} names unknown endpoint {name!r}")

    if any(a.endswith("*until") for a in args.actions) and not args.stop_file:
        ap.error("*until needs --stop-file")
    clients = Clients(args.relay, endpoints, args.timeout, args.quiet, args.verbose,
                      args.stop_file, args.interval)
    try:
        for action in args.actions:
            try:
                print(f"  {action}: {clients.run(action)}", flush=True)
            except Fail as e:
                print(f"  {action}: FAIL: {e}", flush=True)
                return 1
        # Nothing may trail the last exchange (a duplicate, a stray reflection).
        try:
            clients.quiet()
        except Fail as e:
            print(f"  after the last action: FAIL: {e}", flush=True)
            return 1
    finally:
        clients.close()
    print(f"  {clients.sent} sent, {clients.received} received as expected", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
