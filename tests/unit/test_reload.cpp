// What a reload carries over (relay ranges and rule counters) and the state
// file: round trip and every way a file can be wrong. Tables are built by
// hand here (build_tables needs EAL for its classifiers); what a reload and a
// restart do with them end to end is tests/e2e/live_e2e.sh's part.
#include "config.hpp"
#include "reload.hpp"
#include "state_file.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace relay;

namespace {

Ipv4 ip(const char *s) { return *parse_ipv4(s); }

// A box with port "lan" (id 0) at 10.0.0.1/24 and alias 10.0.0.2, and the
// given relay ranges: {address or 0, lo, hi}.
struct Range {
    const char *address;
    uint16_t lo, hi;
};
Tables box(std::initializer_list<Range> ranges)
{
    Tables t;
    PortTable &lan = t.ports[0];
    lan.name = "lan";
    lan.address = ip("10.0.0.1");
    lan.aliases = {ip("10.0.0.2")};
    lan.subnet = *parse_prefix("10.0.0.0/24");
    t.port_ids = {0};
    t.locals = {ip("10.0.0.1"), ip("10.0.0.2")};
    for (const Range &r : ranges) {
        RelayRange rr;
        rr.lo = r.lo;
        rr.hi = r.hi;
        rr.address = r.address ? ip(r.address) : 0;
        rr.rule = static_cast<uint16_t>(t.ranges.size());
        t.add_range(rr);
    }
    return t;
}

Endpoint ep(const char *addr, uint16_t port, uint16_t local)
{
    Endpoint e;
    e.addr = ip(addr);
    e.port = port;
    e.ifport = 0;
    e.mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(port)};
    e.local = local;
    return e;
}

const char *two_ports = "ports:\n"
                        "  - { name: lan, device: d0, address: 10.0.0.1/24 }\n"
                        "  - { name: wan, device: d1, address: 203.0.113.2/24 }\n";

} // namespace

TEST_CASE("reload: relay ports that stay keep their entries, by address and port")
{
    const Tables running = box({{nullptr, 3000, 3099}, {"10.0.0.2", 4000, 4009}});
    SECTION("the same ranges") {
        const auto kept = surviving_entries(running, running);
        REQUIRE(kept.size() == 110);
        for (const SurvivingEntry &k : kept)
            CHECK(k.from == k.to);
    }
    SECTION("ranges moved, shrunk, grown, removed and added") {
        // 4000-4009 on 10.0.0.2 comes first now and grows to 4019; 3000-3099
        // shrinks to 3050-3149; 5000 is new.
        const Tables next = box({{"10.0.0.2", 4000, 4019}, {nullptr, 3050, 3149}, {nullptr, 5000, 5000}});
        const auto kept = surviving_entries(running, next);
        REQUIRE(kept.size() == 10 + 50);
        for (const SurvivingEntry &k : kept) {
            CHECK(running.entry_port(k.from) == next.entry_port(k.to));
            CHECK(running.entry_address(k.from) == next.entry_address(k.to));
        }
        CHECK(kept.front().to == 0);                               // 10.0.0.2:4000
        CHECK(kept.front().from == running.range_entry(ip("10.0.0.2"), 4000));
        CHECK(next.range_entry(0, 3049) == no_relay);
    }
    SECTION("a port that moves to another address is a new port") {
        const Tables next = box({{"10.0.0.1", 3000, 3099}, {nullptr, 4000, 4009}});
        CHECK(surviving_entries(running, next).empty());
    }
}

TEST_CASE("reload: rule hit counters follow the rule's text")
{
    const Config running = parse_config(std::string(two_ports) +
                                            "rules:\n"
                                            "  - \"-A PREROUTING -d 203.0.113.9 -j DEST --to=10.0.0.9\"\n"
                                            "  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n"
                                            "  - \"-A PREROUTING -d 203.0.113.9 -j DEST --to=10.0.0.9\"\n",
                                        "a.yaml");
    const Config next = parse_config(std::string(two_ports) +
                                         "rules:\n"
                                         "  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n"
                                         "  - { hook: prerouting, match: { dst: 203.0.113.9 }, "
                                         "target: DEST, to: 10.0.0.9 }\n"
                                         "  - \"-A PREROUTING -p udp --dport 4000:4099 -j RELAY\"\n"
                                         "  - \"-A PREROUTING -d 203.0.113.9 -j DEST --to=10.0.0.9\"\n"
                                         "  - \"-A PREROUTING -d 203.0.113.9 -j DEST --to=10.0.0.9\"\n",
                                     "b.yaml");
    // The mapping form is the same rule; a repeated rule pairs in order.
    CHECK(surviving_rules(running, next) == std::vector<int>{1, 0, -1, 2, -1});
}

