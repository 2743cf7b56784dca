// A worker lcore: polls its RX queue on every port, runs each burst through the
// packet path (SPEC section 2) and sends from its own TX queue on every port.
#pragma once

#include "counters.hpp"
#include "relay_table.hpp"
#include "tables.hpp"

#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace relay {

constexpr uint16_t burst_size = 32;

// Per relay port, per lcore: what was relayed to each endpoint.
// dataplane: rw (its own lcore only), control: ro.
struct RelayPortCounters {
    std::atomic<uint64_t> to_a_packets{0}, to_a_bytes{0}, to_b_packets{0}, to_b_bytes{0};
};

// State shared by all workers and the control thread.
struct DataplaneShared {
    // dataplane: ro, loaded once per burst with acquire; control: publishes a
    // complete table with a release store.
    std::atomic<const Tables *> tables{nullptr};
    std::atomic<uint32_t> clock{0};    // coarse seconds; control: rw, dataplane: ro
    std::atomic<bool> stop{false};     // control: rw, dataplane: ro
};

class Worker {
public:
    Worker(DataplaneShared &shared, uint16_t queue, LcoreCounters &counters,
           uint32_t relay_entries);

    // The poll loop, until shared.stop; returns 0 (rte_eal_remote_launch style).
    int run();

    // The packet path for one RX burst: every mbuf ends up on a TX list or freed
    // with its drop reason counted. Nothing is sent until flush().
    void process_burst(const Tables &t, uint16_t in_port, rte_mbuf **pkts, uint16_t n);

    // Sends the TX lists and commits the burst's counters.
    void flush();

    struct TxList {
        rte_mbuf *pkts[burst_size];
        uint16_t n = 0;
    };
    // What process_burst decided to send, per ethdev port (for tests).
    TxList &tx_list(uint16_t port) { return tx_[port]; }
    Counters &pending_counters() { return local_; }
    const RelayPortCounters &port_counters(uint32_t entry) const { return port_counters_[entry]; }

private:
    struct Verdict {
        bool send;
        uint16_t port;
        Counter drop;
    };
    static Verdict tx(uint16_t port) { return {true, port, Counter::count}; }
    static Verdict drop(Counter c) { return {false, 0, c}; }

    Verdict handle(const Tables &t, uint16_t in_port, rte_mbuf *m, uint32_t now);
    Verdict handle_arp(const Tables &t, uint16_t in_port, rte_mbuf *m);
    Verdict handle_ipv4(const Tables &t, uint16_t in_port, rte_mbuf *m, uint32_t now);
    Verdict echo_reply(const Tables &t, uint16_t in_port, rte_mbuf *m);
    Verdict relay(const Tables &t, uint16_t in_port, rte_mbuf *m, uint32_t entry, int local,
                  uint32_t now);

    DataplaneShared &shared_;
    uint16_t queue_;
    LcoreCounters &counters_;
    Counters local_;
    std::unique_ptr<RelayPortCounters[]> port_counters_;
    TxList tx_[max_ports];
};

} // namespace relay
