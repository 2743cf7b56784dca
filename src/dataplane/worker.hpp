// A worker lcore: polls its RX queue on every port, runs each burst through the
// packet path (SPEC section 2) and sends from its own TX queue on every port.
#pragma once

#include "classifier.hpp"
#include "counters.hpp"
#include "events.hpp"
#include "flow_cache.hpp"
#include "relay_table.hpp"
#include "tables.hpp"

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_udp.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace relay {

constexpr uint16_t burst_size = 32;

// The mbuf pools workers allocate from.
struct MbufPools {
    rte_mempool *packets = nullptr;  // received frames and the ARP requests workers send
    rte_mempool *headers = nullptr;  // a fragment's own Ethernet and IPv4 header
    rte_mempool *indirect = nullptr; // a fragment's data: a reference into the original
};

// State shared by all workers and the control thread.
struct DataplaneShared {
    // dataplane: ro, loaded once per poll loop with acquire; control: publishes
    // a complete table with a release store and frees the one it replaced
    // after a grace period of `qsbr`.
    std::atomic<const Tables *> tables{nullptr};
    // Workers report a quiescent state at the top of each poll loop, where
    // they hold no table; thread id = worker queue. Null: no reloads (tests).
    rte_rcu_qsbr *qsbr = nullptr;
    rte_ring *events = nullptr; // relay events for the log (events.hpp); null: none
    std::atomic<uint32_t> clock{0}; // coarse seconds; control: rw, dataplane: ro
    std::atomic<uint64_t> clock_ms{0}; // the same in milliseconds, read only by learning
    std::atomic<bool> stop{false};  // control: rw, dataplane: ro
    MbufPools pools;
};

class Worker {
public:
    // The tables it runs on give it their counters (Tables::add_counters).
    Worker(DataplaneShared &shared, uint16_t queue, LcoreCounters &counters);

    // The poll loop, until shared.stop; returns 0 (rte_eal_remote_launch style).
    int run();

    // The packet path for one RX burst: every mbuf ends up on a TX list or freed
    // with its drop reason counted. Nothing is sent until flush().
    void process_burst(const Tables &t, uint16_t in_port, rte_mbuf **pkts, uint16_t n);

    // Sends the TX lists; commits the counts every commit_bursts bursts.
    void flush();
    // Commits the counts that flush() has not committed yet. The poll loop
    // calls it when idle and when it stops.
    void commit();

    struct TxList {
        // A burst's packets plus the ARP requests it may originate; fragments
        // beyond that are sent when the list fills.
        rte_mbuf *pkts[2 * burst_size];
        uint16_t n = 0;
    };
    // What process_burst decided to send, per ethdev port (for tests).
    TxList &tx_list(uint16_t port) { return tx_[port]; }
    Counters &pending_counters() { return local_; }
    uint16_t queue() const { return queue_; }

private:
    // One IPv4 packet between the stages of a burst.
    struct Pkt {
        rte_mbuf *m;
        rte_ipv4_hdr *ip;
        uint16_t ihl;
        uint16_t total;
        bool later_fragment; // no L4 header
        bool fragmented;     // MF or an offset: the L4 checksum cannot be audited
        uint16_t out_port;
        Ipv4 next_hop;
        // Its place in the burst, where its flow key and bucket are (a flow
        // candidate's), and the PREROUTING rule it matched: for the cache
        // entry it will make.
        uint16_t in_burst;
        uint32_t dest_rule;
    };

    // Four bytes without padding, so that a stage returns it in a register.
    struct Verdict {
        uint16_t port;
        Counter drop;
        bool send;
        // Sent or dropped; otherwise the packet goes on to the next stage.
        bool decided() const { return send || drop != Counter::count; }
    };
    static Verdict tx(uint16_t port) { return {port, Counter::count, true}; }
    static Verdict drop(Counter c) { return {0, c, false}; }
    // Stage 1 keeps an IPv4 packet for the rule stages by answering this.
    static Verdict keep() { return {0, Counter::count, false}; }

    void finish(const Tables &t, rte_mbuf *m, Verdict v);
    void enqueue(uint16_t port, rte_mbuf *m);
    void send(uint16_t port);
    void send_fragments(const Tables &t, rte_mbuf *m, uint16_t port);
    Verdict parse(const Tables &t, uint16_t in_port, rte_mbuf *m, Pkt &p, AclKey &key);
    static void flow_packet(rte_mbuf *m, const FlowKey &flow, Pkt &p, AclKey &key);
    // Whether parse() builds the same packet and key for p's mbuf (debug
    // builds check flow_packet() with it; release builds lack it).
    bool parses_as(const Tables &t, uint16_t in_port, const Pkt &p, const AclKey &key);
    Verdict handle_arp(const Tables &t, uint16_t in_port, rte_mbuf *m);
    Verdict prerouting(const Tables &t, uint16_t in_port, Pkt &p, uint32_t rule, uint32_t now);
    [[gnu::noinline]] Verdict relay_matched(const Tables &t, uint16_t in_port, const Pkt &p,
                                            uint32_t now);
    Verdict local_delivery(const Tables &t, uint16_t in_port, Pkt &p, int local);
    Verdict echo_reply(const Tables &t, uint16_t in_port, Pkt &p);
    uint32_t candidate(const Tables &t, uint64_t mac, bool relays, uint16_t in_port, rte_mbuf *m,
                       FlowKey &flow, uint32_t &bucket);
    const Tables::RelaySlot *direct_slot(const Tables &t, uint32_t slot);
    // What relaying keeps in registers over a burst (RelayTable::Reader).
    struct RelayBurst {
        RelayTable::Reader table;
        RelayPortCounters *counters; // this worker's, by entry & counted
        // ~0, or 0 without per-port counts (relay.port_counters: false): then
        // every packet counts into entry 0's, which nothing reports and
        // which stays in the cache.
        uint32_t counted;
        uint32_t now;
    };
    RelayBurst relay_burst(const Tables &t, uint32_t now) const
    {
        return {t.relay->reader(), table_counters_->ports.data(), t.port_counters ? ~0u : 0, now};
    }
    [[gnu::noinline]] void relay_direct(const Tables &t, uint16_t in_port, rte_mbuf *const *pkts,
                                        const uint32_t *entries, uint16_t n, RelayBurst burst);
    Verdict relay(const Tables &t, uint16_t in_port, rte_mbuf *m, rte_ipv4_hdr *ip, uint16_t ihl,
                  uint32_t total, uint32_t entry, const RelayBurst &rb);
    [[gnu::noinline]] Verdict relay_learning(const Tables &t, uint16_t in_port, rte_mbuf *m,
                                             rte_ipv4_hdr *ip, uint16_t ihl, uint32_t total,
                                             uint32_t entry, RelayBurst rb);
    Verdict relay_to(const Tables &t, rte_ipv4_hdr *ip, rte_udp_hdr *udp, uint32_t total,
                     uint32_t entry, PackedEndpoint to, int to_slot, const RelayBurst &rb);
    // What learn() decided: a drop, or where the packet goes (slot 1 = A, 2 = B).
    struct Learned {
        Verdict verdict;
        PackedEndpoint to;
        int to_slot;
    };
    Learned learn(const Tables &t, uint16_t in_port, const rte_mbuf *m, const rte_ipv4_hdr *ip,
                  uint16_t ihl, uint32_t entry, int local, uint32_t now);
    Verdict route(const Tables &t, Pkt &p);
    Verdict cached(const Tables &t, rte_mbuf *m, const FlowCache::Entry &e, uint32_t now);
    Verdict resolve(const Tables &t, rte_mbuf *m, uint16_t out_port, Ipv4 next_hop, uint32_t now);
    void request_arp(const Tables &t, uint16_t port, Ipv4 target, uint32_t now);
    // Posts a relay event, within this worker's rate limit.
    void event(EventKind kind, const Tables &t, uint32_t entry, uint8_t slot, Ipv4 src,
               uint16_t sport, uint32_t now);
    void post(Event e);
    struct Resolved;
    [[gnu::noinline]] bool ask_neighbours(const Tables &t, uint16_t out_port, Ipv4 next_hop,
                                          Resolved &r, uint32_t now);
    // Counts n hits of a rule (none for no_rule).
    void hit(uint32_t rule, uint32_t n = 1)
    {
        if (rule == no_rule)
            return;
        auto &h = table_counters_->rule_hits[rule];
        h.store(h.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    DataplaneShared &shared_;
    uint16_t queue_;
    LcoreCounters &counters_;
    Counters local_;
    uint32_t uncommitted_bursts_ = 0;
    const TableCounters *table_counters_ = nullptr; // this worker's, of the burst's table
    // The last ARP request this worker sent per next hop, to send at most one
    // a second; a small direct-mapped cache, private to the worker.
    struct Asked {
        Ipv4 address = 0;
        uint32_t when = 0;
    };
    Asked asked_[256];
    // Next hops resolved this second, so that the neighbour table is asked
    // once a second per next hop rather than once a packet; a change in the
    // table shows within that second. Private to the worker, direct-mapped.
    struct Resolved {
        Ipv4 address = 0;
        uint32_t when = 0;
        Mac mac{};
    };
    Resolved resolved_[64];
    // The event rate limit: the second it counts, events posted in it, and
    // events left out since the last summary.
    uint32_t event_second_ = 0, events_in_second_ = 0, events_suppressed_ = 0;
    TxList tx_[max_ports];
    FlowCache flows_;
    uint64_t flows_generation_ = 0; // the Tables::generation flows_ holds decisions of
};

} // namespace relay
