// How the cost of a rule lookup grows with the rule table: for 1 to 10,000
// DEST rules (and half as many SOURCE rules) it builds the box from config
// text through the real path (parse_config, build_tables), then times
//   (a) Classifier::classify alone, on prebuilt keys for each hook, and
//   (b) Worker::process_burst on whole frames, the packet path (the same
//       frames every round: after the first, their flows are in the worker's
//       flow cache, which spares them both lookups), and
//   (c) Classifier::classify alone on the same keys with rte_acl tables
//       built from the same rules, whatever method the box's tables use:
//       what the rule tables of other shapes cost,
// with rte_rdtsc over bursts of 32: the median of many short rounds, taken in
// turns over the sizes. A benchmark, not a test: it prints figures (and
// --json FILE writes them), and fails only when the box does not do what is
// being measured. docs/PERFORMANCE.md reads the figures.
//
//   rule_bench [--json FILE] [--rounds 101] [--rules 1,10,100,1000,10000] [--frames 4096]
#include "bench_util.hpp"
#include "rule_compiler.hpp"
#include "rule_workload.hpp"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace relay;
using namespace relay::bench;

namespace {

// rte_acl reports a context's runtime memory and its tries only in DEBUG
// log lines of rte_acl_build; the bench reads them from a memory stream.
class AclLog {
public:
    AclLog()
    {
        stream_ = open_memstream(&buf_, &len_);
        rte_openlog_stream(stream_);
        rte_log_set_level_pattern("lib.acl", RTE_LOG_DEBUG);
    }
    ~AclLog()
    {
        stop();
        std::free(buf_);
    }
    // Sums over the contexts whose name starts with `prefix`.
    struct Stats {
        size_t bytes = 0;
        unsigned tries = 0;
        bool found = false;
    };
    Stats stats(const std::string &prefix)
    {
        stop();
        Stats s;
        std::istringstream in(buf_ ? buf_ : "");
        std::string line;
        bool ours = false;
        while (std::getline(in, line)) {
            if (line.find("phase for ACL") != std::string::npos)
                ours = line.find("\"" + prefix) != std::string::npos;
            if (!ours)
                continue;
            size_t v;
            if (std::sscanf(line.c_str(), "total: %zu bytes", &v) == 1) {
                s.bytes += v;
                s.found = true;
            } else if (line.find("number of rules") != std::string::npos) {
                s.tries++; // "trie N: number of rules: ..."
            }
        }
        return s;
    }

private:
    void stop()
    {
        if (!stream_)
            return;
        rte_log_set_level_pattern("lib.acl", RTE_LOG_ERR);
        rte_openlog_stream(nullptr);
        std::fclose(stream_);
        stream_ = nullptr;
    }
    FILE *stream_ = nullptr;
    char *buf_ = nullptr;
    size_t len_ = 0;
};

// One rule-table size: the figures the bench reports for it.
struct Row {
    uint32_t rules = 0, dest_rules = 0, source_rules = 0;
    size_t pre_entries = 0, post_entries = 0;
    double parse_ms = 0, build_ms = 0;
    // rte_acl tables of the same rules: build time, memory and tries.
    double acl_build_ms = 0;
    AclLog::Stats pre_acl, post_acl;
    // Cycles per key/packet, per round.
    std::vector<double> classify, classify_post, full, acl_classify, acl_classify_post;
};

[[noreturn]] void fail(const std::string &what)
{
    std::fprintf(stderr, "rule_bench: %s\n", what.c_str());
    std::exit(1);
}

double ms_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// rte_acl tables of a box's rules, for each hook.
struct AclTables {
    std::unique_ptr<Classifier> pre, post;
};

void build_box(Box &box, AclTables &acl, Row &row, rte_mempool *pool)
{
    const std::string text = config_text(row.dest_rules, row.source_rules);
    auto t = std::chrono::steady_clock::now();
    box.config = parse_config(text, "bench.yaml");
    row.parse_ms = ms_since(t);
    const std::vector<ResolvedPort> resolved = {{lan, ether(lan_mac)}, {wan, ether(wan_mac)}};
    t = std::chrono::steady_clock::now();
    box.tables = build_tables(box.config, resolved);
    row.build_ms = ms_since(t);
    {
        AclLog log;
        t = std::chrono::steady_clock::now();
        const CompiledRules compiled = compile_rules(box.config, {lan, wan}, box.tables->locals);
        acl.pre = std::make_unique<Classifier>("bench_acl_pre", compiled.prerouting,
                                               Classifier::Method::acl);
        acl.post = std::make_unique<Classifier>("bench_acl_post", compiled.postrouting,
                                                Classifier::Method::acl);
        row.acl_build_ms = ms_since(t);
        row.pre_acl = log.stats("bench_acl_pre");
        row.post_acl = log.stats("bench_acl_post");
    }
    row.pre_entries = box.tables->prerouting ? box.tables->prerouting->size() : 0;
    row.post_entries = box.tables->postrouting ? box.tables->postrouting->size() : 0;
    box.neighbours = std::make_unique<NeighbourTable>(64);
    load_static_neighbours(box.config, resolved, *box.neighbours);
    box.tables->neighbours = box.neighbours.get();
    box.shared.pools.packets = pool;
    box.shared.clock.store(1);
    box.tables->add_counters(1);
    box.shared.tables.store(box.tables.get());
    box.counters.reset(new LcoreCounters[1]);
    box.workers.push_back(std::make_unique<Worker>(box.shared, 0, box.counters[0]));
}

void drain(Worker &w)
{
    for (uint16_t port = 0; port < max_ports; port++) {
        Worker::TxList &l = w.tx_list(port);
        rte_pktmbuf_free_bulk(l.pkts, l.n);
        l.n = 0;
    }
}

// The frames through process_burst, a burst at a time (each burst's frames
// come in on one port). Copying the frames into mbufs before and freeing the
// TX lists after stay outside the two timestamps, which surround
// process_burst alone. Returns cycles per packet.
double full_path(Box &box, const std::vector<Frame> &frames, rte_mempool *pool)
{
    uint64_t cycles = 0;
    rte_mbuf *m[burst_size];
    for (size_t b = 0; b < frames.size(); b += burst_size) {
        const auto n = static_cast<uint16_t>(std::min<size_t>(burst_size, frames.size() - b));
        if (rte_pktmbuf_alloc_bulk(pool, m, n) != 0)
            fail("mbuf pool exhausted");
        for (uint16_t i = 0; i < n; i++) {
            const std::vector<uint8_t> &f = frames[b + i].bytes;
            std::memcpy(rte_pktmbuf_append(m[i], static_cast<uint16_t>(f.size())), f.data(),
                        f.size());
        }
        const uint64_t t0 = rte_rdtsc_precise();
        box.workers[0]->process_burst(*box.tables, frames[b].port, m, n);
        cycles += rte_rdtsc_precise() - t0;
        drain(*box.workers[0]);
    }
    return double(cycles) / double(frames.size());
}

volatile uint32_t sink; // classify's results are used, so none of its work is dropped

// classify() alone over prebuilt keys, bursts of 32. Cycles per key.
double classify_only(const Classifier &c, std::vector<const uint8_t *> &ptrs, unsigned passes)
{
    uint32_t results[burst_size];
    uint32_t used = 0;
    const size_t keys = ptrs.size() / burst_size * burst_size;
    const uint64_t t0 = rte_rdtsc_precise();
    for (unsigned pass = 0; pass < passes; pass++)
        for (size_t b = 0; b < keys; b += burst_size) {
            c.classify(ptrs.data() + b, results, burst_size);
            used += results[burst_size - 1];
        }
    const uint64_t cycles = rte_rdtsc_precise() - t0;
    sink = used;
    return double(cycles) / double(passes * keys);
}

// Checks that the box does what is measured: every frame forwarded, every
// key matching the rule its frame was built for, in the box's tables and in
// the rte_acl ones.
void check(Box &box, const AclTables &acl, const std::vector<Frame> &frames, rte_mempool *pool,
           const std::vector<AclKey> &pre, const std::vector<uint32_t> &pre_want,
           const std::vector<AclKey> &post, const std::vector<uint32_t> &post_want)
{
    auto verify = [](const Classifier &c, const std::vector<AclKey> &keys,
                     const std::vector<uint32_t> &want, const char *hook) {
        for (size_t i = 0; i < keys.size(); i++) {
            const uint8_t *p = reinterpret_cast<const uint8_t *>(&keys[i]);
            uint32_t r;
            c.classify(&p, &r, 1);
            if (r != want[i])
                fail(std::string(hook) + " key " + std::to_string(i) + " matched rule " +
                     std::to_string(int32_t(r)) + ", built for " +
                     std::to_string(int32_t(want[i])));
        }
    };
    verify(*box.tables->prerouting, pre, pre_want, "prerouting");
    verify(*box.tables->postrouting, post, post_want, "postrouting");
    verify(*acl.pre, pre, pre_want, "rte_acl prerouting");
    verify(*acl.post, post, post_want, "rte_acl postrouting");
    box.workers[0]->pending_counters() = Counters{};
    full_path(box, frames, pool);
    const Counters &c = box.workers[0]->pending_counters();
    size_t dest = 0, source = 0;
    for (uint32_t r : pre_want)
        dest += r != no_rule;
    for (uint32_t r : post_want)
        source += r != no_rule;
    if (c[Counter::forwarded_packets] != frames.size() || c[Counter::rewritten_dest] != dest ||
        c[Counter::rewritten_source] != source)
        fail("full path: " + std::to_string(c[Counter::forwarded_packets]) + " of " +
             std::to_string(frames.size()) + " forwarded, " +
             std::to_string(c[Counter::rewritten_dest]) + "/" + std::to_string(dest) + " DEST, " +
             std::to_string(c[Counter::rewritten_source]) + "/" + std::to_string(source) +
             " SOURCE");
    box.workers[0]->pending_counters() = Counters{};
}

// One table size: its box, its frames and their classifier keys.
struct Case {
    Row row;
    Box box;
    AclTables acl;
    std::vector<Frame> frames;
    std::vector<AclKey> pre, post;
    std::vector<const uint8_t *> pre_ptrs, post_ptrs;
};

std::unique_ptr<Case> prepare(uint32_t rules, size_t frame_count, rte_mempool *pool)
{
    auto c = std::make_unique<Case>();
    Row &row = c->row;
    row.rules = rules;
    row.dest_rules = rules;
    row.source_rules = std::max<uint32_t>(1, rules / 2);
    build_box(c->box, c->acl, row, pool);

    c->frames = make_frames(row.dest_rules, row.source_rules, frame_count);
    std::vector<uint32_t> pre_want, post_want;
    for (const Frame &f : c->frames) {
        if (f.port == wan) {
            c->pre.push_back(key_of(f, 0));
            pre_want.push_back(f.rule);
        } else {
            c->post.push_back(key_of(f, wan)); // as PREROUTING leaves it, routed to wan
            post_want.push_back(f.rule);
        }
    }
    check(c->box, c->acl, c->frames, pool, c->pre, pre_want, c->post, post_want);
    for (const AclKey &k : c->pre)
        c->pre_ptrs.push_back(reinterpret_cast<const uint8_t *>(&k));
    for (const AclKey &k : c->post)
        c->post_ptrs.push_back(reinterpret_cast<const uint8_t *>(&k));
    return c;
}

// One round for one table size: each figure is taken after an untimed pass
// of the same work, so that every size starts with its own data in cache.
// A round is short (2^13 keys, one pass over the frames: about a
// millisecond) so that most rounds miss other processes' time slices.
void measure(Case &c, rte_mempool *pool)
{
    const unsigned passes = unsigned(std::max<size_t>(1, (1u << 13) / c.pre.size()));
    const Classifier &pre = *c.box.tables->prerouting, &post = *c.box.tables->postrouting;
    classify_only(pre, c.pre_ptrs, passes);
    c.row.classify.push_back(classify_only(pre, c.pre_ptrs, passes));
    classify_only(post, c.post_ptrs, passes);
    c.row.classify_post.push_back(classify_only(post, c.post_ptrs, passes));
    classify_only(*c.acl.pre, c.pre_ptrs, passes);
    c.row.acl_classify.push_back(classify_only(*c.acl.pre, c.pre_ptrs, passes));
    classify_only(*c.acl.post, c.post_ptrs, passes);
    c.row.acl_classify_post.push_back(classify_only(*c.acl.post, c.post_ptrs, passes));
    full_path(c.box, c.frames, pool);
    c.row.full.push_back(full_path(c.box, c.frames, pool));
}

void write_json(const std::string &path, const std::vector<std::unique_ptr<Case>> &cases,
                unsigned rounds, size_t frames, double overhead)
{
    FILE *f = std::fopen(path.c_str(), "w");
    if (!f)
        fail("cannot write " + path);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
#ifdef NDEBUG
    const bool audit = false;
#else
    const bool audit = true;
#endif
    std::fprintf(f,
                 "{\n  \"tsc_hz\": %llu,\n  \"checksum_audit\": %s,\n  \"rounds\": %u,\n"
                 "  \"frames\": %zu,\n  \"burst\": %u,\n"
                 "  \"timer_overhead_cycles_per_burst\": %.1f,\n"
                 "  \"loadavg_1min\": %.2f,\n  \"results\": [\n",
                 static_cast<unsigned long long>(rte_get_tsc_hz()), audit ? "true" : "false",
                 rounds, frames, unsigned(burst_size), overhead, load[0]);
    const Row &base = cases.front()->row;
    const double base_c = median(base.classify), base_f = median(base.full);
    for (size_t i = 0; i < cases.size(); i++) {
        const Row &r = cases[i]->row;
        auto mem = [](const AclLog::Stats &s) {
            return s.found ? std::to_string(s.bytes) : std::string("null");
        };
        std::fprintf(
            f,
            "    {\"rules\": %u, \"dest_rules\": %u, \"source_rules\": %u,\n"
            "     \"acl_entries\": {\"prerouting\": %zu, \"postrouting\": %zu},\n"
            "     \"acl_bytes\": {\"prerouting\": %s, \"postrouting\": %s},\n"
            "     \"acl_tries\": {\"prerouting\": %u, \"postrouting\": %u},\n"
            "     \"parse_ms\": %.2f, \"build_ms\": %.2f, \"acl_build_ms\": %.2f,\n"
            "     \"classify_cycles_per_key\": %s, \"classify_ratio\": %.3f,\n"
            "     \"classify_post_cycles_per_key\": %s,\n"
            "     \"acl_classify_cycles_per_key\": %s,\n"
            "     \"acl_classify_post_cycles_per_key\": %s,\n"
            "     \"full_cycles_per_packet\": %s, \"full_ratio\": %.3f}%s\n",
            r.rules, r.dest_rules, r.source_rules, r.pre_entries, r.post_entries,
            mem(r.pre_acl).c_str(), mem(r.post_acl).c_str(), r.pre_acl.tries, r.post_acl.tries,
            r.parse_ms, r.build_ms, r.acl_build_ms, json_spread(r.classify).c_str(),
            median(r.classify) / base_c, json_spread(r.classify_post).c_str(),
            json_spread(r.acl_classify).c_str(), json_spread(r.acl_classify_post).c_str(),
            json_spread(r.full).c_str(), median(r.full) / base_f, i + 1 < cases.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
}

void print_header()
{
    std::printf("%7s %12s %9s %9s %8s %6s %9s %8s %6s | %8s %10s %6s %8s %9s\n", "rules",
                "entries", "parse ms", "build ms", "cyc/key", "ratio", "post c/k", "cyc/pkt",
                "ratio", "acl ms", "acl KiB", "tries", "acl c/k", "acl post");
}

// A row, with its ratios to `base` (the smallest table).
void print_row(const Row &r, const Row &base)
{
    char entries[48], mem[48], tries[32];
    std::snprintf(entries, sizeof entries, "%zu+%zu", r.pre_entries, r.post_entries);
    if (r.pre_acl.found)
        std::snprintf(mem, sizeof mem, "%zu+%zu", r.pre_acl.bytes / 1024, r.post_acl.bytes / 1024);
    else
        std::snprintf(mem, sizeof mem, "n/a");
    std::snprintf(tries, sizeof tries, "%u+%u", r.pre_acl.tries, r.post_acl.tries);
    std::printf("%7u %12s %9.1f %9.1f %8.1f %6.2f %9.1f %8.1f %6.2f | "
                "%8.1f %10s %6s %8.1f %9.1f\n",
                r.rules, entries, r.parse_ms, r.build_ms, median(r.classify),
                median(r.classify) / median(base.classify), median(r.classify_post),
                median(r.full), median(r.full) / median(base.full), r.acl_build_ms, mem, tries,
                median(r.acl_classify), median(r.acl_classify_post));
    std::fflush(stdout);
}

// Every size is kept built for the whole run, and each box's rte_lpm takes
// 64 MB of EAL's 512: at most six sizes fit.
constexpr size_t max_sizes = 6;

std::vector<uint32_t> parse_list(const std::string &s)
{
    std::vector<uint32_t> out;
    std::istringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        const unsigned long v = std::strtoul(item.c_str(), nullptr, 10);
        if (v < 1 || v > 10000)
            fail("--rules: " + item + " is not a count from 1 to 10000");
        out.push_back(static_cast<uint32_t>(v));
    }
    if (out.empty() || out.size() > max_sizes)
        fail("--rules: 1 to " + std::to_string(max_sizes) + " sizes at a time");
    return out;
}

} // namespace

int main(int argc, char **argv)
{
    std::string json;
    unsigned rounds = 101;
    size_t frame_count = 4096;
    std::vector<uint32_t> sizes = {1, 10, 100, 1000, 10000};
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (i + 1 >= argc)
            fail("usage: rule_bench [--json FILE] [--rounds N] [--rules 1,10,...] [--frames N]");
        const std::string v = argv[++i];
        if (a == "--json")
            json = v;
        else if (a == "--rounds")
            rounds = unsigned(std::max(1, std::atoi(v.c_str())));
        else if (a == "--rules")
            sizes = parse_list(v);
        else if (a == "--frames")
            frame_count = size_t(std::max(2, std::atoi(v.c_str()) / burst_size)) * burst_size;
        else
            fail("unknown option " + a);
    }

