// The relay state word (compatible with the original relaystate tool) and the
// learning rule, as pure functions so that tests, the dataplane and the
// control side all use the same definition.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay {

namespace state {
constexpr uint8_t disable = 0;
constexpr uint8_t set0 = 1;    // enabled, no endpoint known
constexpr uint8_t set1 = 2;    // enabled, A known
constexpr uint8_t set2 = 3;    // enabled, A and B known
constexpr uint8_t active1 = 4; // packets have been sent to A
constexpr uint8_t active2 = 8; // packets have been sent to B
constexpr uint8_t active = 12;
constexpr uint8_t all = 15;
constexpr uint8_t set_mask = 3;
} // namespace state

// Writing V to a port whose state is cur (SPEC section 4): 0 disables; any other
// value enables and keeps only what V names. V & 3 == 0 with V != 0 keeps no
// endpoint, like 1.
inline uint8_t state_after_write(uint8_t cur, uint8_t v)
{
    if (v == 0)
        return state::disable;
    uint8_t have = cur & state::set_mask;
    if (have == 0)
        have = state::set0;
    uint8_t keep = v & state::set_mask;
    if (keep == 0)
        keep = state::set0;
    uint8_t level = have < keep ? have : keep;
    uint8_t out = level;
    if (level >= state::set1 && (v & cur & state::active1))
        out |= state::active1;
    if (level == state::set2 && (v & cur & state::active2))
        out |= state::active2;
    return out;
}

// "SET2|ACTIVE1", "DISABLE", "ALL", ...
std::string state_names(uint8_t s);

// A value for a write, as a number 0..15 or a name: the state names above
// (case-insensitive) and the verbs disable, enable/reset (1), keep (15),
// keepboth (3), keepa/relearn (2).
std::optional<uint8_t> parse_state_value(std::string_view s);

// How a relay port treats a third endpoint once both are known (SPEC
// section 4 and README "Security").
enum class LearningMode : uint8_t {
    reset,     // it takes the port over at once: the original's rule
    strict,    // it is dropped, unless a learning window is open
    probation, // it replaces an endpoint silent meanwhile after N packets over a minimum time
};

// "reset", "strict" or "probation".
const char *learning_mode_name(LearningMode m);

// What a packet from a source does to a port. The first seven are the
// original's rule (learn_reset_mode); the others come from the other modes
// and from the reset rate limit.
enum class Learn : uint8_t {
    drop_disabled,  // port disabled: nothing learned
    learned_a,      // became A; nowhere to send it
    from_a_alone,   // from A while B is unknown; nowhere to send it
    learned_b,      // became B; relayed to A
    to_b,           // from A; relayed to B
    to_a,           // from B; relayed to A
    reset,          // a third endpoint: it becomes A, B is forgotten; not relayed
    refused_strict, // a third endpoint on a strict port: dropped
    reset_limited,  // a reset or replacement within reset_interval of the last: dropped
    probation_started, // a third endpoint put on probation (or back to its start): dropped
    probation,      // a third endpoint on probation, not yet trusted: dropped
    replaced_a,     // after probation, it replaced A; relayed to B
    replaced_b,     // after probation, it replaced B; relayed to A
};

// Which slot matched: 0 none, 1 A, 2 B. The caller compares endpoints.
inline Learn learn_reset_mode(uint8_t s, int match)
{
    switch (s & state::set_mask) {
    case state::disable:
        return Learn::drop_disabled;
    case state::set0:
        return Learn::learned_a;
    case state::set1:
        return match == 1 ? Learn::from_a_alone : Learn::learned_b;
    default:
        if (match == 1)
            return Learn::to_b;
        if (match == 2)
            return Learn::to_a;
        return Learn::reset;
    }
}

// The state word after a learning outcome (activity bits included).
inline uint8_t state_after_learn(uint8_t s, Learn l)
{
    switch (l) {
    case Learn::drop_disabled:
    case Learn::from_a_alone:
    case Learn::refused_strict:
    case Learn::reset_limited:
    case Learn::probation_started:
    case Learn::probation:
        return s;
    case Learn::replaced_a: // the new A has had nothing yet; B just got a packet
        return state::set2 | state::active2;
    case Learn::replaced_b:
        return state::set2 | state::active1;
    case Learn::learned_a:
    case Learn::reset:
        return state::set1;
    case Learn::learned_b:
        return state::set2 | state::active1;
    case Learn::to_b:
        return s | state::active2;
    case Learn::to_a:
        return s | state::active1;
    }
    return s;
}

} // namespace relay
