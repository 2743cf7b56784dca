// What a reload may change and what it carries from the running tables to the
// new ones (SPEC section 3: learned endpoints of ranges that still exist survive).
#pragma once

#include "config.hpp"
#include "tables.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace relay {

// Why `next` cannot replace `running` without a restart (the ports, their
// addresses and buffers are set up once at start), or empty if it can.
std::string reload_refusal(const Config &running, const Config &next);

// A relay port in both tables: the same port number of a range on the same
// address (or of ranges on every address).
struct SurvivingEntry {
    uint32_t from; // entry in the running tables
    uint32_t to;   // entry in the new ones
};
std::vector<SurvivingEntry> surviving_entries(const Tables &running, const Tables &next);

// For each rule of `next`, the index of the same rule (its text) in
// `running`, or -1: its hit counter carries over. Repeated rules pair in order.
std::vector<int> surviving_rules(const Config &running, const Config &next);

} // namespace relay
