// relay.yaml -> Config. The YAML tree is walked with the key path in hand so
// that every error names file, line, column and key; what only the whole file
// can tell (unique names, subnets, rule references, overlapping relay ranges)
// is checked once every section has been read.
#include "config.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace relay {

std::string SourceMark::str() const
{
    if (line <= 0)
        return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

// A node, the key path that leads to it ("rules[2].match.dport") and where an
// error about it points: the value itself, or its key when the value is empty
// (yaml-cpp marks an empty value at the token after it, often the next line).
struct Value {
    YAML::Node node;
    std::string key;
    SourceMark mark;
};

// A mapping whose keys have been checked against the schema.
struct Fields {
    Value self;
    std::vector<std::pair<std::string, Value>> items;

    const Value *find(std::string_view k) const
    {
        for (const auto &[name, v] : items)
            if (name == k)
                return &v;
        return nullptr;
    }
};

std::string quoted(std::string_view s)
{
    return "\"" + std::string(s) + "\"";
}

std::string join(const std::string &key, std::string_view child)
{
    return key.empty() ? std::string(child) : key + "." + std::string(child);
}

const char *kind(const YAML::Node &n)
{
    switch (n.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "a single value";
    default: return "empty";
    }
}

std::string item(const char *list, size_t i)
{
    return std::string(list) + "[" + std::to_string(i) + "]";
}

// Where each rule came from, for the checks that need all ports and rules.
struct RuleSource {
    Value node;
    std::string iptables;                            // the string as written, or empty
    std::vector<std::pair<std::string, Value>> fields; // mapping form: "match.dst" -> value
};

// The relay ports that RELAY rules hold so far, on every box address and on
// one address, so that each new range is checked in the time it takes to
// walk it rather than against every earlier rule: a config may hold 65,536
// of them.
class RelayPortClaims {
public:
    // The earliest rule `r` collides with (one that holds a port of its range
    // where it would relay: on every address, or on its own), or none; then
    // `r`, rule i, holds its range.
    std::optional<size_t> claim(const Rule &r, size_t i)
    {
        const PortRange &range = *r.match.dport.value;
        std::vector<uint32_t> *own = nullptr;
        if (r.match.dst.present()) {
            own = &addresses_[r.match.dst.value->addr];
            if (own->empty())
                own->assign(ports, none);
        }
        // A range on every address collides with one on any address.
        const std::vector<uint32_t> &other = own ? *own : any_address_;
        uint32_t first = none;
        for (uint32_t p = range.lo; p <= range.hi; p++)
            first = std::min({first, every_[p], other[p]});
        if (first != none)
            return first;
        for (uint32_t p = range.lo; p <= range.hi; p++) {
            if (!own) {
                every_[p] = static_cast<uint32_t>(i);
                continue;
            }
            (*own)[p] = static_cast<uint32_t>(i);
            any_address_[p] = std::min(any_address_[p], static_cast<uint32_t>(i));
        }
        return std::nullopt;
    }

private:
    static constexpr uint32_t ports = 65536;
    static constexpr uint32_t none = ~0u;
    // port -> the rule holding it on every address
    std::vector<uint32_t> every_ = std::vector<uint32_t>(ports, none);
    // port -> the earliest rule holding it on one address
    std::vector<uint32_t> any_address_ = std::vector<uint32_t>(ports, none);
    std::map<Ipv4, std::vector<uint32_t>> addresses_; // address -> port -> the rule
};

class Reader {
public:
    Reader(const std::string &text, const std::string &file) : text_(text), file_(file) {}

    Config read(const YAML::Node &doc)
    {
        Config c;
        c.path = file_;
        const Fields top =
            mapping(Value{doc, "", mark(doc, {file_, 1, 1})},
                    {"ports", "neighbours", "routes", "rules", "relay", "buffer_size"});
        const Value &ports = require(top, "ports");
        for (const Value &v : list(ports))
            c.ports.push_back(port(c, v));
        if (c.ports.empty())
            fail(ports, "needs at least one port");
        if (const Value *v = top.find("neighbours"))
            for (const Value &entry : list(*v))
                c.neighbours.push_back(neighbour(c, entry));
        if (const Value *v = top.find("routes"))
            for (const Value &entry : list(*v))
                c.routes.push_back(route(c, entry));
        if (const Value *v = top.find("rules"))
            for (const Value &entry : list(*v)) {
                if (c.rules.size() == max_rules)
                    fail(entry, "one rule too many: a config holds at most " +
                                    std::to_string(max_rules) + " rules");
                c.rules.push_back(rule(entry));
            }
        check_rules(c);
        if (const Value *v = top.find("relay"))
            c.relay = relay(*v);
        if (const Value *v = top.find("buffer_size"))
            c.buffer_size = static_cast<uint16_t>(
                number(*v, min_buffer_size, max_buffer_size, "a buffer size in bytes"));
        return c;
    }

    [[noreturn]] void fail(const SourceMark &m, const std::string &key,
                           const std::string &what) const
    {
        throw ConfigError(m.str() + ": " + (key.empty() ? "" : key + ": ") + what);
    }
    [[noreturn]] void fail(const Value &v, const std::string &what) const
    {
        fail(v.mark, v.key, what);
    }

private:
    SourceMark mark(const YAML::Node &n, const SourceMark &fallback) const
    {
        if (n.IsNull() || n.Mark().line < 0)
            return fallback;
        return SourceMark{file_, n.Mark().line + 1, n.Mark().column + 1};
    }

    Fields mapping(const Value &v, std::initializer_list<std::string_view> known) const
    {
        Fields f{v, {}};
        if (v.node.IsNull())
            return f;
        if (!v.node.IsMap())
            fail(v, std::string("must be a mapping, not ") + kind(v.node));
        std::string expected;
        for (std::string_view k : known)
            expected += (expected.empty() ? "" : ", ") + std::string(k);
        for (auto it = v.node.begin(); it != v.node.end(); ++it) {
            const SourceMark at = mark(it->first, v.mark);
            if (!it->first.IsScalar())
                fail(at, v.key, std::string("a key must be a name, not ") + kind(it->first));
            const std::string name = it->first.Scalar();
            bool ok = false;
            for (std::string_view k : known)
                ok = ok || name == k;
            if (!ok)
                fail(at, v.key, "unknown key " + quoted(name) + " (expected " + expected + ")");
            if (f.find(name))
                fail(at, v.key, "key " + quoted(name) + " given twice");
            f.items.emplace_back(name, Value{it->second, join(v.key, name), mark(it->second, at)});
        }
        return f;
    }

    const Value &require(const Fields &f, std::string_view k) const
    {
        if (const Value *v = f.find(k))
            return *v;
        fail(f.self, "required key " + quoted(k) + " is missing");
    }

    // An empty list may be written as nothing at all ("neighbours:").
    std::vector<Value> list(const Value &v) const
    {
        std::vector<Value> items;
        if (v.node.IsNull())
            return items;
        if (!v.node.IsSequence())
            fail(v, std::string("must be a list, not ") + kind(v.node));
        for (size_t i = 0; i < v.node.size(); i++)
            items.push_back(Value{v.node[i], v.key + "[" + std::to_string(i) + "]",
                                  mark(v.node[i], v.mark)});
        return items;
    }

    std::string scalar(const Value &v) const
    {
        if (v.node.IsNull() || (v.node.IsScalar() && v.node.Scalar().empty()))
            fail(v, "has no value");
        if (!v.node.IsScalar())
            fail(v, std::string("must be a single value, not ") + kind(v.node));
        // `src: ! 10.0.0.0/8` is a YAML tag and the plain string "10.0.0.0/8":
        // without this check the negation would silently vanish.
        const std::string &tag = v.node.Tag();
        const auto pos = static_cast<size_t>(v.node.Mark().pos);
        const bool bang = tag == "!" && pos < text_.size() && text_[pos] == '!';
        if (bang || (tag.size() > 1 && tag[0] == '!')) {
            std::string meant = "! " + (bang ? "" : tag.substr(1)) +
                                (bang || v.node.Scalar().empty() ? "" : " ") + v.node.Scalar();
            fail(v, "an unquoted \"!\" starts a YAML tag; to negate, quote the value: " +
                        quoted(meant));
        }
        return v.node.Scalar();
    }

    // true or false, as YAML 1.2 spells them.
    bool boolean(const Value &v) const
    {
        const std::string s = scalar(v);
        if (s != "true" && s != "false")
            fail(v, quoted(s) + " is not true or false");
        return s == "true";
    }

    // A decimal number in [lo, hi]; `what` names what it should be.
    uint64_t number(const Value &v, uint64_t lo, uint64_t hi, const std::string &what) const
    {
        const std::string s = scalar(v);
        uint64_t n = 0;
        bool ok = s.size() <= 10;
        for (char ch : s) {
            ok = ok && ch >= '0' && ch <= '9';
            n = n * 10 + unsigned(ch - '0');
        }
        if (!ok)
            fail(v, quoted(s) + " is not " + what);
        if (n < lo || n > hi)
            fail(v, quoted(s) + " is not " + what + " (" + std::to_string(lo) + "-" +
                        std::to_string(hi) + ")");
        return n;
    }

    template <typename T>
    T value(const Value &v, std::optional<T> (*parse)(std::string_view, std::string &)) const
    {
        std::string why;
        auto r = parse(scalar(v), why);
        if (!r)
            fail(v, why);
        return *r;
    }

    PortConfig port(const Config &c, const Value &v) const
    {
        const Fields f = mapping(v, {"name", "device", "address", "gateway", "mtu", "aliases"});
        PortConfig p;
        p.mark = v.mark;
        const Value &name = require(f, "name");
        p.name = scalar(name);
        // Names are spelled inside iptables strings, so they must be one token
        // that cannot be read as an option.
        bool ok = p.name[0] != '-' && p.name[0] != '!';
        for (char ch : p.name)
            ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' ||
                        ch == '-' || ch == '.');
        if (!ok)
            fail(name, quoted(p.name) +
                           " is not a port name (letters, digits, \"_\", \"-\" and \".\"; not "
                           "starting with \"-\")");
        const Value &device = require(f, "device");
        p.device = scalar(device);
        for (size_t j = 0; j < c.ports.size(); j++) {
            if (c.ports[j].name == p.name)
                fail(name, quoted(p.name) + " is already the name of " + item("ports", j));
            if (c.ports[j].device == p.device)
                fail(device, quoted(p.device) + " is already the device of " + item("ports", j));
        }

        const Value &addr = require(f, "address");
        const std::string s = scalar(addr);
        const size_t slash = s.find('/');
        std::string why;
        auto a = syntax::address(s.substr(0, slash), why);
        auto subnet = parse_prefix(s, true);
        if (slash == std::string::npos && a)
            fail(addr, quoted(s) + " needs a prefix length (A.B.C.D/LEN: the box address and its "
                                   "connected subnet)");
        if (!a && parse_ipv4(s.substr(0, slash)))
            fail(addr, why);
        if (!subnet || !a)
            fail(addr, quoted(s) + " is not an address with a prefix length (A.B.C.D/LEN)");
        p.address = *a;
        p.subnet = *subnet;
        const Ipv4 host = p.address & ~p.subnet.mask();
        if (p.subnet.len <= 30 && (host == 0 || host == ~p.subnet.mask()))
            fail(addr, quoted(s) + " is the " + (host == 0 ? "network" : "broadcast") +
                           " address of " + format_prefix(p.subnet) + ", not a host address");
        for (size_t j = 0; j < c.ports.size(); j++)
            if (c.ports[j].owns(p.address))
                fail(addr, format_ipv4(p.address) + " is already an address of " +
                               item("ports", j));
        if (const Value *list_value = f.find("aliases"))
            for (const Value &alias : list(*list_value)) {
                const Ipv4 a = value<Ipv4>(alias, syntax::address);
                const Ipv4 bits = a & ~p.subnet.mask();
                if (p.subnet.contains(a) && p.subnet.len <= 30 &&
                    (bits == 0 || bits == ~p.subnet.mask()))
                    fail(alias, format_ipv4(a) + " is the " + (bits == 0 ? "network" : "broadcast") +
                                    " address of " + format_prefix(p.subnet) +
                                    ", not a host address");
                if (p.owns(a))
                    fail(alias, format_ipv4(a) + " is already an address of this port");
                for (size_t j = 0; j < c.ports.size(); j++)
                    if (c.ports[j].owns(a))
                        fail(alias, format_ipv4(a) + " is already an address of " +
                                        item("ports", j));
                p.aliases.push_back(a);
            }

        if (const Value *g = f.find("gateway")) {
            p.gateway = value<Ipv4>(*g, syntax::address);
            if (!p.subnet.contains(*p.gateway))
                fail(*g, format_ipv4(*p.gateway) + " is not in the port's subnet " +
                             format_prefix(p.subnet));
            if (p.owns(*p.gateway))
                fail(*g, format_ipv4(*p.gateway) + " is the port's own address");
            for (size_t j = 0; j < c.ports.size(); j++)
                if (c.ports[j].gateway)
                    fail(*g, "only one port may have a gateway (it is the default route), and " +
                                 item("ports", j) + " has one");
        }
        if (const Value *m = f.find("mtu"))
            p.mtu = static_cast<uint16_t>(number(*m, min_mtu, max_mtu, "an MTU in bytes"));
        return p;
    }

    // A next hop must be on a connected subnet and must not be the box itself.
    void check_next_hop(const Config &c, const Value &v, Ipv4 a) const
    {
        bool connected = false;
        for (const PortConfig &p : c.ports) {
            if (p.owns(a))
                fail(v, format_ipv4(a) + " is an address of port " + quoted(p.name));
            connected = connected || p.subnet.contains(a);
        }
        if (!connected)
            fail(v, format_ipv4(a) + " is not in the subnet of any port");
    }

    NeighbourConfig neighbour(const Config &c, const Value &v) const
    {
        const Fields f = mapping(v, {"address", "mac"});
        NeighbourConfig n;
        const Value &addr = require(f, "address");
        n.address = value<Ipv4>(addr, syntax::address);
        check_next_hop(c, addr, n.address);
        for (size_t i = 0; i < c.neighbours.size(); i++)
            if (c.neighbours[i].address == n.address)
                fail(addr, format_ipv4(n.address) + " is already in " + item("neighbours", i));
        const Value &mac = require(f, "mac");
        const std::string s = scalar(mac);
        auto m = parse_mac(s);
        if (!m)
            fail(mac, quoted(s) + " is not a MAC address (xx:xx:xx:xx:xx:xx)");
        if ((*m)[0] & 1 || *m == Mac{})
            fail(mac, quoted(s) + " is not a unicast MAC address");
        n.mac = *m;
        return n;
    }

    RouteConfig route(const Config &c, const Value &v) const
    {
        const Fields f = mapping(v, {"prefix", "via"});
        RouteConfig r;
        const Value &prefix = require(f, "prefix");
        r.prefix = value<Prefix>(prefix, syntax::prefix);
        for (size_t i = 0; i < c.routes.size(); i++)
            if (c.routes[i].prefix == r.prefix)
                fail(prefix, format_prefix(r.prefix) + " is already routed by " +
                                 item("routes", i));
        if (r.prefix.len == 0)
            for (size_t i = 0; i < c.ports.size(); i++)
                if (c.ports[i].gateway)
                    fail(prefix, "0.0.0.0/0 is the default route, which " + item("ports", i) +
                                     ".gateway already sets");
        const Value &via = require(f, "via");
        r.via = value<Ipv4>(via, syntax::address);
        check_next_hop(c, via, r.via);
        return r;
    }

    Rule rule(const Value &v)
    {
        RuleSource src{v, {}, {}};
        Rule r;
        if (v.node.IsScalar()) {
            src.iptables = scalar(v);
            r = parse_iptables_rule(src.iptables, v.mark, v.key);
            sources_.push_back(std::move(src));
            return r;
        }
        if (!v.node.IsMap())
            fail(v, std::string("must be a rule (a mapping or an iptables string), not ") +
                        kind(v.node));
        const Fields f =
            mapping(v, {"hook", "match", "target", "to", "idle_timeout", "learning", "allow"});
        src.fields = f.items;
        const Value &hook = require(f, "hook");
        const std::string h = scalar(hook);
        auto parsed = syntax::hook(h);
        if (!parsed)
            fail(hook, quoted(h) + " is not a hook (prerouting or postrouting)");
        r.hook = *parsed;
        r.target = value<Target>(require(f, "target"), syntax::target);
        if (const Value *to = f.find("to"))
            r.to = value<Ipv4>(*to, syntax::address);
        for (const char *relay_only : {"idle_timeout", "learning", "allow"})
            if (const Value *x = f.find(relay_only); x && r.target != Target::relay)
                fail(*x, std::string("only a RELAY rule has ") + relay_only);
        if (const Value *t = f.find("idle_timeout"))
            r.idle_timeout = static_cast<uint32_t>(number(*t, 0, UINT32_MAX, "a number of seconds"));
        if (const Value *l = f.find("learning"))
            r.learning = learning_mode(*l);
        if (const Value *a = f.find("allow"))
            r.allow = prefixes(*a);
        if (const Value *m = f.find("match")) {
            const Fields mf = mapping(
                *m, {"in_port", "out_port", "proto", "src", "dst", "sport", "dport"});
            for (const auto &[name, mv] : mf.items)
                src.fields.emplace_back("match." + name, mv);
            Match &match = r.match;
            auto port_name = [](std::string_view s, std::string &) {
                return std::optional<std::string>(s); // checked once all rules are read
            };
            match_field(mf, "in_port", match.in_port, port_name);
            match_field(mf, "out_port", match.out_port, port_name);
            match_field(mf, "proto", match.proto, syntax::proto);
            match_field(mf, "src", match.src, syntax::prefix);
            match_field(mf, "dst", match.dst, syntax::prefix);
            auto range = [](std::string_view s, std::string &why) {
                return syntax::ports(s, '-', why);
            };
            match_field(mf, "sport", match.sport, range);
            match_field(mf, "dport", match.dport, range);
        }
        sources_.push_back(std::move(src));
        if (auto problem = check_rule(r, false))
            fail_rule(sources_.back(), problem->field, "", problem->what);
        r.text = format_rule(r);
        r.mark = v.mark;
        return r;
    }

    // A match value may start with "!" to negate it: `src: "! 10.0.0.0/8"`.
    template <typename T, typename Parse>
    void match_field(const Fields &f, std::string_view name, MatchField<T> &out,
                     Parse parse) const
    {
        const Value *v = f.find(name);
        if (!v)
            return;
        const std::string text = scalar(*v);
        std::string_view s = text;
        if (s[0] == '!') {
            out.negate = true;
            s.remove_prefix(1);
            while (!s.empty() && (s[0] == ' ' || s[0] == '\t'))
                s.remove_prefix(1);
            if (s.empty())
                fail(*v, "\"!\" needs a value after it");
        }
        std::string why;
        out.value = parse(s, why);
        if (!out.value)
            fail(*v, why);
    }

    // Points an error about one field of rule `src` at that field, or for a
    // rule written as an iptables string, at the string, quoting it.
    [[noreturn]] void fail_rule(const RuleSource &src, const std::string &field,
                                const std::string &option, const std::string &what) const
    {
        if (!src.iptables.empty())
            fail(src.node, (option.empty() ? "" : option + ": ") + what + " in " +
                               quoted(src.iptables));
        const SourceMark *at = &src.node.mark;
        // A field that is missing ("match.dport") is blamed on its parent ("match").
        for (const auto &[name, v] : src.fields)
            if (name == field || field.rfind(name + ".", 0) == 0)
                at = &v.mark;
        fail(*at, join(src.node.key, field), what);
    }

    void check_rules(const Config &c) const
    {
        RelayPortClaims claims;
        auto find_port = [&c](const MatchField<std::string> &f) {
            for (const PortConfig &p : c.ports)
                if (p.name == *f.value)
                    return true;
            return false;
        };
        for (size_t i = 0; i < c.rules.size(); i++) {
            const Rule &r = c.rules[i];
            const RuleSource &src = sources_[i];
            if (r.match.in_port.present() && !find_port(r.match.in_port))
                fail_rule(src, "match.in_port", "-i",
                          quoted(*r.match.in_port.value) + " is not the name of a port");
            if (r.match.out_port.present() && !find_port(r.match.out_port))
                fail_rule(src, "match.out_port", "-o",
                          quoted(*r.match.out_port.value) + " is not the name of a port");
            if (r.target != Target::relay)
                continue;
            if (r.match.dst.present()) {
                bool own = false;
                for (const PortConfig &p : c.ports)
                    own = own || p.owns(r.match.dst.value->addr);
                if (!own)
                    fail_rule(src, "match.dst", "-d",
                              format_ipv4(r.match.dst.value->addr) +
                                  " is not the address of a port (RELAY relays on the box's "
                                  "own addresses)");
            }
            if (const std::optional<size_t> j = claims.claim(r, i))
                fail_overlap(c, i, *j);
        }
    }

    // RELAY rules i and j share a relay port on an address: a RELAY rule
    // without dst relays on every box address, so it collides with any other
    // RELAY rule that shares a port number.
    [[noreturn]] void fail_overlap(const Config &c, size_t i, size_t j) const
    {
        const Rule &a = c.rules[i], &b = c.rules[j];
        auto where = [](const Rule &r) {
            const PortRange &p = *r.match.dport.value;
            return (p.lo == p.hi ? std::to_string(p.lo)
                                 : std::to_string(p.lo) + "-" + std::to_string(p.hi)) +
                   " on " +
                   (r.match.dst.present() ? format_ipv4(r.match.dst.value->addr)
                                          : std::string("every port address"));
        };
        fail_rule(sources_[i], "match.dport", "--dport",
                  "relay ports " + where(a) + " overlap " + item("rules", j) + " (relay ports " +
                      where(b) + ")");
    }

    LearningMode learning_mode(const Value &v) const
    {
        const std::string mode = scalar(v);
        for (LearningMode m : {LearningMode::reset, LearningMode::strict, LearningMode::probation})
            if (mode == learning_mode_name(m))
                return m;
        fail(v, quoted(mode) + " is not a learning mode (reset, strict or probation)");
    }

    // Source prefixes a relay range may learn: a list, not empty.
    std::vector<Prefix> prefixes(const Value &v) const
    {
        std::vector<Prefix> out;
        for (const Value &p : list(v))
            out.push_back(value<Prefix>(p, syntax::prefix));
        if (out.empty())
            fail(v, "must list at least one prefix (leave allow out to learn any source)");
        return out;
    }

    RelayConfig relay(const Value &v) const
    {
        const Fields f = mapping(
            v, {"initial_state", "learning", "allow", "probation_packets", "probation_ms",
                "reset_interval", "idle_timeout", "state_file", "state_interval",
                "port_counters"});
        RelayConfig r;
        if (const Value *s = f.find("initial_state")) {
            const std::string state = scalar(*s);
            if (state != "disabled" && state != "enabled")
                fail(*s, quoted(state) + " is not a state (disabled or enabled)");
            r.initial_state = state == "enabled" ? 1 : 0;
        }
        if (const Value *l = f.find("learning"))
            r.learning = learning_mode(*l);
        if (const Value *a = f.find("allow"))
            r.allow = prefixes(*a);
        if (const Value *n = f.find("probation_packets"))
            r.probation_packets = static_cast<uint32_t>(
                number(*n, min_probation_packets, max_probation_packets, "a number of packets"));
        if (const Value *m = f.find("probation_ms"))
            r.probation_ms = static_cast<uint32_t>(
                number(*m, min_probation_ms, max_probation_ms, "a number of milliseconds"));
        if (const Value *i = f.find("reset_interval"))
            r.reset_interval = static_cast<uint32_t>(number(*i, 0, 86400, "a number of seconds"));
        if (const Value *t = f.find("idle_timeout"))
            r.idle_timeout = static_cast<uint32_t>(number(*t, 0, UINT32_MAX, "a number of seconds"));
        if (const Value *s = f.find("state_file")) {
            r.state_file = scalar(*s);
            if (r.state_file[0] != '/') {
                const size_t slash = file_.rfind('/');
                if (slash != std::string::npos)
                    r.state_file = file_.substr(0, slash + 1) + r.state_file;
            }
        }
        if (const Value *i = f.find("state_interval"))
            r.state_interval = static_cast<uint32_t>(number(*i, 1, 86400, "a number of seconds"));
        if (const Value *c = f.find("port_counters"))
            r.port_counters = boolean(*c);
        return r;
    }

    const std::string &text_;
    const std::string &file_;
    std::vector<RuleSource> sources_; // parallel to Config::rules
};

