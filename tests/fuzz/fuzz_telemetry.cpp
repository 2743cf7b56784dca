// fuzz_telemetry: arbitrary parameters for the telemetry commands' parsers
// (src/control/telemetry_params.hpp) against relay tables of a config with
// ranges on every address, on one address and on an alias. Byte 0 picks the
// parser; the rest is the parameter text as telemetry passes it, a C string.
#include "config.hpp"
#include "relay_state.hpp"
#include "tables.hpp"
#include "telemetry_params.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace relay;

namespace {

const char *const config_text = R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24, aliases: [10.0.0.2, 10.0.0.3] }
  - { name: wan, device: "1", address: 192.0.2.1/24 }
rules:
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  - "-A PREROUTING -p udp -d 192.0.2.1 --dport 5000:5009 -j RELAY"
  - "-A PREROUTING -p udp -d 10.0.0.2 --dport 5000:5009 -j RELAY"
  - "-A PREROUTING -p udp -d 10.0.0.3 --dport 65530:65535 -j RELAY"
  - "-A PREROUTING -p udp -d 10.0.0.1 --dport 0:9 -j RELAY"
relay: { initial_state: disabled }
)";

// The relay part of the tables build_tables makes (which needs EAL for the
// classifier and route table; find_entry needs neither).
std::unique_ptr<Tables> relay_tables()
{
    const Config c = parse_config(config_text, "fuzz.yaml");
    auto t = std::make_unique<Tables>();
    std::vector<Ipv4> locals;
    for (const PortConfig &p : c.ports) {
        locals.push_back(p.address);
        locals.insert(locals.end(), p.aliases.begin(), p.aliases.end());
    }
    t->locals = locals;
    for (size_t i = 0; i < c.rules.size(); i++) {
        const Rule &r = c.rules[i];
        RelayRange range;
        range.rule = static_cast<uint16_t>(i);
        range.lo = r.match.dport.value->lo;
        range.hi = r.match.dport.value->hi;
        range.address = r.match.dst.present() ? r.match.dst.value->addr : 0;
        t->add_range(range);
    }
    return t;
}

const Tables &tables()
{
    static const std::unique_ptr<Tables> t = relay_tables();
    return *t;
}

void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_telemetry: %s\n", what);
        std::abort();
    }
}

// An entry found for "PORT" or "ADDR:PORT" is one of the table's, for that port.
void check_entry(const Tables &t, uint32_t e, const std::string &spec)
{
    if (e == no_relay)
        return;
    check(e < t.relay_entries, "an entry past the table");
    const std::string port = spec.substr(spec.rfind(':') + 1);
    check(std::strtoul(port.c_str(), nullptr, 10) == t.entry_port(e), "an entry for another port");
    check(t.range_entry(t.entry_address(e), t.entry_port(e)) == e, "an entry that does not round-trip");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const Tables &t = tables();
    const std::string text(reinterpret_cast<const char *>(data + 1), size - 1);
    const char *params = (data[0] & 0x80) ? nullptr : text.c_str(); // telemetry passes null too
    std::string err;
    switch (data[0] & 7) {
    case 0: {
        const uint32_t e = port_params(t, params, err);
        check_entry(t, e, params ? params : "");
        check(e != no_relay || !err.empty(), "no entry and no message");
        break;
    }
    case 1: {
        uint32_t e = no_relay;
        uint8_t v = 0xff;
        if (set_params(t, params, e, v, err)) {
            check_entry(t, e, split_port_value(params)->port);
            check(v <= state::all, "a state value past 15");
        } else {
            check(!err.empty(), "refused without a message");
        }
        break;
    }
    case 2:
    case 3: {
        const size_t max = (data[0] & 7) == 2 ? t.relay_entries : 7;
        uint32_t start = ~0u;
        if (page_start(params, max, start))
            check(start <= max, "a page start past the end");
        break;
    }
    case 4: {
        uint32_t e = no_relay, n = ~0u;
        if (port_number_params(t, params, 86400, "usage", e, n, err)) {
            check_entry(t, e, split_port_value(params)->port);
            check(n <= 86400, "a number past its maximum");
        } else {
            check(!err.empty(), "refused without a message");
        }
        break;
    }
    case 5: {
        if (auto v = parse_state_value(text)) {
            check(*v <= state::all, "a state value past 15");
            check(parse_state_value(std::to_string(*v)) == v, "a state value that does not round-trip");
        }
        break;
    }
    default: {
        if (auto v = parse_decimal(text, 65535))
            check(*v <= 65535 && std::to_string(*v).size() <= text.size(), "a decimal past its maximum");
        break;
    }
    }
    return 0;
}
