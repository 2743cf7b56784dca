// fuzz_burst: arbitrary frames through the real packet path
// (Worker::process_burst) of boxes built as dpdk-relay builds them, on mbufs
// of an EAL started with --no-huge and two net_null ports. Input format:
// burst_input.hpp. After each burst every TX list is drained and freed and
// what must hold for any input is checked; a violation aborts.
// The received mbufs come from a pool of their own and are fenced
// (mbuf_fence.hpp): ASan sees any access outside the frame.
#include "box.hpp"
#include "checksum.hpp"
#include "mbuf_fence.hpp"
#include "burst_input.hpp"
#include "port.hpp"
#include "test_eal.hpp"
#include "worker.hpp"

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using namespace relay;
using relay::test::ether;
using relay::test::fence;
using relay::test::unfence;

namespace {

MbufPools pools;
rte_mempool *rx_pool; // received frames only: nothing else allocates from it
std::unique_ptr<relay::test::Box> boxes[std::size(fuzz::configs)];

[[noreturn]] void violated(const char *what, unsigned long a = 0, unsigned long b = 0)
{
    std::fprintf(stderr, "fuzz_burst: invariant violated: %s (%lu, %lu)\n", what, a, b);
    std::abort();
}

void check(bool ok, const char *what, unsigned long a = 0, unsigned long b = 0)
{
    if (!ok)
        violated(what, a, b);
}

// The state each input starts from: every relay entry in its initial state,
// entry 0 relaying between two learned and active endpoints, entry 1 with A.
void reset_relay(relay::test::Box &box)
{
    if (box.tables->relay_entries == 0)
        return;
    RelaySnapshot initial;
    initial.state = box.config.relay.initial_state;
    for (uint32_t e = 0; e < box.tables->relay_entries; e++)
        box.relay_table->restore(e, initial);
    Endpoint a, b;
    a.addr = fuzz::peer_a;
    a.port = fuzz::peer_a_port;
    a.ifport = 0;
    a.mac = fuzz::peer_a_mac;
    a.local = 0;
    b.addr = fuzz::peer_b;
    b.port = fuzz::peer_b_port;
    b.ifport = 1;
    b.mac = fuzz::peer_b_mac;
    b.local = static_cast<uint16_t>(box.tables->local_index(box.config.ports[1].address));
    RelaySnapshot both;
    both.state = state::all;
    both.a = a;
    both.b = b;
    both.seen_a = both.seen_b = 1;
    box.relay_table->restore(0, both);
    if (box.tables->relay_entries > 1) {
        RelaySnapshot one;
        one.state = state::set1;
        one.a = b;
        one.seen_a = 1;
        box.relay_table->restore(1, one);
    }
}

void teardown()
{
    for (auto &b : boxes)
        b.reset();
    for (uint16_t port = 0; port < 2; port++)
        stop_port(port);
    for (rte_mempool *p : {pools.packets, pools.headers, pools.indirect, rx_pool})
        rte_mempool_free(p);
    relay::test::stop_eal();
}

uint16_t be16(const uint8_t *p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    static const std::string prefix = "relay_fuzz_" + std::to_string(getpid());
    const char *eal[] = {"fuzz_burst", "--no-huge", "-m", "512", "--no-pci", "-l", "0",
                         "--no-telemetry", "--log-level", "*:error", "--file-prefix",
                         prefix.c_str(), "--vdev", "net_null0", "--vdev", "net_null1"};
    std::vector<char *> argv;
    for (const char *a : eal)
        argv.push_back(const_cast<char *>(a));
    if (rte_eal_init(int(argv.size()), argv.data()) < 0) {
        std::fprintf(stderr, "fuzz_burst: EAL initialisation failed\n");
        std::exit(1);
    }
    try {
        pools = create_mbuf_pools(2, 1, fuzz::max_frame);
        rx_pool = rte_pktmbuf_pool_create("fuzz_rx", 2 * burst_size, 0, 0,
                                          RTE_PKTMBUF_HEADROOM + fuzz::max_frame, SOCKET_ID_ANY);
        if (!rx_pool)
            throw std::runtime_error("cannot create the RX pool");
        // net_null ports 0 and 1 take what a full TX list sends mid-burst.
        start_port(0, "net_null0", 1, pools.packets);
        start_port(1, "net_null1", 1, pools.packets);
        for (size_t i = 0; i < std::size(fuzz::configs); i++) {
            auto box = std::make_unique<relay::test::Box>();
            box->config = parse_config(fuzz::configs[i], "fuzz" + std::to_string(i) + ".yaml");
            relay::test::finish_box(*box, {{0, ether(fuzz::port_macs[0])}, {1, ether(fuzz::port_macs[1])}},
                                    pools);
            boxes[i] = std::move(box);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "fuzz_burst: %s\n", e.what());
        std::exit(1);
    }
    std::atexit(teardown);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    relay::test::Box &box = *boxes[data[0] & 3];
    const uint16_t in_port = (data[0] >> 2) & 1;
    const Tables &t = *box.tables;
    reset_relay(box);

    rte_mbuf *pkts[burst_size];
    uint16_t n = 0;
    for (size_t at = 1; at < size && n < burst_size;) {
        size_t len = at + 2 <= size ? be16(data + at) : 0;
        at += 2;
        len = std::min({len, size > at ? size - at : 0, fuzz::max_frame});
        rte_mbuf *m = rte_pktmbuf_alloc(rx_pool);
        check(m != nullptr, "RX pool exhausted: an mbuf leaked");
        char *p = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
        check(p != nullptr, "frame larger than the data room", len);
        if (len)
            std::memcpy(p, data + at, len);
        fence(m);
        pkts[n++] = m;
        at += len;
    }
    // Whether a frame's IPv4 header checksum is wrong on arrival: its
    // fragments must then leave wrong too, the others right.
    bool wrong_on_arrival = false;
    for (uint16_t i = 0; i < n; i++) {
        const uint32_t len = rte_pktmbuf_data_len(pkts[i]);
        const auto *h = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
        if (len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) || be16(h + 12) != RTE_ETHER_TYPE_IPV4)
            continue;
        const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(h + sizeof(rte_ether_hdr));
        const uint32_t ihl = rte_ipv4_hdr_len(ip);
        if (ihl >= sizeof(rte_ipv4_hdr) && len >= sizeof(rte_ether_hdr) + ihl &&
            ipv4_header_csum(ip, ihl) != ip->hdr_checksum)
            wrong_on_arrival = true;
    }
    // A fresh worker each time: its caches (ARP requests asked, next hops
    // resolved) would otherwise carry one input's effects into the next.
    LcoreCounters lcore;
    Worker worker(box.shared, 0, lcore);
    rte_mbuf *received[burst_size];
    std::copy(pkts, pkts + n, received);
    worker.process_burst(t, in_port, pkts, n);

