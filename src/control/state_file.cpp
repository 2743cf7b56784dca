#include "state_file.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <utility>

namespace relay {

namespace {

constexpr const char *format_name = "dpdk-relay state";
constexpr int format_version = 1;

using nlohmann::json;

json endpoint_json(const Tables &t, const Endpoint &e)
{
    return {{"addr", format_ipv4(e.addr)},
            {"port", e.port},
            {"mac", format_mac(e.mac)},
            {"ifport", t.ports[e.ifport].name},
            {"local", format_ipv4(t.locals[e.local])}};
}

[[noreturn]] void bad(const std::string &where, const std::string &what)
{
    throw StateFileError(where + ": " + what);
}

const json &field(const json &o, const std::string &where, const char *key)
{
    auto it = o.find(key);
    if (it == o.end())
        bad(where, std::string("\"") + key + "\" is missing");
    return *it;
}

uint64_t integer(const json &o, const std::string &where, const char *key, uint64_t max)
{
    const json &v = field(o, where, key);
    if (!v.is_number_unsigned() || v.get<uint64_t>() > max)
        bad(where + "." + key, "is not a whole number from 0 to " + std::to_string(max));
    return v.get<uint64_t>();
}

std::string text(const json &o, const std::string &where, const char *key)
{
    const json &v = field(o, where, key);
    if (!v.is_string())
        bad(where + "." + key, "is not a string");
    return v.get<std::string>();
}

Endpoint parse_endpoint(const json &o, const std::string &where, const Tables &t,
                        const RelayRange &range)
{
    if (!o.is_object())
        bad(where, "is not an object");
    Endpoint e;
    const std::string addr = text(o, where, "addr");
    const auto a = parse_ipv4(addr);
    if (!a)
        bad(where + ".addr", "\"" + addr + "\" is not an IPv4 address");
    if (t.refuses_source(*a))
        bad(where + ".addr", addr + " is never a relay endpoint (martian, broadcast or the box's own)");
    e.addr = *a;
    e.port = static_cast<uint16_t>(integer(o, where, "port", 65535));
    if (e.port == 0)
        bad(where + ".port", "0 is never a relay endpoint's port");
    const std::string mac = text(o, where, "mac");
    const auto m = parse_mac(mac);
    if (!m || (*m)[0] & 1 || *m == Mac{})
        bad(where + ".mac", "\"" + mac + "\" is not a unicast MAC address");
    e.mac = *m;
    const std::string ifport = text(o, where, "ifport");
    bool found = false;
    for (uint16_t id : t.port_ids)
        if (t.ports[id].name == ifport) {
            e.ifport = id;
            found = true;
        }
    if (!found)
        bad(where + ".ifport", "\"" + ifport + "\" is not a port of this config");
    const std::string local = text(o, where, "local");
    const auto l = parse_ipv4(local);
    const int li = l ? t.local_index(*l) : -1;
    if (li < 0 || (range.address != 0 && *l != range.address))
        bad(where + ".local", "\"" + local + "\" is not an address this relay port is on");
    e.local = static_cast<uint16_t>(li);
    return e;
}

} // namespace

std::string state_json(const Tables &t, const RelayTable &relay, uint8_t initial_state)
{
    json ports = json::array();
    for (uint32_t e = 0; e < t.relay_entries; e++) {
        const RelaySnapshot s = relay.read(e);
        if (s.state == initial_state)
            continue;
        const Ipv4 address = t.entry_address(e);
        json p = {{"address", address ? format_ipv4(address) : "*"},
                  {"port", t.entry_port(e)},
                  {"state", s.state}};
        const uint8_t level = s.state & state::set_mask;
        if (level >= state::set1)
            p["a"] = endpoint_json(t, s.a);
        if (level == state::set2)
            p["b"] = endpoint_json(t, s.b);
        ports.push_back(std::move(p));
    }
    const json doc = {{"format", format_name}, {"version", format_version}, {"ports", ports}};
    return doc.dump(1) + "\n";
}

RestoredState parse_state(const std::string &text_in, const Tables &t)
{
    json doc;
    try {
        doc = json::parse(text_in);
    } catch (const json::exception &e) {
        throw StateFileError(std::string("not JSON (a truncated or foreign file): ") + e.what());
    }
    if (!doc.is_object() || doc.value("format", json()) != format_name)
        throw StateFileError(std::string("not a dpdk-relay state file (no \"format\": \"") +
                             format_name + "\")");
    if (doc.value("version", json()) != format_version)
        throw StateFileError("version " + doc.value("version", json()).dump() +
                             " is not the one this dpdk-relay reads (" +
                             std::to_string(format_version) + ")");
    const json &ports = field(doc, "state file", "ports");
    if (!ports.is_array())
        bad("ports", "is not a list");

    RestoredState out;
    std::set<uint32_t> seen;
    for (size_t i = 0; i < ports.size(); i++) {
        const std::string where = "ports[" + std::to_string(i) + "]";
        const json &p = ports[i];
        if (!p.is_object())
            bad(where, "is not an object");
        const std::string addr = text(p, where, "address");
        Ipv4 address = 0;
        if (addr != "*") {
            const auto a = parse_ipv4(addr);
            if (!a)
                bad(where + ".address", "\"" + addr + "\" is neither \"*\" nor an IPv4 address");
            address = *a;
        }
        const auto port = static_cast<uint16_t>(integer(p, where, "port", 65535));
        const auto st = static_cast<uint8_t>(integer(p, where, "state", 15));
        const uint32_t entry = t.range_entry(address, port);
        if (entry == no_relay) {
            out.not_relay_ports++;
            continue;
        }
        if (!seen.insert(entry).second)
            bad(where, addr + ":" + std::to_string(port) + " appears twice");
        const uint8_t level = st & state::set_mask;
        if ((st == 0) != (level == 0) || ((st & state::active1) && level < state::set1) ||
            ((st & state::active2) && level < state::set2))
            bad(where + ".state", std::to_string(st) + " is not a state a port can be in");
        for (const char *slot : {"a", "b"}) {
            const bool want = slot[0] == 'a' ? level >= state::set1 : level == state::set2;
            if (p.contains(slot) != want)
                bad(where, std::string("state ") + std::to_string(st) +
                               (want ? " needs endpoint " : " has no endpoint ") + slot);
        }
        RestoredPort r{entry, {}};
        r.snapshot.state = st;
        const RelayRange &range = t.ranges[t.entry_range[entry]];
        if (level >= state::set1)
            r.snapshot.a = parse_endpoint(p["a"], where + ".a", t, range);
        if (level == state::set2)
            r.snapshot.b = parse_endpoint(p["b"], where + ".b", t, range);
        out.ports.push_back(r);
    }
    return out;
}

} // namespace relay
