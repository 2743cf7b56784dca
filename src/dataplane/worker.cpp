#include "worker.hpp"

#include "checksum.hpp"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include <cassert>
#include <cstring>

namespace relay {

namespace {

constexpr uint16_t prefetch_ahead = 3;
constexpr uint8_t ttl_local = 64;

uint16_t load16(const void *p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// The TTL shares a checksummed 16-bit word with the protocol.
uint16_t ttl_word(const rte_ipv4_hdr *ip) { return load16(&ip->time_to_live); }

#ifndef NDEBUG
// Debug builds check every incremental fixup against a full recompute, but
// only for packets whose checksums were right on arrival: a wrong checksum
// must stay wrong (SPEC section 2).
struct ChecksumAudit {
    bool ip_ok, l4_ok;

    static bool ip_valid(const rte_ipv4_hdr *ip)
    {
        return ipv4_header_csum(ip, rte_ipv4_hdr_len(ip)) == ip->hdr_checksum;
    }
    static bool udp_valid(const rte_ipv4_hdr *ip)
    {
        const auto *udp = reinterpret_cast<const rte_udp_hdr *>(
            reinterpret_cast<const uint8_t *>(ip) + rte_ipv4_hdr_len(ip));
        if (udp->dgram_cksum == 0)
            return true;
        size_t len = rte_be_to_cpu_16(udp->dgram_len);
        return l4_full_csum(ip->src_addr, ip->dst_addr, IPPROTO_UDP, udp, len, 6) ==
               udp->dgram_cksum;
    }
    explicit ChecksumAudit(const rte_ipv4_hdr *ip) : ip_ok(ip_valid(ip)), l4_ok(udp_valid(ip)) {}
    void verify(const rte_ipv4_hdr *ip) const
    {
        assert(!ip_ok || ip_valid(ip));
        assert(!l4_ok || udp_valid(ip));
    }
};
#endif

} // namespace

Worker::Worker(DataplaneShared &shared, uint16_t queue, LcoreCounters &counters,
               uint32_t relay_entries)
    : shared_(shared), queue_(queue), counters_(counters),
      port_counters_(new RelayPortCounters[relay_entries ? relay_entries : 1])
{
}

int Worker::run()
{
    rte_mbuf *pkts[burst_size];
    while (!shared_.stop.load(std::memory_order_relaxed)) {
        const Tables &t = *shared_.tables.load(std::memory_order_acquire);
        for (uint16_t port : t.port_ids) {
            uint16_t n = rte_eth_rx_burst(port, queue_, pkts, burst_size);
            if (n == 0)
                continue;
            process_burst(t, port, pkts, n);
            flush();
        }
    }
    return 0;
}

void Worker::flush()
{
    for (uint16_t port = 0; port < max_ports; port++) {
        TxList &l = tx_[port];
        if (l.n == 0)
            continue;
        uint16_t sent = rte_eth_tx_burst(port, queue_, l.pkts, l.n);
        local_.add(Counter::tx_packets, sent);
        if (sent < l.n) {
            local_.add(Counter::drop_tx_full, l.n - sent);
            rte_pktmbuf_free_bulk(l.pkts + sent, l.n - sent);
        }
        l.n = 0;
    }
    counters_.commit(local_);
}

void Worker::process_burst(const Tables &t, uint16_t in_port, rte_mbuf **pkts, uint16_t n)
{
    const uint32_t now = shared_.clock.load(std::memory_order_relaxed);
    local_.add(Counter::rx_packets, n);
    for (uint16_t i = 0; i < n && i < prefetch_ahead; i++)
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
    for (uint16_t i = 0; i < n; i++) {
        if (i + prefetch_ahead < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + prefetch_ahead], void *));
        Verdict v = handle(t, in_port, pkts[i], now);
        if (v.send) {
            TxList &l = tx_[v.port];
            l.pkts[l.n++] = pkts[i];
        } else {
            local_.add(v.drop);
            rte_pktmbuf_free(pkts[i]);
        }
    }
}

Worker::Verdict Worker::handle(const Tables &t, uint16_t in_port, rte_mbuf *m, uint32_t now)
{
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr))
        return drop(Counter::drop_malformed);
    const auto *eth = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
    const PortTable &port = t.ports[in_port];
    const bool broadcast = rte_is_broadcast_ether_addr(&eth->dst_addr);
    if (!broadcast && !rte_is_same_ether_addr(&eth->dst_addr, &port.mac))
        return drop(Counter::drop_not_for_us);
    switch (eth->ether_type) {
    case RTE_BE16(RTE_ETHER_TYPE_ARP):
        return handle_arp(t, in_port, m);
    case RTE_BE16(RTE_ETHER_TYPE_IPV4):
        return handle_ipv4(t, in_port, m, now);
    default:
        return drop(Counter::drop_non_ipv4);
    }
}

