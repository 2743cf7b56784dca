#!/usr/bin/python3
"""Builds the DEST/SOURCE/forwarding packet cases with scapy, the independent
oracle: every expected frame is built from scratch by scapy (checksums and all),
never derived from what dpdk-relay does.

Writes one case per line, tab-separated:
    name, in_port, input frame (hex), counter that must move, expected frames
where the expected frames are "port:hex" joined by commas (empty: nothing sent).
The box is the one described by rig_config in test_packets.cpp.
"""
import sys

from scapy.all import ARP, GRE, ICMP, IP, TCP, UDP, Ether, IPOption_RR, Raw, fragment, raw

BOX = "02:00:00:00:00:01"
GW = "02:00:00:00:00:fe"  # 192.0.2.254, towards 198.18.0.0/15
SERVER = "02:00:00:00:00:35"  # 10.0.0.53
SERVER2 = "02:00:00:00:00:36"  # 10.0.0.54
CLIENT = "198.18.0.5"
VIP, VIP2, VIP3 = "203.0.113.10", "203.0.113.11", "203.0.113.12"
LAN, WAN = 0, 1

cases = []


def frame(p):
    return raw(p).hex()


def case(name, in_port, pkt, counter, *out):
    expected = ",".join(f"{port}:{frame(p)}" for port, p in out)
    cases.append("\t".join([name, str(in_port), frame(pkt), counter, expected]))


def both_ways(name, l4, payload=b"relay test payload", **ip):
    """Client -> VIP is DEST-ed to the server; the server's reply is SOURCE-d back."""
    case(f"{name}: client to VIP (DEST)", WAN,
         Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP, ttl=64, **ip) / l4 / payload,
         "rewritten_dest",
         (LAN, Ether(dst=SERVER, src=BOX) / IP(src=CLIENT, dst="10.0.0.53", ttl=63, **ip) / l4 / payload))
    reply = l4.copy()
    if hasattr(reply, "sport"):
        reply.sport, reply.dport = l4.dport, l4.sport
    case(f"{name}: server reply (SOURCE)", LAN,
         Ether(dst=BOX, src=SERVER) / IP(src="10.0.0.53", dst=CLIENT, ttl=64, **ip) / reply / payload,
         "rewritten_source",
         (WAN, Ether(dst=GW, src=BOX) / IP(src=VIP, dst=CLIENT, ttl=63, **ip) / reply / payload))


both_ways("UDP", UDP(sport=40000, dport=53))
both_ways("UDP, odd payload", UDP(sport=40000, dport=53), payload=b"odd")
both_ways("TCP SYN with options", TCP(sport=40001, dport=80, flags="S", seq=1000,
                                      options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]),
          payload=b"")
both_ways("TCP data", TCP(sport=40001, dport=80, flags="PA", seq=1001, ack=77))
both_ways("ICMP echo", ICMP(type=8, id=9, seq=3))
both_ways("GRE (an unknown protocol)", GRE())
both_ways("IP options", UDP(sport=40000, dport=53), options=[IPOption_RR(routers=["0.0.0.0"] * 2)])

# UDP checksum 0 means none, and stays 0.
case("UDP checksum 0 stays 0", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP) / UDP(sport=1, dport=2, chksum=0) / (b"x" * 9),
     "rewritten_dest",
     (LAN, Ether(dst=SERVER, src=BOX) / IP(src=CLIENT, dst="10.0.0.53", ttl=63)
      / UDP(sport=1, dport=2, chksum=0) / (b"x" * 9)))

# Fragments: the first carries the UDP header and gets the L4 fixup for the
# whole datagram's checksum; later ones get the IPv4 fixup alone.
payload = bytes(range(256)) * 4
before = fragment(IP(src=CLIENT, dst=VIP, id=4242) / UDP(sport=5004, dport=5004) / payload, fragsize=512)
after = fragment(IP(src=CLIENT, dst="10.0.0.53", id=4242, ttl=63) / UDP(sport=5004, dport=5004) / payload,
                 fragsize=512)
assert len(before) == len(after) == 3
for i, (b, a) in enumerate(zip(before, after)):
    case(f"UDP fragment {i + 1} of 3", WAN, Ether(dst=BOX, src=GW) / b, "rewritten_dest",
         (LAN, Ether(dst=SERVER, src=BOX) / a))

# The lan port's MTU is 1000: a larger datagram leaves as fragments of 976
# bytes of data (a multiple of 8), each with a header of its own.
payload = bytes(range(256)) * 5 + b"tail"
case("DEST past the out port's MTU: sent as fragments", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP, id=777) / UDP(sport=5006, dport=5006) / payload,
     "fragmented_packets",
     *[(LAN, Ether(dst=SERVER, src=BOX) / f) for f in
       fragment(IP(src=CLIENT, dst="10.0.0.53", id=777, ttl=63) / UDP(sport=5006, dport=5006) / payload,
                fragsize=976)])
case("past the MTU with Don't Fragment: dropped", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP, flags="DF") / UDP(sport=5006, dport=5006) / payload,
     "drop_too_big")
