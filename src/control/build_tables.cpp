#include "build_tables.hpp"

#include "classifier.hpp"
#include "routes.hpp"

#include <netinet/in.h>

#include <limits>
#include <sstream>

namespace relay {

// A config's rule numbers, and so its RELAY ranges' numbers, fit the tables'
// 16-bit fields.
template <typename T>
constexpr bool numbers_rules = max_rules - 1 <= std::numeric_limits<T>::max();
static_assert(numbers_rules<decltype(RelayRange::rule)> &&
              numbers_rules<decltype(Tables::RelaySlot::rule)> &&
              numbers_rules<decltype(Tables::entry_range)::value_type>);

namespace {

uint16_t port_of(const Config &config, const std::vector<ResolvedPort> &resolved, Ipv4 next_hop)
{
    for (size_t i = 0; i < config.ports.size(); i++)
        if (config.ports[i].subnet.contains(next_hop))
            return resolved[i].port_id;
    return resolved.front().port_id; // unreachable: the loader checks next hops
}

std::vector<uint16_t> port_ids(const std::vector<ResolvedPort> &resolved)
{
    std::vector<uint16_t> ids;
    for (const ResolvedPort &r : resolved)
        ids.push_back(r.port_id);
    return ids;
}

std::vector<Ipv4> box_addresses(const Config &config)
{
    std::vector<Ipv4> out;
    for (const PortConfig &p : config.ports) {
        out.push_back(p.address);
        out.insert(out.end(), p.aliases.begin(), p.aliases.end());
    }
    return out; // the loader refuses an address given twice
}

// Whether PREROUTING rule `r` can match some UDP packet to one of `addresses`
// with a destination port in [lo, hi]. Fields other than protocol,
// destination and destination port take any value such a packet may carry.
bool may_match(const Rule &r, const std::vector<Ipv4> &addresses, uint16_t lo, uint16_t hi)
{
    const Match &m = r.match;
    if (m.proto.present() && ((*m.proto.value == IPPROTO_UDP) == m.proto.negate))
        return false;
    if (m.dst.present()) {
        bool any = false;
        for (Ipv4 a : addresses)
            any = any || m.dst.value->contains(a) != m.dst.negate;
        if (!any)
            return false;
    }
    if (m.dport.present()) {
        const PortRange &d = *m.dport.value;
        const bool overlap = d.lo <= hi && lo <= d.hi;
        const bool inside = d.lo <= lo && hi <= d.hi;
        if (m.dport.negate ? inside : !overlap)
            return false;
    }
    return true;
}

// The rules that may keep a RELAY range from being direct: those of
// PREROUTING, other than RELAY, that may match a UDP datagram to one of the
// box's `locals` (usually few: a DEST rule names an address the box does not
// own). An earlier RELAY rule never matches a later one's datagrams: config
// validation rejects two ranges sharing a port on an address.
std::vector<size_t> relay_blockers(const Config &config, const std::vector<Ipv4> &locals)
{
    std::vector<size_t> blockers;
    for (size_t j = 0; j < config.rules.size(); j++) {
        const Rule &r = config.rules[j];
        if (r.hook == Hook::prerouting && r.target != Target::relay &&
            may_match(r, locals, 0, 65535))
            blockers.push_back(j);
    }
    return blockers;
}

// RelayRange::direct for RELAY rule `i` on `addresses`, with the rules
// relay_blockers() found.
bool relays_directly(const Config &config, size_t i, const std::vector<Ipv4> &addresses,
                     const std::vector<size_t> &blockers)
{
    const Match &m = config.rules[i].match;
    if (m.in_port.present() || m.src.present() || m.sport.present())
        return false;
    const PortRange &range = *m.dport.value;
    for (size_t j : blockers) {
        if (j >= i) // the later rules come after it
            break;
        if (may_match(config.rules[j], addresses, range.lo, range.hi))
            return false;
    }
    return true;
}

} // namespace

void load_static_neighbours(const Config &config, const std::vector<ResolvedPort> &resolved,
                            NeighbourTable &table)
{
    for (const NeighbourConfig &n : config.neighbours)
        table.set(n.address, port_of(config, resolved, n.address), n.mac, 1, true, true);
}

std::vector<RouteEntry> config_routes(const Config &config, const std::vector<ResolvedPort> &resolved)
{
    std::vector<RouteEntry> routes;
    for (size_t i = 0; i < config.ports.size(); i++) {
        const PortConfig &p = config.ports[i];
        if (p.gateway)
            routes.push_back({Prefix{}, {resolved[i].port_id, *p.gateway}});
    }
    for (size_t i = 0; i < config.ports.size(); i++)
        routes.push_back({config.ports[i].subnet, {resolved[i].port_id, 0}});
    for (const RouteConfig &r : config.routes)
        routes.push_back({r.prefix, {port_of(config, resolved, r.via), r.via}});
    return routes;
}

std::unique_ptr<Tables> build_tables(const Config &config, const std::vector<ResolvedPort> &resolved)
{
    auto t = std::make_unique<Tables>();
    for (size_t i = 0; i < config.ports.size(); i++) {
        const PortConfig &pc = config.ports[i];
        const uint16_t id = resolved[i].port_id;
        if (id >= max_ports)
            throw ConfigError(pc.mark.str() + ": ports[" + std::to_string(i) + "].device: \"" +
                              pc.device + "\" is ethdev port " + std::to_string(id) +
                              "; this build handles port ids below " +
                              std::to_string(max_ports));
        PortTable &p = t->ports[id];
        p.name = pc.name;
        p.mac = resolved[i].mac;
        static_cast<PortAddresses &>(p) = pc;
        p.subnet = pc.subnet;
        p.mtu = pc.mtu;
        t->port_ids.push_back(id);
    }
    t->locals = box_addresses(config);
    t->learn_policy.reset_interval = config.relay.reset_interval;
    t->learn_policy.probation_packets = config.relay.probation_packets;
    t->learn_policy.probation_ms = config.relay.probation_ms;
    t->port_counters = config.relay.port_counters;

    const std::vector<size_t> blockers = relay_blockers(config, t->locals);
    for (size_t i = 0; i < config.rules.size(); i++) {
        const Rule &r = config.rules[i];
        RuleAction a{RuleTarget::relay, r.to};
        if (r.target == Target::dest)
            a.target = RuleTarget::dest;
        else if (r.target == Target::source)
            a.target = RuleTarget::source;
        t->actions.push_back(a);
        if (r.target != Target::relay)
            continue;
        RelayRange range;
        range.rule = static_cast<uint16_t>(i);
        range.lo = r.match.dport.value->lo;
        range.hi = r.match.dport.value->hi;
        range.address = r.match.dst.present() ? r.match.dst.value->addr : 0;
        range.idle_timeout = r.idle_timeout.value_or(config.relay.idle_timeout);
        range.learning = r.learning.value_or(config.relay.learning);
        range.allow = r.allow.value_or(config.relay.allow);
        range.direct = relays_directly(config, i,
                                       range.address ? std::vector<Ipv4>{range.address} : t->locals,
                                       blockers);
        t->add_range(range);
    }

    const CompiledRules compiled = compile_rules(config, port_ids(resolved), t->locals);
    t->rule_entries.assign(config.rules.size(), 0);
    for (const auto *list : {&compiled.prerouting, &compiled.postrouting})
        for (const AclRule &a : *list)
            t->rule_entries[a.rule]++;
    if (!compiled.prerouting.empty())
        t->prerouting = std::make_unique<Classifier>("relay_pre", compiled.prerouting);
    if (!compiled.postrouting.empty())
        t->postrouting = std::make_unique<Classifier>("relay_post", compiled.postrouting);
    for (const AclRule &a : compiled.postrouting)
        for (unsigned id = a.out_lo; id <= a.out_hi && id < max_ports; id++)
            t->postrouting_ports[id] = true;
    t->routes = std::make_unique<RouteTable>(config_routes(config, resolved));
    return t;
}

std::string describe_config(const Config &config, const std::vector<uint64_t> &hits)
{
    std::vector<ResolvedPort> numbered;
    for (size_t i = 0; i < config.ports.size(); i++)
        numbered.push_back({static_cast<uint16_t>(i), {}});
    const CompiledRules compiled = compile_rules(config, port_ids(numbered), box_addresses(config));
    std::vector<size_t> entries(config.rules.size());
    for (const AclRule &a : compiled.prerouting)
        entries[a.rule]++;
    for (const AclRule &a : compiled.postrouting)
        entries[a.rule]++;

    std::ostringstream out;
    out << "config " << config.path << ": OK\n";
    for (size_t i = 0; i < config.ports.size(); i++) {
        const PortConfig &p = config.ports[i];
        out << "port " << p.name << ": device " << p.device << ", address "
            << format_ipv4(p.address) << "/" << int(p.subnet.len);
        if (p.gateway)
            out << ", gateway " << format_ipv4(*p.gateway);
        for (size_t j = 0; j < p.aliases.size(); j++)
            out << (j ? " " : ", aliases ") << format_ipv4(p.aliases[j]);
        out << ", mtu " << p.mtu << "\n";
    }
    out << "buffers: " << config.buffer_size << " bytes\n";
    for (const RouteEntry &r : config_routes(config, numbered))
        out << "route " << format_prefix(r.prefix) << " via "
            << (r.hop.gateway ? format_ipv4(r.hop.gateway) : std::string("connected"))
            << " port " << config.ports[r.hop.port].name << "\n";
    for (const NeighbourConfig &n : config.neighbours)
        out << "neighbour " << format_ipv4(n.address) << " " << format_mac(n.mac) << " (static)\n";
    uint32_t relay_ports = 0;
    for (size_t i = 0; i < config.rules.size(); i++) {
        const Rule &r = config.rules[i];
        out << "rule " << i << " " << target_name(r.target) << ": " << r.text << "  ("
            << entries[i] << " classifier entr" << (entries[i] == 1 ? "y" : "ies");
        if (i < hits.size())
            out << ", " << hits[i] << " hit" << (hits[i] == 1 ? "" : "s");
        if (r.idle_timeout)
            out << ", idle timeout " << *r.idle_timeout << " s";
        if (r.learning)
            out << ", learning " << learning_mode_name(*r.learning);
        if (r.allow)
            for (size_t j = 0; j < r.allow->size(); j++)
                out << (j ? " " : ", allow ") << format_prefix((*r.allow)[j]);
        out << ")\n";
        if (r.target == Target::relay)
            relay_ports += r.match.dport.value->hi - r.match.dport.value->lo + 1u;
    }
    out << "classifier: " << compiled.prerouting.size() << " prerouting and "
        << compiled.postrouting.size() << " postrouting entries\n";
    out << "relay: initial state " << (config.relay.initial_state ? "enabled" : "disabled")
        << ", learning " << learning_mode_name(config.relay.learning);
    for (size_t j = 0; j < config.relay.allow.size(); j++)
        out << (j ? " " : ", allow ") << format_prefix(config.relay.allow[j]);
    if (config.relay.learning == LearningMode::probation)
        out << " (" << config.relay.probation_packets << " packets over "
            << config.relay.probation_ms << " ms)";
    if (config.relay.reset_interval)
        out << ", at most one reset per port every " << config.relay.reset_interval << " s";
    out << ", " << relay_ports << " relay ports, idle timeout ";
    if (config.relay.idle_timeout)
        out << config.relay.idle_timeout << " s";
    else
        out << "none";
    out << ", state file " << (config.relay.state_file.empty() ? "none" : config.relay.state_file);
    if (!config.relay.state_file.empty())
        out << " (saved every " << config.relay.state_interval << " s)";
    out << "\n";
    return out.str();
}

} // namespace relay