Worker::Verdict Worker::handle_arp(const Tables &t, uint16_t in_port, rte_mbuf *m)
{
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr))
        return drop(Counter::drop_malformed);
    auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
    auto *arp = reinterpret_cast<rte_arp_hdr *>(eth + 1);
    const PortTable &port = t.ports[in_port];
    // Like Linux with arp_ignore=1: answer only for the address of the port
    // the request came in on.
    if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
        arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
        arp->arp_plen != 4 || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
        arp->arp_data.arp_tip != rte_cpu_to_be_32(port.address)) {
        return drop(Counter::arp_ignored);
    }
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = arp->arp_data.arp_sip;
    arp->arp_data.arp_sha = port.mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(port.address);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = port.mac;
    local_.add(Counter::arp_replies);
    return tx(in_port);
}

Worker::Verdict Worker::handle_ipv4(const Tables &t, uint16_t in_port, rte_mbuf *m, uint32_t now)
{
    const uint32_t frame = rte_pktmbuf_data_len(m);
    if (frame < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr))
        return drop(Counter::drop_malformed);
    auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, sizeof(rte_ether_hdr));
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    const uint32_t l3_avail = frame - sizeof(rte_ether_hdr);
    if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || ihl > l3_avail ||
        total < ihl || total > rte_pktmbuf_pkt_len(m) - sizeof(rte_ether_hdr))
        return drop(Counter::drop_malformed);

    const int local = t.local_index(rte_be_to_cpu_32(ip->dst_addr));
    const uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
    const bool later_fragment = (frag & RTE_IPV4_HDR_OFFSET_MASK) != 0;
    const bool first_fragment = !later_fragment && (frag & RTE_IPV4_HDR_MF_FLAG);

    // PREROUTING: RELAY rules (DEST joins here).
    if (local >= 0 && ip->next_proto_id == IPPROTO_UDP && t.relay_entries) {
        // A later fragment has no UDP header, so its relay port is unknown;
        // the box reassembles nothing, so it cannot be delivered either.
        if (later_fragment)
            return drop(Counter::drop_fragment);
        if (total < ihl + sizeof(rte_udp_hdr) || ihl + sizeof(rte_udp_hdr) > l3_avail)
            return drop(Counter::drop_malformed);
        const auto *udp = reinterpret_cast<const rte_udp_hdr *>(
            reinterpret_cast<const uint8_t *>(ip) + ihl);
        const uint32_t entry = t.relay_lookup(local, rte_be_to_cpu_16(udp->dst_port));
        if (entry != no_relay &&
            t.ranges[t.entry_range[entry]].matches(in_port, rte_be_to_cpu_32(ip->src_addr),
                                                   rte_be_to_cpu_16(udp->src_port))) {
            if (first_fragment)
                return drop(Counter::drop_fragment);
            const uint32_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
            if (udp_len < sizeof(rte_udp_hdr) || udp_len > total - ihl)
                return drop(Counter::drop_malformed);
            return relay(t, in_port, m, entry, local, now);
        }
    }

    if (local >= 0) {
        if (ip->next_proto_id == IPPROTO_ICMP && !later_fragment && !first_fragment)
            return echo_reply(t, in_port, m);
        return drop(Counter::drop_local_unhandled);
    }
    // Forwarding (routes, TTL, POSTROUTING) lands here with DEST/SOURCE.
    return drop(Counter::drop_no_route);
}

Worker::Verdict Worker::echo_reply(const Tables &t, uint16_t in_port, rte_mbuf *m)
{
    auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(eth + 1);
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if (total < ihl + sizeof(rte_icmp_hdr) ||
        sizeof(rte_ether_hdr) + ihl + sizeof(rte_icmp_hdr) > rte_pktmbuf_data_len(m))
        return drop(Counter::drop_malformed);
    auto *icmp = reinterpret_cast<rte_icmp_hdr *>(reinterpret_cast<uint8_t *>(ip) + ihl);
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
        return drop(Counter::drop_local_unhandled);

    const uint16_t old_type = load16(&icmp->icmp_type);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = csum_update16(icmp->icmp_cksum, old_type, load16(&icmp->icmp_type));

    const uint16_t old_ttl = ttl_word(ip);
    ip->time_to_live = ttl_local;
    ip->hdr_checksum = csum_update16(ip->hdr_checksum, old_ttl, ttl_word(ip));
    const rte_be32_t requester = ip->src_addr; // a swap leaves the sum unchanged
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = requester;

    eth->dst_addr = eth->src_addr;
    eth->src_addr = t.ports[in_port].mac;
    local_.add(Counter::icmp_echo_replies);
    return tx(in_port);
}