    const std::string prefix = "rule_bench_" + std::to_string(getpid());
    const char *eal[] = {"rule_bench", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
                         "-l", "0", "--file-prefix", prefix.c_str(), "--log-level", "*:error"};
    if (rte_eal_init(int(std::size(eal)), const_cast<char **>(eal)) < 0)
        fail("EAL initialisation failed");
    rte_mempool *pool = rte_pktmbuf_pool_create("bench_mbufs", 1023, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool)
        fail("no mbuf pool");

    const double overhead = timer_overhead();
    std::printf("rule_bench: TSC %.2f GHz, %zu frames, bursts of %u, median of %u rounds, %s\n"
                "timestamps cost %.0f cycles per burst (%.1f per packet), not subtracted\n",
                double(rte_get_tsc_hz()) / 1e9, frame_count, unsigned(burst_size), rounds, build_note(),
                overhead, overhead / burst_size);
    // All sizes are built first and measured in turns, a round of each in
    // every turn, so that a noisy second on the machine hits them alike.
    std::vector<std::unique_ptr<Case>> cases;
    for (uint32_t n : sizes) {
        try {
            cases.push_back(prepare(n, frame_count, pool));
        } catch (const std::exception &e) {
            fail(std::to_string(n) + " rules: " + e.what());
        }
        const Row &r = cases.back()->row;
        std::printf("built %u rules: parse %.1f ms, build_tables %.1f ms\n", n, r.parse_ms,
                    r.build_ms);
        std::fflush(stdout);
    }
    for (unsigned round = 0; round < rounds; round++)
        for (auto &c : cases)
            measure(*c, pool);

    std::printf("\nrules: DEST rules (and half as many SOURCE rules); "
                "a+b: prerouting+postrouting\n"
                "entries: classifier entries; cyc/key: classify alone, prerouting, with the "
                "box's tables;\npost c/k: the same, postrouting; cyc/pkt: "
                "Worker::process_burst per packet; ratio: to the first row;\n"
                "after |: rte_acl tables of the same rules, built for comparison: build time, "
                "memory, tries,\n"
                "acl c/k and acl post: classify alone, as cyc/key and post c/k\n\n");
    print_header();
    for (const auto &c : cases)
        print_row(c->row, cases.front()->row);
    if (!json.empty())
        write_json(json, cases, rounds, frame_count, overhead);
    cases.clear(); // their DPDK tables go before EAL does
    rte_mempool_free(pool);
    stop_eal();
    return 0;
}
