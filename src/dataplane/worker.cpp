#include "worker.hpp"

#include "checksum.hpp"
#include "neighbour.hpp"
#include "routes.hpp"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip_frag.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <iterator>

namespace relay {

namespace {

// How many packets ahead the first pass prefetches a header: about 160 cycles
// of its work, more than a miss to the last-level cache, where a NIC's DDIO
// leaves the frames (3 packets, about 30 cycles, measured up to 9% slower).
constexpr uint16_t prefetch_ahead = 16;
// How many packets behind the header checks the first pass reads a relay
// candidate's port map slot, which it prefetched, and prefetches the entry
// and counters that the slot names: far enough for a slot in the cache, near
// enough that the entry's miss starts a whole pass before the relay loop
// needs it. At a million ports 0, 2 and 8 packets measured 7-28% slower, 16
// as slow as reading the slots in the second pass, which took half as long
// again as 4.
constexpr uint16_t slot_lag = 4;
// Idle poll loops between commits of their cycle count and of what busy
// loops left: often enough for a reader that samples every second, rarely
// enough to cost nothing.
constexpr uint32_t idle_commit_loops = 4096;
// Bursts between commits of their counts: a commit visits every counter,
// about 9 instructions a packet if done every burst of 32.
constexpr uint32_t commit_bursts = 16;
// Enough for the largest datagram at the smallest MTU: 65535 bytes in
// fragments of 552 (min_mtu less a 20-byte header, a multiple of 8).
constexpr uint16_t max_fragments = 128;
constexpr uint8_t ttl_local = 64;
// A neighbour entry older than this is still used, but refreshed by an ARP
// request (like Linux's STALE state).
constexpr uint32_t neighbour_stale = 60;

uint16_t load16(const void *p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// The TTL shares a checksummed 16-bit word with the protocol.
uint16_t ttl_word(const rte_ipv4_hdr *ip) { return load16(&ip->time_to_live); }
// A TTL of 1 as that word holds it: the amount the word goes down by when
// the TTL does.
constexpr uint16_t ttl_one = RTE_BE16(0x0100);

void decrement_ttl(rte_ipv4_hdr *ip)
{
    const uint16_t old = ttl_word(ip);
    ip->time_to_live--;
    ip->hdr_checksum = csum_update16(ip->hdr_checksum, old, ttl_word(ip));
}

void store16(void *p, uint16_t v) { std::memcpy(p, &v, 2); }

uint32_t load32(const void *p)
{
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Four bytes of a header, in memory order, as load32 reads them.
constexpr uint32_t header_word(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
    return RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
               ? uint32_t(b0) | uint32_t(b1) << 8 | uint32_t(b2) << 16 | uint32_t(b3) << 24
               : uint32_t(b3) | uint32_t(b2) << 8 | uint32_t(b1) << 16 | uint32_t(b0) << 24;
}

// A MAC address as load32 and load16 read its bytes 0-3 and 4-5, in the
// low and high half.
uint64_t mac48(const rte_ether_addr &a)
{
    return load32(a.addr_bytes) | uint64_t(load16(a.addr_bytes + 4)) << 32;
}

constexpr uint32_t not_candidate = ~0u; // never a relay_map index
constexpr uint32_t set_aside = ~1u;      // nor this: a relay candidate put aside

// A whole TCP or UDP datagram's flow: the fields of the classifier key that
// parse() builds, as the header holds them.
FlowKey flow_key(const rte_ipv4_hdr *ip, uint8_t proto, uint16_t in_port)
{
    return {uint64_t(load32(&ip->src_addr)) | uint64_t(load32(&ip->dst_addr)) << 32,
            uint64_t(load32(ip + 1)) | uint64_t(proto) << 32 | uint64_t(in_port) << 40};
}

// Where the L4 checksum sits, or nullptr when this packet gets no L4 fixup:
// not TCP/UDP, a later fragment, or UDP without a checksum.
uint8_t *l4_checksum(rte_ipv4_hdr *ip, uint16_t ihl, bool later_fragment)
{
    if (later_fragment)
        return nullptr;
    uint8_t *l4 = reinterpret_cast<uint8_t *>(ip) + ihl;
    if (ip->next_proto_id == IPPROTO_UDP) {
        uint8_t *c = l4 + offsetof(rte_udp_hdr, dgram_cksum);
        return load16(c) ? c : nullptr;
    }
    if (ip->next_proto_id == IPPROTO_TCP)
        return l4 + offsetof(rte_tcp_hdr, cksum);
    return nullptr;
}

// A difference applied to the TCP/UDP checksum, where the packet has one
// (UDP never becomes 0: 0 means none).
[[gnu::always_inline]] inline void fix_l4(rte_ipv4_hdr *ip, uint16_t ihl, bool later_fragment,
                                          const CsumDelta &d)
{
    if (uint8_t *c = l4_checksum(ip, ihl, later_fragment)) {
        uint16_t v = csum_apply(load16(c), d);
        if (ip->next_proto_id == IPPROTO_UDP && v == 0)
            v = 0xffff;
        store16(c, v);
    }
}

// New source and destination addresses and the TTL one lower (it is above
// 1: no borrow into the protocol), in the IPv4 header and its checksum.
// The addresses are in the TCP/UDP pseudo-header too: returns their
// difference, which serves that checksum as well.
[[gnu::always_inline]] inline CsumDelta readdress(rte_ipv4_hdr *ip, rte_be32_t src, rte_be32_t dst)
{
    CsumDelta addresses;
    addresses.add32(ip->src_addr, src);
    addresses.add32(ip->dst_addr, dst);
    ip->src_addr = src;
    ip->dst_addr = dst;
    CsumDelta ip_delta = addresses;
    ip_delta.decrement16(ttl_one);
    ip->time_to_live--;
    ip->hdr_checksum = csum_apply(ip->hdr_checksum, ip_delta);
    return addresses;
}

// RFC 1624 fixups for a changed address, on the IPv4 header and the TCP/UDP
// checksum.
[[gnu::always_inline]] inline void fix_address(rte_ipv4_hdr *ip, uint16_t ihl, bool later_fragment,
                                               rte_be32_t old_addr, rte_be32_t new_addr)
{
    CsumDelta d;
    d.add32(old_addr, new_addr);
    ip->hdr_checksum = csum_apply(ip->hdr_checksum, d);
    fix_l4(ip, ihl, later_fragment, d);
}

// A hook without rules matches nothing. Out of line (it runs twice a burst)
// so that scripts/bench_instructions.sh can count the lookups apart.
[[gnu::noinline]] void classify(const Classifier *c, const uint8_t **keys, uint32_t *results,
                                uint16_t n)
{
    if (c)
        c->classify(keys, results, n);
    else
        std::fill(results, results + n, no_rule);
}

// The matched rules' actions and hit counters, which the next pass reads:
// with thousands of rules, cache misses that a burst can wait for together.
// A smaller table's rules stay in cache.
void prefetch_rules(const Tables &t, const TableCounters &c, const Classifier *table,
                    const uint32_t *rules, uint16_t n)
{
    if (!table || !table->large())
        return;
    for (uint16_t i = 0; i < n; i++)
        if (rules[i] != no_rule) {
            rte_prefetch0(&t.actions[rules[i]]);
            rte_prefetch0(&c.rule_hits[rules[i]]);
        }
}

#ifndef NDEBUG
// Debug builds check every incremental fixup against a full recompute, but
// only for packets whose checksums were right on arrival: a wrong checksum
// must stay wrong (SPEC section 2). Fragments carry only part of the L4 data,
// so only their IPv4 header is audited.
struct ChecksumAudit {
    bool ip_ok, l4_ok;
    bool fragmented;

    static bool ip_valid(const rte_ipv4_hdr *ip)
    {
        return ipv4_header_csum(ip, rte_ipv4_hdr_len(ip)) == ip->hdr_checksum;
    }
    static bool l4_valid(const rte_ipv4_hdr *ip)
    {
        const auto *l4 = reinterpret_cast<const uint8_t *>(ip) + rte_ipv4_hdr_len(ip);
        const size_t len = rte_be_to_cpu_16(ip->total_length) - rte_ipv4_hdr_len(ip);
        if (ip->next_proto_id == IPPROTO_UDP) {
            const auto *udp = reinterpret_cast<const rte_udp_hdr *>(l4);
            // DEST and SOURCE forward a datagram whose UDP length is not
            // what it holds: its checksum covers bytes it lacks, so it has
            // no checksum to audit.
            const size_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
            if (udp_len < sizeof(rte_udp_hdr) || udp_len > len)
                return false;
            return udp->dgram_cksum == 0 ||
                   l4_full_csum(ip->src_addr, ip->dst_addr, IPPROTO_UDP, udp, udp_len, 6) ==
                       udp->dgram_cksum;
        }
        if (ip->next_proto_id == IPPROTO_TCP)
            return l4_full_csum(ip->src_addr, ip->dst_addr, IPPROTO_TCP, l4, len, 16) ==
                   reinterpret_cast<const rte_tcp_hdr *>(l4)->cksum;
        return true;
    }
    ChecksumAudit(const rte_ipv4_hdr *ip, bool frag)
        : ip_ok(ip_valid(ip)), l4_ok(!frag && l4_valid(ip)), fragmented(frag)
    {
    }
    void verify(const rte_ipv4_hdr *ip) const
    {
        assert(!ip_ok || ip_valid(ip));
        assert(!l4_ok || l4_valid(ip));
    }
};
#define RELAY_AUDIT_BEGIN(ip, fragmented) const ChecksumAudit audit_((ip), (fragmented))
#define RELAY_AUDIT_END(ip) audit_.verify(ip)
#else
#define RELAY_AUDIT_BEGIN(ip, fragmented) (void)0
#define RELAY_AUDIT_END(ip) (void)0
#endif

} // namespace

Worker::Worker(DataplaneShared &shared, uint16_t queue, LcoreCounters &counters)
    : shared_(shared), queue_(queue), counters_(counters)
{
}

int Worker::run()
{
    rte_mbuf *pkts[burst_size];
    if (shared_.qsbr) {
        rte_rcu_qsbr_thread_register(shared_.qsbr, queue_);
        rte_rcu_qsbr_thread_online(shared_.qsbr, queue_);
    }
    // Each poll loop counts as busy if it received anything, else idle; idle
    // loops commit their cycles now and then, busy ones with their burst.
    uint64_t start = rte_rdtsc();
    uint32_t idle_loops = 0;
    while (!shared_.stop.load(std::memory_order_relaxed)) {
        // Nothing of the last loop's table is held here: a reload may free it.
        if (shared_.qsbr)
            rte_rcu_qsbr_quiescent(shared_.qsbr, queue_);
        const Tables &t = *shared_.tables.load(std::memory_order_acquire);
        bool busy = false;
        for (uint16_t port : t.port_ids) {
            uint16_t n = rte_eth_rx_burst(port, queue_, pkts, burst_size);
            if (n == 0)
                continue;
            busy = true;
            process_burst(t, port, pkts, n);
            flush();
        }
        // Once the second is over, how many events the rate limit left out.
        if (events_suppressed_)
            event(EventKind::suppressed, t, no_relay, 0, 0, 0,
                  shared_.clock.load(std::memory_order_relaxed));
        const uint64_t end = rte_rdtsc();
        local_.add(busy ? Counter::busy_cycles : Counter::idle_cycles, end - start);
        start = end;
        if (!busy && ++idle_loops == idle_commit_loops) {
            commit();
            idle_loops = 0;
        }
    }
    commit();
    if (shared_.qsbr) {
        rte_rcu_qsbr_thread_offline(shared_.qsbr, queue_);
        rte_rcu_qsbr_thread_unregister(shared_.qsbr, queue_);
    }
    return 0;
}

void Worker::send(uint16_t port)
{
    TxList &l = tx_[port];
    const uint16_t sent = rte_eth_tx_burst(port, queue_, l.pkts, l.n);
    local_.add(Counter::tx_packets, sent);
    if (sent < l.n) {
        local_.add(Counter::drop_tx_full, l.n - sent);
        rte_pktmbuf_free_bulk(l.pkts + sent, l.n - sent);
    }
    l.n = 0;
}

void Worker::flush()
{
    for (uint16_t port = 0; port < max_ports; port++)
        if (tx_[port].n != 0)
            send(port);
    if (++uncommitted_bursts_ == commit_bursts)
        commit();
}

void Worker::commit()
{
    counters_.commit(local_);
    uncommitted_bursts_ = 0;
}

// Both inlined where they are used: they run for every packet.
[[gnu::always_inline]] inline void Worker::enqueue(uint16_t port, rte_mbuf *m)
{
    TxList &l = tx_[port];
    if (l.n == std::size(l.pkts))
        send(port);
    l.pkts[l.n++] = m;
}

[[gnu::always_inline]] inline void Worker::finish(const Tables &t, rte_mbuf *m, Verdict v)
{
    if (!v.send) {
        local_.add(v.drop);
        rte_pktmbuf_free(m);
    } else if (rte_pktmbuf_pkt_len(m) > t.ports[v.port].mtu + sizeof(rte_ether_hdr)) {
        send_fragments(t, m, v.port);
    } else {
        enqueue(v.port, m);
    }
}

// A frame larger than the port's MTU: an IPv4 packet leaves as fragments
// (RFC 791), unless it says Don't Fragment. Each fragment has a header of its
// own, so its checksum is computed, and then made as wrong as the packet's
// was (SPEC section 2: a wrong checksum is never repaired); the L4 checksum
// covers the whole datagram and is left as it is.
void Worker::send_fragments(const Tables &t, rte_mbuf *m, uint16_t port)
{
    const auto *eth = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
    const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(eth + 1);
    if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
        (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))) {
        local_.add(Counter::drop_too_big);
        rte_pktmbuf_free(m);
        return;
    }
    const rte_ether_hdr l2 = *eth;
    const uint16_t total = rte_be_to_cpu_16(ip->total_length);
    // How far the header's checksum is from the right one, in one's
    // complement (stored - right); 0 when it is right.
    const uint16_t right = ipv4_header_csum(ip, rte_ipv4_hdr_len(ip));
    const uint32_t error =
        right == ip->hdr_checksum ? 0 : uint32_t(ip->hdr_checksum) + uint16_t(~right);
    rte_pktmbuf_adj(m, sizeof l2);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - total)); // any padding
    rte_mbuf *frags[max_fragments];
    const int n = rte_ipv4_fragment_packet(m, frags, max_fragments, t.ports[port].mtu,
                                           shared_.pools.headers, shared_.pools.indirect);
    rte_pktmbuf_free(m); // each fragment holds its own reference to the data
    if (n < 0) {
        local_.add(Counter::drop_no_mbuf);
        return;
    }
    local_.add(Counter::fragmented_packets);
    for (int i = 0; i < n; i++) {
        auto *e = reinterpret_cast<rte_ether_hdr *>(rte_pktmbuf_prepend(frags[i], sizeof l2));
        *e = l2;
        auto *h = reinterpret_cast<rte_ipv4_hdr *>(e + 1);
        const uint16_t c = ipv4_header_csum(h, rte_ipv4_hdr_len(h));
        h->hdr_checksum = error ? csum_fold(c + error) : c;
        enqueue(port, frags[i]);
    }
}

