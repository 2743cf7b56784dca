// A box as dpdk-relay builds it from config text, for the programs that run
// the packet path without EAL ports of a real device: the packet tests and the
// benchmarks.
#pragma once

#include "build_tables.hpp"
#include "neighbour.hpp"
#include "worker.hpp"

#include <cstring>
#include <memory>
#include <vector>

namespace relay::test {

struct Box {
    Config config;
    std::unique_ptr<Tables> tables;
    std::unique_ptr<RelayTable> relay_table;
    std::unique_ptr<NeighbourTable> neighbours;
    DataplaneShared shared;
    std::unique_ptr<LcoreCounters[]> counters; // one per worker
    std::vector<std::unique_ptr<Worker>> workers; // worker q polls queue q
};

inline rte_ether_addr ether(const Mac &m)
{
    rte_ether_addr e;
    std::memcpy(e.addr_bytes, m.data(), 6);
    return e;
}

// The tables dpdk-relay would build from `box.config` for these ethdevs, with
// its relay and neighbour tables, and workers on queues 0 to workers - 1.
inline void finish_box(Box &box, const std::vector<ResolvedPort> &resolved, const MbufPools &pools,
                       uint16_t workers = 1)
{
    box.tables = build_tables(box.config, resolved);
    box.relay_table = std::make_unique<RelayTable>(box.tables->relay_entries,
                                                   box.config.relay.initial_state);
    box.tables->relay = box.relay_table.get();
    box.neighbours = std::make_unique<NeighbourTable>(64);
    load_static_neighbours(box.config, resolved, *box.neighbours);
    box.tables->neighbours = box.neighbours.get();
    box.shared.pools = pools;
    box.shared.clock.store(1);
    box.shared.clock_ms.store(1000);
    box.tables->add_counters(workers);
    box.shared.tables.store(box.tables.get());
    box.counters.reset(new LcoreCounters[workers]);
    for (uint16_t q = 0; q < workers; q++)
        box.workers.push_back(std::make_unique<Worker>(box.shared, q, box.counters[q]));
}

} // namespace relay::test
