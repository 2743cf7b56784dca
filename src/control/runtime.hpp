// Everything a running dpdk-relay owns, shared by main and the telemetry
// callbacks. Those run on their own threads, concurrently, and so does a
// reload: every control-side reader and writer of the tables holds `control`.
// The workers never take it; they see a new table at their next poll loop and
// the old one is freed after an RCU grace period (rte_rcu_qsbr).
#pragma once

#include "build_tables.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "event_log.hpp"
#include "neighbour.hpp"
#include "relay_table.hpp"
#include "tables.hpp"
#include "worker.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace relay {

struct ReloadResult {
    bool ok = false;
    std::string message; // what changed, or why nothing did
    double ms = 0;       // from reading the file to freeing the old tables
};

struct Runtime {
    std::mutex control;
    Config config;
    std::vector<ResolvedPort> resolved;
    DataplaneShared shared;
    std::unique_ptr<RelayTable> relay;
    std::unique_ptr<NeighbourTable> neighbours;
    std::unique_ptr<Tables> tables; // published in shared.tables
    // What earlier tables counted, carried over by reloads: by relay entry
    // (to A packets, bytes, to B packets, bytes) and by rule of `tables`.
    std::vector<std::array<uint64_t, 4>> carried_ports;
    std::vector<uint64_t> carried_hits;
    std::vector<unsigned> worker_lcores;
    std::unique_ptr<LcoreCounters[]> counters; // one per worker
    LcoreCounters control_counters; // housekeeping and reloads, under `control`
    std::vector<std::unique_ptr<Worker>> workers;
    std::unique_ptr<EventLog> log; // null: events are not logged (tests)

    uint16_t queues() const { return static_cast<uint16_t>(worker_lcores.size()); }

    // The tables, relay table and counters for `c` (not yet published).
    struct Built {
        std::unique_ptr<Tables> tables;
        std::unique_ptr<RelayTable> relay;
    };
    Built build(const Config &c) const;

    // The callers of these four hold `control`.

    // Re-reads config.path; a good file replaces the running tables, a bad
    // one changes nothing.
    ReloadResult reload();

    // Forgets the endpoints idle past their range's idle_timeout, and logs
    // them (at most max_events_per_second, then how many more).
    void expire_idle(uint32_t now);

    // Logs what the workers posted to shared.events.
    void drain_events();

    // relay.state_file: writes it now; restores it at start (before the
    // workers run). Both return a line for the log, empty if there is no
    // state file.
    std::string save_state();
    std::string restore_state(uint32_t now);

    uint64_t rule_hits(uint32_t rule) const;
    std::array<uint64_t, 4> port_counts(uint32_t entry) const;

    // Sum of counter i over all workers and the control side.
    uint64_t total(size_t i) const
    {
        uint64_t sum = control_counters.get(i);
        for (size_t w = 0; w < workers.size(); w++)
            sum += counters[w].get(i);
        return sum;
    }
};


} // namespace relay
