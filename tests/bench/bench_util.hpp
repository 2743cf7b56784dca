// What the benchmarks share: a box built from config text as dpdk-relay builds
// it, the statistics of their rounds and the cost of the timestamps.
#pragma once

#include "build_tables.hpp"
#include "neighbour.hpp"
#include "test_eal.hpp"
#include "worker.hpp"

#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace relay::bench {

struct Box {
    Config config;
    std::unique_ptr<Tables> tables;
    std::unique_ptr<RelayTable> relay;
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
    box.relay = std::make_unique<RelayTable>(box.tables->relay_entries,
                                             box.config.relay.initial_state);
    box.tables->relay = box.relay.get();
    box.neighbours = std::make_unique<NeighbourTable>(64);
    load_static_neighbours(box.config, resolved, *box.neighbours);
    box.tables->neighbours = box.neighbours.get();
    box.shared.pools = pools;
    box.shared.clock.store(1);
    box.shared.tables.store(box.tables.get());
    box.counters.reset(new LcoreCounters[workers]);
    for (uint16_t q = 0; q < workers; q++)
        box.workers.push_back(std::make_unique<Worker>(
            box.shared, q, box.counters[q], box.tables->relay_entries,
            static_cast<uint32_t>(box.config.rules.size())));
}

// The q-quantile of the rounds (0.5: the median).
inline double quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[size_t(q * double(v.size() - 1) + 0.5)];
}

inline double median(const std::vector<double> &v) { return quantile(v, 0.5); }

// {"median": .., "p25": .., "p75": ..} of a figure's rounds.
inline std::string json_spread(const std::vector<double> &v)
{
    char buf[128];
    std::snprintf(buf, sizeof buf, "{\"median\": %.2f, \"p25\": %.2f, \"p75\": %.2f}",
                  median(v), quantile(v, 0.25), quantile(v, 0.75));
    return buf;
}

// The cost of the two timestamps around an empty region, for the reader.
inline double timer_overhead()
{
    std::vector<double> v;
    for (int r = 0; r < 9; r++) {
        uint64_t sum = 0;
        for (int i = 0; i < 1000; i++) {
            const uint64_t t0 = rte_rdtsc_precise();
            sum += rte_rdtsc_precise() - t0;
        }
        v.push_back(double(sum) / 1000);
    }
    return median(v);
}

// What the build does to every packet beyond the product's work, for a
// bench's header line.
inline const char *build_note()
{
#ifdef NDEBUG
    return "NDEBUG: no checksum audit";
#else
    return "checksum audit ON (debug build): per-packet figures are inflated";
#endif
}

using test::stop_eal;

} // namespace relay::bench
