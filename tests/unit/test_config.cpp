// The config loader and the iptables rule parser: every error names file,
// line, column and key exactly; both rule spellings mean the same Rule.
// Runs from tests/unit (see meson.build), so config/ is at ../../config.
#include "config.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <vector>

using namespace relay;

namespace {

std::string error_of(const std::string &yaml)
{
    try {
        parse_config(yaml, "relay.yaml");
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "(no error)";
}

std::string rule_error(const std::string &text)
{
    try {
        parse_iptables_rule(text, SourceMark{"relay.yaml", 9, 5}, "rules[1]");
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "(no error)";
}

template <typename T> bool same(const MatchField<T> &a, const MatchField<T> &b)
{
    return a.value == b.value && a.negate == b.negate;
}

// Everything but the mark, which says where each spelling stood.
bool same_rule(const Rule &a, const Rule &b)
{
    const Match &x = a.match, &y = b.match;
    return a.hook == b.hook && a.target == b.target && a.to == b.to && a.text == b.text &&
           same(x.in_port, y.in_port) && same(x.out_port, y.out_port) &&
           same(x.proto, y.proto) && same(x.src, y.src) && same(x.dst, y.dst) &&
           same(x.sport, y.sport) && same(x.dport, y.dport);
}

Ipv4 ip(const char *s)
{
    return *parse_ipv4(s);
}

Prefix pfx(const char *s)
{
    return *parse_prefix(s);
}

// Lines 1-3; a test's own lines start at line 4.
const std::string two_ports = R"(ports:
  - { name: lan, device: net_af_packet0, address: 10.0.0.1/24, gateway: 10.0.0.254 }
  - { name: wan, device: net_af_packet1, address: 203.0.113.2/24 }
)";

struct BadConfig {
    const char *name;
    std::string yaml;
    const char *error;
};

} // namespace

TEST_CASE("bad configs name file, line, column and key")
{
    const std::vector<BadConfig> cases = {
        {"empty file", "", "relay.yaml:1:1: required key \"ports\" is missing"},
        {"YAML syntax", "ports: [ { name: lan }\n",
         "relay.yaml:2:1: bad YAML: end of sequence flow not found"},
        {"second document", two_ports + "---\nrules: []\n",
         "relay.yaml:5:1: this is a second YAML document (after \"---\"); the config is one "
         "document"},
        // yaml-cpp's LoadAll never returns on this; the loader must not hang.
        {"stray comma", ",\n" + two_ports, "relay.yaml:1:1: bad YAML: unexpected \",\""},
        {"stray comma after a document end", two_ports + "...\n,\n",
         "relay.yaml:5:1: bad YAML: unexpected \",\""},
        {"unknown top-level key", two_ports + "rulez: []\n",
         "relay.yaml:4:1: unknown key \"rulez\" (expected ports, neighbours, routes, rules, "
         "relay, buffer_size)"},
        {"key given twice", two_ports + "rules: []\nrules: []\n",
         "relay.yaml:5:1: key \"rules\" given twice"},
        {"ports is a mapping", "ports:\n  name: lan\n",
         "relay.yaml:2:3: ports: must be a list, not a mapping"},
        {"ports is empty", "ports: []\n", "relay.yaml:1:8: ports: needs at least one port"},
        {"unknown port key", "ports:\n  - name: lan\n    device: d\n    adress: 10.0.0.1/24\n",
         "relay.yaml:4:5: ports[0]: unknown key \"adress\" (expected name, device, address, "
         "gateway, mtu, aliases)"},
        {"alias is the port's address",
         "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, aliases: [10.0.0.2, 10.0.0.1] }\n",
         "relay.yaml:2:71: ports[0].aliases[1]: 10.0.0.1 is already an address of this port"},
        {"alias given twice",
         "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, aliases: [10.0.0.2, 10.0.0.2] }\n",
         "relay.yaml:2:71: ports[0].aliases[1]: 10.0.0.2 is already an address of this port"},
        {"alias of another port", two_ports.substr(0, two_ports.rfind("}")) + ", aliases: [10.0.0.1] }\n",
         "relay.yaml:3:78: ports[1].aliases[0]: 10.0.0.1 is already an address of ports[0]"},
        {"alias is the subnet's broadcast address",
         "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, aliases: [10.0.0.255] }\n",
         "relay.yaml:2:61: ports[0].aliases[0]: 10.0.0.255 is the broadcast address of "
         "10.0.0.0/24, not a host address"},
        {"alias is loopback",
         "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, aliases: [127.0.0.1] }\n",
         "relay.yaml:2:61: ports[0].aliases[0]: \"127.0.0.1\" is not a usable address (zero, "
         "loopback, multicast or reserved)"},
        {"MTU below 576", "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, mtu: 500 }\n",
         "relay.yaml:2:56: ports[0].mtu: \"500\" is not an MTU in bytes (576-9216)"},
        {"MTU not a number", "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, mtu: 1.5k }\n",
         "relay.yaml:2:56: ports[0].mtu: \"1.5k\" is not an MTU in bytes"},
        {"buffer size too small", two_ports + "buffer_size: 1500\n",
         "relay.yaml:4:14: buffer_size: \"1500\" is not a buffer size in bytes (2048-65280)"},
        {"buffer size too large", two_ports + "buffer_size: 65536\n",
         "relay.yaml:4:14: buffer_size: \"65536\" is not a buffer size in bytes (2048-65280)"},
        {"missing address", "ports:\n  - name: lan\n    device: d\n",
         "relay.yaml:2:5: ports[0]: required key \"address\" is missing"},
        {"empty device", "ports:\n  - name: lan\n    device:\n    address: 10.0.0.1/24\n",
         "relay.yaml:3:5: ports[0].device: has no value"},
        {"device is a list", "ports:\n  - { name: lan, device: [a, b], address: 10.0.0.1/24 }\n",
         "relay.yaml:2:26: ports[0].device: must be a single value, not a list"},
        {"port name with a space",
         "ports:\n  - { name: \"my lan\", device: d, address: 10.0.0.1/24 }\n",
         "relay.yaml:2:13: ports[0].name: \"my lan\" is not a port name (letters, digits, \"_\", "
         "\"-\" and \".\"; not starting with \"-\")"},
        {"address without length", "ports:\n  - { name: lan, device: d, address: 10.0.0.1 }\n",
         "relay.yaml:2:38: ports[0].address: \"10.0.0.1\" needs a prefix length (A.B.C.D/LEN: "
         "the box address and its connected subnet)"},
        {"bad address", "ports:\n  - { name: lan, device: d, address: 10.0.0.300/24 }\n",
         "relay.yaml:2:38: ports[0].address: \"10.0.0.300/24\" is not an address with a prefix "
         "length (A.B.C.D/LEN)"},
        {"loopback address", "ports:\n  - { name: lan, device: d, address: 127.0.0.1/8 }\n",
         "relay.yaml:2:38: ports[0].address: \"127.0.0.1\" is not a usable address (zero, "
         "loopback, multicast or reserved)"},
        {"network address", "ports:\n  - { name: lan, device: d, address: 10.0.0.0/24 }\n",
         "relay.yaml:2:38: ports[0].address: \"10.0.0.0/24\" is the network address of "
         "10.0.0.0/24, not a host address"},
        {"gateway outside the subnet",
         "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, gateway: 10.0.1.254 }\n",
         "relay.yaml:2:60: ports[0].gateway: 10.0.1.254 is not in the port's subnet "
         "10.0.0.0/24"},
        {"duplicate port name",
         "ports:\n  - { name: lan, device: d0, address: 10.0.0.1/24 }\n"
         "  - { name: lan, device: d1, address: 10.0.1.1/24 }\n",
         "relay.yaml:3:13: ports[1].name: \"lan\" is already the name of ports[0]"},
        {"duplicate device",
         "ports:\n  - { name: lan, device: d0, address: 10.0.0.1/24 }\n"
         "  - { name: wan, device: d0, address: 10.0.1.1/24 }\n",
         "relay.yaml:3:26: ports[1].device: \"d0\" is already the device of ports[0]"},
        {"second gateway",
         two_ports.substr(0, two_ports.size() - 3) + ", gateway: 203.0.113.1 }\n",
         "relay.yaml:3:76: ports[1].gateway: only one port may have a gateway (it is the "
         "default route), and ports[0] has one"},
        {"neighbour with a bad MAC",
         two_ports + "neighbours:\n  - { address: 10.0.0.254, mac: \"02:00:00:00:fe\" }\n",
         "relay.yaml:5:33: neighbours[0].mac: \"02:00:00:00:fe\" is not a MAC address "
         "(xx:xx:xx:xx:xx:xx)"},
        {"neighbour with a multicast MAC",
         two_ports + "neighbours:\n  - { address: 10.0.0.254, mac: \"01:00:5e:00:00:01\" }\n",
         "relay.yaml:5:33: neighbours[0].mac: \"01:00:5e:00:00:01\" is not a unicast MAC "
         "address"},
        {"neighbour off every subnet",
         two_ports + "neighbours:\n  - { address: 10.9.0.1, mac: \"02:00:00:00:00:fe\" }\n",
         "relay.yaml:5:16: neighbours[0].address: 10.9.0.1 is not in the subnet of any port"},
        {"route via an unconnected next hop",
         two_ports + "routes:\n  - { prefix: 192.168.0.0/16, via: 10.9.0.1 }\n",
         "relay.yaml:5:36: routes[0].via: 10.9.0.1 is not in the subnet of any port"},
        {"route via the box itself",
         two_ports + "routes:\n  - { prefix: 192.168.0.0/16, via: 10.0.0.1 }\n",
         "relay.yaml:5:36: routes[0].via: 10.0.0.1 is an address of port \"lan\""},
        {"route prefix with host bits",
         two_ports + "routes:\n  - { prefix: 192.168.1.0/16, via: 10.0.0.254 }\n",
         "relay.yaml:5:15: routes[0].prefix: \"192.168.1.0/16\" has host bits set (the prefix "
         "is 192.168.0.0/16)"},
        {"second default route",
         two_ports + "routes:\n  - { prefix: 0.0.0.0/0, via: 10.0.0.253 }\n",
         "relay.yaml:5:15: routes[0].prefix: 0.0.0.0/0 is the default route, which "
         "ports[0].gateway already sets"},
        {"the SPEC's example: a port that is not one",
         two_ports + "rules:\n  - { hook: prerouting, match: { proto: udp, dport: 70000 }, "
                     "target: RELAY }\n",
         "relay.yaml:5:53: rules[0].match.dport: \"70000\" is not a port or range (0-65535)"},
        {"range upside down",
         two_ports +
             "rules:\n  - { hook: prerouting, match: { dport: 4000-3000 }, target: RELAY }\n",
         "relay.yaml:5:41: rules[0].match.dport: \"4000-3000\" is not a port or range (0-65535)"},
        {"iptables range in the mapping form",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: \"3000:4000\" }, target: "
                     "RELAY }\n",
         "relay.yaml:5:41: rules[0].match.dport: \"3000:4000\" is not a port or range "
         "(0-65535)"},
        {"rule is a list", two_ports + "rules:\n  - [prerouting, RELAY]\n",
         "relay.yaml:5:5: rules[0]: must be a rule (a mapping or an iptables string), not a "
         "list"},
        {"match is a list",
         two_ports + "rules:\n  - hook: prerouting\n    match: [udp]\n    target: RELAY\n",
         "relay.yaml:6:12: rules[0].match: must be a mapping, not a list"},
        {"unknown match key",
         two_ports + "rules:\n  - hook: prerouting\n    match:\n      port: 3000\n"
                     "    target: RELAY\n",
         "relay.yaml:7:7: rules[0].match: unknown key \"port\" (expected in_port, out_port, "
         "proto, src, dst, sport, dport)"},
        {"missing hook", two_ports + "rules:\n  - { match: { dport: 3000 }, target: RELAY }\n",
         "relay.yaml:5:5: rules[0]: required key \"hook\" is missing"},
        {"bad hook",
         two_ports + "rules:\n  - { hook: forward, match: { dport: 3000 }, target: RELAY }\n",
         "relay.yaml:5:13: rules[0].hook: \"forward\" is not a hook (prerouting or postrouting)"},
        {"bad target",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: 3000 }, target: DNAT }\n",
         "relay.yaml:5:57: rules[0].target: \"DNAT\" is not a target (RELAY, DEST or SOURCE)"},
        {"bad protocol",
         two_ports + "rules:\n  - { hook: prerouting, match: { proto: sctp }, target: DEST, to: "
                     "10.0.0.5 }\n",
         "relay.yaml:5:41: rules[0].match.proto: \"sctp\" is not a protocol (udp, tcp, icmp or a "
         "number 1-255)"},
        {"unquoted negation is a YAML tag",
         two_ports + "rules:\n  - hook: prerouting\n    match:\n      src: ! 10.0.0.0/8\n"
                     "    target: DEST\n    to: 10.0.0.5\n",
         "relay.yaml:7:12: rules[0].match.src: an unquoted \"!\" starts a YAML tag; to negate, "
         "quote the value: \"! 10.0.0.0/8\""},
        {"negation without a value",
         two_ports + "rules:\n  - { hook: prerouting, match: { src: \"! \" }, target: DEST, to: "
                     "10.0.0.5 }\n",
         "relay.yaml:5:39: rules[0].match.src: \"!\" needs a value after it"},
        {"unknown in_port",
         two_ports + "rules:\n  - { hook: prerouting, match: { in_port: dmz, dport: 3000 }, "
                     "target: RELAY }\n",
         "relay.yaml:5:43: rules[0].match.in_port: \"dmz\" is not the name of a port"},
        {"unknown -i", two_ports + "rules:\n  - \"-A PREROUTING -i dmz --dport 3000 -j RELAY\"\n",
         "relay.yaml:5:5: rules[0]: -i: \"dmz\" is not the name of a port in \"-A PREROUTING -i "
         "dmz --dport 3000 -j RELAY\""},
        {"unknown -o",
         two_ports + "rules:\n  - \"-A POSTROUTING -o dmz -j SOURCE --to 203.0.113.2\"\n",
         "relay.yaml:5:5: rules[0]: -o: \"dmz\" is not the name of a port in \"-A POSTROUTING -o "
         "dmz -j SOURCE --to 203.0.113.2\""},
        {"out_port on prerouting",
         two_ports + "rules:\n  - { hook: prerouting, match: { out_port: wan }, target: DEST, to: "
                     "10.0.0.5 }\n",
         "relay.yaml:5:44: rules[0].match.out_port: out_port only works in postrouting (routing "
         "chooses the out port)"},
        {"sport without a protocol",
         two_ports + "rules:\n  - { hook: prerouting, match: { sport: 53 }, target: DEST, to: "
                     "10.0.0.5 }\n",
         "relay.yaml:5:41: rules[0].match.sport: sport needs proto udp or tcp"},
        {"dport with icmp",
         two_ports + "rules:\n  - { hook: prerouting, match: { proto: icmp, dport: 53 }, target: "
                     "DEST, to: 10.0.0.5 }\n",
         "relay.yaml:5:54: rules[0].match.dport: dport needs proto udp or tcp"},
        {"DEST without to", two_ports + "rules:\n  - { hook: prerouting, target: DEST }\n",
         "relay.yaml:5:5: rules[0].to: DEST needs \"to\" (the new destination address)"},
        {"SOURCE without to", two_ports + "rules:\n  - \"-A POSTROUTING -j SOURCE\"\n",
         "relay.yaml:5:5: rules[0]: -j SOURCE needs --to=ADDR (the new source address) in \"-A "
         "POSTROUTING -j SOURCE\""},
        {"RELAY with to",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: 3000 }, target: RELAY, to: "
                     "10.0.0.5 }\n",
         "relay.yaml:5:68: rules[0].to: RELAY takes no \"to\""},
        {"RELAY on postrouting",
         two_ports + "rules:\n  - { hook: postrouting, match: { dport: 3000 }, target: RELAY }\n",
         "relay.yaml:5:58: rules[0].target: RELAY only works in prerouting"},
        {"SOURCE on prerouting",
         two_ports + "rules:\n  - { hook: prerouting, target: SOURCE, to: 203.0.113.2 }\n",
         "relay.yaml:5:33: rules[0].target: SOURCE only works in postrouting"},
        {"DEST on postrouting",
         two_ports + "rules:\n  - \"-A POSTROUTING -d 203.0.113.2 -j DEST --to=10.0.0.5\"\n",
         "relay.yaml:5:5: rules[0]: -j DEST only works in PREROUTING in \"-A POSTROUTING -d "
         "203.0.113.2 -j DEST --to=10.0.0.5\""},
        {"RELAY for tcp",
         two_ports + "rules:\n  - { hook: prerouting, match: { proto: tcp, dport: 3000 }, "
                     "target: RELAY }\n",
         "relay.yaml:5:41: rules[0].match.proto: RELAY relays udp only (use proto: udp or leave "
         "it out)"},
        {"RELAY without dport",
         two_ports + "rules:\n  - { hook: prerouting, match: { proto: udp }, target: RELAY }\n",
         "relay.yaml:5:32: rules[0].match.dport: RELAY needs dport (the range of relay ports)"},
        {"RELAY on a prefix",
         two_ports + "rules:\n  - { hook: prerouting, match: { dst: 10.0.0.0/24, dport: 3000 }, "
                     "target: RELAY }\n",
         "relay.yaml:5:39: rules[0].match.dst: RELAY needs dst to be one address of the box, not "
         "the prefix 10.0.0.0/24"},
        {"RELAY on a foreign address",
         two_ports + "rules:\n  - { hook: prerouting, match: { dst: 10.0.0.9, dport: 3000 }, "
                     "target: RELAY }\n",
         "relay.yaml:5:39: rules[0].match.dst: 10.0.0.9 is not the address of a port (RELAY "
         "relays on the box's own addresses)"},
        {"RELAY with negated dport",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: \"! 3000\" }, target: "
                     "RELAY }\n",
         "relay.yaml:5:41: rules[0].match.dport: RELAY cannot negate dport"},
        {"RELAY with negated dst",
         two_ports + "rules:\n  - \"-A PREROUTING ! -d 10.0.0.1 --dport 3000 -j RELAY\"\n",
         "relay.yaml:5:5: rules[0]: -j RELAY cannot negate -d in \"-A PREROUTING ! -d 10.0.0.1 "
         "--dport 3000 -j RELAY\""},
        {"overlapping relay ranges on one address",
         two_ports + "rules:\n"
                     "  - { hook: prerouting, match: { dst: 10.0.0.1, dport: 3000-3099 }, "
                     "target: RELAY }\n"
                     "  - { hook: prerouting, match: { dst: 10.0.0.1, dport: 3050-3100 }, "
                     "target: RELAY }\n",
         "relay.yaml:6:56: rules[1].match.dport: relay ports 3050-3100 on 10.0.0.1 overlap "
         "rules[0] (relay ports 3000-3099 on 10.0.0.1)"},
        {"a relay range without dst overlaps every address",
         two_ports + "rules:\n"
                     "  - { hook: prerouting, match: { dst: 203.0.113.2, dport: 3099 }, "
                     "target: RELAY }\n"
                     "  - \"-A PREROUTING --dport 3000:3099 -j RELAY\"\n",
         "relay.yaml:6:5: rules[1]: --dport: relay ports 3000-3099 on every port address overlap "
         "rules[0] (relay ports 3099 on 203.0.113.2) in \"-A PREROUTING --dport 3000:3099 -j "
         "RELAY\""},
        {"a relay range names the earliest range it collides with",
         two_ports + "rules:\n"
                     "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 100:199 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp --dport 300:399 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp -d 203.0.113.2 --dport 150:160 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp --dport 155:158 -j RELAY\"\n",
         "relay.yaml:8:5: rules[3]: --dport: relay ports 155-158 on every port address overlap "
         "rules[0] (relay ports 100-199 on 10.0.0.1) in \"-A PREROUTING -p udp --dport 155:158 "
         "-j RELAY\""},
        {"the same relay ports on two addresses, then on one of them and every address",
         two_ports + "rules:\n"
                     "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 100:199 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp -d 203.0.113.2 --dport 100:199 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp --dport 300:399 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp -d 203.0.113.2 --dport 398:400 -j RELAY\"\n",
         "relay.yaml:8:5: rules[3]: --dport: relay ports 398-400 on 203.0.113.2 overlap "
         "rules[2] (relay ports 300-399 on every port address) in \"-A PREROUTING -p udp -d "
         "203.0.113.2 --dport 398:400 -j RELAY\""},
        {"typo in an iptables rule",
         two_ports + "rules:\n  - \"-A PREROUTING -p udp --dport 3000 -j RELAY\"\n"
                     "  - \"-A PREROUTING -p udp --dprt 4000 -j RELAY\"\n",
         "relay.yaml:6:5: rules[1]: unknown option \"--dprt\" in \"-A PREROUTING -p udp --dprt "
         "4000 -j RELAY\""},
        {"relay is a list", two_ports + "relay: [reset]\n",
         "relay.yaml:4:8: relay: must be a mapping, not a list"},
        {"bad initial state", two_ports + "relay:\n  initial_state: on\n",
         "relay.yaml:5:18: relay.initial_state: \"on\" is not a state (disabled or enabled)"},
        {"bad learning mode", two_ports + "relay:\n  learning: sticky\n",
         "relay.yaml:5:13: relay.learning: \"sticky\" is not a learning mode (reset, strict or "
         "probation)"},
        {"a learning mode on a DEST rule",
         two_ports + "rules:\n  - { hook: prerouting, match: { dst: 203.0.113.9 }, target: DEST, "
                     "to: 10.0.0.9, learning: strict }\n",
         "relay.yaml:5:92: rules[0].learning: only a RELAY rule has learning"},
        {"a bad learning mode on a rule",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: 3000 }, target: RELAY, "
                     "learning: lax }\n",
         "relay.yaml:5:74: rules[0].learning: \"lax\" is not a learning mode (reset, strict or "
         "probation)"},
        {"an empty allow list", two_ports + "relay: { allow: [] }\n",
         "relay.yaml:4:17: relay.allow: must list at least one prefix (leave allow out to learn "
         "any source)"},
        {"a bad allow prefix",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: 3000 }, target: RELAY, "
                     "allow: [10.0.0.0/33] }\n",
         "relay.yaml:5:72: rules[0].allow[0]: \"10.0.0.0/33\" is not an IPv4 address or prefix"},
        {"one probation packet", two_ports + "relay: { probation_packets: 1 }\n",
         "relay.yaml:4:29: relay.probation_packets: \"1\" is not a number of packets (2-255)"},
        {"a probation under a second", two_ports + "relay: { probation_ms: 500 }\n",
         "relay.yaml:4:24: relay.probation_ms: \"500\" is not a number of milliseconds "
         "(1000-600000)"},
        {"a bad reset interval", two_ports + "relay: { reset_interval: 1m }\n",
         "relay.yaml:4:26: relay.reset_interval: \"1m\" is not a number of seconds"},
        {"bad idle timeout", two_ports + "relay:\n  idle_timeout: 30s\n",
         "relay.yaml:5:17: relay.idle_timeout: \"30s\" is not a number of seconds"},
        {"an idle timeout on a DEST rule",
         two_ports + "rules:\n  - { hook: prerouting, match: { dst: 203.0.113.9 }, target: DEST, "
                     "to: 10.0.0.9, idle_timeout: 30 }\n",
         "relay.yaml:5:96: rules[0].idle_timeout: only a RELAY rule has idle_timeout"},
        {"a bad idle timeout on a RELAY rule",
         two_ports + "rules:\n  - { hook: prerouting, match: { dport: 3000 }, target: RELAY, "
                     "idle_timeout: -1 }\n",
         "relay.yaml:5:78: rules[0].idle_timeout: \"-1\" is not a number of seconds"},
        {"an empty state file name", two_ports + "relay:\n  state_file: \"\"\n",
         "relay.yaml:5:15: relay.state_file: has no value"},
        {"a state interval of 0", two_ports + "relay:\n  state_interval: 0\n",
         "relay.yaml:5:19: relay.state_interval: \"0\" is not a number of seconds (1-86400)"},
        {"port counters neither on nor off", two_ports + "relay:\n  port_counters: yes\n",
         "relay.yaml:5:18: relay.port_counters: \"yes\" is not true or false"},
    };
    for (const BadConfig &c : cases) {
        INFO(c.name << "\n" << c.yaml);
        CHECK(error_of(c.yaml) == c.error);
    }
}

