// The /relay/... commands on the DPDK telemetry socket (SPEC section 5).
// Each client's callbacks run on that client's own thread, concurrently: each
// holds Runtime::control (a reload may replace the tables), reads counters
// (relaxed atomics), reads the relay table through its seqlock, and writes
// states with RelayTable::write_state, which takes the entry's lock.
#include "telemetry.hpp"

#include "runtime.hpp"
#include "telemetry_params.hpp"

#include <rte_telemetry.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>

namespace relay {

namespace {

Runtime *runtime;

constexpr uint32_t ports_page = 64;
constexpr uint32_t max_learning_window = 3600; // seconds
constexpr uint32_t rules_page = 64;
// Telemetry dicts hold at most 256 entries; a bigger table shows its first part.
constexpr size_t neighbours_page = 200;

int reply_error(rte_tel_data *d, const std::string &msg)
{
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "error", msg.c_str());
    return 0;
}

// Telemetry strings hold at most RTE_TEL_MAX_STRING_LEN - 1 bytes: a longer
// text goes as a list of pieces that a client joins.
void add_long_string(rte_tel_data *d, const char *key, const std::string &text)
{
    constexpr size_t piece = RTE_TEL_MAX_STRING_LEN - 1;
    rte_tel_data *list = rte_tel_data_alloc();
    if (!list)
        return;
    rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
    for (size_t at = 0; at < text.size(); at += piece)
        rte_tel_data_add_array_string(list, text.substr(at, piece).c_str());
    if (rte_tel_data_add_dict_container(d, key, list, 0) != 0)
        rte_tel_data_free(list);
}

void add_endpoint(rte_tel_data *d, const char *key, const Endpoint &e, uint32_t seen)
{
    rte_tel_data *c = rte_tel_data_alloc();
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_string(c, "addr", format_ipv4(e.addr).c_str());
    rte_tel_data_add_dict_int(c, "port", e.port);
    rte_tel_data_add_dict_string(c, "mac", format_mac(e.mac).c_str());
    rte_tel_data_add_dict_int(c, "ifport", e.ifport);
    const uint32_t now = runtime->shared.clock.load(std::memory_order_relaxed);
    rte_tel_data_add_dict_int(c, "age", seen && now >= seen ? int(now - seen) : -1);
    rte_tel_data_add_dict_container(d, key, c, 0);
}

std::string entry_address(const Tables &t, uint32_t e)
{
    Ipv4 a = t.entry_address(e);
    return a ? format_ipv4(a) : "*";
}

void port_reply(rte_tel_data *d, const Tables &t, uint32_t e)
{
    const RelaySnapshot s = t.relay->read(e);
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_int(d, "port", t.entry_port(e));
    rte_tel_data_add_dict_string(d, "address", entry_address(t, e).c_str());
    rte_tel_data_add_dict_int(d, "state", s.state);
    rte_tel_data_add_dict_string(d, "names", state_names(s.state).c_str());
    const RelayRange &range = t.ranges[t.entry_range[e]];
    rte_tel_data_add_dict_int(d, "idle_timeout", int(range.idle_timeout));
    rte_tel_data_add_dict_string(d, "learning", learning_mode_name(range.learning));
    const uint32_t now = runtime->shared.clock.load(std::memory_order_relaxed);
    const uint32_t until = t.relay->window_until(e);
    rte_tel_data_add_dict_int(d, "learning_window", until >= now ? int(until - now + 1) : 0);
    if (s.a.known())
        add_endpoint(d, "a", s.a, s.seen_a);
    if (s.b.known())
        add_endpoint(d, "b", s.b, s.seen_b);
    if (!t.port_counters)
        return;
    const std::array<uint64_t, 4> sums = runtime->port_counts(e);
    rte_tel_data_add_dict_u64(d, "to_a_packets", sums[0]);
    rte_tel_data_add_dict_u64(d, "to_a_bytes", sums[1]);
    rte_tel_data_add_dict_u64(d, "to_b_packets", sums[2]);
    rte_tel_data_add_dict_u64(d, "to_b_bytes", sums[3]);
}

const Tables &tables() { return *runtime->shared.tables.load(std::memory_order_acquire); }

int cmd_port(const char *, const char *params, rte_tel_data *d)
{
    const Tables &t = tables();
    std::string err;
    uint32_t e = port_params(t, params, err);
    if (e == no_relay)
        return reply_error(d, err);
    port_reply(d, t, e);
    return 0;
}

int cmd_set(const char *, const char *params, rte_tel_data *d)
{
    const Tables &t = tables();
    std::string err;
    uint32_t e;
    uint8_t v;
    if (!set_params(t, params, e, v, err))
        return reply_error(d, err);
    t.relay->write_state(e, v);
    port_reply(d, t, e);
    return 0;
}

// Opens a learning window: for SECONDS a strict or probation port takes a
// third endpoint at once, as a reset-mode port does (0 closes it).
int cmd_learn(const char *, const char *params, rte_tel_data *d)
{
    const Tables &t = tables();
    std::string err;
    uint32_t e, seconds;
    static const std::string usage = "usage: /relay/learn,PORT,SECONDS with SECONDS from 0 "
                                     "(close) to " + std::to_string(max_learning_window);
    if (!port_number_params(t, params, max_learning_window, usage.c_str(), e, seconds, err))
        return reply_error(d, err);
    const uint32_t now = runtime->shared.clock.load(std::memory_order_relaxed);
    t.relay->open_window(e, seconds ? now + seconds - 1 : 0);
    port_reply(d, t, e);
    return 0;
}

// Telemetry (22.11) arrays hold only numbers and strings, so the page is a
// dict of dicts keyed by the port as PORT or A_B_C_D_PORT (keys allow only
// [A-Za-z0-9_/]); each value repeats port and address for clients.
int cmd_ports(const char *, const char *params, rte_tel_data *d)
{
    const Tables &t = tables();
    uint32_t start;
    if (!page_start(params, t.relay_entries, start))
        return reply_error(d, "usage: /relay/ports[,START] with START an offset from a "
                              "previous reply's \"next\"");
    rte_tel_data *ports = rte_tel_data_alloc();
    if (!ports)
        return reply_error(d, "out of memory");
    rte_tel_data_start_dict(ports);
    uint32_t shown = 0, e = start;
    for (; e < t.relay_entries && shown < ports_page; e++) {
        const RelaySnapshot s = t.relay->read(e);
        if (s.state == runtime->config.relay.initial_state)
            continue;
        rte_tel_data *item = rte_tel_data_alloc();
        if (!item)
            break;
        rte_tel_data_start_dict(item);
        const std::string addr = entry_address(t, e);
        rte_tel_data_add_dict_int(item, "port", t.entry_port(e));
        rte_tel_data_add_dict_string(item, "address", addr.c_str());
        rte_tel_data_add_dict_int(item, "state", s.state);
        rte_tel_data_add_dict_string(item, "names", state_names(s.state).c_str());
        std::string key = std::to_string(t.entry_port(e));
        if (addr != "*") {
            key = addr + "_" + key;
            std::replace(key.begin(), key.end(), '.', '_');
        }
        if (rte_tel_data_add_dict_container(ports, key.c_str(), item, 0) != 0) {
            rte_tel_data_free(item);
            break;
        }
        shown++;
    }
    rte_tel_data_start_dict(d);
    if (rte_tel_data_add_dict_container(d, "ports", ports, 0) != 0)
        rte_tel_data_free(ports);
    rte_tel_data_add_dict_int(d, "next", e < t.relay_entries ? int(e) : -1);
    return 0;
}

// A page (rules_page) of the rule table: text, hook and target, classifier
// entries and hits summed over the workers.
int cmd_rules(const char *, const char *params, rte_tel_data *d)
{
    const Tables &t = tables();
    const auto &rules = runtime->config.rules;
    uint32_t start;
    if (!page_start(params, rules.size(), start))
        return reply_error(d, "usage: /relay/rules[,START] with START an offset from a "
                              "previous reply's \"next\"");
    rte_tel_data *list = rte_tel_data_alloc();
    if (!list)
        return reply_error(d, "out of memory");
    rte_tel_data_start_dict(list);
    uint32_t i = start;
    for (; i < rules.size() && i < start + rules_page; i++) {
        rte_tel_data *item = rte_tel_data_alloc();
        if (!item)
            break;
        rte_tel_data_start_dict(item);
        rte_tel_data_add_dict_int(item, "index", int(i));
        rte_tel_data_add_dict_string(item, "rule", rules[i].text.substr(0, 120).c_str());
        rte_tel_data_add_dict_int(item, "entries", int(t.rule_entries[i]));
        rte_tel_data_add_dict_u64(item, "hits", runtime->rule_hits(i));
        const std::string key = "rule" + std::to_string(i);
        if (rte_tel_data_add_dict_container(list, key.c_str(), item, 0) != 0) {
            rte_tel_data_free(item);
            break;
        }
    }
    rte_tel_data_start_dict(d);
    if (rte_tel_data_add_dict_container(d, "rules", list, 0) != 0)
        rte_tel_data_free(list);
    rte_tel_data_add_dict_int(d, "next", i < rules.size() ? int(i) : -1);
    return 0;
}

// The neighbour table: address -> MAC, port, static or age in seconds.
int cmd_neighbours(const char *, const char *params, rte_tel_data *d)
{
    if (params && *params)
        return reply_error(d, "/relay/neighbours takes no parameters");
    const uint32_t now = runtime->shared.clock.load(std::memory_order_relaxed);
    rte_tel_data_start_dict(d);
    size_t shown = 0;
    for (const NeighbourTable::Entry &e : runtime->neighbours->dump(now)) {
        if (++shown > neighbours_page)
            break;
        rte_tel_data *item = rte_tel_data_alloc();
        if (!item)
            break;
        rte_tel_data_start_dict(item);
        rte_tel_data_add_dict_string(item, "mac", format_mac(e.mac).c_str());
        rte_tel_data_add_dict_string(item, "port", tables().ports[e.port].name.c_str());
        rte_tel_data_add_dict_int(item, "age", e.is_static ? -1 : int(e.age));
        std::string key = format_ipv4(e.address);
        std::replace(key.begin(), key.end(), '.', '_');
        if (rte_tel_data_add_dict_container(d, key.c_str(), item, 0) != 0)
            rte_tel_data_free(item);
    }
    return 0;
}

int cmd_stats(const char *, const char *params, rte_tel_data *d)
{
    if (params && *params)
        return reply_error(d, "/relay/stats takes no parameters");
    rte_tel_data *total = rte_tel_data_alloc();
    rte_tel_data_start_dict(total);
    for (size_t i = 0; i < counter_count; i++)
        rte_tel_data_add_dict_u64(total, counter_info[i].name, runtime->total(i));
    rte_tel_data *lcores = rte_tel_data_alloc();
    rte_tel_data_start_dict(lcores);
    for (size_t w = 0; w < runtime->workers.size(); w++) {
        rte_tel_data *one = rte_tel_data_alloc();
        rte_tel_data_start_dict(one);
        for (size_t i = 0; i < counter_count; i++)
            if (uint64_t v = runtime->counters[w].get(i))
                rte_tel_data_add_dict_u64(one, counter_info[i].name, v);
        const std::string key = "lcore" + std::to_string(runtime->worker_lcores[w]);
        rte_tel_data_add_dict_container(lcores, key.c_str(), one, 0);
    }
    // Relay ports by how many endpoints they know, and the ethdev port ids
    // behind the config's port names (for the ethdev's own /ethdev/stats).
    const Tables &t = tables();
    uint64_t levels[4] = {};
    for (uint32_t e = 0; e < t.relay_entries; e++)
        levels[t.relay->read(e).state & state::set_mask]++;
    rte_tel_data *ports = rte_tel_data_alloc();
    rte_tel_data_start_dict(ports);
    const char *level_names[] = {"disabled", "set0", "set1", "set2"};
    for (int i = 0; i < 4; i++)
        rte_tel_data_add_dict_u64(ports, level_names[i], levels[i]);
    rte_tel_data *ethdev = rte_tel_data_alloc();
    rte_tel_data_start_dict(ethdev);
    for (uint16_t id : t.port_ids)
        rte_tel_data_add_dict_int(ethdev, t.ports[id].name.c_str(), id);
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_container(d, "total", total, 0);
    rte_tel_data_add_dict_container(d, "lcores", lcores, 0);
    rte_tel_data_add_dict_container(d, "relay_ports", ports, 0);
    rte_tel_data_add_dict_container(d, "ethdev", ethdev, 0);
    return 0;
}

// Re-reads the config file. The reply says what changed ("reloaded") or
// why nothing did ("error", cut to a telemetry string, and the whole text as
// the pieces of "message").
int cmd_reload(const char *, const char *params, rte_tel_data *d)
{
    if (params && *params)
        return reply_error(d, "/relay/reload takes no parameters");
    const ReloadResult r = runtime->reload(); // logs its outcome
    if (!r.ok)
        reply_error(d, r.message);
    else {
        rte_tel_data_start_dict(d);
        rte_tel_data_add_dict_string(d, "reloaded", r.message.c_str());
        rte_tel_data_add_dict_int(d, "us", int(r.ms * 1000));
    }
    add_long_string(d, "message", r.message);
    return 0;
}

// Every command holds Runtime::control while it runs.
template <int (*F)(const char *, const char *, rte_tel_data *)>
int locked(const char *cmd, const char *params, rte_tel_data *d)
{
    std::lock_guard<std::mutex> hold(runtime->control);
    return F(cmd, params, d);
}

// Every command, as registered and as --help lists it.
struct Command {
    const char *name;
    telemetry_cb fn;
    const char *help;
};
const Command commands[] = {
    {"/relay/port", locked<cmd_port>,
     "State, endpoints, ages and counters of a relay port. Parameters: PORT or ADDR:PORT"},
    {"/relay/set", locked<cmd_set>,
     "Writes a relay port's state word. Parameters: PORT,VALUE (0-15 or a name)"},
    {"/relay/learn", locked<cmd_learn>,
     "Opens a learning window on a strict or probation relay port. Parameters: PORT,SECONDS "
     "(0 closes it)"},
    {"/relay/ports", locked<cmd_ports>,
     "Relay ports not in their initial state. Parameters: [START] (paged)"},
    {"/relay/rules", locked<cmd_rules>,
     "The compiled rule table with hit counters. Parameters: [START] (paged)"},
    {"/relay/neighbours", locked<cmd_neighbours>,
     "The ARP neighbour table (first 200 entries). No parameters"},
    {"/relay/stats", locked<cmd_stats>,
     "Counters: totals, per worker lcore, relay ports by state, ethdev ids. No parameters"},
    {"/relay/reload", locked<cmd_reload>,
     "Re-reads the config file; a bad one changes nothing and the reply says why. No "
     "parameters"},
};

} // namespace

void register_telemetry(Runtime &rt)
{
    runtime = &rt;
    for (const Command &c : commands)
        rte_telemetry_register_cmd(c.name, c.fn, c.help);
}

std::string telemetry_help()
{
    std::string out;
    for (const Command &c : commands)
        out += std::string("  ") + c.name + "\n      " + c.help + "\n";
    return out;
}

} // namespace relay