Worker::Verdict Worker::relay(const Tables &t, uint16_t in_port, rte_mbuf *m, uint32_t entry,
                              int local, uint32_t now)
{
    auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(eth + 1);
    auto *udp = reinterpret_cast<rte_udp_hdr *>(reinterpret_cast<uint8_t *>(ip) +
                                                rte_ipv4_hdr_len(ip));
    const Ipv4 src = rte_be_to_cpu_32(ip->src_addr);
    const uint16_t sport = rte_be_to_cpu_16(udp->src_port);
    if (sport == 0 || t.refuses_source(src))
        return drop(Counter::drop_relay_refused);

    RelayTable &table = *t.relay;
    const RelaySnapshot snap = table.read(entry);
    const int match = snap.a.known() && snap.a.same_peer(src, sport)   ? 1
                      : snap.b.known() && snap.b.same_peer(src, sport) ? 2
                                                                       : 0;
    Learn outcome = learn_reset_mode(snap.state, match);
    Endpoint to;
    // Steady relaying reads the snapshot and writes nothing shared; only a
    // transition (a new endpoint, a first packet in a direction) takes the lock.
    if (outcome == Learn::to_b && (snap.state & state::active2)) {
        to = snap.b;
    } else if (outcome == Learn::to_a && (snap.state & state::active1)) {
        to = snap.a;
    } else if (outcome == Learn::drop_disabled) {
        return drop(Counter::drop_relay_disabled);
    } else if (outcome == Learn::from_a_alone) {
        table.touch(entry, 1, now);
        return drop(Counter::drop_relay_unlearned);
    } else {
        Endpoint self;
        self.addr = src;
        self.port = sport;
        self.ifport = in_port;
        std::memcpy(self.mac.data(), eth->src_addr.addr_bytes, 6);
        self.local = static_cast<uint16_t>(local);
        LearnResult r = table.learn(entry, self, now);
        outcome = r.outcome;
        to = r.to;
        switch (outcome) {
        case Learn::drop_disabled:
            return drop(Counter::drop_relay_disabled);
        case Learn::from_a_alone:
            return drop(Counter::drop_relay_unlearned);
        case Learn::learned_a:
            local_.add(Counter::relay_learned);
            return drop(Counter::drop_relay_unlearned);
        case Learn::reset:
            local_.add(Counter::relay_resets);
            return drop(Counter::drop_relay_reset);
        case Learn::learned_b:
            local_.add(Counter::relay_learned);
            break;
        case Learn::to_a:
        case Learn::to_b:
            break;
        }
    }
    table.touch(entry, outcome == Learn::to_b ? 1 : 2, now);

    if (ip->time_to_live <= 1)
        return drop(Counter::drop_ttl);

#ifndef NDEBUG
    const ChecksumAudit audit(ip);
#endif
    const uint32_t old_src = ip->src_addr, old_dst = ip->dst_addr;
    const uint16_t old_ttl = ttl_word(ip);
    const uint16_t old_sport = udp->src_port, old_dport = udp->dst_port;
    ip->src_addr = rte_cpu_to_be_32(t.locals[to.local]);
    ip->dst_addr = rte_cpu_to_be_32(to.addr);
    ip->time_to_live--;
    ip->hdr_checksum = csum_update32(
        csum_update32(csum_update16(ip->hdr_checksum, old_ttl, ttl_word(ip)), old_src,
                      ip->src_addr),
        old_dst, ip->dst_addr);
    udp->src_port = old_dport; // the relay port
    udp->dst_port = rte_cpu_to_be_16(to.port);
    if (udp->dgram_cksum != 0) {
        uint16_t c = csum_update32(udp->dgram_cksum, old_src, ip->src_addr);
        c = csum_update32(c, old_dst, ip->dst_addr);
        c = csum_update16(c, old_sport, udp->src_port);
        c = csum_update16(c, old_dport, udp->dst_port);
        udp->dgram_cksum = c == 0 ? 0xffff : c;
    }
#ifndef NDEBUG
    audit.verify(ip);
#endif

    std::memcpy(eth->dst_addr.addr_bytes, to.mac.data(), 6);
    eth->src_addr = t.ports[to.ifport].mac;

    const uint32_t bytes = rte_be_to_cpu_16(ip->total_length);
    RelayPortCounters &pc = port_counters_[entry];
    auto &pkts = outcome == Learn::to_b ? pc.to_b_packets : pc.to_a_packets;
    auto &byts = outcome == Learn::to_b ? pc.to_b_bytes : pc.to_a_bytes;
    pkts.store(pkts.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    byts.store(byts.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
    local_.add(Counter::relayed_packets);
    local_.add(Counter::relayed_bytes, bytes);
    return tx(to.ifport);
}

} // namespace relay
