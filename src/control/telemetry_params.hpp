// The parameters of the /relay/... telemetry commands, parsed by pure
// functions: telemetry.cpp answers with what they find, and the tests and
// fuzzers can call them without a telemetry socket or EAL. `params` is what
// DPDK telemetry passes: the text after the command's first comma, or null.
#pragma once

#include "tables.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay {

// The START of a paged command: absent (0) or a decimal offset up to max.
bool page_start(const char *params, size_t max, uint32_t &start);

// A decimal number 0..max: digits only, no sign or space.
std::optional<uint32_t> parse_decimal(std::string_view s, uint32_t max);

// "PORT,VALUE" split at the last comma (PORT is PORT or ADDR:PORT); nullopt
// without a comma.
struct PortValue {
    std::string port, value;
};
std::optional<PortValue> split_port_value(const char *params);

// "PORT,NUMBER" with NUMBER a decimal 0..max: the relay entry PORT names and
// the number. Returns false with `err` set to a message for the client.
bool port_number_params(const Tables &t, const char *params, uint32_t max, const char *usage,
                        uint32_t &entry, uint32_t &number, std::string &err);

// /relay/port,P: the entry P names, or no_relay with `err` set.
uint32_t port_params(const Tables &t, const char *params, std::string &err);

// /relay/set,P,V: the entry and the state value to write. Returns false with
// `err` set.
bool set_params(const Tables &t, const char *params, uint32_t &entry, uint8_t &value,
                std::string &err);

} // namespace relay