    const Counters &c = worker.pending_counters();
    // Every frame gets exactly one verdict: a drop counted under one reason,
    // or a send counted under what it was.
    uint64_t dropped = c[Counter::arp_ignored], sent = 0;
    for (size_t i = 0; i < counter_count; i++)
        if (counter_info[i].drop)
            dropped += c.v[i];
    // Counted after the verdict, on frames already sent or on the way out.
    dropped -= c[Counter::drop_too_big] + c[Counter::drop_no_mbuf] + c[Counter::drop_tx_full];
    sent = c[Counter::arp_replies] + c[Counter::icmp_echo_replies] + c[Counter::relayed_packets] +
           c[Counter::forwarded_packets];
    check(c[Counter::rx_packets] == n, "rx_packets is not the burst size", c[Counter::rx_packets], n);
    check(dropped + sent == n, "a frame without exactly one verdict", dropped + sent, n);

    // What leaves: by a configured port, its source MAC, at most MTU bytes of
    // IPv4, a total length no larger than the frame; a fragment is a chain
    // whose header says exactly its length and carries a right checksum
    // unless a header of the burst was wrong on arrival.
    uint64_t whole = 0, fragments = 0;
    for (uint16_t port = 0; port < max_ports; port++) {
        Worker::TxList &l = worker.tx_list(port);
        const bool configured = std::find(t.port_ids.begin(), t.port_ids.end(), port) != t.port_ids.end();
        check(l.n == 0 || configured, "a frame leaves by a port that is not configured", port);
        for (uint16_t i = 0; i < l.n; i++) {
            rte_mbuf *m = l.pkts[i];
            const uint32_t len = rte_pktmbuf_pkt_len(m);
            check(len >= sizeof(rte_ether_hdr), "a frame shorter than its Ethernet header", len);
            check(len <= t.ports[port].mtu + sizeof(rte_ether_hdr), "a frame over the MTU", len,
                  t.ports[port].mtu);
            uint8_t head[sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr)];
            const auto *h = static_cast<const uint8_t *>(
                rte_pktmbuf_read(m, 0, std::min<uint32_t>(len, sizeof head), head));
            check(std::memcmp(h + 6, t.ports[port].mac.addr_bytes, 6) == 0,
                  "a frame leaves with another port's source MAC", port);
            const bool ipv4 = be16(h + 12) == RTE_ETHER_TYPE_IPV4;
            if (ipv4 && len >= sizeof head) {
                // Never to a martian, a broadcast or the box itself; never from
                // a martian or a broadcast address.
                const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(h + sizeof(rte_ether_hdr));
                const Ipv4 src = rte_be_to_cpu_32(ip->src_addr), dst = rte_be_to_cpu_32(ip->dst_addr);
                check(!t.refuses_source(dst), "an IPv4 packet to a martian or own address", dst);
                check(!is_martian(src) && !t.is_subnet_broadcast(src),
                      "an IPv4 packet from a martian or broadcast address", src);
            }
            if (m->nb_segs > 1) {
                fragments++;
                check(ipv4 && len >= sizeof head, "a fragment that is not IPv4", len);
                const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(h + sizeof(rte_ether_hdr));
                check(rte_be_to_cpu_16(ip->total_length) == len - sizeof(rte_ether_hdr),
                      "a fragment whose total length is not its length",
                      rte_be_to_cpu_16(ip->total_length), len);
                uint8_t hdr[60];
                const uint32_t ihl = rte_ipv4_hdr_len(ip);
                const auto *full = static_cast<const uint8_t *>(
                    rte_pktmbuf_read(m, sizeof(rte_ether_hdr), ihl, hdr));
                check(full && (wrong_on_arrival || ipv4_header_csum(full, ihl) == ip->hdr_checksum),
                      "a fragment with a wrong header checksum, of a burst whose were all right");
            } else {
                whole++;
                if (ipv4 && len >= sizeof head) {
                    const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(h + sizeof(rte_ether_hdr));
                    check(rte_be_to_cpu_16(ip->total_length) <= len - sizeof(rte_ether_hdr),
                          "an IPv4 frame shorter than its total length");
                }
            }
            rte_pktmbuf_free(m);
        }
        l.n = 0;
    }
    // Without a TX list filling up mid-burst, the frames out are the sends,
    // the ARP requests and the fragments of those that were too big.
    const uint64_t big = c[Counter::fragmented_packets] + c[Counter::drop_too_big] +
                         c[Counter::drop_no_mbuf];
    if (c[Counter::tx_packets] + c[Counter::drop_tx_full] == 0) {
        check(whole + big == sent + c[Counter::arp_requests], "frames out do not add up",
              whole + big, sent + c[Counter::arp_requests]);
        check((fragments == 0) == (c[Counter::fragmented_packets] == 0) &&
                  fragments >= c[Counter::fragmented_packets],
              "fragments out do not match fragmented_packets", fragments,
              c[Counter::fragmented_packets]);
    }
    for (uint16_t i = 0; i < n; i++)
        unfence(received[i]);
    // Every mbuf is back in its pool: sent (and freed above) or dropped.
    for (rte_mempool *p : {rx_pool, pools.packets, pools.headers, pools.indirect})
        check(rte_mempool_full(p) == 1, "an mbuf was neither sent nor freed",
              rte_mempool_avail_count(p), p->size);
    box.neighbours->apply_updates(box.shared.clock.load());
    return 0;
}
