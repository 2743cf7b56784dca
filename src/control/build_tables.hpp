// Compiles a validated Config into the dataplane's tables.
#pragma once

#include "config.hpp"
#include "neighbour.hpp"
#include "rule_compiler.hpp"
#include "tables.hpp"

#include <memory>
#include <string>
#include <vector>

namespace relay {

struct ResolvedPort {
    uint16_t port_id;
    rte_ether_addr mac;
};

// `resolved[i]` is the ethdev behind config.ports[i]. Builds the classifiers
// and the route table too, so EAL must be running. Throws ConfigError for what
// the config allows but this dataplane cannot do, std::runtime_error when DPDK
// cannot allocate a table.
std::unique_ptr<Tables> build_tables(const Config &config, const std::vector<ResolvedPort> &resolved);

// Puts the config's static neighbours in the table, on the port whose
// subnet holds each.
void load_static_neighbours(const Config &config, const std::vector<ResolvedPort> &resolved,
                            NeighbourTable &table);

// The routes a config implies: the default gateway, the connected subnets,
// then the static routes; for one prefix the later entry wins, so a static
// route can override a connected one.
std::vector<RouteEntry> config_routes(const Config &config, const std::vector<ResolvedPort> &resolved);

// What --check prints: ports, rules with their classifier entries, routes and
// relay ranges. Needs no EAL. With `hits` (one per rule, from a running relay)
// each rule line shows its hit count too.
std::string describe_config(const Config &config, const std::vector<uint64_t> &hits = {});

} // namespace relay
