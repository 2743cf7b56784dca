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
    cfg.max_rules = static_cast<uint32_t>(routes.size() + 1);
    cfg.number_tbl8s = 256;
    lpm_ = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &cfg);
    if (!lpm_)
        throw std::runtime_error("route table: cannot create: " +
                                 std::string(rte_strerror(rte_errno)));
    for (const RouteEntry &r : routes) {
        hops_.push_back(r.hop);
        int rc = rte_lpm_add(lpm_, r.prefix.addr, r.prefix.len,
                             static_cast<uint32_t>(hops_.size() - 1));
        if (rc != 0) {
            rte_lpm_free(lpm_);
            throw std::runtime_error("route table: cannot add " + format_prefix(r.prefix) +
                                     ": " + rte_strerror(-rc));
        }
    }
}

RouteTable::~RouteTable() { rte_lpm_free(lpm_); }

} // namespace relay
