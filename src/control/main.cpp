// dpdk-relay: EAL options before "--", program options after it.
#include "build_tables.hpp"
#include "config.hpp"
#include "options.hpp"
#include "port.hpp"
#include "runtime.hpp"
#include "telemetry.hpp"
#include "telemetry_client.hpp"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

using namespace relay;

namespace {

volatile std::sig_atomic_t stop_signal = 0;
volatile std::sig_atomic_t reload_signal = 0;

constexpr uint32_t neighbour_capacity = 4096;
// A learned neighbour not confirmed by ARP for this long is forgotten; workers
// refresh entries older than a minute while they use them.
constexpr uint32_t neighbour_max_age = 300;
// How often the main lcore hands ARP results to the neighbour table: the
// delay before a newly resolved next hop is used.
constexpr unsigned housekeeping_us = 1000;

void on_signal(int sig) { stop_signal = sig; }
void on_reload_signal(int) { reload_signal = 1; }

void install_signal_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_reload_signal;
    sigaction(SIGHUP, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

void log_line(const std::string &line)
{
    if (line.empty())
        return;
    std::printf("dpdk-relay: %s\n", line.c_str());
    std::fflush(stdout);
}

[[noreturn]] void fail(const std::string &msg, int code = 1)
{
    std::fprintf(stderr, "dpdk-relay: %s\n", msg.c_str());
    std::exit(code);
}

int launch_worker(void *arg) { return static_cast<Worker *>(arg)->run(); }

rte_rcu_qsbr *create_qsbr(uint16_t workers)
{
    const size_t size = rte_rcu_qsbr_get_memsize(workers);
    auto *q = static_cast<rte_rcu_qsbr *>(rte_zmalloc("relay_qsbr", size, RTE_CACHE_LINE_SIZE));
    if (!q || rte_rcu_qsbr_init(q, workers) != 0)
        throw std::runtime_error(std::string("cannot set up RCU for reloads: ") +
                                 rte_strerror(rte_errno));
    return q;
}

std::vector<ResolvedPort> resolve_ports(const Config &config)
{
    if (rte_eth_dev_count_avail() == 0)
        fail("no ethdev ports found: pass a device with -a PCI_ADDRESS or --vdev "
             "(e.g. --vdev net_af_packet0,iface=eth1) before \"--\"");
    std::vector<ResolvedPort> out;
    for (const PortConfig &p : config.ports) {
        int id = find_port(p.device);
        if (id < 0)
            fail(p.mark.str() + ": port " + p.name + ": device \"" + p.device +
                 "\" does not exist; pass it to EAL (-a or --vdev) or fix ports[].device");
        ResolvedPort r{static_cast<uint16_t>(id), {}};
        rte_eth_macaddr_get(r.port_id, &r.mac);
        out.push_back(r);
    }
    return out;
}

void print_counters(const Runtime &rt)
{
    for (size_t i = 0; i < counter_count; i++)
        std::printf("%s %llu\n", counter_info[i].name,
                    static_cast<unsigned long long>(rt.total(i)));
    std::fflush(stdout);
}

// The rule hits of the dpdk-relay running with this file prefix, if it runs
// exactly these rules; `source` says where the hits came from or why there
// are none.
std::vector<uint64_t> running_rule_hits(const Config &config, const std::string &file_prefix,
                                        std::string &source)
{
    std::vector<uint64_t> hits;
    try {
        TelemetryClient client;
        client.connect(file_prefix);
        const std::string who = "the dpdk-relay running with file prefix " + file_prefix +
                                " (pid " + std::to_string(client.server_pid()) + ")";
        for (long start = 0; start >= 0;) {
            const nlohmann::json page = client.request("/relay/rules," + std::to_string(start));
            const nlohmann::json &rules = page.at("rules");
            for (size_t i = hits.size(); rules.contains("rule" + std::to_string(i)); i++) {
                const nlohmann::json &r = rules.at("rule" + std::to_string(i));
                if (i >= config.rules.size() ||
                    r.at("rule").get<std::string>() != config.rules[i].text.substr(0, 120)) {
                    source = "none: " + who + " runs other rules";
                    return {};
                }
                hits.push_back(r.at("hits").get<uint64_t>());
            }
            start = page.at("next").get<long>();
        }
        if (hits.size() != config.rules.size()) {
            source = "none: " + who + " runs other rules";
            return {};
        }
        source = "from " + who;
    } catch (const TelemetryConnectError &) {
        source = "none: no dpdk-relay runs with file prefix " + file_prefix +
                 " (--file-prefix NAME names another)";
    } catch (const std::exception &e) {
        source = "none: the process with file prefix " + file_prefix +
                 " gave no rule table: " + e.what();
    }
    return hits;
}

} // namespace

int main(int argc, char **argv)
{
    int sep = 1;
    while (sep < argc && std::strcmp(argv[sep], "--") != 0)
        sep++;
    const bool has_eal_args = sep < argc;
    std::vector<std::string> prog_args(argv + (has_eal_args ? sep + 1 : 1), argv + argc);

    Runtime rt;
    bool log_json = false;
    try {
        auto opt = parse_options(prog_args);
        if (!opt)
            return 0;
        rt.config = load_config(opt->config);
        log_json = opt->log_json;
        if (opt->check) {
            std::string source;
            const std::vector<uint64_t> hits =
                running_rule_hits(rt.config, opt->file_prefix, source);
            std::cout << describe_config(rt.config, hits) << "hits: " << source << "\n";
            return 0;
        }
    } catch (const ConfigError &e) {
        fail(e.what());
    } catch (const std::exception &e) {
        fail(e.what(), 2);
    }

    std::vector<char *> eal_args(argv, argv + (has_eal_args ? sep : 1));
    eal_args.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal_args.size() - 1), eal_args.data()) < 0)
        fail(std::string("EAL initialisation failed (") + rte_strerror(rte_errno) +
             "): check the EAL options, that hugepages are reserved and mounted "
             "(echo 512 > /proc/sys/vm/nr_hugepages) or use --no-huge -m 256, and that "
             "no other process uses the same --file-prefix");
    install_signal_handlers();

    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) rt.worker_lcores.push_back(lcore);
    if (rt.worker_lcores.empty())
        fail("no worker lcore: give at least two lcores (e.g. -l 0-1); the main lcore "
             "only does housekeeping");
    const auto queues = static_cast<uint16_t>(rt.worker_lcores.size());

    try {
        rt.resolved = resolve_ports(rt.config);
        rt.neighbours = std::make_unique<NeighbourTable>(neighbour_capacity);
        load_static_neighbours(rt.config, rt.resolved, *rt.neighbours);
        Runtime::Built b = rt.build(rt.config);
        rt.tables = std::move(b.tables);
        rt.relay = std::move(b.relay);
        rt.shared.qsbr = create_qsbr(queues);
        rt.shared.events = create_event_ring(static_cast<int>(rte_socket_id()));
        if (!rt.shared.events)
            throw std::runtime_error(std::string("cannot create the event ring: ") +
                                     rte_strerror(rte_errno));
        rt.log = std::make_unique<EventLog>(log_json);
        rt.shared.pools = create_mbuf_pools(static_cast<unsigned>(rt.resolved.size()), queues,
                                            rt.config.buffer_size);
        for (size_t i = 0; i < rt.resolved.size(); i++)
            start_port(rt.resolved[i].port_id, rt.config.ports[i].name, queues,
                       rt.shared.pools.packets);
    } catch (const std::exception &e) {
        fail(e.what());
    }
    if (rte_pdump_init() != 0)
        std::fprintf(stderr, "dpdk-relay: packet capture (dpdk-dumpcap) unavailable: %s\n",
                     rte_strerror(rte_errno));

    rt.shared.clock.store(1, std::memory_order_relaxed);
    rt.shared.clock_ms.store(1000, std::memory_order_relaxed);
    log_line(rt.restore_state(1));
    rt.shared.tables.store(rt.tables.get(), std::memory_order_release);
    rt.counters.reset(new LcoreCounters[queues]);
    for (uint16_t q = 0; q < queues; q++)
        rt.workers.push_back(std::make_unique<Worker>(rt.shared, q, rt.counters[q]));
    register_telemetry(rt);
    for (uint16_t q = 0; q < queues; q++)
        rte_eal_remote_launch(launch_worker, rt.workers[q].get(), rt.worker_lcores[q]);
    std::printf("dpdk-relay: ready: %u worker(s), %zu port(s), %u relay ports\n", queues,
                rt.config.ports.size(), rt.tables->relay_entries);
    std::fflush(stdout);

    // Housekeeping on the main lcore: the coarse clock the workers stamp
    // last-seen times with, the neighbour table's single writer, and once a
    // second idle expiry and (every state_interval) the state file; reloads
    // asked for by SIGHUP.
    const uint64_t start = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
    uint32_t second = 1, saved_at = 1;
    while (!stop_signal) {
        usleep(housekeeping_us);
        const uint64_t ms = (rte_get_tsc_cycles() - start) / (hz / 1000);
        const auto now = static_cast<uint32_t>(ms / 1000) + 1;
        rt.shared.clock.store(now, std::memory_order_relaxed);
        rt.shared.clock_ms.store(ms + 1000, std::memory_order_relaxed); // second 1 starts at 1000
        rt.neighbours->apply_updates(now);
        rt.drain_events();
        if (reload_signal) {
            reload_signal = 0;
            std::lock_guard<std::mutex> hold(rt.control);
            rt.reload(); // logs its outcome
        }
        if (now == second)
            continue;
        second = now;
        rt.neighbours->expire(now, neighbour_max_age);
        std::lock_guard<std::mutex> hold(rt.control);
        rt.expire_idle(now);
        if (now - saved_at >= rt.config.relay.state_interval) {
            log_line(rt.save_state());
            saved_at = now;
        }
    }

    std::printf("dpdk-relay: stopping on signal %d\n", int(stop_signal));
    rt.shared.stop.store(true, std::memory_order_relaxed);
    rte_eal_mp_wait_lcore();
    rt.drain_events();
    {
        std::lock_guard<std::mutex> hold(rt.control);
        log_line(rt.save_state());
    }
    print_counters(rt);
    for (uint16_t id : rt.tables->port_ids)
        stop_port(id);
    {
        std::lock_guard<std::mutex> hold(rt.control); // no telemetry callback holds them
        rt.tables.reset(); // its DPDK tables go before EAL does
        rt.neighbours.reset();
    }
    rte_free(rt.shared.qsbr);
    rte_ring_free(rt.shared.events);
    rte_eal_cleanup();
    return 0;
}
