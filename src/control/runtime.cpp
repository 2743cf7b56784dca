#include "runtime.hpp"

#include "reload.hpp"
#include "state_file.hpp"

#include <rte_cycles.h>
#include <rte_lcore.h>

#include <fstream>
#include <sstream>

namespace relay {

Runtime::Built Runtime::build(const Config &c) const
{
    Built b;
    b.tables = build_tables(c, resolved);
    b.relay = std::make_unique<RelayTable>(b.tables->relay_entries, c.relay.initial_state);
    b.tables->relay = b.relay.get();
    b.tables->neighbours = neighbours.get();
    b.tables->add_counters(queues());
    return b;
}

ReloadResult Runtime::reload()
{
    const uint64_t start = rte_get_tsc_cycles();
    ReloadResult r;
    Counters count;
    auto finish = [&] {
        r.ms = double(rte_get_tsc_cycles() - start) * 1000.0 / double(rte_get_tsc_hz());
        count.add(r.ok ? Counter::reloads : Counter::reloads_failed);
        control_counters.commit(count);
        if (log)
            log->reload(r.ok, r.message + " (" + std::to_string(int(r.ms * 1000)) + " us)");
        return r;
    };
    Config next;
    Built b;
    try {
        next = load_config(config.path);
        r.message = reload_refusal(config, next);
        if (!r.message.empty())
            return finish();
        b = build(next);
    } catch (const std::exception &e) {
        r.message = e.what();
        return finish();
    }

    // Endpoints go over in two passes. The first copies every surviving entry
    // before the new table is published; workers still on the old table may
    // write to it until the grace period ends, so the second pass copies
    // again what changed there since, unless a worker on the new table has
    // written that entry meanwhile (then the newer write stands). Learning
    // windows, reset limits and probation attempts go with them.
    struct Copy {
        SurvivingEntry e;
        uint32_t old_version, new_version;
    };
    std::vector<Copy> copies;
    for (const SurvivingEntry &e : surviving_entries(*tables, *b.tables)) {
        uint32_t v;
        RelaySnapshot s;
        do {
            v = relay->version(e.from);
            s = relay->read(e.from);
        } while ((v & 1) || relay->version(e.from) != v);
        b.relay->restore(e.to, s);
        b.relay->carry_learning(e.to, *relay, e.from);
        copies.push_back({e, v, b.relay->version(e.to)});
    }

    const uint64_t publish = rte_get_tsc_cycles();
    shared.tables.store(b.tables.get(), std::memory_order_release);
    if (shared.qsbr)
        rte_rcu_qsbr_synchronize(shared.qsbr, RTE_QSBR_THRID_INVALID);
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t build_us = (publish - start) * 1000000 / hz;
    const uint64_t grace_us = (rte_get_tsc_cycles() - publish) * 1000000 / hz;

    size_t recopied = 0;
    std::vector<std::array<uint64_t, 4>> ports(b.tables->relay_entries);
    for (const Copy &c : copies) {
        if (relay->version(c.e.from) != c.old_version &&
            b.relay->restore(c.e.to, relay->read(c.e.from), c.new_version))
            recopied++;
        b.relay->carry_learning(c.e.to, *relay, c.e.from);
        ports[c.e.to] = port_counts(c.e.from);
    }
    const std::vector<int> rules = surviving_rules(config, next);
    std::vector<uint64_t> hits(rules.size());
    for (size_t i = 0; i < rules.size(); i++)
        if (rules[i] >= 0)
            hits[i] = rule_hits(static_cast<uint32_t>(rules[i]));

    const uint32_t before = tables->relay_entries;
    config = std::move(next);
    tables = std::move(b.tables); // the old ones go: no worker holds them now
    relay = std::move(b.relay);
    carried_ports = std::move(ports);
    carried_hits = std::move(hits);
    r.ok = true;
    std::ostringstream msg;
    msg << "reloaded " << config.path << ": " << config.rules.size() << " rules, "
        << tables->relay_entries << " relay ports (" << copies.size() << " kept with their state, "
        << before - copies.size() << " dropped, " << tables->relay_entries - copies.size()
        << " new; " << recopied << " changed during the swap; built in " << build_us
        << " us, grace period " << grace_us << " us)";
    r.message = msg.str();
    return finish();
}

void Runtime::expire_idle(uint32_t now)
{
    Counters count;
    uint32_t logged = 0;
    for (const RelayRange &r : tables->ranges) {
        if (r.idle_timeout == 0)
            continue;
        for (uint32_t e = r.base; e <= r.base + (r.hi - r.lo); e++) {
            Endpoint gone[2];
            const int n = relay->expire(e, now, r.idle_timeout, gone);
            count.add(Counter::relay_expired, n);
            for (uint8_t slot = 1; n && slot <= 2 && log; slot++) {
                if (!gone[slot - 1].known() || logged++ >= max_events_per_second)
                    continue;
                Event ev{EventKind::expired};
                ev.slot = slot;
                ev.port = tables->entry_port(e);
                ev.address = r.address;
                ev.src = gone[slot - 1].addr;
                ev.src_port = gone[slot - 1].port;
                ev.time = now;
                log->event(ev, rte_get_main_lcore());
            }
        }
    }
    if (log && logged > max_events_per_second) {
        Event summary{EventKind::suppressed};
        summary.count = logged - max_events_per_second;
        log->event(summary, rte_get_main_lcore());
    }
    control_counters.commit(count);
}

void Runtime::drain_events()
{
    if (!shared.events)
        return;
    Event batch[64];
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(shared.events, batch, sizeof(Event), 64,
                                               nullptr)) != 0)
        for (unsigned i = 0; i < n; i++)
            if (log)
                log->event(batch[i], worker_lcores[batch[i].queue]);
}

