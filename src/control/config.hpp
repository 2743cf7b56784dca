// relay.yaml: the parsed, fully validated configuration (SPEC section 3).
// Everything here is plain data; the dataplane never sees this type, only the
// tables that control/tables.cpp builds from it.
#pragma once

#include "ipv4.hpp"
#include "relay_state.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

// A config error, already formatted as "FILE:LINE:COL: KEY: what is wrong".
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where a value stood in the file, for messages about it: "relay.yaml:14:11".
struct SourceMark {
    std::string file;
    int line = 0;   // 1-based
    int column = 0; // 1-based
    std::string str() const;
};

// Bounds of the sizes a config sets: an MTU from RFC 791's 576-byte datagram
// every host takes up to the usual jumbo frame; a buffer from the default mbuf
// to what a 16-bit mbuf data room holds with its headroom.
constexpr uint16_t min_mtu = 576, max_mtu = 9216;
constexpr uint16_t min_buffer_size = 2048, max_buffer_size = 65280;
// The relay tables number rules and RELAY ranges in 16 bits.
constexpr size_t max_rules = 65536;

// address and aliases (PortAddresses): the box's own on this port.
struct PortConfig : PortAddresses {
    std::string name;
    std::string device; // ethdev name, PCI address or port id
    Prefix subnet;      // connected subnet, from address/len
    std::optional<Ipv4> gateway;
    uint16_t mtu = 1500; // the largest IPv4 packet sent out of the port
    SourceMark mark;
};

struct NeighbourConfig {
    Ipv4 address = 0;
    Mac mac{};
};

struct RouteConfig {
    Prefix prefix;
    Ipv4 via = 0;
};

enum class Hook : uint8_t { prerouting, postrouting };
enum class Target : uint8_t { relay, dest, source };

struct PortRange {
    uint16_t lo = 0, hi = 65535;
    bool contains(uint16_t p) const { return p >= lo && p <= hi; }
    bool operator==(const PortRange &o) const { return lo == o.lo && hi == o.hi; }
};

// One match field: absent, or a value that must (or with `!`, must not) match.
template <typename T> struct MatchField {
    std::optional<T> value;
    bool negate = false;
    bool present() const { return value.has_value(); }
};

struct Match {
    MatchField<std::string> in_port;  // a ports[].name
    MatchField<std::string> out_port; // postrouting only
    MatchField<uint8_t> proto;        // IP protocol number
    MatchField<Prefix> src, dst;
    MatchField<PortRange> sport, dport; // TCP/UDP only
};

struct Rule {
    Hook hook = Hook::prerouting;
    Match match;
    Target target = Target::relay;
    Ipv4 to = 0;      // DEST/SOURCE
    std::string text; // the rule as an iptables string, for display
    // RELAY only, mapping form: override relay.idle_timeout, relay.learning
    // and relay.allow for this range.
    std::optional<uint32_t> idle_timeout;
    std::optional<LearningMode> learning;
    std::optional<std::vector<Prefix>> allow;
    SourceMark mark;
};

// Bounds of the probation settings: at least two packets, and at least a
// second, since an endpoint's activity is tracked to the second.
constexpr uint32_t min_probation_packets = 2, max_probation_packets = 255;
constexpr uint32_t min_probation_ms = 1000, max_probation_ms = 600000;

struct RelayConfig {
    uint8_t initial_state = 0; // 0 disabled, 1 enabled (SET0)
    LearningMode learning = LearningMode::reset;
    std::vector<Prefix> allow;    // empty: any source may be learned
    uint32_t probation_packets = 4;
    uint32_t probation_ms = 1000;
    uint32_t reset_interval = 0;  // seconds between resets of one port; 0 = no limit
    uint32_t idle_timeout = 0; // seconds; 0 = never
    std::string state_file;    // empty: none; relative to the config file's directory
    uint32_t state_interval = 10; // seconds between saves of the state file
    bool port_counters = true;    // each relay port's packets and bytes, per direction
};

struct Config {
    std::string path;
    std::vector<PortConfig> ports;
    std::vector<NeighbourConfig> neighbours;
    std::vector<RouteConfig> routes;
    std::vector<Rule> rules;
    RelayConfig relay;
    uint16_t buffer_size = 2048; // packet bytes per mbuf: the largest frame received
};

// Reads and validates a config file; throws ConfigError naming the file,
// line, column and key of the first problem.
Config load_config(const std::string &path);

// The same from text already in memory; `name` stands for the file in messages.
Config parse_config(const std::string &text, const std::string &name);

// Parses a rule in iptables spelling ("-A PREROUTING -p udp --dport 3000:4000
// -j RELAY"); throws ConfigError quoting the offending token, prefixed by mark
// and, when given, by key ("relay.yaml:9:5: rules[1]: ...").
Rule parse_iptables_rule(std::string_view text, const SourceMark &mark, std::string_view key = {});

// "RELAY", "DEST" or "SOURCE".
const char *target_name(Target t);

// The rule in iptables spelling, as --check and /relay/rules show it.
std::string format_rule(const Rule &r);

// The vocabulary both rule spellings share, so that they cannot drift apart
// (config.cpp reads the mapping form, rule_parser.cpp the iptables form).
// Each returns the value, or nullopt with `why` set to what is wrong, worded
// for an error message: "\"70000\" is not a port or range (0-65535)".
namespace syntax {
std::optional<Hook> hook(std::string_view s); // prerouting, in any case
std::optional<Target> target(std::string_view s, std::string &why); // in any case
std::optional<uint8_t> proto(std::string_view s, std::string &why); // udp, tcp, icmp, 1-255
std::optional<Prefix> prefix(std::string_view s, std::string &why); // host bits zero
std::optional<PortRange> ports(std::string_view s, char sep, std::string &why); // "P", "P<sep>Q"
// An address the box may use or send to: never 0/8, loopback, multicast, class E.
std::optional<Ipv4> address(std::string_view s, std::string &why);
} // namespace syntax

// Fields of one rule that do not fit together. `field` is the mapping-form
// key below the rule ("target", "to", "match.dport"); `what` is worded for
// the spelling the rule was written in.
struct RuleProblem {
    std::string field;
    std::string what;
};

// Checks a rule on its own (port names and relay addresses need the whole
// config and are the loader's job) and completes it: RELAY without a
// protocol means udp.
std::optional<RuleProblem> check_rule(Rule &r, bool iptables);

} // namespace relay
