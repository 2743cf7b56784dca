// relay.state_file: the learned endpoints and port states, kept across
// restarts. JSON, written atomically (temporary file, fsync, rename); read
// back only if every entry in it makes sense for the running config.
#pragma once

#include "atomic_file.hpp"
#include "relay_table.hpp"
#include "tables.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace relay {

// Why a state file is not used, worded for "state file F: <what>".
struct StateFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The state of every relay port not in `initial_state`, as JSON text.
std::string state_json(const Tables &t, const RelayTable &relay, uint8_t initial_state);

struct RestoredPort {
    uint32_t entry;
    RelaySnapshot snapshot; // last-seen times are 0: the caller stamps them
};
struct RestoredState {
    std::vector<RestoredPort> ports;
    size_t not_relay_ports = 0; // saved ports this config does not have: skipped
};

// Reads state_json's text against the running tables. Throws StateFileError
// naming the first thing wrong: not JSON (a truncated file), another format
// or version, or an entry that is not a valid state for its port.
RestoredState parse_state(const std::string &text, const Tables &t);

} // namespace relay
