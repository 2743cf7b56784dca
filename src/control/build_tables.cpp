#include "build_tables.hpp"

#include <sstream>

namespace relay {

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
        p.address = pc.address;
        p.subnet = pc.subnet;
        t->port_ids.push_back(id);
        if (t->local_index(pc.address) < 0)
            t->locals.push_back(pc.address);
    }
    auto port_id_of = [&](const std::string &name) {
        for (size_t i = 0; i < config.ports.size(); i++)
            if (config.ports[i].name == name)
                return resolved[i].port_id;
        return uint16_t(0); // unreachable: the loader rejects unknown names
    };
    for (size_t i = 0; i < config.rules.size(); i++) {
        const Rule &r = config.rules[i];
        if (r.target != Target::relay)
            throw ConfigError(r.mark.str() + ": rules[" + std::to_string(i) +
                              "]: DEST and SOURCE are not supported by this version");
        const Match &m = r.match;
        RelayRange range;
        range.rule = static_cast<uint16_t>(i);
        range.lo = m.dport.value->lo;
        range.hi = m.dport.value->hi;
        range.address = m.dst.present() ? m.dst.value->addr : 0;
        if (m.in_port.present()) {
            uint32_t bit = 1u << port_id_of(*m.in_port.value);
            range.in_ports = m.in_port.negate ? ~bit : bit;
        }
        if (m.src.present()) {
            range.src = *m.src.value;
            range.src_negate = m.src.negate;
        }
        if (m.sport.present()) {
            range.sport_lo = m.sport.value->lo;
            range.sport_hi = m.sport.value->hi;
            range.sport_negate = m.sport.negate;
        }
        t->add_range(range);
    }
    return t;
}

std::string describe_tables(const Config &config, const Tables &t)
{
    std::ostringstream out;
    out << "config " << config.path << ": OK\n";
    for (const PortConfig &p : config.ports) {
        out << "port " << p.name << ": device " << p.device << ", address "
            << format_ipv4(p.address) << "/" << int(p.subnet.len);
        if (p.gateway)
            out << ", gateway " << format_ipv4(*p.gateway);
        out << "\n";
    }
    for (size_t i = 0; i < config.rules.size(); i++)
        out << "rule " << i << ": " << config.rules[i].text << "\n";
    for (const RelayRange &r : t.ranges)
        out << "relay " << (r.address ? format_ipv4(r.address) : std::string("*")) << " ports "
            << r.lo << "-" << r.hi << " (rule " << r.rule << ", " << (r.hi - r.lo + 1)
            << " ports, entries " << r.base << "-" << r.base + (r.hi - r.lo) << ")\n";
    out << "relay: initial state " << (config.relay.initial_state ? "enabled" : "disabled")
        << ", learning reset, " << t.relay_entries << " relay ports\n";
    return out.str();
}

} // namespace relay