TEST_CASE("load_config names the file as given")
{
    CHECK_THROWS_WITH(load_config("configs/no-such-file.yaml"),
                      "configs/no-such-file.yaml: cannot open: No such file or directory");
    CHECK_THROWS_WITH(load_config("configs/bad_syntax.yaml"),
                      "configs/bad_syntax.yaml:6:4: bad YAML: end of sequence not found");
    CHECK_THROWS_WITH(load_config("configs/unknown_port.yaml"),
                      "configs/unknown_port.yaml:9:5: rules[1]: -o: \"uplink\" is not the name "
                      "of a port in \"-A POSTROUTING -o uplink -s 10.1.0.0/24 -j SOURCE "
                      "--to=203.0.113.10\"");
}

TEST_CASE("the SPEC section 3 example loads")
{
    const Config c = parse_config(R"(ports:
  - name: lan
    device: net_af_packet0
    address: 10.0.0.1/24
    gateway: 10.0.0.254
neighbours:
  - { address: 10.0.0.254, mac: "02:00:00:00:00:fe" }
routes:
  - { prefix: 192.168.0.0/16, via: 10.0.0.254 }
rules:
  - { hook: prerouting,  match: { proto: udp, dst: 10.0.0.1, dport: 3000-4000 }, target: RELAY }
  - { hook: prerouting,  match: { dst: 203.0.113.10 }, target: DEST,   to: 10.1.0.53 }
  - { hook: postrouting, match: { src: 10.1.0.0/24 },  target: SOURCE, to: 203.0.113.10 }
  - "-A PREROUTING -p udp --dport 5000:5999 -j RELAY"
relay:
  initial_state: disabled
  learning: reset
  idle_timeout: 0
)",
                                  "spec.yaml");
    CHECK(c.path == "spec.yaml");
    REQUIRE(c.ports.size() == 1);
    const PortConfig &p = c.ports[0];
    CHECK(p.name == "lan");
    CHECK(p.device == "net_af_packet0");
    CHECK(p.address == ip("10.0.0.1"));
    CHECK(p.subnet == pfx("10.0.0.0/24"));
    CHECK(p.gateway == ip("10.0.0.254"));
    CHECK(p.mark.str() == "spec.yaml:2:5");
    REQUIRE(c.neighbours.size() == 1);
    CHECK(c.neighbours[0].address == ip("10.0.0.254"));
    CHECK(c.neighbours[0].mac == Mac{0x02, 0, 0, 0, 0, 0xfe});
    REQUIRE(c.routes.size() == 1);
    CHECK(c.routes[0].prefix == pfx("192.168.0.0/16"));
    CHECK(c.routes[0].via == ip("10.0.0.254"));
    REQUIRE(c.rules.size() == 4);
    CHECK(c.rules[0].text == "-A PREROUTING -p udp -d 10.0.0.1/32 --dport 3000:4000 -j RELAY");
    CHECK(c.rules[1].text == "-A PREROUTING -d 203.0.113.10/32 -j DEST --to=10.1.0.53");
    CHECK(c.rules[2].text == "-A POSTROUTING -s 10.1.0.0/24 -j SOURCE --to=203.0.113.10");
    CHECK(c.rules[3].text == "-A PREROUTING -p udp --dport 5000:5999 -j RELAY");
    CHECK(c.rules[3].mark.str() == "spec.yaml:14:5");
    CHECK(c.rules[1].target == Target::dest);
    CHECK(c.rules[1].to == ip("10.1.0.53"));
    CHECK(c.rules[2].hook == Hook::postrouting);
    CHECK(c.relay.initial_state == 0);
    CHECK(c.relay.learning == LearningMode::reset);
    CHECK(c.relay.idle_timeout == 0);
    CHECK(p.mtu == 1500);
    CHECK(c.buffer_size == 2048);
}

