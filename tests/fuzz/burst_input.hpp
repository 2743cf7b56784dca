// What fuzz_burst reads, shared with the program that writes its seed corpus.
//
// Input: byte 0 chooses the box (bits 0-1: one of `configs`) and the port the
// burst arrives on (bit 2); then frames, each a 2-byte big-endian length and
// that many bytes (the last one takes what is left), up to a burst.
#pragma once

#include "ipv4.hpp"

#include <cstdint>
#include <vector>

namespace relay::fuzz {

// Two ports with MACs of their own (so that a frame's source MAC shows which
// port it was meant for), relay ranges enabled and disabled, on every address
// and on one, direct and through the classifier, DEST and SOURCE, static
// neighbours, MTUs small enough to fragment what comes in at 2048 bytes.
inline const char *const configs[4] = {
    // 0: the packet tests' box, relay ports enabled, learning on probation.
    R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24, mtu: 576 }
  - { name: wan, device: "1", address: 192.0.2.1/24, aliases: [192.0.2.7] }
neighbours:
  - { address: 10.0.0.53, mac: "02:00:00:00:00:35" }
  - { address: 192.0.2.254, mac: "02:00:00:00:00:fe" }
routes:
  - { prefix: 198.18.0.0/15, via: 192.0.2.254 }
rules:
  - "-A PREROUTING -p udp --dport 3000:3009 -j RELAY"
  - "-A PREROUTING -p udp -d 192.0.2.1 --dport 5000:5004 -j RELAY"
  - "-A PREROUTING -d 203.0.113.10 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -p tcp -d 203.0.113.11 ! --dport 22 -j DEST --to=10.0.0.54"
  - "-A POSTROUTING -s 10.0.0.53 -o wan -j SOURCE --to=203.0.113.10"
relay: { initial_state: enabled, learning: probation, probation_packets: 2, reset_interval: 1 }
)",
    // 1: relay ports disabled, reached through the classifier (a rule above
    // them, an in-port match), a default gateway.
    R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24 }
  - { name: wan, device: "1", address: 192.0.2.1/24, gateway: 192.0.2.254, mtu: 600 }
neighbours:
  - { address: 10.0.0.53, mac: "02:00:00:00:00:35" }
  - { address: 192.0.2.254, mac: "02:00:00:00:00:fe" }
rules:
  - "-A PREROUTING -p udp -d 10.0.0.1 --dport 3005 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -i lan -p udp --dport 3000:3009 -j RELAY"
  - "-A PREROUTING -p udp -s 10.0.0.0/24 --dport 4000:4009 -j RELAY"
  - "-A POSTROUTING -o wan -j SOURCE --to=192.0.2.1"
relay: { initial_state: disabled, idle_timeout: 30 }
)",
    // 2: no relay ports at all: forwarding, DEST, ping and ARP.
    R"(
ports:
  - { name: a, device: "0", address: 10.0.0.1/24, mtu: 576, aliases: [10.0.0.2] }
  - { name: b, device: "1", address: 192.0.2.1/24, mtu: 576, gateway: 192.0.2.254 }
neighbours:
  - { address: 10.0.0.53, mac: "02:00:00:00:00:35" }
  - { address: 192.0.2.254, mac: "02:00:00:00:00:fe" }
rules:
  - "-A PREROUTING -d 203.0.113.10 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -p icmp -d 203.0.113.20 -j DEST --to=10.0.0.2"
relay: { initial_state: enabled }
)",
    // 3: enough classifier entries for an rte_acl trie, negations; strict
    // learning, and a range with allow prefixes.
    R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24 }
  - { name: wan, device: "1", address: 192.0.2.1/24, mtu: 1280 }
neighbours:
  - { address: 10.0.0.53, mac: "02:00:00:00:00:35" }
  - { address: 10.0.0.54, mac: "02:00:00:00:00:36" }
rules:
  - "-A PREROUTING -p udp ! -s 10.0.0.0/8 --dport 3000:3009 -j RELAY"
  - "-A PREROUTING -p udp -d 192.0.2.1 --dport 5000:5009 -j RELAY"
  - "-A PREROUTING -p tcp -d 203.0.113.11 ! --dport 22 -j DEST --to=10.0.0.54"
  - "-A PREROUTING -p udp -d 203.0.113.12 --sport 53 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -i wan -d 203.0.113.13 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -p 47 -d 203.0.113.14 -j DEST --to=10.0.0.53"
  - "-A POSTROUTING -s 10.0.0.53 -o wan -j SOURCE --to=203.0.113.10"
  - "-A POSTROUTING -p udp -s 10.0.0.54 --sport 1000:2000 -j SOURCE --to=203.0.113.11"
  - "-A POSTROUTING ! -o lan -s 10.0.0.0/24 -j SOURCE --to=192.0.2.1"
  - { hook: prerouting, match: { proto: udp, dport: 6000-6009 }, target: RELAY, allow: [10.0.0.0/25] }
relay: { initial_state: enabled, learning: strict }
)",
};

inline const Mac port_macs[2] = {{0x02, 0, 0, 0, 0, 0x01}, {0x02, 0, 0, 0, 0, 0x02}};

// Endpoints learned before each input on relay entries 0 (both, active) and
// 1 (A only), so that steady relaying is reached as well as learning.
constexpr Ipv4 peer_a = 0x0a00000a;   // 10.0.0.10, on port 0
constexpr Ipv4 peer_b = 0xc6336414;   // 198.51.100.20, behind port 1
constexpr uint16_t peer_a_port = 40000, peer_b_port = 40001;
inline const Mac peer_a_mac = {0x02, 0, 0, 0, 0, 0x0a};
inline const Mac peer_b_mac = {0x02, 0, 0, 0, 0, 0x0b};

constexpr size_t max_frame = 2048; // the mbuf data room

inline void add_frame(std::vector<uint8_t> &input, const std::vector<uint8_t> &frame)
{
    input.push_back(static_cast<uint8_t>(frame.size() >> 8));
    input.push_back(static_cast<uint8_t>(frame.size()));
    input.insert(input.end(), frame.begin(), frame.end());
}

} // namespace relay::fuzz
