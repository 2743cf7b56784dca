#include "rule_compiler.hpp"

#include <utility>

namespace relay {

namespace {

using Range = std::pair<uint32_t, uint32_t>;

std::vector<Range> ranges_of(bool present, bool negate, uint32_t lo, uint32_t hi, uint32_t max)
{
    if (!present)
        return {{0, max}};
    if (!negate)
        return {{lo, hi}};
    std::vector<Range> out;
    if (lo > 0)
        out.push_back({0, lo - 1});
    if (hi < max)
        out.push_back({hi + 1, max});
    return out;
}

// The prefixes that together cover everything outside p: for each bit of p's
// prefix, the sibling subtree at that depth.
std::vector<Prefix> prefixes_of(const MatchField<Prefix> &f)
{
    if (!f.present())
        return {Prefix{}};
    const Prefix p = *f.value;
    if (!f.negate)
        return {p};
    std::vector<Prefix> out;
    for (uint8_t len = 1; len <= p.len; len++) {
        Prefix s;
        s.len = len;
        s.addr = (p.addr ^ (Ipv4(1) << (32 - len))) & s.mask();
        out.push_back(s);
    }
    return out;
}

std::vector<Range> port_ranges(const MatchField<PortRange> &f)
{
    return f.present() ? ranges_of(true, f.negate, f.value->lo, f.value->hi, 65535)
                       : ranges_of(false, false, 0, 0, 65535);
}

std::vector<Range> iface_ranges(const MatchField<std::string> &f, const Config &config,
                                const std::vector<uint16_t> &port_ids)
{
    if (!f.present())
        return {{0, 255}};
    uint32_t id = 0;
    for (size_t i = 0; i < config.ports.size(); i++)
        if (config.ports[i].name == *f.value)
            id = port_ids[i];
    return ranges_of(true, f.negate, id, id, 255);
}

} // namespace

CompiledRules compile_rules(const Config &config, const std::vector<uint16_t> &port_ids,
                            const std::vector<Ipv4> &locals)
{
    CompiledRules out;
    size_t total = 0;
    for (size_t i = 0; i < config.rules.size(); i++) {
        const Rule &r = config.rules[i];
        const Match &m = r.match;
        auto protos = m.proto.present()
                          ? ranges_of(true, m.proto.negate, *m.proto.value, *m.proto.value, 255)
                          : ranges_of(false, false, 0, 0, 255);
        auto srcs = prefixes_of(m.src);
        std::vector<Prefix> dsts;
        if (r.target == Target::relay && !m.dst.present()) {
            for (Ipv4 a : locals)
                dsts.push_back({a, 32});
        } else {
            dsts = prefixes_of(m.dst);
        }
        auto sports = port_ranges(m.sport);
        auto dports = port_ranges(m.dport);
        auto ins = iface_ranges(m.in_port, config, port_ids);
        auto outs = iface_ranges(m.out_port, config, port_ids);
        const bool needs_l4 = m.sport.present() || m.dport.present();

        total += protos.size() * srcs.size() * dsts.size() * sports.size() * dports.size() *
                 ins.size() * outs.size();
        if (total > max_acl_rules)
            throw ConfigError(r.mark.str() + ": rules[" + std::to_string(i) +
                              "]: the rules expand to more than " +
                              std::to_string(max_acl_rules) +
                              " classifier entries (negations multiply them)");
        auto &list = r.hook == Hook::prerouting ? out.prerouting : out.postrouting;
        for (const Range &pr : protos)
            for (const Prefix &s : srcs)
                for (const Prefix &d : dsts)
                    for (const Range &sp : sports)
                        for (const Range &dp : dports)
                            for (const Range &in : ins)
                                for (const Range &o : outs) {
                                    AclRule a;
                                    a.rule = static_cast<uint32_t>(i);
                                    a.order = static_cast<uint32_t>(i);
                                    a.proto_lo = static_cast<uint8_t>(pr.first);
                                    a.proto_hi = static_cast<uint8_t>(pr.second);
                                    a.src = s.addr;
                                    a.src_len = s.len;
                                    a.dst = d.addr;
                                    a.dst_len = d.len;
                                    a.sport_lo = static_cast<uint16_t>(sp.first);
                                    a.sport_hi = static_cast<uint16_t>(sp.second);
                                    a.dport_lo = static_cast<uint16_t>(dp.first);
                                    a.dport_hi = static_cast<uint16_t>(dp.second);
                                    a.in_lo = static_cast<uint8_t>(in.first);
                                    a.in_hi = static_cast<uint8_t>(in.second);
                                    a.out_lo = static_cast<uint8_t>(o.first);
                                    a.out_hi = static_cast<uint8_t>(o.second);
                                    a.needs_l4 = needs_l4;
                                    list.push_back(a);
                                }
    }
    return out;
}

} // namespace relay
