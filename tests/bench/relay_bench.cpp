// dpdk-relay-bench: what the worker pipeline costs per packet, against a plain
// io-forward on the same virtual device and the same packets.
//
// Both read from and write to net_ring ports (rte_eth_from_rings). A round
// fills the RX rings with fresh mbufs holding the round's frames, untimed;
// then rte_rdtsc times the loop a worker runs until the rings are empty: per
// port an RX burst, then either a TX burst straight to the other port
// (baseline) or Worker::process_burst and flush (the pipeline). The TX rings
// are emptied after the second timestamp. Feeding (ring dequeue and enqueue,
// the mbufs' headers) thus costs the same in both, and the difference is the
// pipeline's own work. Each round of a scenario runs the baseline and the
// pipeline back to back on the same frames; the figures are medians.
//
// Scenarios (--scenarios, comma-separated):
//   relay-N    relay traffic over N learned relay ports (1 to 1,048,576: past
//              65,536 on several addresses), each packet to a port drawn
//              uniformly, from its A or its B endpoint; new random frames
//              every round. A on lan, B on wan: a burst's packets all go
//              the same way
//   relay-N-onearm  the same with A and B both behind lan, as on a relay
//              with one interface: a burst's packets go either way
//   relay-N-uncounted  relay-N without per-port counts (relay.port_counters:
//              false)
//   rewrite-N  DEST/SOURCE traffic with N DEST rules and N/2 SOURCE rules
//              (rule_workload.hpp, as rule_bench): one packet of each of
//              --packets flows, the same flows every round, which the workers'
//              flow caches hold after the first
//   rewrite-N-new  the same with new flows every round: every packet is its
//              flow's first, and the flow cache only costs
//   mixed      88% relay over 65,536 ports, 10% rewrite over 100 rules, 2% ARP
//              requests, echo requests to the box and malformed frames
//
//   dpdk-relay-bench [--huge] [--workers N] [--json FILE] [--rounds N] [--packets N]
//                    [--scenarios LIST]
//
// --workers N adds, to every round, frames drawn as the round's were, spread
// over N queues and N workers on N lcores at once (the main lcore is one of
// them): the wall-clock cycles per packet from the start until the last worker
// finished, and the speedup over one worker. They are not the frames one worker
// just ran, whose relay entries and new flows that run left in the caches.
//
// --huge runs EAL on hugepages (1 GB), as a production relay does; without it
// every mbuf touch risks a TLB miss that a deployment would not see.
//
// Before the scenarios it times a chain of dependent loads at random in 1, 4,
// 16 and 64 MiB of EAL memory (load_latency): how far this machine's caches
// reach at the time of the run, which on a shared host changes from run to
// run and decides what the large relay scenarios cost.
#include "bench_util.hpp"
#include "rule_workload.hpp"

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>
#include <unistd.h>

using namespace relay;
using namespace relay::bench;

