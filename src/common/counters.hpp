// Every dataplane counter, declared once with its name and meaning. Telemetry,
// the final report on exit and the tests are all generated from this table.
//
// Counters are per lcore: a worker accumulates into a local Counters over a
// few bursts and commits them with relaxed load + store (never a
// read-modify-write: each lcore is the only writer of its own block). Readers
// sum the blocks of all lcores.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace relay {

// X(name, is_drop, help)
#define RELAY_COUNTERS(X)                                                                    \
    X(rx_packets, false, "frames received")                                                  \
    X(tx_packets, false, "frames handed to the NIC")                                         \
    X(busy_cycles, false, "TSC cycles of poll loops that received packets")                  \
    X(idle_cycles, false, "TSC cycles of poll loops that received nothing")                  \
    X(arp_replies, false, "ARP replies sent for the box's addresses")                        \
    X(arp_ignored, false, "ARP frames not asking for a box address")                         \
    X(arp_requests, false, "ARP requests sent to resolve next hops")                         \
    X(arp_learned, false, "ARP senders handed to the neighbour table")                       \
    X(arp_lost, false, "ARP senders not learned: the neighbour ring was full")               \
    X(icmp_echo_replies, false, "ICMP echo replies sent")                                    \
    X(forwarded_packets, false, "packets routed to a next hop")                              \
    X(fragmented_packets, false, "packets over the out port's MTU, sent as fragments")       \
    X(flow_cache_hits, false, "TCP/UDP datagrams whose rules and route a flow cache held")    \
    X(flow_cache_misses, false, "TCP/UDP datagrams whose flow the cache did not hold")        \
    X(rewritten_dest, false, "destination addresses rewritten by DEST")                      \
    X(rewritten_source, false, "source addresses rewritten by SOURCE")                       \
    X(relayed_packets, false, "packets relayed between endpoints")                           \
    X(relayed_bytes, false, "IPv4 bytes relayed between endpoints")                          \
    X(relay_learned, false, "endpoints learned (A or B)")                                    \
    X(relay_resets, false, "ports reset by a third endpoint")                                \
    X(relay_expired, false, "endpoints forgotten after their idle timeout")                  \
    X(relay_probation_started, false, "new sources put on probation to replace an endpoint")   \
    X(relay_replaced, false, "endpoints replaced by a source that passed probation")          \
    X(events_suppressed, false, "relay events left out of the log by a worker's rate limit")  \
    X(events_lost, false, "relay events lost: the event ring was full")                       \
    X(reloads, false, "config reloads applied")                                              \
    X(reloads_failed, false, "config reloads refused: nothing changed")                      \
    X(drop_malformed, true, "truncated or inconsistent headers")                             \
    X(drop_truncated, true, "frame shorter than its IPv4 total length (see buffer_size)")    \
    X(drop_non_ipv4, true, "ethertype neither IPv4 nor ARP")                                 \
    X(drop_not_for_us, true, "unicast to another MAC address")                               \
    X(drop_ttl, true, "TTL expired on a forwarded packet")                                   \
    X(drop_no_route, true, "not for the box and no route to the destination")                \
    X(drop_martian, true, "never forwarded or answered: 0/8, 127/8, multicast or broadcast") \
    X(drop_no_neighbour, true, "next hop's MAC unknown; an ARP request was sent")            \
    X(drop_local_unhandled, true, "for a box address, no service or relay port")             \
    X(drop_fragment, true, "IP fragments to a relay port or a box address")                  \
    X(drop_relay_disabled, true, "relay port disabled")                                      \
    X(drop_relay_unlearned, true, "relay packet with nowhere to go yet (first endpoint)")    \
    X(drop_relay_refused, true, "relay source never learnable (martian or own address)")     \
    X(drop_relay_reset, true, "packet that reset a relay port (not relayed)")                \
    X(drop_relay_strict, true, "third endpoint on a strict relay port")                      \
    X(drop_relay_probation, true, "from a source on probation, not yet trusted")             \
    X(drop_relay_reset_limited, true, "reset or replacement within reset_interval of the last") \
    X(drop_relay_not_allowed, true, "source outside the relay rule's allow prefixes")        \
    X(drop_too_big, true, "larger than the out port's MTU, with Don't Fragment set")         \
    X(drop_no_mbuf, true, "no mbuf left to build fragments in")                              \
    X(drop_tx_full, true, "TX queue full")

enum class Counter : uint8_t {
#define RELAY_COUNTER_ENUM(name, drop, help) name,
    RELAY_COUNTERS(RELAY_COUNTER_ENUM)
#undef RELAY_COUNTER_ENUM
        count
};

constexpr size_t counter_count = static_cast<size_t>(Counter::count);

struct CounterInfo {
    const char *name;
    bool drop;
    const char *help;
};

inline constexpr std::array<CounterInfo, counter_count> counter_info = {{
#define RELAY_COUNTER_INFO(name, drop, help) {#name, drop, help},
    RELAY_COUNTERS(RELAY_COUNTER_INFO)
#undef RELAY_COUNTER_INFO
}};

// A burst's worth of counts, private to one worker.
struct Counters {
    std::array<uint64_t, counter_count> v{};

    void add(Counter c, uint64_t n = 1) { v[static_cast<size_t>(c)] += n; }
    uint64_t operator[](Counter c) const { return v[static_cast<size_t>(c)]; }
};

// The committed counts of one lcore. dataplane: rw (its own lcore only), control: ro.
struct alignas(64) LcoreCounters {
    std::array<std::atomic<uint64_t>, counter_count> v{};

    void commit(Counters &local)
    {
        for (size_t i = 0; i < counter_count; i++) {
            if (local.v[i]) {
                v[i].store(v[i].load(std::memory_order_relaxed) + local.v[i],
                           std::memory_order_relaxed);
                local.v[i] = 0;
            }
        }
    }

    uint64_t get(size_t i) const { return v[i].load(std::memory_order_relaxed); }
};

} // namespace relay