TEST_CASE("aliases: more addresses on a port, for RELAY too")
{
    const Config c = parse_config(
        "ports:\n"
        "  - { name: lan, device: d, address: 10.0.0.1/24, aliases: [10.0.0.2, 198.51.100.7] }\n"
        "rules:\n"
        "  - \"-A PREROUTING -p udp -d 198.51.100.7 --dport 3000:3009 -j RELAY\"\n",
        "t.yaml");
    CHECK(c.ports[0].aliases == std::vector<Ipv4>{0x0a000002, 0xc6336407});
    CHECK(c.ports[0].owns(0xc6336407));
    CHECK_FALSE(c.ports[0].owns(0x0a000003));
}

TEST_CASE("idle timeouts and the state file")
{
    const Config c = parse_config(
        two_ports + "rules:\n"
                    "  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n"
                    "  - { hook: prerouting, match: { dport: 4000-4099 }, target: RELAY, "
                    "idle_timeout: 5 }\n"
                    "relay: { idle_timeout: 60, state_file: relay.state, state_interval: 30 }\n",
        "etc/relay/relay.yaml");
    CHECK(c.relay.idle_timeout == 60);
    CHECK(!c.rules[0].idle_timeout);
    CHECK(c.rules[1].idle_timeout == 5u);
    // A relative state file lives beside the config file.
    CHECK(c.relay.state_file == "etc/relay/relay.state");
    CHECK(c.relay.state_interval == 30);
    CHECK(parse_config(two_ports + "relay: { state_file: /var/lib/r.json }\n", "r.yaml")
              .relay.state_file == "/var/lib/r.json");
}

