// Several workers learning on the same few relay ports while readers (full
// snapshots and the fast path's steady()) and a control thread run alongside:
// readers must never see a torn endpoint or a state word that disagrees with
// the endpoints beside it.
//
// Every endpoint's fields derive from one id, so a snapshot mixing two writes
// shows up as fields that name different ids. Also built with ThreadSanitizer
// (-Db_sanitize=thread -Dcommon_only=true), where it must run race-free.
#include "relay_table.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace relay;

namespace {

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RELAY_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RELAY_TSAN 1
#endif

constexpr uint32_t ports = 2; // few entries, so that threads collide often
constexpr uint8_t ids = 6;    // endpoints 1..6
constexpr int writers = 4;
constexpr int readers = 2;
// A torn read needs a writer to land inside a reader's few loads: the normal
// build runs long enough to catch a broken seqlock every time (measured with
// the second seq check removed); ThreadSanitizer runs ~10x slower and checks
// the ordering itself, so it gets a tenth.
#ifdef RELAY_TSAN
constexpr int learns_per_writer = 100000;
#else
constexpr int learns_per_writer = 1000000;
#endif
constexpr int control_writes = 5000;
constexpr uint64_t min_reads = 50000;

Endpoint endpoint(uint8_t id)
{
    Endpoint e;
    e.addr = 0x0a000000u | id;
    e.port = static_cast<uint16_t>(1000 + id);
    e.ifport = id % 4;
    e.mac = {id, id, id, id, id, id};
    e.local = id % 3;
    return e;
}

// Empty if e is endpoint(id) for some id, else what is wrong with it.
std::string check_endpoint(const Endpoint &e)
{
    uint8_t id = static_cast<uint8_t>(e.addr & 0xff);
    if ((e.addr & 0xffffff00u) != 0x0a000000u || id < 1 || id > ids)
        return "address not from the set";
    return e == endpoint(id) ? std::string() : "fields from different endpoints";
}

std::string describe(const Endpoint &e)
{
    std::ostringstream s;
    s << std::hex << "addr 0x" << e.addr << std::dec << " port " << e.port << " ifport "
      << e.ifport << " local " << e.local << " mac " << format_mac(e.mac);
    return s.str();
}

// Empty if the snapshot is one a sequence of whole writes can produce.
std::string check_snapshot(const RelaySnapshot &s)
{
    std::string err;
    switch (s.state) {
    case state::disable:
    case state::set0:
        if (s.a.known() || s.b.known())
            err = "endpoint known on a port that knows none";
        break;
    case state::set1:
    case state::set1 | state::active1:
        if (!s.a.known() || s.b.known())
            err = "SET1 without exactly A";
        break;
    case state::set2:
    case state::set2 | state::active1:
    case state::set2 | state::active2:
    case state::all:
        if (!s.a.known() || !s.b.known())
            err = "SET2 without both endpoints";
        else if (s.a.same_peer(s.b.addr, s.b.port))
            err = "A and B are the same endpoint";
        break;
    default:
        err = "state never reachable";
    }
    if (err.empty() && s.a.known())
        if (auto e = check_endpoint(s.a); !e.empty())
            err = "A: " + e + ": " + describe(s.a);
    if (err.empty() && s.b.known())
        if (auto e = check_endpoint(s.b); !e.empty())
            err = "B: " + e + ": " + describe(s.b);
    return err.empty() ? err : "state " + std::to_string(s.state) + ": " + err;
}

// What one thread saw. Catch2 assertions are not thread-safe, so threads only
// record and the test thread asserts after joining them.
struct Report {
    uint64_t ops = 0;
    uint64_t failures = 0;
    std::string first_failure;
    uint64_t outcomes[7] = {};
    uint64_t steady = 0; // fast-path reads that found a destination