void Worker::process_burst(const Tables &t, uint16_t in_port, rte_mbuf **pkts, uint16_t n)
{
    const uint32_t now = shared_.clock.load(std::memory_order_relaxed);
    table_counters_ = &t.counters[queue_];
    local_.add(Counter::rx_packets, n);

    // Stage 1: parse. Datagrams to a direct relay port go aside with their
    // relay entry prefetched; datagrams of a flow the flow cache holds go
    // out with what it remembers; ARP, foreign and malformed frames end
    // here; other IPv4 goes on with its classifier key. What each step reads
    // is prefetched ahead of it: the mbufs (which a PMD that hands over mbufs
    // it did not write, as net_ring does, leaves wherever they were), the
    // headers, then the relay port's slot or the flow's cache bucket; a few
    // packets behind, still in the first pass, the relay port's endpoint
    // entry and counters, so that their misses (at a million ports, from
    // memory) overlap the rest of the first pass and all of the second.
    Pkt p[burst_size];
    AclKey keys[burst_size];
    const uint8_t *key_ptrs[burst_size];
    uint32_t rules[burst_size];
    uint32_t slot[burst_size];   // a relay candidate's relay_map index, or not_candidate
    FlowKey flow[burst_size];    // a flow candidate's key
    uint32_t bucket[burst_size]; // and bucket, or FlowCache::no_bucket
    uint16_t k = 0, d = 0;
    const bool relays = !t.relay_map.empty(); // the same for the whole burst
    const uint64_t mac = mac48(t.ports[in_port].mac);
    if (flows_generation_ != t.generation) {
        flows_.clear();
        flows_generation_ = t.generation;
    }
#pragma GCC unroll 8 // two instructions a packet rather than five
    for (uint16_t i = 0; i < n; i++)
        rte_prefetch0(pkts[i]);
    for (uint16_t i = 0; i < n && i < prefetch_ahead; i++)
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
    // Datagrams to direct relay ports, as the relay loop below reads them,
    // and their rule hits, counted by runs of the same rule.
    rte_mbuf *relay_pkts[burst_size];
    uint32_t relay_entry[burst_size];
    uint32_t run_rule = no_rule, run = 0;
    RelayBurst rb{};
    if (relays)
        rb = relay_burst(t, now);
    // A relay candidate whose port is in a direct range goes aside, its
    // entry and counters prefetched; any other stays for the second pass.
    auto put_aside = [&](uint16_t i) {
        if (slot[i] == not_candidate)
            return;
        const Tables::RelaySlot *s = direct_slot(t, slot[i]);
        if (!s)
            return;
        rb.table.prefetch(s->entry);
        rte_prefetch0(&rb.counters[s->entry & rb.counted]);
        if (s->rule != run_rule) {
            hit(run_rule, run);
            run_rule = s->rule;
            run = 0;
        }
        run++;
        relay_pkts[d] = pkts[i];
        relay_entry[d++] = s->entry;
        slot[i] = set_aside;
    };
    auto check = [&](uint16_t i) {
        if (i + prefetch_ahead < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + prefetch_ahead], void *));
        slot[i] = candidate(t, mac, relays, in_port, pkts[i], flow[i], bucket[i]);
    };
    if (relays) {
        uint16_t i = 0;
        for (; i < n && i < slot_lag; i++)
            check(i);
        for (; i < n; i++) {
            check(i);
            put_aside(uint16_t(i - slot_lag));
        }
        for (i = n > slot_lag ? n - slot_lag : 0; i < n; i++)
            put_aside(i);
        hit(run_rule, run);
    } else {
        for (uint16_t i = 0; i < n; i++)
            check(i);
    }
    // The second pass, over the others: none when all went aside.
    for (uint16_t i = 0; d != n && i < n; i++) {
        if (slot[i] == set_aside)
            continue;
        if (slot[i] != not_candidate) {
            // To a box address but no direct relay port: a flow candidate
            // too, which a DEST rule may forward.
            flow[i] = flow_key(rte_pktmbuf_mtod_offset(pkts[i], const rte_ipv4_hdr *,
                                                       sizeof(rte_ether_hdr)),
                               IPPROTO_UDP, in_port);
            bucket[i] = FlowCache::bucket_of(flow[i]);
        }
        if (bucket[i] != FlowCache::no_bucket) {
            if (const FlowCache::Entry *e = flows_.find(bucket[i], flow[i])) {
                local_.add(Counter::flow_cache_hits);
                finish(t, pkts[i], cached(t, pkts[i], *e, now));
                continue;
            }
            local_.add(Counter::flow_cache_misses);
            flow_packet(pkts[i], flow[i], p[k], keys[k]);
            assert(parses_as(t, in_port, p[k], keys[k]));
        } else if (const Verdict v = parse(t, in_port, pkts[i], p[k], keys[k]); v.decided()) {
            finish(t, pkts[i], v);
            continue;
        }
        p[k].in_burst = i;
        key_ptrs[k] = reinterpret_cast<const uint8_t *>(&keys[k]);
        k++;
    }
    if (d != 0)
        relay_direct(t, in_port, relay_pkts, relay_entry, d, rb);
    if (k == 0)
        return;

    // Stage 2: PREROUTING (RELAY, DEST), then local delivery or the route.
    classify(t.prerouting.get(), key_ptrs, rules, k);
    prefetch_rules(t, *table_counters_, t.prerouting.get(), rules, k);
    uint16_t f = 0, c = 0;
    uint8_t fwd[burst_size];    // the packets stage 3 gets, by index in p
    uint16_t keyed[burst_size]; // key c belongs to packet fwd[keyed[c]]
    for (uint16_t i = 0; i < k; i++) {
        Verdict v = prerouting(t, in_port, p[i], rules[i], now);
        if (v.decided()) {
            finish(t, p[i].m, v);
            continue;
        }
        // The POSTROUTING key sees the packet as PREROUTING left it; only a
        // packet leaving by a port with POSTROUTING entries needs one.
        if (t.postrouting_ports[p[i].out_port]) {
            keys[c] = keys[i];
            keys[c].src = p[i].ip->src_addr;
            keys[c].dst = p[i].ip->dst_addr;
            keys[c].out_port = static_cast<uint8_t>(p[i].out_port);
            key_ptrs[c] = reinterpret_cast<const uint8_t *>(&keys[c]);
            keyed[c++] = f;
        }
        p[i].dest_rule = rules[i];
        fwd[f++] = static_cast<uint8_t>(i);
    }
    if (f == 0)
        return;

    // Stage 3: POSTROUTING (SOURCE), then the next hop's MAC.
    uint32_t post[burst_size];
    if (c != 0)
        classify(t.postrouting.get(), key_ptrs, post, c);
    prefetch_rules(t, *table_counters_, t.postrouting.get(), post, c);
    std::fill(rules, rules + f, no_rule);
    for (uint16_t j = 0; j < c; j++)
        rules[keyed[j]] = post[j];
    for (uint16_t i = 0; i < f; i++) {
        Pkt &q = p[fwd[i]];
        if (rules[i] != no_rule) {
            const RuleAction &a = t.actions[rules[i]];
            hit(rules[i]);
            RELAY_AUDIT_BEGIN(q.ip, q.fragmented);
            const rte_be32_t old = q.ip->src_addr;
            q.ip->src_addr = rte_cpu_to_be_32(a.to);
            fix_address(q.ip, q.ihl, q.later_fragment, old, q.ip->src_addr);
            RELAY_AUDIT_END(q.ip);
            local_.add(Counter::rewritten_source);
        }
        if (bucket[q.in_burst] != FlowCache::no_bucket)
            flows_.insert(bucket[q.in_burst], flow[q.in_burst], q.out_port, q.dest_rule, rules[i],
                          q.next_hop);
        finish(t, q.m, resolve(t, q.m, q.out_port, q.next_hop, now));
    }
}