namespace {

bool eal_up = false; // once it is, fail() removes EAL's runtime directory too

[[noreturn]] void fail(const std::string &what)
{
    std::fprintf(stderr, "dpdk-relay-bench: %s\n", what.c_str());
    if (eal_up) {
        std::error_code ignored;
        std::filesystem::remove_all(rte_eal_get_runtime_dir(), ignored);
    }
    std::exit(1);
}

constexpr uint32_t ring_size = 1 << 15; // holds a round of up to 32,767 frames

constexpr uint16_t max_workers = 8;

// The two net_ring ports standing in for lan and wan, with a queue pair per
// worker.
struct Device {
    uint16_t port[2];
    uint16_t queues;
    rte_ring *rx[2][max_workers], *tx[2][max_workers];
    MbufPools pools;
};

Device make_device(uint32_t packets, uint16_t queues)
{
    Device d{};
    d.queues = queues;
    // A round's frames, their replies and what the workers originate.
    d.pools.packets = rte_pktmbuf_pool_create("bench_mbufs", 3 * packets + 4096 * queues, 256, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    d.pools.headers = rte_pktmbuf_pool_create("bench_headers", 4095, 256, 0, 256, SOCKET_ID_ANY);
    d.pools.indirect = rte_pktmbuf_pool_create("bench_indirect", 4095, 256, 0, 0, SOCKET_ID_ANY);
    if (!d.pools.packets || !d.pools.headers || !d.pools.indirect)
        fail("no mbuf pools");
    const char *names[2] = {"bench_lan", "bench_wan"};
    for (int i = 0; i < 2; i++) {
        const std::string n = names[i];
        for (uint16_t q = 0; q < queues; q++) {
            const std::string rq = n + "_" + std::to_string(q);
            d.rx[i][q] = rte_ring_create((rq + "_rx").c_str(), ring_size, SOCKET_ID_ANY,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
            d.tx[i][q] = rte_ring_create((rq + "_tx").c_str(), ring_size, SOCKET_ID_ANY,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (!d.rx[i][q] || !d.tx[i][q])
                fail("cannot create the rings");
        }
        const int id = rte_eth_from_rings(names[i], d.rx[i], queues, d.tx[i], queues, SOCKET_ID_ANY);
        if (id < 0)
            fail("rte_eth_from_rings failed");
        d.port[i] = static_cast<uint16_t>(id);
        rte_eth_conf conf{};
        bool ok = rte_eth_dev_configure(d.port[i], queues, queues, &conf) == 0;
        for (uint16_t q = 0; ok && q < queues; q++)
            ok = rte_eth_rx_queue_setup(d.port[i], q, 1024, SOCKET_ID_ANY, nullptr,
                                        d.pools.packets) == 0 &&
                 rte_eth_tx_queue_setup(d.port[i], q, 1024, SOCKET_ID_ANY, nullptr) == 0;
        if (!ok || rte_eth_dev_start(d.port[i]) != 0)
            fail("cannot start ring port " + n);
    }
    return d;
}

// A frame and the ring port (0 lan, 1 wan) it arrives on.
struct Input {
    uint8_t side;
    uint8_t len;
    uint8_t bytes[128];
};

// One scenario: its box, and the frames of each round.
class Scenario {
public:
    virtual ~Scenario() = default;
    std::string name;
    Box box;
    // Frames for the next round (a scenario may draw new ones each round).
    virtual const std::vector<Input> &next_round() = 0;
    // What must come out of a pipeline round of n frames, checked once.
    virtual void check(const Counters &c, size_t n) const = 0;
};

Input input(uint8_t side, const std::vector<uint8_t> &f)
{
    Input in{side, static_cast<uint8_t>(f.size()), {}};
    if (f.size() > sizeof in.bytes)
        fail("frame too long for the bench");
    std::memcpy(in.bytes, f.data(), f.size());
    return in;
}

// Relay traffic. Relay port q has endpoint A on lan (10.0.x.y) and B on wan
// (192.0.2.z), or one-armed, B on lan too, routed (10.1.x.y). Up to 65,536
// ports, one range serves every box address, and A sends to the lan address,
// B to the wan address (one-armed, the lan address too). Past that, ranges of
// 65,536 ports sit on aliases of lan (10.0.255.2 and up), to which both send.
class RelayScenario : public Scenario {
public:
    static constexpr uint32_t max_ports = 16 * 65536;

    RelayScenario(uint32_t ports, uint32_t packets, std::mt19937 &rng, bool one_arm = false,
                  bool counted = true)
        : ports_(ports), packets_(packets), rng_(rng), one_arm_(one_arm), counted_(counted)
    {
        name = "relay-" + std::to_string(ports) + (one_arm ? "-onearm" : "") +
               (counted ? "" : "-uncounted");
    }

    bool on_aliases() const { return ports_ > 65536; }
    static Ipv4 alias(uint32_t i) { return 0x0a00ff02 + i; }

    // What the lan port's mapping needs, and the RELAY rules.
    std::string lan_keys() const
    {
        std::string s;
        for (uint32_t i = 0; on_aliases() && i * 65536 < ports_; i++)
            s += (i ? ", " : ", aliases: [") + format_ipv4(alias(i));
        return s.empty() ? s : s + "]";
    }
    std::string rules() const
    {
        if (!on_aliases())
            return "  - \"-A PREROUTING -p udp --dport " + std::to_string(65536 - ports_) +
                   ":65535 -j RELAY\"\n";
        std::string s;
        for (uint32_t i = 0; i * 65536 < ports_; i++)
            s += "  - \"-A PREROUTING -p udp -d " + format_ipv4(alias(i)) + " --dport 0:" +
                 std::to_string(std::min<uint32_t>(65535, ports_ - i * 65536 - 1)) +
                 " -j RELAY\"\n";
        return s;
    }

    std::string relay_section() const
    {
        return std::string("relay: { initial_state: enabled") +
               (counted_ ? "" : ", port_counters: false") + " }\n";
    }

    // A packet from endpoint A (side 0) or B (side 1) of relay port q.
    Input frame(uint32_t q, uint8_t side) const
    {
        const uint16_t dport = static_cast<uint16_t>(on_aliases() ? q % 65536 : 65536 - ports_ + q);
        const Ipv4 dst_a = on_aliases() ? alias(q / 65536) : 0x0a000001;
        const Ipv4 dst_b = on_aliases() ? alias(q / 65536) : 0xc0000201;
        if (side == 0 || one_arm_) {
            const bool b = side == 1; // one-armed B: 10.1.x.y, routed
            return input(0, Packet()
                                .eth(lan_mac, peer_mac)
                                .ipv4((b ? 0x0a010002 : 0x0a000002) + q % 65000, dst_a)
                                .udp(static_cast<uint16_t>((b ? 1024 : 40000) + q / 65000), dport)
                                .payload(18)
                                .bytes());
        }
        return input(1, Packet()
                            .eth(wan_mac, peer_mac)
                            .ipv4(0xc0000200 + 2 + q % 250, dst_b)
                            .udp(static_cast<uint16_t>(1024 + q / 250), dport)
                            .payload(18)
                            .bytes());
    }

    // Every port learns A then B, and relays once each way (so both
    // directions are active): what a warmed-up relay looks like. Three
    // phases, since A's and B's frames arrive on different rings.
    std::vector<std::vector<Input>> learning() const
    {
        std::vector<std::vector<Input>> phases(3);
        for (uint32_t q = 0; q < ports_; q++)
            for (uint8_t phase = 0; phase < 3; phase++)
                phases[phase].push_back(frame(q, phase == 1));
        return phases;
    }

    const std::vector<Input> &next_round() override
    {
        round_.clear();
        std::uniform_int_distribution<uint32_t> port(0, ports_ - 1);
        for (uint32_t k = 0; k < packets_; k++)
            round_.push_back(frame(port(rng_), static_cast<uint8_t>(rng_() & 1)));
        return round_;
    }

    void check(const Counters &c, size_t n) const override
    {
        if (c[Counter::relayed_packets] != n)
            fail(name + ": " + std::to_string(c[Counter::relayed_packets]) + " of " +
                 std::to_string(n) + " frames relayed");
    }

private:
    uint32_t ports_, packets_;
    std::mt19937 &rng_;
    bool one_arm_, counted_;
    std::vector<Input> round_;
};

// DEST/SOURCE traffic: rule_workload's frames, the same every round or, with
// `fresh`, new flows every round.
class RewriteScenario : public Scenario {
public:
    RewriteScenario(uint32_t rules, uint32_t packets, bool fresh)
        : rules_(rules), packets_(packets), fresh_(fresh)
    {
        name = "rewrite-" + std::to_string(rules) + (fresh ? "-new" : "");
        make(20240601);
    }
    const std::vector<Input> &next_round() override
    {
        if (fresh_)
            make(++seed_);
        return frames_;
    }
    void check(const Counters &c, size_t n) const override
    {
        if (c[Counter::forwarded_packets] != n)
            fail(name + ": " + std::to_string(c[Counter::forwarded_packets]) + " of " +
                 std::to_string(n) + " frames forwarded");
    }

private:
    void make(uint32_t seed)
    {
        frames_.clear();
        for (const Frame &f : make_frames(rules_, std::max<uint32_t>(1, rules_ / 2), packets_, seed))
            frames_.push_back(input(f.port == lan ? 0 : 1, f.bytes));
    }
    uint32_t rules_, packets_;
    bool fresh_;
    uint32_t seed_ = 20240601;
    std::vector<Input> frames_;
};

// Mostly relay, some rewrite, a little of everything else.
class MixedScenario : public Scenario {
public:
    MixedScenario(RelayScenario &relay, uint32_t packets, std::mt19937 &rng)
        : relay_(relay), rng_(rng)
    {
        name = "mixed";
        const uint32_t rewrite = packets / 10, other = packets / 50;
        relay_count_ = packets - rewrite - other;
        for (const Frame &f : make_frames(100, 50, rewrite))
            fixed_.push_back(input(f.port == lan ? 0 : 1, f.bytes));
        for (uint32_t k = 0; k < other; k++) {
            switch (k % 3) {
            case 0: // who has 10.0.0.1? The box answers.
                fixed_.push_back(input(0, Packet()
                                              .eth(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                                   peer_mac, 0x0806)
                                              .arp(1, peer_mac, 0x0a0000fe, Mac{}, 0x0a000001)
                                              .bytes()));
                break;
            case 1: // ping the box
                fixed_.push_back(input(1, Packet()
                                              .eth(wan_mac, peer_mac)
                                              .ipv4(0xc00002fe, 0xc0000201, 64, 1)
                                              .icmp_echo()
                                              .payload(18)
                                              .bytes()));
                break;
            default: // an IHL past the frame
                fixed_.push_back(input(
                    0, Packet().eth(lan_mac, peer_mac).ipv4(0x0a000002, 0x0a000001).ihl(15).payload(6).bytes()));
                break;
            }
        }
    }

    const std::vector<Input> &next_round() override
    {
        round_ = relay_.next_round();
        round_.resize(relay_count_);
        round_.insert(round_.end(), fixed_.begin(), fixed_.end());
        std::shuffle(round_.begin(), round_.end(), rng_);
        return round_;
    }

    void check(const Counters &c, size_t n) const override
    {
        if (c[Counter::relayed_packets] != relay_count_ || c[Counter::drop_malformed] == 0 ||
            c[Counter::arp_replies] == 0 || c[Counter::icmp_echo_replies] == 0 ||
            c[Counter::relayed_packets] + c[Counter::forwarded_packets] +
                    c[Counter::arp_replies] + c[Counter::icmp_echo_replies] +
                    c[Counter::drop_malformed] != n)
            fail("mixed: the box did not handle every frame as expected");
    }

private:
    RelayScenario &relay_;
    std::mt19937 &rng_;
    uint32_t relay_count_ = 0;
    std::vector<Input> fixed_, round_;
};

// Fills the RX rings of `queues` queues with mbufs holding the frames, frame k
// on queue k % queues, as RSS would spread flows.
void fill(const Device &d, const std::vector<Input> &frames, uint16_t queues = 1)
{
    std::vector<rte_mbuf *> m(frames.size());
    if (rte_pktmbuf_alloc_bulk(d.pools.packets, m.data(), static_cast<unsigned>(m.size())) != 0)
        fail("mbuf pool exhausted");
    for (size_t i = 0; i < frames.size(); i++) {
        std::memcpy(rte_pktmbuf_append(m[i], frames[i].len), frames[i].bytes, frames[i].len);
        m[i]->port = d.port[frames[i].side];
        if (rte_ring_enqueue(d.rx[frames[i].side][i % queues], m[i]) != 0)
            fail("RX ring full");
    }
}

// Empties the TX rings; returns how many frames were sent.
size_t drain(const Device &d)
{
    size_t n = 0;
    void *objs[256];
    for (int i = 0; i < 2; i++)
        for (uint16_t q = 0; q < d.queues; q++)
            while (unsigned k = rte_ring_dequeue_burst(d.tx[i][q], objs, 256, nullptr)) {
                rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf **>(objs), k);
                n += k;
            }
    return n;
}

// The loops a round times, on queue q until its RX rings are empty. Never
// inlined, so that scripts/bench_instructions.sh finds them by name.
[[gnu::noinline]] void baseline_loop(const Device &d, uint16_t q)
{
    rte_mbuf *pkts[burst_size];
    for (bool busy = true; busy;) {
        busy = false;
        for (int i = 0; i < 2; i++) {
            const uint16_t n = rte_eth_rx_burst(d.port[i], q, pkts, burst_size);
            if (n == 0)
                continue;
            busy = true;
            const uint16_t sent = rte_eth_tx_burst(d.port[i ^ 1], q, pkts, n);
            if (sent < n)
                rte_pktmbuf_free_bulk(pkts + sent, n - sent);
        }
    }
}

[[gnu::noinline]] void pipeline_loop(Box &box, uint16_t q)
{
    rte_mbuf *pkts[burst_size];
    Worker &w = *box.workers[q];
    for (bool busy = true; busy;) {
        busy = false;
        const Tables &t = *box.shared.tables.load(std::memory_order_acquire);
        for (uint16_t port : t.port_ids) {
            const uint16_t n = rte_eth_rx_burst(port, q, pkts, burst_size);
            if (n == 0)
                continue;
            busy = true;
            w.process_burst(t, port, pkts, n);
            w.flush();
        }
    }
    w.commit(); // as the poll loop does once idle
}

// Runs loop(q) for queues 0 to queues - 1 at once, queue q on the q-th lcore
// (the main lcore takes queue 0), and returns the cycles from the start until
// the last one finished.
template <typename Loop> uint64_t timed(uint16_t queues, Loop loop)
{
    struct Job {
        Loop *loop;
        uint16_t q;
        std::atomic<unsigned> *ready;
        const std::atomic<bool> *go;
        uint64_t end;
    };
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
    Job jobs[max_workers];
    unsigned lcore = rte_get_main_lcore();
    for (uint16_t q = 1; q < queues; q++) {
        jobs[q] = Job{&loop, q, &ready, &go, 0};
        lcore = rte_get_next_lcore(lcore, 1, 0);
        rte_eal_remote_launch(
            [](void *arg) {
                Job &j = *static_cast<Job *>(arg);
                j.ready->fetch_add(1, std::memory_order_release);
                while (!j.go->load(std::memory_order_acquire))
                    cpu_relax();
                (*j.loop)(j.q);
                j.end = rte_rdtsc_precise();
                return 0;
            },
            &jobs[q], lcore);
    }
    // Every worker is awake and spinning before the clock starts: waking an
    // EAL lcore takes a system call's time, which is no part of the work.
    while (ready.load(std::memory_order_acquire) + 1 < queues)
        cpu_relax();
    const uint64_t t0 = rte_rdtsc_precise();
    go.store(true, std::memory_order_release);
    loop(0);
    uint64_t end = rte_rdtsc_precise();
    rte_eal_mp_wait_lcore();
    for (uint16_t q = 1; q < queues; q++)
        end = std::max(end, jobs[q].end);
    return end - t0;
}

Counters committed(const Box &box)
{
    Counters c;
    for (size_t q = 0; q < box.workers.size(); q++)
        for (size_t i = 0; i < counter_count; i++)
            c.v[i] += box.counters[q].get(i);
    return c;
}

Counters since(const Counters &before, const Counters &after)
{
    Counters d;
    for (size_t i = 0; i < counter_count; i++)
        d.v[i] = after.v[i] - before.v[i];
    return d;
}

struct Result {
    std::string name;
    std::vector<double> base, pipe; // cycles per packet, per round, one worker
    // With all workers: wall-clock cycles per packet of the whole round.
    std::vector<double> base_all, pipe_all;
    // Of the measured rounds' TCP/UDP datagrams looked up in the flow cache,
    // the fraction it held; negative when none was looked up.
    double flow_hits = -1;
};

void build(Scenario &s, const std::string &config, const Device &d)
{
    s.box.config = parse_config(config, s.name + ".yaml");
    finish_box(s.box, {{d.port[0], ether(lan_mac)}, {d.port[1], ether(wan_mac)}}, d.pools,
               d.queues);
}

// Learns the relay ports of a scenario through the pipeline itself.
void learn(Scenario &s, const RelayScenario &relay, const Device &d)
{
    size_t ports = 0;
    for (const std::vector<Input> &frames : relay.learning()) {
        for (size_t b = 0; b < frames.size(); b += 4096) {
            fill(d, std::vector<Input>(frames.begin() + long(b),
                                       frames.begin() + long(std::min(frames.size(), b + 4096))));
            pipeline_loop(s.box, 0);
            drain(d);
        }
        ports = frames.size();
    }
    const Counters c = committed(s.box);
    if (c[Counter::relay_learned] != 2 * ports || c[Counter::relayed_packets] != 2 * ports)
        fail(s.name + ": learned " + std::to_string(c[Counter::relay_learned]) +
             " endpoints and relayed " + std::to_string(c[Counter::relayed_packets]) +
             " packets for " + std::to_string(ports) + " ports");
}

// One round of a loop over the frames on `queues` queues: cycles per packet.
template <typename Loop>
double round_of(const Device &d, const std::vector<Input> &frames, uint16_t queues, Loop loop,
                size_t expect_out = 0)
{
    fill(d, frames, queues);
    const uint64_t cycles = timed(queues, loop);
    const size_t out = drain(d);
    if (expect_out && out != expect_out)
        fail("the baseline lost frames");
    return double(cycles) / double(frames.size());
}

// The first round of a scenario: it warms the caches up (a flow cache
// included) and checks what the pipeline did. Never inlined, so that
// scripts/bench_instructions.sh can leave it out by name.
template <typename Base, typename Pipe>
[[gnu::noinline]] void warm_up(Scenario &s, const Device &d, const std::vector<Input> &frames,
                               Base base, Pipe pipe)
{
    round_of(d, frames, 1, base, frames.size());
    const Counters before = committed(s.box);
    round_of(d, frames, 1, pipe);
    s.check(since(before, committed(s.box)), frames.size());
}

Result measure(Scenario &s, const Device &d, unsigned rounds)
{
    Result r{s.name, {}, {}, {}, {}, -1};
    Counters measured;
    auto base = [&d](uint16_t q) { baseline_loop(d, q); };
    auto pipe = [&s](uint16_t q) { pipeline_loop(s.box, q); };
    for (unsigned round = 0; round <= rounds; round++) {
        const std::vector<Input> &frames = s.next_round();
        if (round == 0) { // the first round warms up and checks
            warm_up(s, d, frames, base, pipe);
            measured = committed(s.box);
            continue;
        }
        r.base.push_back(round_of(d, frames, 1, base, frames.size()));
        r.pipe.push_back(round_of(d, frames, 1, pipe));
        if (d.queues > 1) {
            // Frames of their own: the ones just run would find their relay
            // entries and new flows in the caches that one worker left.
            const std::vector<Input> &spread = s.next_round();
            r.base_all.push_back(round_of(d, spread, d.queues, base, spread.size()));
            r.pipe_all.push_back(round_of(d, spread, d.queues, pipe));
        }
    }
    const Counters c = since(measured, committed(s.box));
    const uint64_t hits = c[Counter::flow_cache_hits], misses = c[Counter::flow_cache_misses];
    if (hits + misses)
        r.flow_hits = double(hits) / double(hits + misses);
    return r;
}

// How long a load takes that waits for the one before it, at random lines of
// EAL memory (hugepages with --huge) spanning `mib` MiB: what a cache miss
// costs on this machine at that working set. A guest's lscpu names the
// host's cache sizes, not how much of them the guest gets; this shows where
// a scenario's tables stop fitting.
struct LoadLatency {
    unsigned mib;
    double cycles;
};

LoadLatency load_latency(unsigned mib)
{
    const size_t lines = size_t(mib) << 14; // 64-byte lines
    auto *buf = static_cast<uint8_t *>(rte_malloc("load_latency", lines * 64, 64));
    if (!buf)
        fail("cannot allocate " + std::to_string(mib) + " MiB for the load latency probe");
    std::vector<uint32_t> order(lines);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(mib));
    for (size_t i = 0; i < lines; i++)
        *reinterpret_cast<void **>(buf + size_t(order[i]) * 64) =
            buf + size_t(order[(i + 1) % lines]) * 64;
    void *p = buf + size_t(order[0]) * 64;
    for (size_t i = 0; i < lines; i++) // once round, into the caches as far as it fits
        p = *static_cast<void **>(p);
    constexpr uint32_t loads = 1u << 20;
    const uint64_t t0 = rte_rdtsc_precise();
    for (uint32_t i = 0; i < loads; i++)
        p = *static_cast<void **>(p);
    const uint64_t cycles = rte_rdtsc_precise() - t0;
    if (p == nullptr) // never: it keeps the chase from being optimised away
        fail("the load latency probe lost its chain");
    rte_free(buf);
    return {mib, double(cycles) / loads};
}

void report(const std::vector<Result> &results, const std::string &json, unsigned rounds,
            uint32_t packets, uint16_t workers, double overhead,
            const std::vector<LoadLatency> &latency)
{
    const double hz = double(rte_get_tsc_hz());
    std::printf("\n%-15s %10s %10s %10s %8s %12s", "scenario", "base c/p", "relay c/p", "above",
                "ratio", "Mpps/worker");
    if (workers > 1)
        std::printf(" %10s %12s %8s", "base wall", "relay wall", "speedup");
    std::printf(" %10s\n", "flow hits");
    for (const Result &r : results) {
        const double b = median(r.base), p = median(r.pipe);
        std::printf("%-15s %10.1f %10.1f %10.1f %8.2f %12.2f", r.name.c_str(), b, p, p - b, p / b,
                    hz / p / 1e6);
        if (workers > 1)
            std::printf(" %10.1f %12.1f %8.2f", median(r.base_all), median(r.pipe_all),
                        p / median(r.pipe_all));
        if (r.flow_hits >= 0)
            std::printf(" %9.1f%%", 100 * r.flow_hits);
        std::printf("\n");
    }
    std::printf("\nflow hits: of the TCP/UDP datagrams that reached the rule stages, the "
                "share whose flow a worker's flow cache held\n");
    if (workers > 1)
        std::printf("\nwall: cycles per packet of a round split over %u workers, from the start "
                    "until the last finished; speedup: one worker's cycles per packet over that\n",
                    unsigned(workers));
    if (json.empty())
        return;
    FILE *f = std::fopen(json.c_str(), "w");
    if (!f)
        fail("cannot write " + json);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::fprintf(f,
                 "{\n  \"tsc_hz\": %.0f,\n  \"checksum_audit\": %s,\n  \"rounds\": %u,\n"
                 "  \"packets_per_round\": %u,\n  \"burst\": %u,\n  \"workers\": %u,\n"
                 "  \"timer_overhead_cycles_per_round\": %.1f,\n  \"loadavg_1min\": %.2f,\n"
                 "  \"load_latency_cycles\": {",
                 hz,
#ifdef NDEBUG
                 "false",
#else
                 "true",
#endif
                 rounds, packets, unsigned(burst_size), unsigned(workers), overhead, load[0]);
    for (size_t i = 0; i < latency.size(); i++)
        std::fprintf(f, "%s\"%u_mib\": %.1f", i ? ", " : "", latency[i].mib, latency[i].cycles);
    std::fprintf(f, "},\n  \"scenarios\": [\n");
    for (size_t i = 0; i < results.size(); i++) {
        const Result &r = results[i];
        const double b = median(r.base), p = median(r.pipe);
        std::fprintf(f,
                     "    {\"name\": \"%s\", \"baseline_cycles_per_packet\": %s,\n"
                     "     \"cycles_per_packet\": %s,\n"
                     "     \"above_baseline\": %.2f, \"ratio\": %.3f, \"mpps_per_worker\": %.3f,"
                     " \"baseline_mpps\": %.3f",
                     r.name.c_str(), json_spread(r.base).c_str(), json_spread(r.pipe).c_str(),
                     p - b, p / b, hz / p / 1e6, hz / b / 1e6);
        if (r.flow_hits >= 0)
            std::fprintf(f, ", \"flow_cache_hits\": %.4f", r.flow_hits);
        if (workers > 1)
            std::fprintf(f,
                         ",\n     \"all_workers\": {\"baseline_wall_cycles_per_packet\": %s,"
                         " \"wall_cycles_per_packet\": %s, \"speedup\": %.3f, \"mpps\": %.3f}",
                         json_spread(r.base_all).c_str(), json_spread(r.pipe_all).c_str(),
                         p / median(r.pipe_all), hz / median(r.pipe_all) / 1e6);
        std::fprintf(f, "}%s\n", i + 1 < results.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
}

std::vector<std::string> split(const std::string &s)
{
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string item;
    while (std::getline(in, item, ','))
        out.push_back(item);
    return out;
}

// The number after `prefix` in a scenario name, within [lo, hi].
uint32_t size_of(const std::string &name, const std::string &prefix, uint32_t lo, uint32_t hi)
{
    const unsigned long v = std::strtoul(name.c_str() + prefix.size(), nullptr, 10);
    if (v < lo || v > hi)
        fail(name + ": the size must be " + std::to_string(lo) + " to " + std::to_string(hi));
    return static_cast<uint32_t>(v);
}

} // namespace

int main(int argc, char **argv)
{
    std::string json;
    unsigned rounds = 51;
    uint32_t packets = 8192;
    std::vector<std::string> names = {"relay-1",           "relay-1000",    "relay-65536",
                                      "relay-65536-onearm", "relay-1000000", "rewrite-1",
                                      "rewrite-100",       "rewrite-10000", "rewrite-10000-new",
                                      "mixed"};
    bool huge = false;
    uint16_t workers = 1;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "--huge") {
            huge = true;
            continue;
        }
        if (i + 1 >= argc)
            fail("usage: dpdk-relay-bench [--huge] [--workers N] [--json FILE] [--rounds N] "
                 "[--packets N] [--scenarios relay-1,rewrite-100,mixed,...]");
        const std::string v = argv[++i];
        if (a == "--json")
            json = v;
        else if (a == "--rounds")
            rounds = unsigned(std::max(1, std::atoi(v.c_str())));
        else if (a == "--packets")
            packets = uint32_t(std::clamp(std::atoi(v.c_str()), 64, int(ring_size / 2)));
        else if (a == "--scenarios")
            names = split(v);
        else if (a == "--workers")
            workers = uint16_t(std::clamp(std::atoi(v.c_str()), 1, int(max_workers)));
        else
            fail("unknown option " + a);
    }

    const std::string prefix = "relay_bench_" + std::to_string(getpid());
    const std::string lcores = "0-" + std::to_string(workers - 1);
    std::vector<const char *> eal = {"dpdk-relay-bench", "-m", "1024", "--no-pci",
                                     "--no-telemetry", "-l", lcores.c_str(), "--file-prefix",
                                     prefix.c_str(), "--log-level", "*:error"};
    // Without hugepages, or with their files unlinked once mapped, so that a
    // failing run leaves none behind.
    eal.insert(eal.begin() + 1, huge ? "--huge-unlink" : "--no-huge");
    if (rte_eal_init(int(eal.size()), const_cast<char **>(eal.data())) < 0)
        fail(huge ? "EAL initialisation failed: --huge needs 1 GB of free hugepages on a "
                    "mounted hugetlbfs, --workers N needs N cores"
                  : "EAL initialisation failed: --workers N needs N cores");
    eal_up = true;
    {
        const Device d = make_device(packets, workers);
        const double overhead = timer_overhead();
        std::printf("dpdk-relay-bench: TSC %.2f GHz, %u packets a round, bursts of %u, median of "
                    "%u rounds, %s\n",
                    double(rte_get_tsc_hz()) / 1e9, packets, unsigned(burst_size), rounds,
                    build_note());
        std::vector<LoadLatency> latency;
        std::printf("a dependent load at random in");
        for (unsigned mib : {1u, 4u, 16u, 64u}) {
            latency.push_back(load_latency(mib));
            std::printf("%s %u MiB: %.0f cycles", mib == 1 ? "" : ",", mib, latency.back().cycles);
        }
        std::printf("\n");
        std::fflush(stdout);
        std::mt19937 rng(20261127);
        std::vector<Result> results;
        for (const std::string &name : names) {
            // Built, measured and freed one at a time: each box's route table
            // alone takes 64 MB.
            std::unique_ptr<Scenario> s;
            std::unique_ptr<RelayScenario> relay;
            try {
                if (name.rfind("relay-", 0) == 0) {
                    const uint32_t ports = size_of(name, "relay-", 1, RelayScenario::max_ports);
                    const std::string plain = "relay-" + std::to_string(ports);
                    const bool one_arm = name == plain + "-onearm";
                    const bool counted = name != plain + "-uncounted";
                    if (name != plain && !one_arm && counted)
                        fail("unknown scenario " + name);
                    relay = std::make_unique<RelayScenario>(ports, packets, rng, one_arm, counted);
                    build(*relay, config_text(0, 0, relay->lan_keys()) + relay->rules() +
                                      relay->relay_section(),
                          d);
                    learn(*relay, *relay, d);
                    results.push_back(measure(*relay, d, rounds));
                } else if (name.rfind("rewrite-", 0) == 0) {
                    const uint32_t rules = size_of(name, "rewrite-", 1, 10000);
                    const std::string plain = "rewrite-" + std::to_string(rules);
                    if (name != plain && name != plain + "-new")
                        fail("unknown scenario " + name);
                    s = std::make_unique<RewriteScenario>(rules, packets, name != plain);
                    build(*s, config_text(rules, std::max<uint32_t>(1, rules / 2)), d);
                    results.push_back(measure(*s, d, rounds));
                } else if (name == "mixed") {
                    relay = std::make_unique<RelayScenario>(65536, packets, rng);
                    s = std::make_unique<MixedScenario>(*relay, packets, rng);
                    build(*s, config_text(100, 50) + relay->rules() +
                                  "relay: { initial_state: enabled }\n",
                          d);
                    learn(*s, *relay, d);
                    results.push_back(measure(*s, d, rounds));
                } else {
                    fail("unknown scenario " + name);
                }
            } catch (const std::exception &e) {
                fail(name + ": " + e.what());
            }
            std::printf("measured %s\n", name.c_str());
            std::fflush(stdout);
        }
        report(results, json, rounds, packets, workers, overhead, latency);
    }
    stop_eal();
    return 0;
}
