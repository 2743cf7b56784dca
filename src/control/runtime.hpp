// Everything a running dpdk-relay owns, shared by main and the telemetry
// callbacks (which run on their own threads: they only read, or write through
// RelayTable's own protocol).
#pragma once

#include "config.hpp"
#include "counters.hpp"
#include "neighbour.hpp"
#include "relay_table.hpp"
#include "tables.hpp"
#include "worker.hpp"

#include <memory>
#include <vector>

namespace relay {

struct Runtime {
    Config config;
    DataplaneShared shared;
    std::unique_ptr<RelayTable> relay;
    std::unique_ptr<NeighbourTable> neighbours;
    std::unique_ptr<Tables> tables; // published in shared.tables
    std::vector<unsigned> worker_lcores;
    std::unique_ptr<LcoreCounters[]> counters; // one per worker
    std::vector<std::unique_ptr<Worker>> workers;

    uint64_t rule_hits(uint32_t rule) const
    {
        uint64_t sum = 0;
        for (const auto &w : workers)
            sum += w->rule_hits(rule);
        return sum;
    }

    // Sum of counter i over all workers.
    uint64_t total(size_t i) const
    {
        uint64_t sum = 0;
        for (size_t w = 0; w < workers.size(); w++)
            sum += counters[w].get(i);
        return sum;
    }
};

// Registers the /relay/... telemetry commands; rt must outlive the process's
// telemetry thread (it lives until exit).
void register_telemetry(Runtime &rt);

} // namespace relay