TEST_CASE("reload: what only a restart can change is refused")
{
    const std::string rules = "rules:\n  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n";
    const Config running = parse_config(std::string(two_ports) + rules, "a.yaml");
    auto refusal = [&](const std::string &text) {
        return reload_refusal(running, parse_config(text, "b.yaml"));
    };
    CHECK(refusal(std::string(two_ports) + "rules:\n"
                                           "  - \"-A PREROUTING -p udp --dport 4000:4099 -j RELAY\"\n"
                                           "routes:\n  - { prefix: 192.168.0.0/16, via: 10.0.0.254 }\n"
                                           "relay: { initial_state: enabled, idle_timeout: 30 }\n")
              .empty());
    CHECK(refusal("ports:\n  - { name: lan, device: d0, address: 10.0.0.1/24 }\n" + rules) ==
          "ports: the number of ports changed: a restart applies that, a reload cannot");
    CHECK(refusal("ports:\n"
                  "  - { name: lan, device: d0, address: 10.0.0.1/24 }\n"
                  "  - { name: wan, device: d1, address: 203.0.113.3/24 }\n" +
                  rules) == "b.yaml:3:5: ports[1]: the port's name, device, addresses or MTU "
                            "changed: a restart applies that, a reload cannot");
    CHECK(refusal(std::string(two_ports) + "buffer_size: 4096\n") ==
          "buffer_size changed: a restart applies that, a reload cannot");
    CHECK(refusal(std::string(two_ports) +
                  "neighbours:\n  - { address: 10.0.0.9, mac: \"02:00:00:00:00:09\" }\n") ==
          "neighbours changed: a restart applies that, a reload cannot");
}

TEST_CASE("state file: what state_json writes, parse_state reads back")
{
    const Tables t = box({{nullptr, 3000, 3009}, {"10.0.0.2", 4000, 4000}});
    RelayTable relay(t.relay_entries, state::disable);
    const Endpoint a = ep("10.0.0.50", 40001, 1), b = ep("198.51.100.7", 40002, 0);
    const uint32_t e3005 = t.range_entry(0, 3005), e4000 = t.range_entry(ip("10.0.0.2"), 4000);
    relay.write_state(t.range_entry(0, 3001), state::set0);
    relay.write_state(e3005, state::set0);
    relay.learn(e3005, a, 10);
    relay.learn(e3005, b, 11);
    relay.learn(e3005, a, 12); // SET2, both active
    relay.write_state(e4000, state::set0);
    relay.learn(e4000, ep("10.0.0.60", 5060, 1), 13);

    const std::string text = state_json(t, relay, state::disable);
    const RestoredState r = parse_state(text, t);
    CHECK(r.not_relay_ports == 0);
    REQUIRE(r.ports.size() == 3); // the others are in the initial state
    RelayTable back(t.relay_entries, state::disable);
    for (const RestoredPort &p : r.ports)
        back.restore(p.entry, p.snapshot);
    for (uint32_t e = 0; e < t.relay_entries; e++) {
        INFO("entry " << e);
        const RelaySnapshot x = relay.read(e), y = back.read(e);
        CHECK(x.state == y.state);
        CHECK(x.a == y.a);
        CHECK(x.b == y.b);
    }
    CHECK(back.read(e3005).state == state::all);

    SECTION("written atomically, replacing the old file") {
        char dir[] = "/tmp/relay-state-XXXXXX";
        REQUIRE(mkdtemp(dir) != nullptr);
        const std::string path = std::string(dir) + "/state.json";
        write_file_atomically(path, "old");
        write_file_atomically(path, text);
        std::ifstream in(path);
        std::stringstream got;
        got << in.rdbuf();
        CHECK(got.str() == text);
        CHECK(access((path + ".tmp").c_str(), F_OK) != 0);
        std::remove(path.c_str());
        rmdir(dir);
        CHECK_THROWS_WITH(write_file_atomically("/nonexistent-dir/state.json", text),
                          Catch::StartsWith("cannot create /nonexistent-dir/state.json.tmp: "));
    }
    SECTION("saved ports the config no longer has are skipped and counted") {
        const Tables fewer = box({{nullptr, 3000, 3002}});
        const RestoredState f = parse_state(text, fewer);
        CHECK(f.ports.size() == 1);
        CHECK(f.not_relay_ports == 2);
    }
}