TEST_CASE("per-port counters are on unless relay.port_counters says false")
{
    CHECK(parse_config(two_ports, "r.yaml").relay.port_counters);
    CHECK(parse_config(two_ports + "relay: { port_counters: true }\n", "r.yaml").relay.port_counters);
    CHECK(!parse_config(two_ports + "relay: { port_counters: false }\n", "r.yaml")
               .relay.port_counters);
}

TEST_CASE("a config holds at most max_rules rules")
{
    // The relay tables number rules and RELAY ranges in 16 bits: one more
    // would count a RELAY rule's hits on another rule and give its ports
    // another range's settings.
    std::string text = two_ports + "rules:\n";
    for (size_t i = 0; i < max_rules; i++)
        text += "  - \"-A PREROUTING -p tcp -d 10.0.0.9 -j DEST --to=10.0.0.8\"\n";
    CHECK(parse_config(text, "r.yaml").rules.size() == max_rules);
    text += "  - \"-A PREROUTING -p udp --dport 4000:4099 -j RELAY\"\n";
    CHECK_THROWS_WITH(parse_config(text, "r.yaml"),
                      "r.yaml:65541:5: rules[65536]: one rule too many: a config holds at most "
                      "65536 rules");
}

TEST_CASE("learning modes, allow prefixes and the reset limit")
{
    const Config c = parse_config(
        two_ports + "rules:\n"
                    "  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n"
                    "  - { hook: prerouting, match: { dport: 4000-4099 }, target: RELAY, "
                    "learning: strict, allow: [198.51.100.0/24, 10.0.0.7] }\n"
                    "relay: { learning: probation, allow: [10.0.0.0/8], probation_packets: 6, "
                    "probation_ms: 2500, reset_interval: 5 }\n",
        "r.yaml");
    CHECK(c.relay.learning == LearningMode::probation);
    CHECK(c.relay.allow == std::vector<Prefix>{*parse_prefix("10.0.0.0/8")});
    CHECK(c.relay.probation_packets == 6);
    CHECK(c.relay.probation_ms == 2500);
    CHECK(c.relay.reset_interval == 5);
    CHECK(!c.rules[0].learning);
    CHECK(!c.rules[0].allow);
    CHECK(c.rules[1].learning == LearningMode::strict);
    CHECK(c.rules[1].allow == std::vector<Prefix>{*parse_prefix("198.51.100.0/24"),
                                                  *parse_prefix("10.0.0.7/32")});
    const Config d = parse_config(two_ports, "d.yaml");
    CHECK(d.relay.learning == LearningMode::reset);
    CHECK(d.relay.allow.empty());
    CHECK(d.relay.probation_packets == 4);
    CHECK(d.relay.probation_ms == 1000);
    CHECK(d.relay.reset_interval == 0);
}

