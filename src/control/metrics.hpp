// relaystate --metrics: a running relay's counters in the Prometheus text
// format (version 0.0.4), built from its telemetry replies. The names are
// stable and listed in the README ("Metrics").
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace relay {

struct MetricsSource {
    nlohmann::json stats;                 // /relay/stats
    std::vector<nlohmann::json> rules;    // the "rules" dicts of every /relay/rules page
    // The config's port name and its ethdev's /ethdev/stats reply.
    std::vector<std::pair<std::string, nlohmann::json>> ethdev;
};

std::string prometheus_text(const MetricsSource &src);

// What to write when the relay cannot be reached: dpdk_relay_up 0.
std::string prometheus_down();

} // namespace relay