TEST_CASE("state file: every corruption is refused with the reason")
{
    const Tables t = box({{nullptr, 3000, 3009}, {"10.0.0.2", 4000, 4000}});
    const std::string head = R"({"format": "dpdk-relay state", "version": 1, "ports": [)";
    const std::string a = R"({"addr": "10.0.0.50", "port": 40001, "mac": "02:00:00:00:00:01", "ifport": "lan", "local": "10.0.0.1"})";
    const std::string b = R"({"addr": "10.0.0.51", "port": 40002, "mac": "02:00:00:00:00:02", "ifport": "lan", "local": "10.0.0.1"})";
    auto port = [](const std::string &fields) { return "{" + fields + "}"; };
    const std::string good = head + port(R"("address": "*", "port": 3000, "state": 15, "a": )" + a + ", \"b\": " + b) + "]}";
    REQUIRE(parse_state(good, t).ports.size() == 1);

    auto with_a = [&](const std::string &from, const std::string &to) {
        std::string s = a;
        s.replace(s.find(from), from.size(), to);
        return head + port(R"("address": "*", "port": 3000, "state": 3, "a": )" + s + ", \"b\": " + b) + "]}";
    };
    struct Bad {
        std::string text, why;
    };
    const std::vector<Bad> cases = {
        {good.substr(0, good.size() / 2), "not JSON (a truncated or foreign file): "},
        {"", "not JSON (a truncated or foreign file): "},
        {"[1, 2]", "not a dpdk-relay state file (no \"format\": \"dpdk-relay state\")"},
        {R"({"format": "something else", "version": 1, "ports": []})",
         "not a dpdk-relay state file (no \"format\": \"dpdk-relay state\")"},
        {R"({"format": "dpdk-relay state", "version": 2, "ports": []})",
         "version 2 is not the one this dpdk-relay reads (1)"},
        {R"({"format": "dpdk-relay state", "version": 1})", "state file: \"ports\" is missing"},
        {R"({"format": "dpdk-relay state", "version": 1, "ports": {}})", "ports: is not a list"},
        {head + "3]}", "ports[0]: is not an object"},
        {head + port(R"("address": "*", "state": 1)") + "]}", "ports[0]: \"port\" is missing"},
        {head + port(R"("address": "*", "port": 70000, "state": 1)") + "]}",
         "ports[0].port: is not a whole number from 0 to 65535"},
        {head + port(R"("address": "*", "port": -3, "state": 1)") + "]}",
         "ports[0].port: is not a whole number from 0 to 65535"},
        {head + port(R"("address": "ten", "port": 3000, "state": 1)") + "]}",
         "ports[0].address: \"ten\" is neither \"*\" nor an IPv4 address"},
        {head + port(R"("address": "*", "port": 3000, "state": 16)") + "]}",
         "ports[0].state: is not a whole number from 0 to 15"},
        {head + port(R"("address": "*", "port": 3000, "state": "1")") + "]}",
         "ports[0].state: is not a whole number from 0 to 15"},
        {head + port(R"("address": "*", "port": 3000, "state": 4)") + "]}",
         "ports[0].state: 4 is not a state a port can be in"},
        {head + port(R"("address": "*", "port": 3000, "state": 10)") + "]}",
         "ports[0].state: 10 is not a state a port can be in"},
        {head + port(R"("address": "*", "port": 3000, "state": 2)") + "]}",
         "ports[0]: state 2 needs endpoint a"},
        {head + port(R"("address": "*", "port": 3000, "state": 1, "a": )" + a) + "]}",
         "ports[0]: state 1 has no endpoint a"},
        {head + port(R"("address": "*", "port": 3000, "state": 2, "a": )" + a + ", \"b\": " + b) + "]}",
         "ports[0]: state 2 has no endpoint b"},
        {head + port(R"("address": "*", "port": 3000, "state": 1)") + ", " +
             port(R"("address": "*", "port": 3000, "state": 0)") + "]}",
         "ports[1]: *:3000 appears twice"},
        {with_a("10.0.0.50", "10.0.0.256"), "ports[0].a.addr: \"10.0.0.256\" is not an IPv4 address"},
        {with_a("10.0.0.50", "127.0.0.1"),
         "ports[0].a.addr: 127.0.0.1 is never a relay endpoint (martian, broadcast or the box's own)"},
        {with_a("10.0.0.50", "10.0.0.2"),
         "ports[0].a.addr: 10.0.0.2 is never a relay endpoint (martian, broadcast or the box's own)"},
        {with_a("10.0.0.50", "10.0.0.255"),
         "ports[0].a.addr: 10.0.0.255 is never a relay endpoint (martian, broadcast or the box's own)"},
        {with_a("40001", "0"), "ports[0].a.port: 0 is never a relay endpoint's port"},
        {with_a("\"02:00:00:00:00:01\"", "\"01:00:5e:00:00:01\""),
         "ports[0].a.mac: \"01:00:5e:00:00:01\" is not a unicast MAC address"},
        {with_a("\"02:00:00:00:00:01\"", "\"02:00\""), "ports[0].a.mac: \"02:00\" is not a unicast MAC address"},
        {with_a("\"lan\"", "\"wan\""), "ports[0].a.ifport: \"wan\" is not a port of this config"},
        {with_a("\"lan\"", "0"), "ports[0].a.ifport: is not a string"},
        {with_a("\"10.0.0.1\"", "\"10.0.0.9\""),
         "ports[0].a.local: \"10.0.0.9\" is not an address this relay port is on"},
        {with_a(", \"local\": \"10.0.0.1\"", ""), "ports[0].a: \"local\" is missing"},
        {head + port(R"("address": "10.0.0.2", "port": 4000, "state": 2, "a": )" + a) + "]}",
         "ports[0].a.local: \"10.0.0.1\" is not an address this relay port is on"},
    };
    for (const Bad &c : cases) {
        INFO(c.text);
        CHECK_THROWS_WITH(parse_state(c.text, t), Catch::StartsWith(c.why));
    }
}
