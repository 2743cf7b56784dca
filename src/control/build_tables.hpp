// Compiles a validated Config into the dataplane's tables.
#pragma once

#include "config.hpp"
#include "tables.hpp"

#include <memory>
#include <vector>

namespace relay {

struct ResolvedPort {
    uint16_t port_id;
    rte_ether_addr mac;
};

// `resolved[i]` is the ethdev behind config.ports[i]. Throws ConfigError for
// what the config allows but this dataplane cannot do.
std::unique_ptr<Tables> build_tables(const Config &config, const std::vector<ResolvedPort> &resolved);

// What --check prints: ports, relay ranges and rules as compiled.
std::string describe_tables(const Config &config, const Tables &t);

} // namespace relay
