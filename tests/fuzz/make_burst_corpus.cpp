// make_burst_corpus DIR: writes fuzz_burst's seed inputs (burst_input.hpp)
// into DIR: relay datagrams to learned and unlearned ports, ARP, ping, DEST
// and forwarded packets, fragments, a datagram over the MTU and cut frames.
#include "burst_input.hpp"
#include "packet_builder.hpp"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace relay;
using relay::test::Packet;

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_burst_corpus DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    const Mac box0 = fuzz::port_macs[0], box1 = fuzz::port_macs[1];
    const Mac host = {0x02, 0, 0, 0, 0, 0x0c};
    const Mac bcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const Ipv4 box = 0x0a000001, wan = 0xc0000201, host_ip = 0x0a00000c;
    auto relay_to = [&](uint16_t dport, Ipv4 src = host_ip, uint16_t sport = 41000, size_t len = 32) {
        return Packet().eth(box0, host).ipv4(src, box).udp(sport, dport).payload(len).bytes();
    };
    struct Seed {
        const char *name;
        uint8_t head; // config | in_port << 2
        std::vector<std::vector<uint8_t>> frames;
    };
    Packet frag_first = Packet().frag(0x2000);
    frag_first.eth(box0, host).ipv4(host_ip, 0xcb00710a).udp(1000, 53).payload(64);
    Packet frag_later = Packet().frag(0x0009);
    frag_later.eth(box0, host).ipv4(host_ip, 0xcb00710a).payload(40);
    Packet df_big = Packet().frag(0x4000);
    df_big.eth(box0, host).ipv4(host_ip, 0xcb00710a).udp(1000, 53).payload(1400);
    const std::vector<Seed> seeds = {
        {"relay_steady_a_to_b", 0,
         {Packet().eth(box0, fuzz::peer_a_mac).ipv4(fuzz::peer_a, box).udp(fuzz::peer_a_port, 3000).payload(40).bytes()}},
        {"relay_steady_b_to_a", 4,
         {Packet().eth(box1, fuzz::peer_b_mac).ipv4(fuzz::peer_b, wan).udp(fuzz::peer_b_port, 3000).payload(40).bytes()}},
        {"relay_learn_b", 0, {relay_to(3001)}},
        {"relay_learn_a_then_b", 0, {relay_to(3002), relay_to(3002, 0x0a00000d, 42000)}},
        {"relay_reset_third", 0, {relay_to(3000, 0x0a00000e, 43000)}},
        {"relay_wan_only_range", 4,
         {Packet().eth(box1, host).ipv4(0xc6336415, wan).udp(5555, 5001).payload(10).bytes()}},
        {"relay_big_fragmented", 4,
         {Packet().eth(box1, fuzz::peer_b_mac).ipv4(fuzz::peer_b, wan).udp(fuzz::peer_b_port, 3000).payload(1400).bytes()}},
        {"relay_disabled_classifier", 1, {relay_to(3003), relay_to(4001, 0x0a000010, 4444)}},
        {"relay_refused_sources", 0, {relay_to(3004, 0x7f000001), relay_to(3004, host_ip, 0), relay_to(3004, 0x0a0000ff)}},
        {"arp_request", 0,
         {Packet().eth(bcast, host, 0x0806).arp(1, host, host_ip, Mac{}, box).bytes()}},
        {"arp_reply_learn", 0,
         {Packet().eth(box0, host, 0x0806).arp(2, host, host_ip, box0, box).bytes()}},
        {"ping", 0, {Packet().eth(box0, host).ipv4(host_ip, box, 64, 1).icmp_echo(8, 7, 1).payload(56).bytes()}},
        {"ping_alias_big", 6,
         {Packet().eth(box0, host).ipv4(host_ip, 0x0a000002, 64, 1).icmp_echo(8, 7, 1).payload(1200).bytes()}},
        {"dest_udp", 0, {Packet().eth(box0, host).ipv4(0x08080808, 0xcb00710a).udp(1234, 53).payload(30).bytes()}},
        {"dest_tcp_no_neighbour", 0,
         {Packet().eth(box0, host).ipv4(0x08080808, 0xcb00710b, 64, 6).payload(20).bytes()}},
        {"forward_source_rewrite", 0,
         {Packet().eth(box0, host).ipv4(0x0a000035, 0xc6120001).udp(53, 9999).payload(20).bytes()}},
        {"forward_big_fragmented", 2,
         {Packet().eth(box0, host).ipv4(host_ip, 0x0a000035).udp(7, 7).payload(1500).bytes()}},
        {"forward_big_wrong_ip_checksum", 2,
         {Packet().eth(box0, host).ipv4(host_ip, 0x0a000035).udp(7, 7).payload(1500).bad_ip_csum().bytes()}},
        {"forward_df_too_big", 2, {df_big.bytes()}},
        {"fragments_dest", 0, {frag_first.bytes(), frag_later.bytes()}},
        {"acl_rules", 3,
         {Packet().eth(box0, host).ipv4(0x08080808, 0xcb00710c).udp(53, 1000).payload(8).bytes(),
          Packet().eth(box0, host).ipv4(0x0a000036, 0xc0000209).udp(1500, 80).payload(8).bytes(),
          Packet().eth(box0, host).ipv4(0x08080808, 0x0a000001).udp(1500, 3000).payload(8).bytes()}},
        {"malformed", 0,
         {std::vector<uint8_t>(10, 0), relay_to(3000, host_ip, 41000, 8),
          Packet().eth(box0, host).ipv4(host_ip, box).udp(41000, 3000).payload(16).total_length(400).bytes(),
          Packet().eth(box0, host).ipv4(host_ip, box).udp(41000, 3000).payload(16).udp_length(4).bytes(),
          Packet().eth(box0, host).ipv4(host_ip, box).ihl(15).payload(10).bytes(),
          Packet().eth(box0, host).ipv4(host_ip, box).udp(41000, 3000).payload(16).truncate(30).bytes()}},
        {"ip_options", 0,
         {Packet().eth(box0, host).ipv4(host_ip, box, 64, 17, {0x94, 0x04, 0, 0}).udp(41000, 3000).payload(20).bytes()}},
    };
    for (const Seed &s : seeds) {
        std::vector<uint8_t> input{s.head};
        for (const auto &f : s.frames)
            fuzz::add_frame(input, f);
        std::ofstream out(dir + "/" + s.name, std::ios::binary);
        out.write(reinterpret_cast<const char *>(input.data()), std::streamsize(input.size()));
        if (!out) {
            std::fprintf(stderr, "make_burst_corpus: cannot write %s/%s\n", dir.c_str(), s.name);
            return 1;
        }
    }
    return 0;
}