    void fail(const std::string &what)
    {
        if (failures++ == 0)
            first_failure = what;
    }
};

void wait_for(const std::atomic<bool> &go)
{
    while (!go.load(std::memory_order_acquire))
        std::this_thread::yield();
}

void writer(RelayTable &t, const std::atomic<bool> &go, uint64_t seed, Report &r)
{
    std::mt19937_64 rng(seed);
    wait_for(go);
    for (int i = 0; i < learns_per_writer; i++) {
        uint32_t idx = static_cast<uint32_t>(rng() % ports);
        uint8_t id = static_cast<uint8_t>(1 + rng() % ids);
        Endpoint src = endpoint(id);
        uint32_t now = static_cast<uint32_t>(i / 1000);
        LearnResult res = t.learn(idx, src, now);
        r.outcomes[static_cast<int>(res.outcome)]++;
        r.ops++;
        switch (res.outcome) {
        case Learn::learned_b:
        case Learn::to_a:
        case Learn::to_b:
            if (auto e = check_endpoint(res.to); !e.empty())
                r.fail("learn returned a bad destination: " + e + ": " + describe(res.to));
            else if (res.to.same_peer(src.addr, src.port))
                r.fail("learn relays a packet back to its source " + describe(src));
            if (res.outcome != Learn::learned_b)
                t.touch(idx, res.outcome == Learn::to_a ? 2 : 1, now);
            break;
        default:
            if (res.to.known())
                r.fail("learn returned a destination for a packet that goes nowhere");
        }
    }
}

void reader(const RelayTable &t, const std::atomic<bool> &go, const std::atomic<int> &running,
            Report &r)
{
    wait_for(go);
    for (uint64_t i = 0; running.load(std::memory_order_acquire) > 0 || i < min_reads; i++) {
        const auto idx = static_cast<uint32_t>(i % ports);
        r.ops++;
        if (i & 2) {
            if (auto e = check_snapshot(t.read(idx)); !e.empty())
                r.fail(e);
            continue;
        }
        // The workers' fast path: where a packet from one endpoint goes.
        const Endpoint src = endpoint(static_cast<uint8_t>(1 + i / 4 % ids));
        PackedEndpoint to;
        if (t.steady(idx, header_peer(src), to) == 0)
            continue;
        r.steady++;
        const Endpoint dst = to.unpack();
        if (auto e = check_endpoint(dst); !e.empty())
            r.fail("steady returned a bad destination: " + e + ": " + describe(dst));
        else if (dst.same_peer(src.addr, src.port))
            r.fail("steady relays a packet back to its source " + describe(src));
    }
}

// Writes now and then, as an operator's relaystate would, with the values
// that exercise every mask; and as the control side's housekeeping and
// reloads do, idle expiry (at clocks that forget none, one or both
// endpoints) and snapshots copied from one port to another.
void control(RelayTable &t, const std::atomic<bool> &go, Report &r)
{
    static const uint8_t values[] = {1, 2, 3, 15, 14, 11, 7, 6, 12, 1, 2, 3, 15, 0};
    std::mt19937_64 rng(0xc0de);
    wait_for(go);
    for (int i = 0; i < control_writes; i++) {
        uint32_t idx = static_cast<uint32_t>(rng() % ports);
        if (i % 3 == 1) {
            const int forgotten = t.expire(idx, static_cast<uint32_t>(rng() % 2000), 200);
            r.ops++;
            if (forgotten < 0 || forgotten > 2)
                r.fail("expire forgot " + std::to_string(forgotten) + " endpoints");
            continue;
        }
        if (i % 3 == 2) {
            const RelaySnapshot s = t.read(static_cast<uint32_t>(rng() % ports));
            if (s.state != state::disable)
                t.restore(idx, s);
            r.ops++;
            continue;
        }
        uint8_t v = values[rng() % sizeof values];
        uint8_t st = t.write_state(idx, v);
        r.ops++;
        uint8_t keep = (v & state::set_mask) ? (v & state::set_mask) : state::set0;
        if (v == 0 ? st != state::disable
                   : (st & state::set_mask) == 0 || (st & state::set_mask) > keep)
            r.fail("write " + std::to_string(v) + " left state " + std::to_string(st));
        if (st & ~v & state::active)
            r.fail("write " + std::to_string(v) + " kept an activity bit it does not name");
        if (v == 0) // a disabled port would stop the workers learning for good
            t.write_state(idx, 1);
        std::this_thread::yield();
    }
}

} // namespace

TEST_CASE("concurrent learning, reading and state writes never tear an entry")
{
    RelayTable t(ports, state::set0);
    std::atomic<bool> go{false};
    std::atomic<int> running{writers + 1};
    std::vector<Report> reports(writers + readers + 1);
    std::vector<std::thread> threads;

    for (int w = 0; w < writers; w++)
        threads.emplace_back([&, w] {
            writer(t, go, 0x1000 + uint64_t(w), reports[size_t(w)]);
            running.fetch_sub(1, std::memory_order_release);
        });
    for (int rd = 0; rd < readers; rd++)
        threads.emplace_back(
            [&, rd] { reader(t, go, running, reports[size_t(writers + rd)]); });
    threads.emplace_back([&] {
        control(t, go, reports.back());
        running.fetch_sub(1, std::memory_order_release);
    });

    go.store(true, std::memory_order_release);
    for (auto &th : threads)
        th.join();

    uint64_t outcomes[7] = {}, steady = 0;
    for (size_t i = 0; i < reports.size(); i++) {
        const Report &r = reports[i];
        steady += r.steady;
        INFO("thread " << i << ": " << r.failures << " failures, first: " << r.first_failure);
        CHECK(r.failures == 0);
        CHECK(r.ops > 0);
        for (int k = 0; k < 7; k++)
            outcomes[k] += r.outcomes[k];
    }
    for (uint32_t idx = 0; idx < ports; idx++) {
        INFO("port " << idx);
        CHECK(check_snapshot(t.read(idx)) == std::string());
    }

    CHECK(steady > 0); // the fast path found destinations while writers ran
    // The run really went through every learning step (each is at least a
    // one-in-twelve event per learn, so absence means the test is broken).
    for (Learn l : {Learn::learned_a, Learn::from_a_alone, Learn::learned_b, Learn::to_b,
                    Learn::to_a, Learn::reset}) {
        INFO("outcome " << int(l));
        CHECK(outcomes[static_cast<int>(l)] > 0);
    }
}