// The datagrams to direct relay ports, whose headers stage 1 checked: whole
// UDP datagrams without IP options. A function of its own, so that the
// compiler keeps this loop's values in registers rather than sharing them
// with the rest of the burst's.
void Worker::relay_direct(const Tables &t, uint16_t in_port, rte_mbuf *const *pkts,
                          const uint32_t *entries, uint16_t n, const RelayBurst burst)
{
    const RelayBurst rb = burst; // a copy of its own, which nothing else can change
    uint32_t relayed = 0;
    uint64_t relayed_bytes = 0;
    for (uint16_t i = 0; i < n; i++) {
        rte_mbuf *m = pkts[i];
        auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, sizeof(rte_ether_hdr));
        const uint32_t total = rte_be_to_cpu_16(ip->total_length);
        const Verdict v = relay(t, in_port, m, ip, sizeof(rte_ipv4_hdr), total, entries[i], rb);
        if (v.send) {
            relayed++;
            relayed_bytes += total;
        }
        finish(t, m, v);
    }
    local_.add(Counter::relayed_packets, relayed);
    local_.add(Counter::relayed_bytes, relayed_bytes);
}

// Inlined into the burst loop (and parses_as(), the debug builds' check of
// flow_packet()): as a call it spent about 18 instructions a packet on saving
// registers and passing arguments.
[[gnu::always_inline]] inline Worker::Verdict Worker::parse(const Tables &t, uint16_t in_port,
                                                            rte_mbuf *m, Pkt &p, AclKey &key)
{
    const uint32_t frame = rte_pktmbuf_data_len(m);
    if (frame < sizeof(rte_ether_hdr))
        return drop(Counter::drop_malformed);
    const auto *eth = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
    const PortTable &port = t.ports[in_port];
    if (!rte_is_same_ether_addr(&eth->dst_addr, &port.mac) &&
        !rte_is_broadcast_ether_addr(&eth->dst_addr))
        return drop(Counter::drop_not_for_us);
    if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
        return handle_arp(t, in_port, m);
    if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
        return drop(Counter::drop_non_ipv4);

    if (frame < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr))
        return drop(Counter::drop_malformed);
    auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, sizeof(rte_ether_hdr));
    const uint32_t ihl = rte_ipv4_hdr_len(ip);
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    const uint32_t l3_avail = frame - sizeof(rte_ether_hdr);
    if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || ihl > l3_avail ||
        total < ihl)
        return drop(Counter::drop_malformed);
    // Cut short on the way in: a frame larger than the buffer, or with
    // net_af_packet a datagram the kernel reassembled past its frame size.
    if (total > l3_avail)
        return drop(Counter::drop_truncated);

    // The packet and its key are built in locals and stored whole: stores
    // of single bytes into them would make the compiler read the header
    // again after each one.
    const uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
    const uint8_t proto = ip->next_proto_id;
    const bool later_fragment = (frag & RTE_IPV4_HDR_OFFSET_MASK) != 0;
    const bool fragmented = later_fragment || (frag & RTE_IPV4_HDR_MF_FLAG);
    AclKey k{};
    k.proto = proto;
    k.src = ip->src_addr;
    k.dst = ip->dst_addr;
    k.in_port = static_cast<uint8_t>(in_port);
    // A header whose checksum a rewrite would fix must be there whole: the
    // first fragment of a datagram carries it, later ones carry none.
    if (!later_fragment && (proto == IPPROTO_UDP || proto == IPPROTO_TCP)) {
        const uint32_t need = proto == IPPROTO_UDP ? sizeof(rte_udp_hdr) : sizeof(rte_tcp_hdr);
        if (total < ihl + need || ihl + need > l3_avail)
            return drop(Counter::drop_malformed);
        const auto *ports = reinterpret_cast<const rte_be16_t *>(
            reinterpret_cast<const uint8_t *>(ip) + ihl);
        k.sport = ports[0];
        k.dport = ports[1];
        k.l4 = RTE_BE16(1);
    }
    p = Pkt{m,
            ip,
            static_cast<uint16_t>(ihl),
            static_cast<uint16_t>(total),
            later_fragment,
            fragmented,
            0,
            0,
            0,
            no_rule};
    key = k;
    return keep();
}