TEST_CASE("MTU and buffer size")
{
    const Config c = parse_config(
        "ports:\n  - { name: lan, device: d, address: 10.0.0.1/24, mtu: 9000 }\n"
        "buffer_size: 16384\n",
        "t.yaml");
    CHECK(c.ports[0].mtu == 9000);
    CHECK(c.buffer_size == 16384);
}

TEST_CASE("optional sections may be absent or empty")
{
    const Config c = parse_config(two_ports + "neighbours:\nroutes: []\nrules:\n", "t.yaml");
    CHECK(c.ports.size() == 2);
    CHECK(c.neighbours.empty());
    CHECK(c.routes.empty());
    CHECK(c.rules.empty());
    CHECK(c.relay.initial_state == 0);
    CHECK(c.relay.learning == LearningMode::reset);
    CHECK(!c.ports[1].gateway);

    const Config enabled = parse_config(two_ports + "relay: { initial_state: enabled }\n---\n",
                                        "t.yaml");
    CHECK(enabled.relay.initial_state == 1);
}

TEST_CASE("both rule spellings give the same Rule")
{
    // Each spelling in its own file: two equal RELAY rules would overlap.
    struct Pair {
        const char *mapping, *iptables;
    };
    const Pair pairs[] = {
        {"{ hook: prerouting, match: { dst: 10.0.0.1, dport: 3000-3099 }, target: relay }",
         "-A PREROUTING -p udp -d 10.0.0.1 --dport 3000:3099 -j RELAY"},
        {"{ hook: prerouting, match: { proto: udp, in_port: \"! wan\", sport: 53, dport: 3000 },"
         " target: RELAY }",
         "-A PREROUTING ! -i wan -p udp --sport 53 --dport 3000 -j RELAY"},
        {"{ hook: postrouting, match: { in_port: lan, out_port: \"! wan\", proto: tcp, src: "
         "\"!10.1.0.0/24\", sport: \"! 1024-65535\" }, target: Source, to: 203.0.113.2 }",
         "-A POSTROUTING -i lan ! -o wan -p tcp ! -s 10.1.0.0/24 ! --sport 1024: -j source "
         "--to=203.0.113.2"},
        {"{ hook: PREROUTING, match: { proto: 47, dst: \"! 10.0.0.0/8\" }, target: DEST, to: "
         "10.0.0.7 }",
         "--append PREROUTING --protocol 47 ! --destination 10.0.0.0/8 --jump DEST --to 10.0.0.7"},
    };
    std::vector<Rule> rules;
    for (const Pair &p : pairs) {
        INFO(p.mapping << "\n" << p.iptables);
        const Config a = parse_config(two_ports + "rules:\n  - " + p.mapping + "\n", "a.yaml");
        const Config b =
            parse_config(two_ports + "rules:\n  - \"" + p.iptables + "\"\n", "b.yaml");
        REQUIRE(a.rules.size() == 1);
        REQUIRE(b.rules.size() == 1);
        CHECK(same_rule(a.rules[0], b.rules[0]));
        CHECK(a.rules[0].mark.str() == "a.yaml:5:5");
        CHECK(b.rules[0].mark.str() == "b.yaml:5:5");
        rules.push_back(a.rules[0]);
    }

    const Rule &relay = rules[0];
    CHECK(relay.match.proto.value == 17); // RELAY without proto means udp
    CHECK(relay.match.dport.value == PortRange{3000, 3099});
    CHECK(relay.match.dst.value == pfx("10.0.0.1/32"));
    CHECK(rules[1].match.in_port.negate);
    CHECK(rules[1].match.sport.value == PortRange{53, 53});

    const Rule &snat = rules[2];
    CHECK(snat.text == "-A POSTROUTING -i lan ! -o wan -p tcp ! -s 10.1.0.0/24 ! --sport "
                       "1024:65535 -j SOURCE --to=203.0.113.2");
    CHECK(!snat.match.in_port.negate);
    CHECK(snat.match.out_port.negate);
    CHECK(snat.match.src.negate);
    CHECK(snat.match.sport.value == PortRange{1024, 65535});
    CHECK(!snat.match.dport.present());
    CHECK(rules[3].text == "-A PREROUTING -p 47 ! -d 10.0.0.0/8 -j DEST --to=10.0.0.7");
}

