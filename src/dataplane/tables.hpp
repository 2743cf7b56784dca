// The dataplane's view of the configuration: tables built once on the control
// side (control/build_tables.cpp) and read-only while workers run. The relay
// endpoints and the neighbours are the mutable state they point to, each with
// its own concurrency protocol.
#pragma once

#include "address_index.hpp"
#include "classifier.hpp"
#include "huge_array.hpp"
#include "ipv4.hpp"
#include "relay_table.hpp"
#include "routes.hpp"

#include <rte_ether.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace relay {

// Ethdev port ids the dataplane can use: they index small per-port arrays.
constexpr uint16_t max_ports = 8;

// address and aliases (PortAddresses): the ones it answers ARP for.
struct PortTable : PortAddresses {
    std::string name; // config name, for messages
    rte_ether_addr mac{};
    Prefix subnet;
    uint16_t mtu = 1500; // larger IPv4 packets leave as fragments
};

// One RELAY rule: a range of relay ports on one box address (or all of them).
// Its ports occupy entries [base, base + hi - lo] of the RelayTable. The rule's
// other match fields are the classifier's business.
struct RelayRange {
    uint32_t base = 0;
    uint16_t lo = 0, hi = 0;
    Ipv4 address = 0;  // 0: every box address
    uint16_t rule = 0; // index in the config's rules (at most max_rules of them)
    uint32_t idle_timeout = 0; // seconds an endpoint may stay silent; 0: forever
    LearningMode learning = LearningMode::reset;
    std::vector<Prefix> allow; // sources it may learn; empty: any

    bool allows(Ipv4 src) const
    {
        if (allow.empty())
            return true;
        for (const Prefix &p : allow)
            if (p.contains(src))
                return true;
        return false;
    }
    // The rule matches on nothing but address, protocol and port, and no
    // earlier PREROUTING rule can match its packets: workers relay them
    // without asking the classifier, which would answer this rule anyway.
    bool direct = false;
};

enum class RuleTarget : uint8_t { relay, dest, source };

// What a matched rule does, indexed by config rule index.
struct RuleAction {
    RuleTarget target;
    Ipv4 to; // DEST/SOURCE
};

class NeighbourTable;

// Per relay port, per worker lcore: what was relayed to each endpoint.
// dataplane: rw (its own lcore only), control: ro.
struct RelayPortCounters {
    std::atomic<uint64_t> to_a_packets{0}, to_a_bytes{0}, to_b_packets{0}, to_b_bytes{0};
};

// What one worker counts of one table's relay ports and rules. They belong to
// the table because a reload renumbers both; the control side carries their
// sums over to the next table. dataplane: rw (its own lcore only), control: ro.
struct TableCounters {
    HugeArray<RelayPortCounters> ports; // by relay entry; one, a sink, without port_counters
    std::unique_ptr<std::atomic<uint64_t>[]> rule_hits; // by rule
};

constexpr uint32_t no_relay = ~0u;

struct Tables {
    // Different for every Tables a process builds (never the address, which
    // a new table may share with a freed one): what a worker's flow cache
    // (flow_cache.hpp) holds decisions of.
    const uint64_t generation = next_generation();
    std::array<PortTable, max_ports> ports; // index = ethdev port id
    std::vector<uint16_t> port_ids;         // the configured ones
    AddressIndex locals;                // the box addresses; an endpoint stores an index here
    std::vector<RelayRange> ranges;
    LearnPolicy learn_policy; // the relay section's; each range sets the mode
    // A relay port as a packet's destination finds it.
    struct RelaySlot {
        uint32_t entry = no_relay; // in the RelayTable
        uint16_t rule = 0;         // its range's RelayRange::rule
        bool direct = false;       // its range's RelayRange::direct
    };
    // (slot << 16 | dport) -> RelaySlot. Slot 0 holds the ranges on every box
    // address, slot i + 1 those on locals[i]. Config validation guarantees at
    // most one of the two slots names a given port.
    HugeArray<RelaySlot> relay_map;
    // Per box address, where its lookups start in relay_map: slot (i + 1) << 16
    // if it has ranges of its own, else 0; and whether slot 0 holds any. A
    // packet then reads one slot, two only for an address with ranges of both
    // kinds.
    std::vector<uint32_t> relay_home;
    bool relay_every = false;
    std::vector<uint16_t> entry_range; // RelayTable entry -> index in ranges (one a RELAY rule)
    uint32_t relay_entries = 0;
    bool port_counters = true; // relay.port_counters: TableCounters::ports hold the counts
    std::vector<RuleAction> actions;
    std::vector<uint32_t> rule_entries; // classifier entries per rule, for display
    std::unique_ptr<Classifier> prerouting, postrouting; // null: no rules on that hook
    // Out ports that some POSTROUTING entry can match: packets leaving by the
    // others skip that lookup (SOURCE rules usually name one egress, -o).
    std::array<bool, max_ports> postrouting_ports{};
    std::unique_ptr<RouteTable> routes;
    RelayTable *relay = nullptr;          // mutable state, see relay_table.hpp
    NeighbourTable *neighbours = nullptr; // mutable state, see neighbour.hpp
    std::vector<TableCounters> counters;  // by worker queue, see add_counters

    // Gives each of `workers` workers its counters of this table.
    void add_counters(uint16_t workers);
    static uint64_t next_generation();

    // Index in locals, or -1.
    int local_index(Ipv4 a) const
    {
        return locals.index(a);
    }

    // Sources a relay never learns or sends to: martians, the box's own
    // addresses and the directed broadcast of a connected subnet.
    bool refuses_source(Ipv4 a) const
    {
        return is_martian(a) || local_index(a) >= 0 || is_subnet_broadcast(a);
    }

    bool is_subnet_broadcast(Ipv4 a) const
    {
        // Subnets of /30 or wider have at least two host bits, all ones in
        // their broadcast address: most addresses need no look at the ports.
        if ((a & 3) != 3)
            return false;
        for (uint16_t id : port_ids) {
            const Prefix &s = ports[id].subnet;
            if (s.len < 31 && a == (s.addr | ~0u >> s.len))
                return true;
        }
        return false;
    }

    // The relay port at box address locals[local] and dport (entry no_relay:
    // there is none).
    const RelaySlot &relay_lookup(int local, uint16_t dport) const
    {
        const RelaySlot &s = relay_map[size_t(local + 1) << 16 | dport];
        return s.entry != no_relay ? s : relay_map[dport];
    }

    // The relay port number and address of an entry.
    uint16_t entry_port(uint32_t e) const
    {
        const RelayRange &r = ranges[entry_range[e]];
        return static_cast<uint16_t>(r.lo + (e - r.base));
    }
    Ipv4 entry_address(uint32_t e) const { return ranges[entry_range[e]].address; }

    // The entry of a range on `address` (0: a range on every address) for
    // `port`, as entry_port and entry_address name it; no_relay if none.
    uint32_t range_entry(Ipv4 address, uint16_t port) const;

    // Finds the entry for "PORT" or "ADDR:PORT"; a bare PORT must name exactly
    // one entry. Returns no_relay and sets err otherwise.
    uint32_t find_entry(const std::string &spec, std::string &err) const;

    // Adds a range and fills the map; the caller has validated that ranges
    // do not overlap.
    void add_range(RelayRange r);
};

} // namespace relay
