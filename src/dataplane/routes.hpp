// Longest-prefix-match routes (rte_lpm): connected subnets, static routes and
// the default gateway, built once on the control side and read-only after.
#pragma once

#include "ipv4.hpp"

#include <rte_lpm.h>

#include <cstdint>
#include <string>
#include <vector>

namespace relay {

struct NextHop {
    uint16_t port = 0;
    Ipv4 gateway = 0; // 0: the destination is on the port's subnet
};

struct RouteEntry {
    Prefix prefix;
    NextHop hop;
};

class RouteTable {
public:
    // Later entries for the same prefix replace earlier ones. Throws
    // std::runtime_error if rte_lpm cannot hold them.
    explicit RouteTable(const std::vector<RouteEntry> &routes);
    ~RouteTable();
    RouteTable(const RouteTable &) = delete;
    RouteTable &operator=(const RouteTable &) = delete;

    // The next hop for dst (host order), or false if no route covers it.
    bool lookup(Ipv4 dst, NextHop &hop) const
    {
        uint32_t idx;
        if (rte_lpm_lookup(lpm_, dst, &idx) != 0)
            return false;
        hop = hops_[idx];
        return true;
    }

    const std::vector<RouteEntry> &entries() const { return routes_; }

private:
    rte_lpm *lpm_ = nullptr;
    std::vector<NextHop> hops_;
    std::vector<RouteEntry> routes_;
};

} // namespace relay