TEST_CASE("iptables rules: the forms that parse")
{
    const SourceMark mark{"r.yaml", 3, 5};
    struct Good {
        const char *text, *canonical;
    };
    const Good cases[] = {
        {"-A PREROUTING -p udp --dport 3000:4000 -j RELAY",
         "-A PREROUTING -p udp --dport 3000:4000 -j RELAY"},
        {"-A PREROUTING --dport 3000 -j RELAY", "-A PREROUTING -p udp --dport 3000 -j RELAY"},
        {"  -A\tPREROUTING   -p 17 -m udp --dport=3000:3000 -j relay  ",
         "-A PREROUTING -p udp --dport 3000 -j RELAY"},
        {"-A PREROUTING -p UDP --destination-port :1023 -d 10.0.0.1/32 -j RELAY",
         "-A PREROUTING -p udp -d 10.0.0.1/32 --dport 0:1023 -j RELAY"},
        {"-A PREROUTING -p tcp -m tcp --sport 0:65535 --dport 80 -j DEST --to=10.1.0.80",
         "-A PREROUTING -p tcp --sport 0:65535 --dport 80 -j DEST --to=10.1.0.80"},
        {"-A PREROUTING ! -i wan ! -p icmp --source 192.0.2.0/24 -j DEST --to 10.1.0.9",
         "-A PREROUTING ! -i wan ! -p icmp -s 192.0.2.0/24 -j DEST --to=10.1.0.9"},
        {"-A POSTROUTING --out-interface wan --in-interface lan --src 10.1.0.0/16 "
         "--source-port 5000: --protocol udp --jump SOURCE --to=203.0.113.10",
         "-A POSTROUTING -i lan -o wan -p udp -s 10.1.0.0/16 --sport 5000:65535 -j SOURCE "
         "--to=203.0.113.10"},
        {"-A POSTROUTING -s 0.0.0.0/0 -j SOURCE --to=203.0.113.10",
         "-A POSTROUTING -s 0.0.0.0/0 -j SOURCE --to=203.0.113.10"},
    };
    for (const Good &g : cases) {
        INFO(g.text);
        const Rule r = parse_iptables_rule(g.text, mark);
        CHECK(r.text == g.canonical);
        CHECK(format_rule(r) == g.canonical);
        CHECK(r.mark.str() == "r.yaml:3:5");
    }

    const Rule r = parse_iptables_rule(
        "-A POSTROUTING -i lan ! -o wan ! -p tcp -s 10.1.0.0/24 ! -d 10.2.0.0/16 -j SOURCE "
        "--to=203.0.113.10",
        mark);
    CHECK(r.hook == Hook::postrouting);
    CHECK(r.target == Target::source);
    CHECK(r.to == ip("203.0.113.10"));
    CHECK(r.match.in_port.value == std::string("lan"));
    CHECK(!r.match.in_port.negate);
    CHECK(r.match.out_port.value == std::string("wan"));
    CHECK(r.match.out_port.negate);
    CHECK(r.match.proto.value == 6);
    CHECK(r.match.proto.negate);
    CHECK(r.match.src.value == pfx("10.1.0.0/24"));
    CHECK(r.match.dst.value == pfx("10.2.0.0/16"));
    CHECK(r.match.dst.negate);
    CHECK(!r.match.sport.present());
}