# A first fragment past the MTU is split again; both pieces keep MF set.
body = raw(IP(src=CLIENT, dst=VIP) / UDP(sport=5008, dport=5008) / (payload * 2))[20:]
body_after = raw(IP(src=CLIENT, dst="10.0.0.53") / UDP(sport=5008, dport=5008) / (payload * 2))[20:]
case("a first fragment past the MTU: split again, MF kept", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP, id=779, proto=17, flags="MF") / Raw(body[:1400]),
     "fragmented_packets",
     (LAN, Ether(dst=SERVER, src=BOX)
      / IP(src=CLIENT, dst="10.0.0.53", id=779, ttl=63, proto=17, flags="MF") / Raw(body_after[:976])),
     (LAN, Ether(dst=SERVER, src=BOX)
      / IP(src=CLIENT, dst="10.0.0.53", id=779, ttl=63, proto=17, flags="MF", frag=976 // 8)
      / Raw(body_after[976:1400])))

# First match wins, negation and in-port matches.
case("negated --dport: TCP to VIP2 port 80 is rewritten", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP2) / TCP(sport=1234, dport=80),
     "rewritten_dest",
     (LAN, Ether(dst=SERVER2, src=BOX) / IP(src=CLIENT, dst="10.0.0.54", ttl=63) / TCP(sport=1234, dport=80)))
case("server 2's reply leaves as VIP2", LAN,
     Ether(dst=BOX, src=SERVER2) / IP(src="10.0.0.54", dst=CLIENT) / TCP(sport=80, dport=1234, flags="SA"),
     "rewritten_source",
     (WAN, Ether(dst=GW, src=BOX) / IP(src=VIP2, dst=CLIENT, ttl=63) / TCP(sport=80, dport=1234, flags="SA")))
case("negated --dport: TCP to VIP2 port 22 is not (and VIP2 has no route)", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP2) / TCP(sport=1234, dport=22), "drop_no_route")
case("negated --dport: UDP to VIP2 does not match -p tcp", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP2) / UDP(sport=1234, dport=80), "drop_no_route")
case("-i lan: VIP3 from the wan is not rewritten", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP3) / UDP(sport=1, dport=2), "drop_no_route")
case("-i lan: VIP3 from the lan is", LAN,
     Ether(dst=BOX, src=SERVER2) / IP(src="10.0.0.54", dst=VIP3) / UDP(sport=1, dport=2),
     "rewritten_dest",
     (LAN, Ether(dst=SERVER, src=BOX) / IP(src="10.0.0.54", dst="10.0.0.53", ttl=63) / UDP(sport=1, dport=2)))
case("-o wan: server traffic to the lan keeps its source", LAN,
     Ether(dst=BOX, src=SERVER) / IP(src="10.0.0.53", dst="10.0.0.54") / UDP(sport=1, dport=2),
     "forwarded_packets",
     (LAN, Ether(dst=SERVER2, src=BOX) / IP(src="10.0.0.53", dst="10.0.0.54", ttl=63) / UDP(sport=1, dport=2)))

# Forwarding without rules, and its drops.
case("plain forwarding over a static route", LAN,
     Ether(dst=BOX, src=SERVER2) / IP(src="10.0.0.60", dst="198.19.1.1", ttl=9) / UDP(sport=7, dport=8),
     "forwarded_packets",
     (WAN, Ether(dst=GW, src=BOX) / IP(src="10.0.0.60", dst="198.19.1.1", ttl=8) / UDP(sport=7, dport=8)))
case("TTL 1 is not forwarded", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP, ttl=1) / UDP(sport=1, dport=2), "drop_ttl")
case("TTL 2 leaves with 1", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst=VIP, ttl=2) / UDP(sport=1, dport=2), "rewritten_dest",
     (LAN, Ether(dst=SERVER, src=BOX) / IP(src=CLIENT, dst="10.0.0.53", ttl=1) / UDP(sport=1, dport=2)))
case("no route", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst="100.64.0.1") / UDP(sport=1, dport=2), "drop_no_route")
case("unresolved neighbour: dropped, ARP request sent", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst="10.0.0.77") / UDP(sport=1, dport=2), "drop_no_neighbour",
     (LAN, Ether(dst="ff:ff:ff:ff:ff:ff", src=BOX)
      / ARP(op=1, hwsrc=BOX, psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.77")))
case("multicast destination is never forwarded", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst="224.0.0.5") / UDP(sport=1, dport=2), "drop_martian")
case("directed broadcast is never forwarded", WAN,
     Ether(dst=BOX, src=GW) / IP(src=CLIENT, dst="10.0.0.255") / UDP(sport=1, dport=2), "drop_martian")
case("loopback source is never forwarded", WAN,
     Ether(dst=BOX, src=GW) / IP(src="127.0.0.1", dst=VIP) / UDP(sport=1, dport=2), "drop_martian")

with open(sys.argv[1], "w") as out:
    out.write("\n".join(cases) + "\n")
