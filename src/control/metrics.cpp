#include "metrics.hpp"

#include "counters.hpp"

#include <sstream>

namespace relay {

namespace {

using nlohmann::json;

// A label value with \, " and newline escaped.
std::string escaped(const std::string &v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Writer {
public:
    // HELP and TYPE once per metric, before its samples.
    void family(const std::string &name, const char *type, const std::string &help)
    {
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
    void sample(const std::string &name, const std::vector<std::pair<std::string, std::string>> &labels,
                uint64_t value)
    {
        out_ << name;
        for (size_t i = 0; i < labels.size(); i++)
            out_ << (i ? "," : "{") << labels[i].first << "=\"" << escaped(labels[i].second) << '"';
        out_ << (labels.empty() ? "" : "}") << ' ' << value << '\n';
    }
    std::string str() const { return out_.str(); }

private:
    std::ostringstream out_;
};

uint64_t number(const json &o, const std::string &key)
{
    auto it = o.find(key);
    return it != o.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

bool per_worker(const std::string &c)
{
    return c == "rx_packets" || c == "tx_packets" || c == "busy_cycles" || c == "idle_cycles";
}

} // namespace

std::string prometheus_text(const MetricsSource &src)
{
    Writer w;
    w.family("dpdk_relay_up", "gauge", "Whether dpdk-relay answered (1) or not (0).");
    w.sample("dpdk_relay_up", {}, 1);

    const json &total = src.stats.at("total");
    w.family("dpdk_relay_drops_total", "counter",
             "Packets dropped, by reason (the drop_ counters of /relay/stats).");
    for (const CounterInfo &c : counter_info)
        if (c.drop)
            w.sample("dpdk_relay_drops_total", {{"reason", std::string(c.name).substr(5)}},
                     number(total, c.name));
    for (const CounterInfo &c : counter_info) {
        if (c.drop || per_worker(c.name))
            continue;
        const std::string name = std::string("dpdk_relay_") + c.name + "_total";
        w.family(name, "counter", std::string(c.help) + ".");
        w.sample(name, {}, number(total, c.name));
    }

    // Per worker: "lcoreN" -> counters (those that are 0 are left out).
    const json &lcores = src.stats.at("lcores");
    w.family("dpdk_relay_worker_packets_total", "counter",
             "Frames received (rx) and handed to the NIC (tx) by each worker lcore.");
    for (const auto &[key, c] : lcores.items())
        for (const char *dir : {"rx", "tx"})
            w.sample("dpdk_relay_worker_packets_total", {{"lcore", key.substr(5)}, {"direction", dir}},
                     number(c, std::string(dir) + "_packets"));
    w.family("dpdk_relay_worker_cycles_total", "counter",
             "TSC cycles of each worker lcore's poll loops that received packets (busy) or "
             "nothing (idle).");
    for (const auto &[key, c] : lcores.items())
        for (const char *state : {"busy", "idle"})
            w.sample("dpdk_relay_worker_cycles_total", {{"lcore", key.substr(5)}, {"state", state}},
                     number(c, std::string(state) + "_cycles"));

    w.family("dpdk_relay_relay_ports", "gauge",
             "Relay ports by state: disabled, set0 (enabled, no endpoint), set1 (one endpoint), "
             "set2 (both: an active pair).");
    for (const auto &[state, n] : src.stats.at("relay_ports").items())
        w.sample("dpdk_relay_relay_ports", {{"state", state}}, n.get<uint64_t>());

    w.family("dpdk_relay_rule_hits_total", "counter",
             "Packets that matched each rule, by index in the config and rule text.");
    for (const json &page : src.rules)
        for (const auto &[key, r] : page.items())
            w.sample("dpdk_relay_rule_hits_total",
                     {{"rule", std::to_string(r.at("index").get<int>())},
                      {"text", r.at("rule").get<std::string>()}},
                     r.at("hits").get<uint64_t>());

    // The ethdev's own counters, by the config's port name.
    struct EthdevMetric {
        const char *name, *help, *rx, *tx;
    };
    const EthdevMetric ethdev[] = {
        {"dpdk_relay_port_packets_total", "Packets received and sent by each port's device.",
         "ipackets", "opackets"},
        {"dpdk_relay_port_bytes_total", "Bytes received and sent by each port's device.", "ibytes",
         "obytes"},
        {"dpdk_relay_port_errors_total", "Receive and transmit errors of each port's device.",
         "ierrors", "oerrors"},
    };
    for (const EthdevMetric &m : ethdev) {
        w.family(m.name, "counter", m.help);
        for (const auto &[port, s] : src.ethdev) {
            w.sample(m.name, {{"port", port}, {"direction", "rx"}}, number(s, m.rx));
            w.sample(m.name, {{"port", port}, {"direction", "tx"}}, number(s, m.tx));
        }
    }
    w.family("dpdk_relay_port_missed_total", "counter",
             "Packets each port's device dropped for want of room in its RX queues (imissed).");
    for (const auto &[port, s] : src.ethdev)
        w.sample("dpdk_relay_port_missed_total", {{"port", port}}, number(s, "imissed"));
    w.family("dpdk_relay_port_rx_nombuf_total", "counter",
             "Packets each port's device dropped for want of mbufs (rx_nombuf).");
    for (const auto &[port, s] : src.ethdev)
        w.sample("dpdk_relay_port_rx_nombuf_total", {{"port", port}}, number(s, "rx_nombuf"));
    return w.str();
}

std::string prometheus_down()
{
    Writer w;
    w.family("dpdk_relay_up", "gauge", "Whether dpdk-relay answered (1) or not (0).");
    w.sample("dpdk_relay_up", {}, 0);
    return w.str();
}

} // namespace relay
