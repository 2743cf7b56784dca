#include "routes.hpp"

#include <rte_errno.h>

#include <atomic>
#include <stdexcept>

namespace relay {

RouteTable::RouteTable(const std::vector<RouteEntry> &routes) : routes_(routes)
{
    static std::atomic<unsigned> serial{0};
    const std::string name = "relay_routes" + std::to_string(serial++);
    rte_lpm_config cfg{};
    cfg.max_rules = static_cast<uint32_t>(routes.size() + 2);
    cfg.number_tbl8s = 256;
    lpm_ = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &cfg);
    if (!lpm_)
        throw std::runtime_error("route table: cannot create: " +
                                 std::string(rte_strerror(rte_errno)));
    for (const RouteEntry &r : routes) {
        hops_.push_back(r.hop);
        const auto hop = static_cast<uint32_t>(hops_.size() - 1);
        // rte_lpm takes depths 1-32: the default route is its two halves.
        int rc = rte_lpm_add(lpm_, r.prefix.addr, r.prefix.len ? r.prefix.len : 1, hop);
        if (rc == 0 && r.prefix.len == 0)
            rc = rte_lpm_add(lpm_, 0x80000000u, 1, hop);
        if (rc != 0) {
            rte_lpm_free(lpm_);
            throw std::runtime_error("route table: cannot add " + format_prefix(r.prefix) +
                                     ": " + rte_strerror(-rc));
        }
    }
}

RouteTable::~RouteTable() { rte_lpm_free(lpm_); }

} // namespace relay