// What parse() would build for a flow candidate, from what candidate()
// checked and the flow key it built: the IPv4 header without options, a
// whole datagram, the TCP or UDP ports in the key.
[[gnu::always_inline]] inline void Worker::flow_packet(rte_mbuf *m, const FlowKey &flow, Pkt &p,
                                                       AclKey &key)
{
    auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, sizeof(rte_ether_hdr));
    p = Pkt{m,
            ip,
            sizeof(rte_ipv4_hdr),
            rte_be_to_cpu_16(ip->total_length),
            false,
            false,
            0,
            0,
            0,
            no_rule};
    AclKey k{};
    k.proto = static_cast<uint8_t>(flow.rest >> 32);
    k.src = static_cast<uint32_t>(flow.addresses);
    k.dst = static_cast<uint32_t>(flow.addresses >> 32);
    k.sport = static_cast<uint16_t>(flow.rest);
    k.dport = static_cast<uint16_t>(flow.rest >> 16);
    k.in_port = static_cast<uint8_t>(flow.rest >> 40);
    k.l4 = RTE_BE16(1);
    key = k;
}

#ifndef NDEBUG
bool Worker::parses_as(const Tables &t, uint16_t in_port, const Pkt &p, const AclKey &key)
{
    Pkt q{};
    AclKey k{};
    // Field by field: a copy of a key need not copy its padding.
    return !parse(t, in_port, p.m, q, k).decided() && k.proto == key.proto && k.src == key.src &&
           k.dst == key.dst && k.sport == key.sport && k.dport == key.dport &&
           k.in_port == key.in_port && k.out_port == key.out_port && k.l4 == key.l4 &&
           q.ip == p.ip && q.ihl == p.ihl && q.total == p.total &&
           q.later_fragment == p.later_fragment && q.fragmented == p.fragmented;
}
#endif