std::string Runtime::save_state()
{
    const std::string &path = config.relay.state_file;
    if (path.empty())
        return {};
    try {
        write_file_atomically(path, state_json(*tables, *relay, config.relay.initial_state));
    } catch (const std::exception &e) {
        return std::string("state file not saved: ") + e.what();
    }
    return {};
}

std::string Runtime::restore_state(uint32_t now)
{
    const std::string &path = config.relay.state_file;
    if (path.empty())
        return {};
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return "state file " + path + ": none yet; starting clean";
    std::ostringstream text;
    text << in.rdbuf();
    RestoredState restored;
    try {
        restored = parse_state(text.str(), *tables);
    } catch (const StateFileError &e) {
        return "state file " + path + ": " + e.what() + "; ignored, starting clean";
    }
    for (RestoredPort &p : restored.ports) {
        p.snapshot.seen_a = p.snapshot.seen_b = now; // idle timeouts count from the restart
        relay->restore(p.entry, p.snapshot);
    }
    std::string line = "state file " + path + ": restored " + std::to_string(restored.ports.size()) +
                       " relay ports";
    if (restored.not_relay_ports)
        line += " (" + std::to_string(restored.not_relay_ports) +
                " saved ports are not relay ports of this config: skipped)";
    return line;
}

uint64_t Runtime::rule_hits(uint32_t rule) const
{
    uint64_t sum = rule < carried_hits.size() ? carried_hits[rule] : 0;
    for (const TableCounters &c : tables->counters)
        sum += c.rule_hits[rule].load(std::memory_order_relaxed);
    return sum;
}

std::array<uint64_t, 4> Runtime::port_counts(uint32_t entry) const
{
    std::array<uint64_t, 4> sum{};
    if (entry < carried_ports.size())
        sum = carried_ports[entry];
    if (!tables->port_counters)
        return sum;
    for (const TableCounters &c : tables->counters) {
        const RelayPortCounters &pc = c.ports[entry];
        sum[0] += pc.to_a_packets.load(std::memory_order_relaxed);
        sum[1] += pc.to_a_bytes.load(std::memory_order_relaxed);
        sum[2] += pc.to_b_packets.load(std::memory_order_relaxed);
        sum[3] += pc.to_b_bytes.load(std::memory_order_relaxed);
    }
    return sum;
}

} // namespace relay