// Sees what YAML::Load would not: content after a second "---", which it would
// silently ignore, and a stray token such as "," between documents, on which
// yaml-cpp 0.7's LoadAll loops forever producing empty documents.
class DocumentProbe : public YAML::EventHandler {
public:
    std::optional<YAML::Mark> start, content;

    void OnDocumentStart(const YAML::Mark &m) override
    {
        start = m;
        content.reset();
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark &m, YAML::anchor_t) override { saw(m); }
    void OnScalar(const YAML::Mark &m, const std::string &, YAML::anchor_t,
                  const std::string &) override { saw(m); }
    void OnSequenceStart(const YAML::Mark &m, const std::string &, YAML::anchor_t,
                         YAML::EmitterStyle::value) override { saw(m); }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark &m, const std::string &, YAML::anchor_t,
                    YAML::EmitterStyle::value) override { saw(m); }
    void OnMapEnd() override {}

private:
    void saw(const YAML::Mark &m) { content = content ? content : m; }
};

void check_documents(const std::string &text, const std::string &name)
{
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentProbe probe;
    auto at = [&name](const YAML::Mark &m) {
        return SourceMark{name, m.line + 1, m.column + 1}.str() + ": ";
    };
    std::optional<YAML::Mark> previous_empty;
    for (int n = 0; parser.HandleNextDocument(probe); n++) {
        if (probe.content && n > 0)
            throw ConfigError(at(*probe.content) +
                              "this is a second YAML document (after \"---\"); the config is "
                              "one document");
        if (!probe.content && previous_empty && previous_empty->pos == probe.start->pos) {
            const auto pos = static_cast<size_t>(probe.start->pos);
            throw ConfigError(at(*probe.start) + "bad YAML: unexpected " +
                              quoted(text.substr(pos, 1)));
        }
        previous_empty = probe.content ? std::nullopt : probe.start;
    }
}

} // namespace

Config parse_config(const std::string &text, const std::string &name)
{
    YAML::Node root;
    try {
        check_documents(text, name);
        root = YAML::Load(text);
    } catch (const YAML::Exception &e) {
        throw ConfigError(SourceMark{name, e.mark.line + 1, e.mark.column + 1}.str() +
                          ": bad YAML: " + e.msg);
    }
    return Reader(text, name).read(root);
}

Config load_config(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw ConfigError(path + ": cannot read: " + std::strerror(errno));
    return parse_config(text.str(), path);
}

} // namespace relay
