// Relay events (learning, resets, refusals) that workers hand to the control
// side, which logs them: a worker never logs itself. Workers post into a
// multi-producer ring, at most max_events_per_second each a second, and count
// what they leave out; the main lcore drains it (control/event_log.hpp).
#pragma once

#include "ipv4.hpp"

#include <rte_ring.h>

#include <cstdint>

namespace relay {

enum class EventKind : uint8_t {
    learned,       // a new endpoint in `slot`
    reset,         // a third endpoint took the port over (reset mode or a window)
    replaced,      // a third endpoint replaced `slot` after probation
    probation,     // a third endpoint was put on probation
    refused,       // a source never learned: martian, the box's own, port 0
    strict,        // a third endpoint on a strict port
    not_allowed,   // a source outside the rule's allow prefixes
    reset_limited, // a reset within reset_interval of the last
    suppressed,    // `count` events left out by one worker's rate limit
    expired,       // an endpoint in `slot` forgotten after its idle timeout (control)
};

struct Event {
    EventKind kind;
    uint8_t slot = 0;    // 1 A, 2 B, 0 none
    uint16_t queue = 0;  // the worker's
    uint16_t port = 0;   // the relay port
    uint16_t src_port = 0;
    Ipv4 address = 0;    // the relay port's box address; 0: every address
    Ipv4 src = 0;
    uint32_t count = 0;  // suppressed: how many
    uint32_t time = 0;   // coarse clock, seconds
};
static_assert(sizeof(Event) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

constexpr uint32_t max_events_per_second = 50; // per worker
constexpr unsigned event_ring_size = 4096;

inline rte_ring *create_event_ring(int socket)
{
    return rte_ring_create_elem("relay_events", sizeof(Event), event_ring_size, socket,
                                RING_F_SC_DEQ);
}

} // namespace relay
