// relaystate --metrics' Prometheus text from telemetry replies as dpdk-relay
// gives them (promtool checks the real thing in tests/e2e/ops_e2e.sh).
#include "metrics.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace relay;
using nlohmann::json;

TEST_CASE("prometheus_text: every family has HELP and TYPE, labels are escaped")
{
    MetricsSource src;
    src.stats = json::parse(R"({
        "total": {"rx_packets": 10, "relayed_packets": 7, "drop_malformed": 2, "relay_learned": 2},
        "lcores": {"lcore1": {"rx_packets": 6, "tx_packets": 5, "busy_cycles": 900, "idle_cycles": 100},
                   "lcore2": {"rx_packets": 4}},
        "relay_ports": {"disabled": 0, "set0": 8, "set1": 1, "set2": 1},
        "ethdev": {"lan": 0}})");
    src.rules.push_back(json::parse(R"({"rule0": {"index": 0, "rule": "-A PREROUTING -p udp --dport 3000:3009 -j RELAY", "entries": 1, "hits": 7},
        "rule1": {"index": 1, "rule": "a \"quoted\" \\ rule", "entries": 1, "hits": 0}})"));
    src.ethdev.emplace_back("lan", json::parse(R"({"ipackets": 10, "opackets": 5, "ibytes": 700, "obytes": 350, "imissed": 1, "ierrors": 0, "oerrors": 0, "rx_nombuf": 0})"));
    const std::string text = prometheus_text(src);
    INFO(text);
    for (const char *line : {
             "dpdk_relay_up 1",
             "dpdk_relay_drops_total{reason=\"malformed\"} 2",
             "dpdk_relay_drops_total{reason=\"tx_full\"} 0",
             "dpdk_relay_relayed_packets_total 7",
             "dpdk_relay_relay_learned_total 2",
             "dpdk_relay_worker_packets_total{lcore=\"1\",direction=\"rx\"} 6",
             "dpdk_relay_worker_packets_total{lcore=\"2\",direction=\"tx\"} 0",
             "dpdk_relay_worker_cycles_total{lcore=\"1\",state=\"busy\"} 900",
             "dpdk_relay_relay_ports{state=\"set2\"} 1",
             "dpdk_relay_rule_hits_total{rule=\"0\",text=\"-A PREROUTING -p udp --dport 3000:3009 -j RELAY\"} 7",
             "dpdk_relay_rule_hits_total{rule=\"1\",text=\"a \\\"quoted\\\" \\\\ rule\"} 0",
             "dpdk_relay_port_packets_total{port=\"lan\",direction=\"tx\"} 5",
             "dpdk_relay_port_bytes_total{port=\"lan\",direction=\"rx\"} 700",
             "dpdk_relay_port_missed_total{port=\"lan\"} 1",
         }) {
        INFO(line);
        CHECK(text.find(std::string("\n") + line + "\n") != std::string::npos);
    }
    // Per-worker counters are not repeated as totals.
    CHECK(text.find("dpdk_relay_rx_packets_total") == std::string::npos);
    CHECK(text.find("dpdk_relay_busy_cycles_total") == std::string::npos);
    // Each sample's family was introduced by HELP and TYPE lines first.
    std::istringstream in(text);
    std::string l, family;
    while (std::getline(in, l)) {
        if (l.rfind("# TYPE ", 0) == 0) {
            family = l.substr(7, l.find(' ', 7) - 7);
            continue;
        }
        if (l.rfind("# HELP ", 0) == 0)
            continue;
        INFO(l);
        CHECK(l.compare(0, family.size(), family) == 0);
    }
    CHECK(prometheus_down().find("\ndpdk_relay_up 0\n") != std::string::npos);
}
