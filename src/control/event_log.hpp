// The relay event log: what the workers post (dataplane/events.hpp) and what
// the control side does itself (idle expiries, reloads), one line each,
// through DPDK's log as type relay.event, so that --log-level sets what shows
// (--log-level=relay.event:notice keeps resets and refusals, :warning only
// refusals). Text by default, JSON lines for log pipelines.
#pragma once

#include "events.hpp"

#include <string>

namespace relay {

class EventLog {
public:
    explicit EventLog(bool json);

    // `lcore`: the worker's lcore id.
    void event(const Event &e, unsigned lcore) const;
    // A reload's outcome (ok or not) and its message.
    void reload(bool ok, const std::string &message) const;

    // The line for an event, without newline.
    static std::string format(const Event &e, unsigned lcore, bool json);
    // The level an event is logged at (RTE_LOG_*).
    static uint32_t level(EventKind k);

private:
    void write(uint32_t level, const std::string &line) const;

    int type_;
    bool json_;
};

} // namespace relay