Worker::Verdict Worker::handle_arp(const Tables &t, uint16_t in_port, rte_mbuf *m)
{
    if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr))
        return drop(Counter::drop_malformed);
    auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
    auto *arp = reinterpret_cast<rte_arp_hdr *>(eth + 1);
    const PortTable &port = t.ports[in_port];
    if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
        arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
        arp->arp_plen != 4)
        return drop(Counter::drop_malformed);

    // Learn the sender as Linux does: a request or reply to one of this
    // port's addresses creates an entry, any other ARP only refreshes one.
    const Ipv4 sender = rte_be_to_cpu_32(arp->arp_data.arp_sip);
    const Ipv4 target = rte_be_to_cpu_32(arp->arp_data.arp_tip);
    const bool for_us = port.owns(target);
    if (t.neighbours && port.subnet.contains(sender) && t.local_index(sender) < 0 &&
        !rte_is_multicast_ether_addr(&arp->arp_data.arp_sha)) {
        NeighbourUpdate u{sender, in_port, for_us, {}};
        std::memcpy(u.mac.data(), arp->arp_data.arp_sha.addr_bytes, 6);
        local_.add(t.neighbours->post(u) ? Counter::arp_learned : Counter::arp_lost);
    }
    // Like Linux with arp_ignore=1: answer only for the addresses of the port
    // the request came in on.
    if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) || !for_us)
        return drop(Counter::arp_ignored);
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = arp->arp_data.arp_sip;
    arp->arp_data.arp_sha = port.mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(target);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = port.mac;
    local_.add(Counter::arp_replies);
    return tx(in_port);
}

// Inlined into the burst loop, its one caller.
[[gnu::always_inline]] inline Worker::Verdict Worker::prerouting(const Tables &t, uint16_t in_port,
                                                                 Pkt &p, uint32_t rule,
                                                                 uint32_t now)
{
    if (rule != no_rule) {
        const RuleAction &a = t.actions[rule];
        hit(rule);
        if (a.target == RuleTarget::relay)
            return relay_matched(t, in_port, p, now);
        // DEST
        RELAY_AUDIT_BEGIN(p.ip, p.fragmented);
        const rte_be32_t old = p.ip->dst_addr;
        p.ip->dst_addr = rte_cpu_to_be_32(a.to);
        fix_address(p.ip, p.ihl, p.later_fragment, old, p.ip->dst_addr);
        RELAY_AUDIT_END(p.ip);
        local_.add(Counter::rewritten_dest);
    }
    const int local = t.local_index(rte_be_to_cpu_32(p.ip->dst_addr));
    if (local >= 0)
        return local_delivery(t, in_port, p, local);
    return route(t, p);
}

// A packet the classifier matched to a RELAY rule: the rule matched a box
// address and a port of its range. Out of line, so that prerouting() saves
// no registers for the relay path on the way to DEST and the route.
Worker::Verdict Worker::relay_matched(const Tables &t, uint16_t in_port, const Pkt &p, uint32_t now)
{
    const int local = t.local_index(rte_be_to_cpu_32(p.ip->dst_addr));
    const auto *udp = reinterpret_cast<const rte_udp_hdr *>(
        reinterpret_cast<const uint8_t *>(p.ip) + p.ihl);
    const uint32_t entry = t.relay_lookup(local, rte_be_to_cpu_16(udp->dst_port)).entry;
    if (entry == no_relay)
        return drop(Counter::drop_local_unhandled); // a range its table lacks: never index past it
    if (p.fragmented)
        return drop(Counter::drop_fragment);
    const RelayBurst rb = relay_burst(t, now);
    const Verdict v = relay(t, in_port, p.m, p.ip, p.ihl, p.total, entry, rb);
    if (v.send) {
        local_.add(Counter::relayed_packets);
        local_.add(Counter::relayed_bytes, p.total);
    }
    return v;
}

Worker::Verdict Worker::local_delivery(const Tables &t, uint16_t in_port, Pkt &p, int)
{
    if (p.fragmented)
        return drop(Counter::drop_fragment); // the box reassembles nothing
    if (p.ip->next_proto_id == IPPROTO_ICMP)
        return echo_reply(t, in_port, p);
    return drop(Counter::drop_local_unhandled);
}

Worker::Verdict Worker::echo_reply(const Tables &t, uint16_t in_port, Pkt &p)
{
    rte_ipv4_hdr *ip = p.ip;
    if (p.total < p.ihl + sizeof(rte_icmp_hdr) ||
        sizeof(rte_ether_hdr) + p.ihl + sizeof(rte_icmp_hdr) > rte_pktmbuf_data_len(p.m))
        return drop(Counter::drop_malformed);
    auto *icmp = reinterpret_cast<rte_icmp_hdr *>(reinterpret_cast<uint8_t *>(ip) + p.ihl);
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
        return drop(Counter::drop_local_unhandled);
    // No answer to a source that no host can have (RFC 1122 3.2.1.3): a
    // martian, a broadcast or the box itself.
    if (t.refuses_source(rte_be_to_cpu_32(ip->src_addr)))
        return drop(Counter::drop_martian);

    const uint16_t old_type = load16(&icmp->icmp_type);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = csum_update16(icmp->icmp_cksum, old_type, load16(&icmp->icmp_type));

    const uint16_t old_ttl = ttl_word(ip);
    ip->time_to_live = ttl_local;
    ip->hdr_checksum = csum_update16(ip->hdr_checksum, old_ttl, ttl_word(ip));
    const rte_be32_t requester = ip->src_addr; // a swap leaves the sum unchanged
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = requester;

    auto *eth = rte_pktmbuf_mtod(p.m, rte_ether_hdr *);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = t.ports[in_port].mac;
    local_.add(Counter::icmp_echo_replies);
    return tx(in_port);
}