TEST_CASE("iptables rules: each invalid form says what is wrong")
{
    const std::string at = "relay.yaml:9:5: rules[1]: ";
    struct Bad {
        const char *text, *error;
    };
    const Bad cases[] = {
        {"", "empty rule (expected \"-A PREROUTING ...\" or \"-A POSTROUTING ...\") in \"\""},
        {"-p udp -A PREROUTING --dport 3000 -j RELAY",
         "a rule starts with \"-A PREROUTING\" or \"-A POSTROUTING\", not \"-p\""},
        {"-A", "\"-A\" needs a chain (PREROUTING or POSTROUTING)"},
        {"-A FORWARD -j DEST --to=10.0.0.5",
         "unknown chain \"FORWARD\" (PREROUTING or POSTROUTING)"},
        {"-A PREROUTING -p udp --dprt 3000 -j RELAY", "unknown option \"--dprt\""},
        {"-A PREROUTING -j RELAY --dport", "\"--dport\" needs a value"},
        {"-A PREROUTING --dport= -j RELAY", "\"--dport\" needs a value"},
        {"-A PREROUTING -p udp -p udp --dport 3000 -j RELAY", "\"-p\" given twice"},
        {"-A PREROUTING -s 10.0.0.0/8 --source 10.0.0.0/8 -j DEST --to=10.0.0.5",
         "\"--source\" given twice"},
        {"-A PREROUTING --dport 3000 -A PREROUTING -j RELAY", "\"-A\" given twice"},
        {"-A PREROUTING --dport 3000 ! -j RELAY", "\"!\" cannot negate \"-j\""},
        {"-A PREROUTING ! ! -s 10.0.0.0/8 -j DEST --to=10.0.0.5", "\"!\" given twice"},
        {"-A PREROUTING --dport 3000 -j RELAY !",
         "\"!\" at the end (it negates the option after it)"},
        {"-A PREROUTING -s ! 10.0.0.0/8 -j DEST --to=10.0.0.5",
         "\"!\" goes before the option: \"! -s VALUE\""},
        {"-A PREROUTING --dport 70000 -j RELAY",
         "--dport: \"70000\" is not a port or range (0-65535)"},
        {"-A PREROUTING --dport 4000:3000 -j RELAY",
         "--dport: \"4000:3000\" is not a port or range (0-65535)"},
        {"-A PREROUTING --dport 3000-4000 -j RELAY",
         "--dport: \"3000-4000\" is not a port or range (0-65535)"},
        {"-A PREROUTING --dport : -j RELAY", "--dport: \":\" is not a port or range (0-65535)"},
        {"-A PREROUTING -p tcp --sport x -j DEST --to=10.0.0.5",
         "--sport: \"x\" is not a port or range (0-65535)"},
        {"-A PREROUTING -d 10.0.0.1/24 --dport 3000 -j RELAY",
         "-d: \"10.0.0.1/24\" has host bits set (the prefix is 10.0.0.0/24)"},
        {"-A PREROUTING --destination 10.0.0 -j DEST --to=10.0.0.5",
         "--destination: \"10.0.0\" is not an IPv4 address or prefix"},
        {"-A PREROUTING -p 0 -j DEST --to=10.0.0.5",
         "-p: \"0\" is not a protocol (udp, tcp, icmp or a number 1-255)"},
        {"-A PREROUTING -p gre -j DEST --to=10.0.0.5",
         "-p: \"gre\" is not a protocol (udp, tcp, icmp or a number 1-255)"},
        {"-A PREROUTING --dport 3000 -j DNAT",
         "-j: \"DNAT\" is not a target (RELAY, DEST or SOURCE)"},
        {"-A PREROUTING -j DEST --to=224.0.0.1",
         "--to: \"224.0.0.1\" is not a usable address (zero, loopback, multicast or reserved)"},
        {"-A PREROUTING -j DEST --to=10.0.0.5/32", "--to: \"10.0.0.5/32\" is not an IPv4 address"},
        {"-A PREROUTING -p udp --dport 3000", "no target (-j RELAY, -j DEST or -j SOURCE)"},
        {"-A PREROUTING -p udp -m state --dport 3000 -j RELAY",
         "-m: \"state\" is not supported (only -m udp and -m tcp, which -p implies)"},
        {"-A PREROUTING -p tcp -m udp --dport 80 -j DEST --to=10.0.0.5",
         "\"-m udp\" needs \"-p udp\""},
        {"-A PREROUTING --dport 3000 -j RELAY --to=10.0.0.5", "-j RELAY takes no --to"},
        {"-A PREROUTING -d 203.0.113.10 -j DEST",
         "-j DEST needs --to=ADDR (the new destination address)"},
        {"-A POSTROUTING -j RELAY --dport 3000", "-j RELAY only works in PREROUTING"},
        {"-A PREROUTING -j SOURCE --to=203.0.113.10", "-j SOURCE only works in POSTROUTING"},
        {"-A PREROUTING -o wan -j DEST --to=10.0.0.5",
         "-o only works in POSTROUTING (routing chooses the out port)"},
        {"-A PREROUTING -p icmp --sport 7 -j DEST --to=10.0.0.5", "--sport needs -p udp or -p tcp"},
        {"-A PREROUTING ! -p udp --dport 7 -j DEST --to=10.0.0.5",
         "--dport needs -p udp or -p tcp"},
        {"-A PREROUTING -p tcp --dport 3000 -j RELAY",
         "-j RELAY relays udp only (use -p udp or leave it out)"},
        {"-A PREROUTING -p udp -j RELAY", "-j RELAY needs --dport (the range of relay ports)"},
        {"-A PREROUTING ! --dport 3000 -j RELAY", "-j RELAY cannot negate --dport"},
        {"-A PREROUTING -d 10.0.0.0/24 --dport 3000 -j RELAY",
         "-j RELAY needs -d to be one address of the box, not the prefix 10.0.0.0/24"},
    };
    for (const Bad &b : cases) {
        INFO(b.text);
        std::string expected = at + b.error;
        if (std::string(b.text) != "")
            expected += " in \"" + std::string(b.text) + "\"";
        CHECK(rule_error(b.text) == expected);
    }
    // Without a key (a rule typed at a prompt), the message starts at the mark.
    CHECK_THROWS_WITH(parse_iptables_rule("-A INPUT -j RELAY", SourceMark{"cli", 0, 0}),
                      "cli: unknown chain \"INPUT\" (PREROUTING or POSTROUTING) in \"-A INPUT -j "
                      "RELAY\"");
}

