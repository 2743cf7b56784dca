#include "tables.hpp"

#include <cstdlib>

namespace relay {

void Tables::add_range(RelayRange r)
{
    if (relay_map.empty()) {
        relay_map = HugeArray<RelaySlot>((locals.size() + 1) << 16);
        relay_home.assign(locals.size(), 0);
    }
    r.base = relay_entries;
    size_t slot = r.address == 0 ? 0 : size_t(local_index(r.address) + 1);
    if (slot)
        relay_home[slot - 1] = static_cast<uint32_t>(slot << 16);
    else
        relay_every = true;
    const auto range = static_cast<uint16_t>(ranges.size());
    for (uint32_t p = r.lo; p <= r.hi; p++) {
        relay_map[slot << 16 | p] = RelaySlot{relay_entries++, r.rule, r.direct};
        entry_range.push_back(range);
    }
    ranges.push_back(r);
}

uint64_t Tables::next_generation()
{
    static std::atomic<uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

void Tables::add_counters(uint16_t workers)
{
    counters.clear();
    for (uint16_t q = 0; q < workers; q++) {
        TableCounters c;
        c.ports = HugeArray<RelayPortCounters>(port_counters && relay_entries ? relay_entries : 1);
        c.rule_hits.reset(new std::atomic<uint64_t>[actions.empty() ? 1 : actions.size()]());
        counters.push_back(std::move(c));
    }
}

uint32_t Tables::range_entry(Ipv4 address, uint16_t port) const
{
    if (relay_map.empty())
        return no_relay;
    int slot = 0;
    if (address != 0 && (slot = local_index(address) + 1) == 0)
        return no_relay;
    const RelaySlot &s = relay_map[size_t(slot) << 16 | port];
    return s.entry != no_relay && entry_address(s.entry) == address ? s.entry : no_relay;
}

uint32_t Tables::find_entry(const std::string &spec, std::string &err) const
{
    std::string addr_part, port_part = spec;
    size_t colon = spec.rfind(':');
    if (colon != std::string::npos) {
        addr_part = spec.substr(0, colon);
        port_part = spec.substr(colon + 1);
    }
    char *end = nullptr;
    unsigned long port = port_part.empty() ? 65536 : std::strtoul(port_part.c_str(), &end, 10);
    if (port > 65535 || (end && *end) || port_part[0] == '-' || port_part[0] == '+') {
        err = "\"" + spec + "\" is not a port (0-65535) or ADDR:PORT";
        return no_relay;
    }
    if (relay_map.empty()) {
        err = "no relay ports are configured";
        return no_relay;
    }
    if (!addr_part.empty()) {
        auto a = parse_ipv4(addr_part);
        int li = a ? local_index(*a) : -1;
        if (li < 0) {
            err = "\"" + addr_part + "\" is not an address of this box";
            return no_relay;
        }
        uint32_t e = relay_lookup(li, static_cast<uint16_t>(port)).entry;
        if (e == no_relay)
            err = "port " + spec + " is not a relay port";
        return e;
    }
    uint32_t found = no_relay;
    for (size_t slot = 0; slot <= locals.size(); slot++) {
        uint32_t e = relay_map[slot << 16 | port].entry;
        if (e == no_relay)
            continue;
        if (found != no_relay) {
            err = "port " + spec + " exists on several addresses: name it as ADDR:PORT";
            return no_relay;
        }
        found = e;
    }
    if (found == no_relay)
        err = "port " + spec + " is not a relay port";
    return found;
}

} // namespace relay