// The common cases, ahead of the general parse: a whole UDP or TCP datagram
// without IP options, unicast to this port (whose MAC is `mac`, as mac48
// loads it). A UDP datagram to a box address, on a box with relay ports
// (`relays`), is a relay candidate: returns the relay_map index of its
// destination port on that address (Tables::relay_lookup) and prefetches the
// relay_map slots the port may have; `flow` and `bucket` are left as they
// are. Any other is a flow candidate: returns not_candidate with its key in
// `flow` and its flow cache bucket, prefetched, in `bucket`. Anything else:
// not_candidate and FlowCache::no_bucket.
[[gnu::always_inline]] inline uint32_t Worker::candidate(const Tables &t, uint64_t mac,
                                                         bool relays, uint16_t in_port,
                                                         rte_mbuf *m, FlowKey &flow,
                                                         uint32_t &bucket)
{
    auto neither = [&bucket] {
        bucket = FlowCache::no_bucket;
        return not_candidate;
    };
    const uint32_t frame = rte_pktmbuf_data_len(m);
    if (frame < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr))
        return neither();
    // The fixed fields in four loads: the destination MAC (bytes 0-5), the
    // Ethernet type and IPv4 version and IHL (12-14), the MF flag and
    // fragment offset (20-21) and the protocol (23), UDP, the relay's, first.
    const auto *h = rte_pktmbuf_mtod(m, const uint8_t *);
    const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(h + sizeof(rte_ether_hdr));
    constexpr uint32_t type_vhl = header_word(0x08, 0x00, RTE_IPV4_VHL_DEF, 0);
    constexpr uint32_t type_vhl_mask = header_word(0xff, 0xff, 0xff, 0);
    constexpr uint32_t frag_proto_mask = header_word(0x3f, 0xff, 0, 0xff);
    const uint32_t fixed = (load32(h) ^ uint32_t(mac)) | (load16(h + 4) ^ uint16_t(mac >> 32)) |
                           ((load32(h + 12) & type_vhl_mask) ^ type_vhl);
    const uint32_t frag_proto = load32(h + 20) & frag_proto_mask;
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    uint8_t proto = IPPROTO_UDP;
    if (fixed | (frag_proto ^ header_word(0, 0, 0, IPPROTO_UDP))) {
        if (fixed | (frag_proto ^ header_word(0, 0, 0, IPPROTO_TCP)) ||
            total < sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr))
            return neither();
        proto = IPPROTO_TCP;
    }
    if (total < sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) || total > frame - sizeof(rte_ether_hdr))
        return neither();
    if (relays && proto == IPPROTO_UDP) {
        const int local = t.local_index(rte_be_to_cpu_32(ip->dst_addr));
        if (local >= 0) {
            const uint32_t dport =
                rte_be_to_cpu_16(reinterpret_cast<const rte_udp_hdr *>(ip + 1)->dst_port);
            const uint32_t home = t.relay_home[local];
            rte_prefetch0(&t.relay_map[home | dport]);
            if (home != 0 && t.relay_every)
                rte_prefetch0(&t.relay_map[dport]);
            return home | dport;
        }
    }
    flow = flow_key(ip, proto, in_port);
    bucket = FlowCache::bucket_of(flow);
    flows_.prefetch(bucket);
    return not_candidate;
}

// The relay port of a candidate, if it is in a direct range (one the
// classifier could only answer with its own rule); else null, and the
// packet takes the general path, where it meets the same rule through the
// classifier.
[[gnu::always_inline]] inline const Tables::RelaySlot *Worker::direct_slot(const Tables &t,
                                                                          uint32_t slot)
{
    const Tables::RelaySlot *s = &t.relay_map[slot];
    if (s->entry == no_relay)
        s = &t.relay_map[slot & 0xffff]; // the ranges on every address
    return s->direct ? s : nullptr;
}

// Inlined into its two callers: at a few hundred instructions a packet, the
// call's register saving and argument passing were a tenth of the relay path.
// Steady relaying reads the entry and writes nothing shared; a transition (a
// new endpoint, a first packet in a direction) takes the learning step out
// of line, so that the endpoint read here stays in registers.
[[gnu::always_inline]] inline Worker::Verdict Worker::relay(const Tables &t, uint16_t in_port,
                                                            rte_mbuf *m, rte_ipv4_hdr *ip,
                                                            uint16_t ihl, uint32_t total,
                                                            uint32_t entry, const RelayBurst &rb)
{
    auto *udp = reinterpret_cast<rte_udp_hdr *>(reinterpret_cast<uint8_t *>(ip) + ihl);
    const uint32_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
    if (udp_len < sizeof(rte_udp_hdr) || udp_len > total - ihl)
        return drop(Counter::drop_malformed);
    PackedEndpoint to;
    const int to_slot =
        rb.table.steady(entry, header_peer(load32(&ip->src_addr), load16(&udp->src_port)), to);
    if (__builtin_expect(to_slot == 0, 0))
        return relay_learning(t, in_port, m, ip, ihl, total, entry, rb);
    return relay_to(t, ip, udp, total, entry, to, to_slot, rb);
}

Worker::Verdict Worker::relay_learning(const Tables &t, uint16_t in_port, rte_mbuf *m,
                                       rte_ipv4_hdr *ip, uint16_t ihl, uint32_t total,
                                       uint32_t entry, const RelayBurst rb)
{
    // The box address it was sent to, which the endpoint will send from.
    const int local = t.local_index(rte_be_to_cpu_32(ip->dst_addr));
    const Learned l = learn(t, in_port, m, ip, ihl, entry, local, rb.now);
    if (l.verdict.decided())
        return l.verdict;
    auto *udp = reinterpret_cast<rte_udp_hdr *>(reinterpret_cast<uint8_t *>(ip) + ihl);
    return relay_to(t, ip, udp, total, entry, l.to, l.to_slot, rb);
}

