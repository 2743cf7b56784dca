#include "event_log.hpp"

#include <nlohmann/json.hpp>
#include <rte_log.h>

#include <ctime>

namespace relay {

namespace {

const char *kind_name(EventKind k)
{
    switch (k) {
    case EventKind::learned: return "learned";
    case EventKind::reset: return "reset";
    case EventKind::replaced: return "replaced";
    case EventKind::probation: return "probation";
    case EventKind::refused: return "refused";
    case EventKind::strict: return "strict";
    case EventKind::not_allowed: return "not_allowed";
    case EventKind::reset_limited: return "reset_limited";
    case EventKind::suppressed: return "suppressed";
    case EventKind::expired: return "expired";
    }
    return "?";
}

// What each kind says, before "ENDPOINT on RELAY_PORT".
const char *kind_text(EventKind k)
{
    switch (k) {
    case EventKind::learned: return "learned";
    case EventKind::reset: return "took over (reset)";
    case EventKind::replaced: return "replaced after probation";
    case EventKind::probation: return "on probation";
    case EventKind::refused: return "refused (never learned)";
    case EventKind::strict: return "refused (strict port)";
    case EventKind::not_allowed: return "refused (not in allow)";
    case EventKind::reset_limited: return "refused (reset_interval)";
    case EventKind::suppressed: return "suppressed";
    case EventKind::expired: return "expired";
    }
    return "?";
}

std::string endpoint(Ipv4 a, uint16_t p) { return format_ipv4(a) + ":" + std::to_string(p); }

std::string relay_port(const Event &e)
{
    return (e.address ? format_ipv4(e.address) : std::string("*")) + ":" + std::to_string(e.port);
}

std::string now_iso()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

EventLog::EventLog(bool json)
    : type_(rte_log_register_type_and_pick_level("relay.event", RTE_LOG_INFO)), json_(json)
{
    if (type_ < 0)
        type_ = RTE_LOGTYPE_USER1;
}

uint32_t EventLog::level(EventKind k)
{
    switch (k) {
    case EventKind::learned:
    case EventKind::expired:
        return RTE_LOG_INFO;
    case EventKind::reset:
    case EventKind::replaced:
    case EventKind::probation:
        return RTE_LOG_NOTICE;
    default:
        return RTE_LOG_WARNING;
    }
}

std::string EventLog::format(const Event &e, unsigned lcore, bool json)
{
    const char *slot = e.slot == 1 ? "A" : e.slot == 2 ? "B" : nullptr;
    if (json) {
        nlohmann::json j = {{"ts", now_iso()}, {"event", kind_name(e.kind)}, {"lcore", lcore}};
        if (e.kind == EventKind::suppressed) {
            j["count"] = e.count;
        } else {
            j["relay_port"] = e.port;
            j["address"] = e.address ? format_ipv4(e.address) : "*";
            j["endpoint"] = endpoint(e.src, e.src_port);
            if (slot)
                j["slot"] = slot;
        }
        return j.dump();
    }
    if (e.kind == EventKind::suppressed)
        return "relay event: " + std::to_string(e.count) + " more events on lcore " +
               std::to_string(lcore) + " suppressed (at most " +
               std::to_string(max_events_per_second) + " a second)";
    std::string line = "relay event: " + std::string(kind_text(e.kind)) + " ";
    if (slot)
        line += std::string(slot) + " ";
    return line + endpoint(e.src, e.src_port) + " on " + relay_port(e) + " (lcore " +
           std::to_string(lcore) + ")";
}

void EventLog::event(const Event &e, unsigned lcore) const
{
    write(level(e.kind), format(e, lcore, json_));
}

void EventLog::reload(bool ok, const std::string &message) const
{
    std::string line;
    if (json_)
        line = nlohmann::json{{"ts", now_iso()}, {"event", "reload"}, {"ok", ok}, {"message", message}}
                   .dump();
    else
        line = std::string("relay event: reload ") + (ok ? "done: " : "refused: ") + message;
    write(ok ? RTE_LOG_INFO : RTE_LOG_ERR, line);
}

void EventLog::write(uint32_t level, const std::string &line) const
{
    rte_log(level, static_cast<uint32_t>(type_), "%s\n", line.c_str());
}

} // namespace relay
