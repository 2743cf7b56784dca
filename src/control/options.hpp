// dpdk-relay's own options (after "--"; EAL takes everything before it).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace relay {

struct Options {
    std::string config;
    bool check = false;
    bool log_json = false; // relay events as JSON lines
    std::string file_prefix = "rte"; // --check: the running relay to read rule hits from
};

// Parses the program options; prints --help or --version and returns nullopt
// when the program should exit 0. Throws std::runtime_error on bad usage.
std::optional<Options> parse_options(const std::vector<std::string> &args);

} // namespace relay