// Sends a datagram from one endpoint of relay port `entry` to the other, `to`
// in slot to_slot (1 = A, 2 = B): stamps the sender, rewrites the addresses,
// ports and MACs, fixes both checksums and counts it on the port.
[[gnu::always_inline]] inline Worker::Verdict Worker::relay_to(const Tables &t, rte_ipv4_hdr *ip,
                                                               rte_udp_hdr *udp,
                                                               uint32_t total, uint32_t entry,
                                                               PackedEndpoint to, int to_slot,
                                                               const RelayBurst &rb)
{
    rb.table.touch(entry, to_slot == 2 ? 1 : 2, rb.now); // the sender's slot
    if (ip->time_to_live <= 1)
        return drop(Counter::drop_ttl);

    // Where the tables' values sit is worked out before the first store into
    // the packet, after which the compiler would read the tables' pointers
    // again (a byte store may, for all it knows, change them).
    const rte_be32_t new_src = rte_cpu_to_be_32(t.locals[to.local()]);
    const rte_be32_t new_dst = rte_cpu_to_be_32(to.addr());
    const uint16_t out_port = to.ifport();
    const rte_ether_addr &out_mac = t.ports[out_port].mac;
    RelayPortCounters &pc = rb.counters[entry & rb.counted];

    RELAY_AUDIT_BEGIN(ip, false); // relaying takes no fragments
    const CsumDelta addresses = readdress(ip, new_src, new_dst);
    // The ports move along: the source port becomes the relay port, which
    // was the destination port, so only the old source and the new
    // destination port change the sum.
    const uint16_t old_sport = udp->src_port, relay_port = udp->dst_port;
    const uint16_t new_dport = rte_cpu_to_be_16(to.port());
    udp->src_port = relay_port;
    udp->dst_port = new_dport;
    if (udp->dgram_cksum != 0) {
        CsumDelta udp_delta = addresses;
        udp_delta.add16(old_sport, new_dport);
        udp_delta.add_zero16(); // relay_port out of one field and into the other
        const uint16_t c = csum_apply(udp->dgram_cksum, udp_delta);
        udp->dgram_cksum = c == 0 ? 0xffff : c;
    }
    RELAY_AUDIT_END(ip);

    // The destination MAC, and two bytes that the source MAC overwrites.
    auto *eth = reinterpret_cast<rte_ether_hdr *>(ip) - 1;
    std::memcpy(eth, &to.w1, 8); // to.mac() and two bytes more
    eth->src_addr = out_mac;

    auto &pkts = to_slot == 2 ? pc.to_b_packets : pc.to_a_packets;
    auto &bytes = to_slot == 2 ? pc.to_b_bytes : pc.to_a_bytes;
    pkts.store(pkts.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    bytes.store(bytes.load(std::memory_order_relaxed) + total, std::memory_order_relaxed);
    return tx(out_port); // the caller counts relayed_packets and relayed_bytes
}

// The learning step (SPEC section 4) for a packet that steady relaying does
// not cover: it decides the packet (a drop) or says where it goes. Its
// arguments are scalars so that relay()'s callers keep the packet in registers.
Worker::Learned Worker::learn(const Tables &t, uint16_t in_port, const rte_mbuf *m,
                              const rte_ipv4_hdr *ip, uint16_t ihl, uint32_t entry, int local,
                              uint32_t now)
{
    const auto *udp = reinterpret_cast<const rte_udp_hdr *>(
        reinterpret_cast<const uint8_t *>(ip) + ihl);
    const Ipv4 src = rte_be_to_cpu_32(ip->src_addr);
    const uint16_t sport = rte_be_to_cpu_16(udp->src_port);
    auto refuse = [&](EventKind kind, Counter c) -> Learned {
        event(kind, t, entry, 0, src, sport, now);
        return {drop(c), {}, 0};
    };
    if (sport == 0 || t.refuses_source(src))
        return refuse(EventKind::refused, Counter::drop_relay_refused);

    RelayTable &table = *t.relay;
    const RelayRange &range = t.ranges[t.entry_range[entry]];
    const RelaySnapshot snap = table.read(entry);
    PackedEndpoint to;
    const int match = snap.a.known() && snap.a.same_peer(src, sport)   ? 1
                      : snap.b.known() && snap.b.same_peer(src, sport) ? 2
                                                                       : 0;
    Learn outcome = learn_reset_mode(snap.state, match);
    if (match == 0 && outcome != Learn::drop_disabled && !range.allows(src))
        return refuse(EventKind::not_allowed, Counter::drop_relay_not_allowed);
    // The fast cases again, for an entry that changed since steady() read it,
    // and a strict port's refusal, which takes no lock either.
    if (outcome == Learn::to_b && (snap.state & state::active2)) {
        to = PackedEndpoint::pack(snap.b);
    } else if (outcome == Learn::to_a && (snap.state & state::active1)) {
        to = PackedEndpoint::pack(snap.a);
    } else if (outcome == Learn::drop_disabled) {
        return {drop(Counter::drop_relay_disabled), {}, 0};
    } else if (outcome == Learn::from_a_alone) {
        table.touch(entry, 1, now);
        return {drop(Counter::drop_relay_unlearned), {}, 0};
    } else if (outcome == Learn::reset && range.learning == LearningMode::strict &&
               !table.window_open(entry, now)) {
        return refuse(EventKind::strict, Counter::drop_relay_strict);
    } else {
        // Only a transition, or probation's count, takes the entry's lock.
        const auto *eth = rte_pktmbuf_mtod(m, const rte_ether_hdr *);
        Endpoint self;
        self.addr = src;
        self.port = sport;
        self.ifport = in_port;
        std::memcpy(self.mac.data(), eth->src_addr.addr_bytes, 6);
        self.local = static_cast<uint16_t>(local);
        LearnPolicy policy = t.learn_policy;
        policy.mode = range.learning;
        const LearnClock clock{now, shared_.clock_ms.load(std::memory_order_relaxed)};
        const LearnResult r = table.learn(entry, self, clock, policy);
        outcome = r.outcome;
        switch (outcome) {
        case Learn::drop_disabled:
            return {drop(Counter::drop_relay_disabled), {}, 0};
        case Learn::from_a_alone:
            return {drop(Counter::drop_relay_unlearned), {}, 0};
        case Learn::learned_a:
            local_.add(Counter::relay_learned);
            event(EventKind::learned, t, entry, 1, src, sport, now);
            return {drop(Counter::drop_relay_unlearned), {}, 0};
        case Learn::reset:
            local_.add(Counter::relay_resets);
            event(EventKind::reset, t, entry, 1, src, sport, now);
            return {drop(Counter::drop_relay_reset), {}, 0};
        case Learn::refused_strict:
            return refuse(EventKind::strict, Counter::drop_relay_strict);
        case Learn::reset_limited:
            return refuse(EventKind::reset_limited, Counter::drop_relay_reset_limited);
        case Learn::probation_started:
            local_.add(Counter::relay_probation_started);
            return refuse(EventKind::probation, Counter::drop_relay_probation);
        case Learn::probation:
            return {drop(Counter::drop_relay_probation), {}, 0};
        case Learn::replaced_a:
        case Learn::replaced_b:
            local_.add(Counter::relay_replaced);
            event(EventKind::replaced, t, entry, outcome == Learn::replaced_a ? 1 : 2, src, sport,
                  now);
            break;
        case Learn::learned_b:
            local_.add(Counter::relay_learned);
            event(EventKind::learned, t, entry, 2, src, sport, now);
            break;
        case Learn::to_a:
        case Learn::to_b:
            break;
        }
        to = PackedEndpoint::pack(r.to);
    }
    // B or A
    return {keep(), to, outcome == Learn::to_b || outcome == Learn::replaced_a ? 2 : 1};
}

// Inlined into prerouting(), its one caller.
[[gnu::always_inline]] inline Worker::Verdict Worker::route(const Tables &t, Pkt &p)
{
    const Ipv4 dst = rte_be_to_cpu_32(p.ip->dst_addr);
    const Ipv4 src = rte_be_to_cpu_32(p.ip->src_addr);
    // A router forwards neither to nor from these (RFC 1812 5.3.7), nor a
    // packet claiming to come from the box itself.
    if (is_martian(dst) || t.is_subnet_broadcast(dst) || t.refuses_source(src))
        return drop(Counter::drop_martian);
    NextHop hop;
    if (!t.routes || !t.routes->lookup(dst, hop))
        return drop(Counter::drop_no_route);
    if (p.ip->time_to_live <= 1)
        return drop(Counter::drop_ttl);
    RELAY_AUDIT_BEGIN(p.ip, p.fragmented);
    decrement_ttl(p.ip);
    RELAY_AUDIT_END(p.ip);
    p.out_port = hop.port;
    p.next_hop = hop.gateway ? hop.gateway : dst;
    return keep();
}

// A datagram of a flow the flow cache holds, as candidate() found it: what
// prerouting(), route() and the SOURCE stage did to the flow's first packet,
// from the decisions they left there, with one checksum difference for both
// addresses and the TTL. Counts as those stages count. Inlined into the
// burst loop, its one caller.
[[gnu::always_inline]] inline Worker::Verdict Worker::cached(const Tables &t, rte_mbuf *m,
                                                             const FlowCache::Entry &e,
                                                             uint32_t now)
{
    auto *ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr *, sizeof(rte_ether_hdr));
    rte_be32_t src = ip->src_addr, dst = ip->dst_addr;
    if (e.dest_rule != no_rule) {
        hit(e.dest_rule);
        dst = rte_cpu_to_be_32(t.actions[e.dest_rule].to);
        local_.add(Counter::rewritten_dest);
    }
    if (ip->time_to_live <= 1)
        return drop(Counter::drop_ttl);
    if (e.source_rule != no_rule) {
        hit(e.source_rule);
        src = rte_cpu_to_be_32(t.actions[e.source_rule].to);
        local_.add(Counter::rewritten_source);
    }
    RELAY_AUDIT_BEGIN(ip, false); // a whole datagram without options
    fix_l4(ip, sizeof(rte_ipv4_hdr), false, readdress(ip, src, dst));
    RELAY_AUDIT_END(ip);
    return resolve(t, m, e.out_port(), e.next_hop, now);
}

