#include "reload.hpp"

#include <deque>
#include <unordered_map>

namespace relay {

namespace {

bool same_port(const PortConfig &a, const PortConfig &b)
{
    return a.name == b.name && a.device == b.device && a.address == b.address &&
           a.aliases == b.aliases && a.subnet == b.subnet && a.mtu == b.mtu;
}

} // namespace

std::string reload_refusal(const Config &running, const Config &next)
{
    const std::string restart = ": a restart applies that, a reload cannot";
    if (running.ports.size() != next.ports.size())
        return "ports: the number of ports changed" + restart;
    for (size_t i = 0; i < running.ports.size(); i++)
        if (!same_port(running.ports[i], next.ports[i]))
            return next.ports[i].mark.str() + ": ports[" + std::to_string(i) +
                   "]: the port's name, device, addresses or MTU changed" + restart;
    if (running.buffer_size != next.buffer_size)
        return "buffer_size changed" + restart;
    if (running.neighbours.size() != next.neighbours.size())
        return "neighbours changed" + restart;
    for (size_t i = 0; i < running.neighbours.size(); i++)
        if (running.neighbours[i].address != next.neighbours[i].address ||
            running.neighbours[i].mac != next.neighbours[i].mac)
            return "neighbours[" + std::to_string(i) + "] changed" + restart;
    return {};
}

std::vector<SurvivingEntry> surviving_entries(const Tables &running, const Tables &next)
{
    std::vector<SurvivingEntry> out;
    for (const RelayRange &r : next.ranges)
        for (uint32_t p = r.lo; p <= r.hi; p++) {
            const uint32_t from = running.range_entry(r.address, static_cast<uint16_t>(p));
            if (from != no_relay)
                out.push_back({from, r.base + (p - r.lo)});
        }
    return out;
}

std::vector<int> surviving_rules(const Config &running, const Config &next)
{
    // The text names the hook ("-A PREROUTING ..."); each text's indices in
    // order, consumed from the front.
    std::unordered_map<std::string, std::deque<int>> old;
    for (size_t j = 0; j < running.rules.size(); j++)
        old[running.rules[j].text].push_back(static_cast<int>(j));
    std::vector<int> out(next.rules.size(), -1);
    for (size_t i = 0; i < next.rules.size(); i++) {
        auto it = old.find(next.rules[i].text);
        if (it != old.end() && !it->second.empty()) {
            out[i] = it->second.front();
            it->second.pop_front();
        }
    }
    return out;
}

} // namespace relay
