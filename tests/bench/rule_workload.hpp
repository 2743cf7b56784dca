// The workload of rule_bench: a config with N DEST rules (and half as many
// SOURCE rules) in iptables spelling, and frames that hit them uniformly, each
// labelled with the rule it must match. Built as a user would write the config
// and as packets would arrive, so the bench goes through the real code path.
#pragma once

#include "classifier.hpp"
#include "ipv4.hpp"
#include "worker.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "packet_builder.hpp" // after <cstdio> and <cstring>, which it uses

namespace relay::bench {

using relay::test::Packet;

// The box: servers 10.1.0.0/16 behind a router on lan, clients 203.0.113.0/24
// behind a router on wan, both reached by static routes and neighbours. DEST
// rule i maps 198.18.x.y to server 10.1.x.y and SOURCE rule j maps server j
// back: a 1:1 NAT.
constexpr uint16_t lan = 0, wan = 1;
const Mac lan_mac = {0x02, 0, 0, 0, 0, 0x01};
const Mac wan_mac = {0x02, 0, 0, 0, 0, 0x02};
const Mac peer_mac = {0x02, 0, 0, 0, 0, 0x99};
const Ipv4 client_net = 0xcb007100; // 203.0.113.0/24
const Ipv4 public_net = 0xc6120000; // 198.18.0.0/16: the DEST addresses
const Ipv4 server_net = 0x0a010000; // 10.1.0.0/16
const Ipv4 unmatched = 0xfa00;      // x.x.250.0: no rule has this third byte
constexpr uint16_t frame_payload = 64;

// Rule i's host part: 250 a /24, never .0 or .255 (at most 10,000 rules).
inline Ipv4 host(uint32_t i) { return (i / 250) << 8 | (1 + i % 250); }

// The shape of DEST rule i. Protocols, ports and an input port vary so that
// rte_acl builds its trie over more than the address, and a few rules negate
// a field, which rule_compiler expands into several entries. Rule 1 is the
// first to match a protocol and ports, rule 50 the first to negate a port and
// rule 999 the first to match a source: each adds fields to what the trie
// must read, which is what its lookup cost follows.
enum class Shape { any, udp_range, tcp_port, in_wan, not_dport, not_src };

inline Shape shape(uint32_t i)
{
    if (i % 1000 == 999)
        return Shape::not_src;
    if (i % 100 == 50)
        return Shape::not_dport;
    return static_cast<Shape>(i % 4);
}

inline uint16_t range_lo(uint32_t i) { return static_cast<uint16_t>(1024 + (i % 7) * 1000); }

// lan_keys: more keys for the lan port's mapping (", aliases: [...]").
inline std::string config_text(uint32_t dest_rules, uint32_t source_rules,
                               const std::string &lan_keys = "")
{
    std::ostringstream c;
    c << "ports:\n"
         "  - { name: lan, device: \"0\", address: 10.0.0.1/16" << lan_keys << " }\n"
         "  - { name: wan, device: \"1\", address: 192.0.2.1/24 }\n"
         "neighbours:\n"
         "  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\" }\n"
         "  - { address: 192.0.2.254, mac: \"02:00:00:00:01:fe\" }\n"
         "routes:\n"
         "  - { prefix: 10.1.0.0/16, via: 10.0.0.254 }\n"
         "  - { prefix: 203.0.113.0/24, via: 192.0.2.254 }\n"
         "  - { prefix: 198.18.0.0/15, via: 192.0.2.254 }\n"
         "rules:\n";
    for (uint32_t i = 0; i < dest_rules; i++) {
        const std::string d = format_ipv4(public_net | host(i));
        const std::string to = " -j DEST --to=" + format_ipv4(server_net | host(i));
        c << "  - \"-A PREROUTING ";
        switch (shape(i)) {
        case Shape::any: c << "-d " << d; break;
        case Shape::udp_range:
            c << "-p udp -d " << d << " --dport " << range_lo(i) << ":" << range_lo(i) + 999;
            break;
        case Shape::tcp_port: c << "-p tcp -d " << d << " --dport 443"; break;
        case Shape::in_wan: c << "-i wan -d " << d; break;
        case Shape::not_dport: c << "-p udp -d " << d << " ! --dport 53"; break;
        case Shape::not_src: c << "! -s 10.0.0.0/8 -d " << d; break;
        }
        c << to << "\"\n";
    }
    for (uint32_t j = 0; j < source_rules; j++)
        c << "  - \"-A POSTROUTING -s " << format_ipv4(server_net | host(j))
          << " -o wan -j SOURCE --to=" << format_ipv4(public_net | host(j)) << "\"\n";
    return c.str();
}

struct Frame {
    uint16_t port;
    std::vector<uint8_t> bytes;
    uint32_t rule; // the rule it must match on its hook, or no_rule
};

inline std::vector<uint8_t> udp_frame(const Mac &dst_mac, Ipv4 src, Ipv4 dst, uint16_t sport,
                                      uint16_t dport)
{
    return Packet().eth(dst_mac, peer_mac).ipv4(src, dst).udp(sport, dport)
        .payload(frame_payload).bytes();
}

// The builder has no TCP header; write one, with a correct checksum so that
// debug builds audit the rewrite of this frame too.
inline std::vector<uint8_t> tcp_frame(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport)
{
    std::vector<uint8_t> f =
        Packet().eth(wan_mac, peer_mac).ipv4(src, dst, 64, 6).payload(20 + frame_payload).bytes();
    uint8_t *tcp = &f[14 + 20];
    const uint8_t header[20] = {uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8),
                                uint8_t(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff};
    std::memcpy(tcp, header, sizeof header);
    uint32_t s, d;
    std::memcpy(&s, &f[14 + 12], 4);
    std::memcpy(&d, &f[14 + 16], 4);
    const uint16_t c = l4_full_csum(s, d, 6, tcp, f.size() - 14 - 20, 16);
    std::memcpy(tcp + 16, &c, 2);
    return f;
}

// Half the bursts come in on wan towards a DEST address (rule i uniformly
// over the table), half on lan from a server (SOURCE rule j likewise); about
// one frame in ten matches no rule and is only routed. Each frame is a flow
// of its own (a client port drawn from 60,000); another `seed`, other flows.
inline std::vector<Frame> make_frames(uint32_t dest_rules, uint32_t source_rules, size_t count,
                                      uint32_t seed = 20240601)
{
    std::mt19937 rng(seed);
    auto below = [&rng](uint32_t n) {
        return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng);
    };
    std::vector<Frame> frames;
    for (size_t k = 0; k < count; k++) {
        const bool inbound = (k / burst_size) % 2 == 0;
        const bool miss = below(10) == 0;
        const Ipv4 client = client_net | (1 + below(250));
        const uint16_t cport = static_cast<uint16_t>(1024 + below(60000));
        if (!inbound) {
            const uint32_t j = below(source_rules);
            const Ipv4 server = server_net | (miss ? unmatched | (j & 0xff) : host(j));
            frames.push_back({lan, udp_frame(lan_mac, server, client, 443, cport),
                              miss ? no_rule : dest_rules + j});
            continue;
        }
        const uint32_t i = below(dest_rules);
        const Ipv4 dst = public_net | (miss ? unmatched | (i & 0xff) : host(i));
        Frame f{wan, {}, miss ? no_rule : i};
        switch (shape(i)) {
        case Shape::udp_range:
            f.bytes = udp_frame(wan_mac, client, dst, cport,
                                static_cast<uint16_t>(range_lo(i) + below(1000)));
            break;
        case Shape::tcp_port: f.bytes = tcp_frame(client, dst, cport, 443); break;
        case Shape::not_dport: f.bytes = udp_frame(wan_mac, client, dst, cport, 5353); break;
        default: f.bytes = udp_frame(wan_mac, client, dst, cport, 8000); break;
        }
        frames.push_back(std::move(f));
    }
    return frames;
}

// The key Worker::parse builds for a frame (network order, as rte_acl reads it).
inline AclKey key_of(const Frame &f, uint8_t out_port)
{
    const uint8_t *ip = &f.bytes[14];
    AclKey k{};
    k.proto = ip[9];
    std::memcpy(&k.src, ip + 12, 4);
    std::memcpy(&k.dst, ip + 16, 4);
    std::memcpy(&k.sport, ip + 20, 2);
    std::memcpy(&k.dport, ip + 22, 2);
    k.in_port = static_cast<uint8_t>(f.port);
    k.out_port = out_port;
    k.l4 = RTE_BE16(1);
    return k;
}

} // namespace relay::bench