// The next hop's MAC and the packet's out port: inlined into the burst loop
// (stage 3 and cached flows); the neighbour table is asked out of line.
[[gnu::always_inline]] inline Worker::Verdict Worker::resolve(const Tables &t, rte_mbuf *m,
                                                             uint16_t out_port, Ipv4 next_hop,
                                                             uint32_t now)
{
    Resolved &r = resolved_[(next_hop ^ (next_hop >> 8)) % std::size(resolved_)];
    if ((r.address != next_hop || r.when != now) && !ask_neighbours(t, out_port, next_hop, r, now))
        return drop(Counter::drop_no_neighbour);
    auto *eth = rte_pktmbuf_mtod(m, rte_ether_hdr *);
    std::memcpy(eth->dst_addr.addr_bytes, r.mac.data(), 6);
    eth->src_addr = t.ports[out_port].mac;
    local_.add(Counter::forwarded_packets);
    return tx(out_port);
}

void Worker::event(EventKind kind, const Tables &t, uint32_t entry, uint8_t slot, Ipv4 src,
                   uint16_t sport, uint32_t now)
{
    if (!shared_.events)
        return;
    if (now != event_second_) {
        if (events_suppressed_) {
            Event summary{EventKind::suppressed};
            summary.queue = queue_;
            summary.count = events_suppressed_;
            summary.time = event_second_;
            post(summary);
            events_suppressed_ = 0;
        }
        event_second_ = now;
        events_in_second_ = 0;
    }
    if (kind == EventKind::suppressed)
        return;
    if (events_in_second_ == max_events_per_second) {
        events_suppressed_++;
        local_.add(Counter::events_suppressed);
        return;
    }
    events_in_second_++;
    Event e{kind};
    e.slot = slot;
    e.queue = queue_;
    e.port = t.entry_port(entry);
    e.address = t.entry_address(entry);
    e.src = src;
    e.src_port = sport;
    e.time = now;
    post(e);
}

void Worker::post(Event e)
{
    if (rte_ring_mp_enqueue_elem(shared_.events, &e, sizeof e) != 0)
        local_.add(Counter::events_lost);
}

// Once a second per next hop: out of line, so that resolve() saves no
// registers for it.
bool Worker::ask_neighbours(const Tables &t, uint16_t out_port, Ipv4 next_hop, Resolved &r,
                            uint32_t now)
{
    uint32_t age = 0;
    if (!t.neighbours || !t.neighbours->lookup(next_hop, r.mac, now, age)) {
        r.address = 0;
        request_arp(t, out_port, next_hop, now);
        return false;
    }
    if (age > neighbour_stale)
        request_arp(t, out_port, next_hop, now);
    r.address = next_hop;
    r.when = now;
    return true;
}

void Worker::request_arp(const Tables &t, uint16_t port, Ipv4 target, uint32_t now)
{
    Asked &a = asked_[(target ^ (target >> 8)) & 255];
    if (a.address == target && a.when == now)
        return;
    rte_mbuf *m = shared_.pools.packets ? rte_pktmbuf_alloc(shared_.pools.packets) : nullptr;
    if (!m)
        return;
    auto *eth = reinterpret_cast<rte_ether_hdr *>(
        rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
    if (!eth) {
        rte_pktmbuf_free(m);
        return;
    }
    a.address = target;
    a.when = now;
    const PortTable &pt = t.ports[port];
    std::memset(&eth->dst_addr, 0xff, sizeof eth->dst_addr);
    eth->src_addr = pt.mac;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
    auto *arp = reinterpret_cast<rte_arp_hdr *>(eth + 1);
    arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
    arp->arp_data.arp_sha = pt.mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(pt.address);
    std::memset(&arp->arp_data.arp_tha, 0, sizeof arp->arp_data.arp_tha);
    arp->arp_data.arp_tip = rte_cpu_to_be_32(target);
    local_.add(Counter::arp_requests);
    finish(t, m, tx(port));
}

} // namespace relay