TEST_CASE("format_rule round trip: parse(format(r)) == r")
{
    const Config c = parse_config(two_ports + R"(rules:
  - { hook: prerouting, match: { dst: 203.0.113.2, dport: 3000 }, target: RELAY }
  - { hook: prerouting, match: { in_port: "!wan", src: 192.0.2.0/24, sport: 1-2, dst: 10.0.0.1, dport: 0-65535 }, target: RELAY }
  - { hook: prerouting, match: { proto: "! icmp", src: "! 0.0.0.0/0" }, target: dest, to: 10.0.0.99 }
  - { hook: prerouting, match: { proto: 253, dst: 203.0.113.0/25 }, target: DEST, to: 10.0.0.99 }
  - { hook: postrouting, match: { out_port: wan, proto: tcp, dport: "! 22" }, target: SOURCE, to: 203.0.113.2 }
  - "-A POSTROUTING ! -i lan -p udp --sport 53 --dport 1024: -j SOURCE --to=203.0.113.2"
)",
                                  "t.yaml");
    REQUIRE(c.rules.size() == 6);
    for (const Rule &r : c.rules) {
        const std::string text = format_rule(r);
        INFO(text);
        CHECK(text == r.text);
        const Rule again = parse_iptables_rule(text, r.mark);
        CHECK(same_rule(again, r));
        CHECK(format_rule(again) == text);
    }
}

TEST_CASE("the example configs load")
{
    const Config example = load_config("../../config/relay.yaml");
    CHECK(example.path == "../../config/relay.yaml");
    CHECK(example.ports.size() >= 2);
    CHECK(!example.neighbours.empty());
    CHECK(!example.routes.empty());
    CHECK(!example.rules.empty());
    size_t targets[3] = {};
    for (const Rule &r : example.rules)
        targets[static_cast<int>(r.target)]++;
    CHECK(targets[static_cast<int>(Target::relay)] == 3);
    CHECK(targets[static_cast<int>(Target::dest)] == 3);
    CHECK(targets[static_cast<int>(Target::source)] == 2);

    const Config nat = load_config("../../config/nat.yaml");
    REQUIRE(nat.rules.size() == 3);
    CHECK(nat.rules[0].target == Target::dest);
    CHECK(nat.rules[1].target == Target::source);

    const Config demo = load_config("../../config/demo.yaml");
    REQUIRE(demo.ports.size() == 1);
    CHECK(demo.ports[0].name == "lan");
    CHECK(demo.ports[0].device == "net_af_packet0");
    CHECK(demo.ports[0].address == ip("10.77.0.1"));
    CHECK(demo.ports[0].subnet == pfx("10.77.0.0/24"));
    REQUIRE(demo.rules.size() == 1);
    CHECK(demo.rules[0].text == "-A PREROUTING -p udp --dport 3000:3099 -j RELAY");
    CHECK(demo.relay.initial_state == 0);
    CHECK(demo.relay.learning == LearningMode::reset);
    CHECK(demo.relay.idle_timeout == 0);
}
