// RelayTable in `reset` learning mode, one thread: learning sequences,
// activity bits, state writes and the packing of endpoints into the entry.
#include "relay_table.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace relay;

namespace {

Endpoint ep(uint8_t id)
{
    Endpoint e;
    e.addr = 0x0a4d0000 | id;
    e.port = static_cast<uint16_t>(40000 + id);
    e.ifport = id % 2;
    e.mac = {0x02, 0, 0, 0, 0, id};
    e.local = id % 3;
    return e;
}

const Endpoint A = ep(11), B = ep(12), C = ep(13), D = ep(14);

// A table of 4 enabled ports with A and B learned on port 1, as the packets
// A then B leave it: SET2|ACTIVE1.
RelayTable table_with_a_and_b()
{
    RelayTable t(4, state::set0);
    t.learn(1, A, 100);
    t.learn(1, B, 101);
    return t;
}

} // namespace

TEST_CASE("a new table holds its initial state and no endpoints")
{
    for (uint8_t initial : {state::disable, state::set0}) {
        RelayTable t(8, initial);
        CHECK(t.size() == 8);
        for (uint32_t i = 0; i < t.size(); i++) {
            RelaySnapshot s = t.read(i);
            CHECK(s.state == initial);
            CHECK_FALSE(s.a.known());
            CHECK_FALSE(s.b.known());
        }
    }
}

TEST_CASE("learning: A, then B")
{
    RelayTable t(4, state::set0);

    LearnResult r = t.learn(1, A, 100);
    CHECK(r.outcome == Learn::learned_a);
    CHECK_FALSE(r.to.known()); // nowhere to send the first packet
    RelaySnapshot s = t.read(1);
    CHECK(s.state == state::set1);
    CHECK(s.a == A);
    CHECK_FALSE(s.b.known());
    CHECK(s.seen_a == 100);

    r = t.learn(1, B, 101);
    CHECK(r.outcome == Learn::learned_b);
    CHECK(r.to == A);
    s = t.read(1);
    CHECK(s.state == (state::set2 | state::active1));
    CHECK(s.a == A);
    CHECK(s.b == B);
    CHECK(s.seen_b == 101);

    // Neighbouring entries are untouched.
    for (uint32_t i : {0u, 2u, 3u}) {
        CHECK(t.read(i).state == state::set0);
        CHECK_FALSE(t.read(i).a.known());
    }
}

TEST_CASE("learning: packets from A while B is unknown go nowhere and change nothing")
{
    RelayTable t(4, state::set0);
    t.learn(0, A, 100);
    for (int i = 0; i < 3; i++) {
        LearnResult r = t.learn(0, A, 200);
        CHECK(r.outcome == Learn::from_a_alone);
        CHECK_FALSE(r.to.known());
    }
    RelaySnapshot s = t.read(0);
    CHECK(s.state == state::set1);
    CHECK(s.a == A);
    CHECK_FALSE(s.b.known());
}

TEST_CASE("learning: an endpoint is its address and port; MAC and ifport do not make a new one")
{
    RelayTable t(4, state::set0);
    t.learn(0, A, 100);
    Endpoint moved = A;
    moved.mac[5] = 0x99;
    moved.ifport = 3;
    CHECK(t.learn(0, moved, 101).outcome == Learn::from_a_alone);
    Endpoint other_port = A;
    other_port.port++;
    CHECK(t.learn(0, other_port, 102).outcome == Learn::learned_b);
}

TEST_CASE("learning: a third endpoint resets the port")
{
    RelayTable t = table_with_a_and_b();
    t.learn(1, A, 102); // ALL before the reset, so the reset clears activity too
    REQUIRE(t.read(1).state == state::all);

    LearnResult r = t.learn(1, C, 103);
    CHECK(r.outcome == Learn::reset);
    CHECK_FALSE(r.to.known()); // not forwarded
    RelaySnapshot s = t.read(1);
    CHECK(s.state == state::set1);
    CHECK(s.a == C);
    CHECK_FALSE(s.b.known());
    CHECK(s.seen_a == 103);

    // The old B comes back as the new B and is relayed to the new A.
    r = t.learn(1, B, 104);
    CHECK(r.outcome == Learn::learned_b);
    CHECK(r.to == C);
    s = t.read(1);
    CHECK(s.a == C);
    CHECK(s.b == B);
}

TEST_CASE("learning: a disabled port learns nothing")
{
    SECTION("disabled from the start")
    {
        RelayTable t(2, state::disable);
        for (const Endpoint &e : {A, B, C}) {
            LearnResult r = t.learn(0, e, 100);
            CHECK(r.outcome == Learn::drop_disabled);
            CHECK_FALSE(r.to.known());
        }
        RelaySnapshot s = t.read(0);
        CHECK(s.state == state::disable);
        CHECK_FALSE(s.a.known());
        CHECK_FALSE(s.b.known());
    }
    SECTION("disabled by a write, then enabled again")
    {
        RelayTable t = table_with_a_and_b();
        CHECK(t.write_state(1, 0) == state::disable);
        CHECK(t.learn(1, A, 200).outcome == Learn::drop_disabled);
        CHECK(t.learn(1, C, 200).outcome == Learn::drop_disabled);
        CHECK_FALSE(t.read(1).a.known());
        CHECK(t.write_state(1, 1) == state::set0);
        CHECK(t.learn(1, C, 201).outcome == Learn::learned_a);
        CHECK(t.read(1).a == C);
    }
}

TEST_CASE("activity bits follow the packets relayed each way")
{
    RelayTable t = table_with_a_and_b();
    CHECK(t.read(1).state == (state::set2 | state::active1)); // B's first packet went to A

    LearnResult r = t.learn(1, B, 102);
    CHECK(r.outcome == Learn::to_a);
    CHECK(r.to == A);
    CHECK(t.read(1).state == (state::set2 | state::active1));

    r = t.learn(1, A, 103);
    CHECK(r.outcome == Learn::to_b);
    CHECK(r.to == B);
    CHECK(t.read(1).state == state::all);

    SECTION("from SET2 with no activity, A first")
    {
        REQUIRE(t.write_state(1, 3) == state::set2);
        CHECK(t.learn(1, A, 104).outcome == Learn::to_b);
        CHECK(t.read(1).state == (state::set2 | state::active2));
        CHECK(t.learn(1, B, 105).outcome == Learn::to_a);
        CHECK(t.read(1).state == state::all);
    }
    SECTION("from SET2 with no activity, B first")
    {
        REQUIRE(t.write_state(1, 3) == state::set2);
        CHECK(t.learn(1, B, 104).outcome == Learn::to_a);
        CHECK(t.read(1).state == (state::set2 | state::active1));
    }
}

namespace {

// Where steady relaying must send a packet from `src` on a port in state
// `st` with endpoints a and b: wherever the learning step sends it without
// writing the entry (a relay to an endpoint already active), else nowhere.
int steady_oracle(uint8_t st, const Endpoint &a, const Endpoint &b, const Endpoint &src)
{
    const int match = a.known() && a.same_peer(src.addr, src.port)   ? 1
                      : b.known() && b.same_peer(src.addr, src.port) ? 2
                                                                      : 0;
    const Learn o = learn_reset_mode(st, match);
    return o == Learn::to_b && (st & state::active2)   ? 2
           : o == Learn::to_a && (st & state::active1) ? 1
                                                       : 0;
}

// Checks steady() on port idx for packets from A, B, C and from A's address
// with another port and A's port at another address; returns how many it
// relayed.
int check_steady(const RelayTable &t, uint32_t idx)
{
    const RelaySnapshot s = t.read(idx);
    Endpoint a_other_port = A, a_other_addr = A;
    a_other_port.port++;
    a_other_addr.addr++;
    int relayed = 0;
    for (const Endpoint &src : {A, B, C, a_other_port, a_other_addr}) {
        PackedEndpoint to;
        const int slot = t.steady(idx, header_peer(src), to);
        INFO("state " << state_names(s.state) << ", from " << src.addr << ":" << src.port);
        CHECK(slot == steady_oracle(s.state, s.a, s.b, src));
        if (slot != 0) {
            CHECK(to.unpack() == (slot == 1 ? s.a : s.b));
            relayed++;
        }
    }
    return relayed;
}

} // namespace

TEST_CASE("steady relays exactly what learning would relay without a write, whoever wrote")
{
    SECTION("every reachable state, restored")
    {
        RelayTable t(2, state::set0);
        int relayed = 0;
        for (uint8_t st : {0, 1, 2, 6, 3, 7, 11, 15}) {
            RelaySnapshot s;
            s.state = st;
            if ((st & state::set_mask) >= state::set1)
                s.a = A;
            if ((st & state::set_mask) == state::set2)
                s.b = B;
            REQUIRE(t.restore(1, s));
            relayed += check_steady(t, 1);
        }
        CHECK(relayed == 4); // 7 and 11 one way each, 15 both
    }
    SECTION("learning, writes and expiry")
    {
        RelayTable t = table_with_a_and_b(); // SET2|ACTIVE1: B to A only
        CHECK(check_steady(t, 1) == 1);
        t.learn(1, A, 102); // the first packet to B
        CHECK(check_steady(t, 1) == 2);
        t.write_state(1, 3); // no activity: back to learning
        CHECK(check_steady(t, 1) == 0);
        t.learn(1, B, 103);
        CHECK(check_steady(t, 1) == 1);
        t.learn(1, A, 104);
        t.learn(1, C, 105); // a reset: C alone
        CHECK(check_steady(t, 1) == 0);
        t.learn(1, A, 106);
        t.learn(1, C, 106);
        t.learn(1, A, 107);
        CHECK(check_steady(t, 1) == 2);
        CHECK(t.expire(1, 200, 10) == 2);
        CHECK(check_steady(t, 1) == 0);
    }
}

TEST_CASE("write_state keeps and forgets endpoints as the value says")
{
    RelayTable t = table_with_a_and_b();
    t.learn(1, A, 102);
    REQUIRE(t.read(1).state == state::all);

    SECTION("15 keeps everything")
    {
        CHECK(t.write_state(1, 15) == state::all);
        RelaySnapshot s = t.read(1);
        CHECK(s.a == A);
        CHECK(s.b == B);
    }
    SECTION("3 keeps both endpoints and clears activity")
    {
        CHECK(t.write_state(1, 3) == state::set2);
        RelaySnapshot s = t.read(1);
        CHECK(s.state == state::set2);
        CHECK(s.a == A);
        CHECK(s.b == B);
        CHECK(t.learn(1, B, 103).to == A); // still relaying
    }
    SECTION("2 keeps A and forgets B, which is then relearned")
    {
        CHECK(t.write_state(1, 2) == state::set1);
        RelaySnapshot s = t.read(1);
        CHECK(s.a == A);
        CHECK_FALSE(s.b.known());
        LearnResult r = t.learn(1, D, 103);
        CHECK(r.outcome == Learn::learned_b);
        CHECK(r.to == A);
        CHECK(t.read(1).b == D);
    }
    SECTION("14 keeps A and its activity bit")
    {
        CHECK(t.write_state(1, 14) == (state::set1 | state::active1));
        CHECK(t.read(1).a == A);
        CHECK_FALSE(t.read(1).b.known());
    }
    SECTION("1 forgets both and stays enabled")
    {
        CHECK(t.write_state(1, 1) == state::set0);
        RelaySnapshot s = t.read(1);
        CHECK_FALSE(s.a.known());
        CHECK_FALSE(s.b.known());
        CHECK(t.learn(1, C, 103).outcome == Learn::learned_a);
    }
    SECTION("0 forgets both and disables")
    {
        CHECK(t.write_state(1, 0) == state::disable);
        RelaySnapshot s = t.read(1);
        CHECK(s.state == state::disable);
        CHECK_FALSE(s.a.known());
        CHECK_FALSE(s.b.known());
        // Enabling with "keep everything" cannot bring them back.
        CHECK(t.write_state(1, 15) == state::set0);
        CHECK_FALSE(t.read(1).a.known());
    }
    SECTION("3 on a port that only knows A keeps A")
    {
        CHECK(t.write_state(1, 2) == state::set1);
        CHECK(t.write_state(1, 3) == state::set1);
        CHECK(t.read(1).a == A);
    }
}

TEST_CASE("touch stores the coarse clock of one slot")
{
    RelayTable t = table_with_a_and_b();
    t.touch(1, 1, 500);
    CHECK(t.read(1).seen_a == 500);
    CHECK(t.read(1).seen_b == 101);
    t.touch(1, 2, 501);
    CHECK(t.read(1).seen_b == 501);
    CHECK(t.read(1).state == (state::set2 | state::active1)); // the clock is not state
}

TEST_CASE("snapshots return every endpoint field exactly as learned")
{
    // Extreme and random values in every field show any overlap, truncation or
    // byte order slip in the packing of an endpoint into two 64-bit words.
    std::mt19937_64 rng(0x7ab1e);
    auto random_ep = [&rng]() {
        Endpoint e;
        do
            e.addr = static_cast<Ipv4>(rng());
        while (e.addr == 0);
        e.port = static_cast<uint16_t>(rng());
        e.ifport = static_cast<uint16_t>(rng());
        e.local = static_cast<uint16_t>(rng());
        for (auto &b : e.mac)
            b = static_cast<uint8_t>(rng());
        return e;
    };
    Endpoint ones;
    ones.addr = 0xffffffff;
    ones.port = ones.ifport = ones.local = 0xffff;
    ones.mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    Endpoint sparse;
    sparse.addr = 0x80000001;
    sparse.port = 0x8001;
    sparse.ifport = 0x8001;
    sparse.local = 0x8001;
    sparse.mac = {0x80, 0, 0, 0, 0, 0x01};
    Endpoint distinct;
    distinct.addr = 0x01020304;
    distinct.port = 0x0506;
    distinct.ifport = 0x0708;
    distinct.mac = {0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};
    distinct.local = 0x0f10;

    RelayTable t(64, state::set0);
    std::vector<std::pair<Endpoint, Endpoint>> pairs = {{ones, sparse}, {distinct, ones},
                                                        {sparse, distinct}};
    for (int i = 0; i < 1000; i++) {
        Endpoint a = random_ep(), b = random_ep();
        if (!a.same_peer(b.addr, b.port))
            pairs.emplace_back(a, b);
    }
    for (size_t i = 0; i < pairs.size(); i++) {
        uint32_t idx = static_cast<uint32_t>(i % t.size());
        const auto &[a, b] = pairs[i];
        t.write_state(idx, 1);
        t.learn(idx, a, static_cast<uint32_t>(i));
        LearnResult r = t.learn(idx, b, static_cast<uint32_t>(i));
        INFO("pair " << i);
        REQUIRE(r.to == a);
        RelaySnapshot s = t.read(idx);
        REQUIRE(s.a == a);
        REQUIRE(s.b == b);
        // And again after a write that re-stores them.
        t.write_state(idx, 3);
        s = t.read(idx);
        REQUIRE(s.a == a);
        REQUIRE(s.b == b);
        REQUIRE(t.learn(idx, b, 0).to == a);
        REQUIRE(t.learn(idx, a, 0).to == b);
    }
}

TEST_CASE("expire forgets endpoints silent for the idle timeout, as if never learned")
{
    SECTION("both silent: SET0") {
        RelayTable t = table_with_a_and_b(); // A seen at 100, B at 101
        CHECK(t.expire(1, 109, 10) == 0);    // A silent 9 s: kept
        CHECK(t.read(1).state == (state::set2 | state::active1));
        CHECK(t.expire(1, 111, 10) == 2);
        const RelaySnapshot s = t.read(1);
        CHECK(s.state == state::set0);
        CHECK_FALSE(s.a.known());
        CHECK_FALSE(s.b.known());
        // A new pair is learned as on a fresh port.
        CHECK(t.learn(1, C, 112).outcome == Learn::learned_a);
        CHECK(t.learn(1, D, 112).outcome == Learn::learned_b);
    }
    SECTION("B silent: A stays, alone") {
        RelayTable t = table_with_a_and_b();
        t.touch(1, 1, 108);
        CHECK(t.expire(1, 111, 10) == 1);
        const RelaySnapshot s = t.read(1);
        CHECK(s.state == (state::set1 | state::active1));
        CHECK(s.a == A);
        CHECK_FALSE(s.b.known());
    }
    SECTION("A silent: B stays and becomes A") {
        RelayTable t = table_with_a_and_b();
        t.learn(1, A, 102); // relays A -> B: ACTIVE2
        t.touch(1, 2, 108);
        CHECK(t.expire(1, 111, 10) == 1);
        const RelaySnapshot s = t.read(1);
        CHECK(s.state == (state::set1 | state::active1));
        CHECK(s.a == B);
        CHECK(s.seen_a == 108);
        CHECK_FALSE(s.b.known());
        // Packets from B (now A) go nowhere until a second endpoint comes.
        CHECK(t.learn(1, B, 112).outcome == Learn::from_a_alone);
        CHECK(t.learn(1, C, 112).outcome == Learn::learned_b);
    }
    SECTION("a port with one endpoint, and ports with none") {
        RelayTable t(4, state::set0);
        t.learn(2, A, 100);
        CHECK(t.expire(2, 105, 5) == 1);
        CHECK(t.read(2).state == state::set0);
        CHECK(t.expire(0, 1000, 5) == 0);
        RelayTable off(2, state::disable);
        CHECK(off.expire(0, 1000, 5) == 0);
        CHECK(off.read(0).state == state::disable);
    }
    SECTION("an expiry that finds nothing does not count as a write") {
        RelayTable t = table_with_a_and_b();
        const uint32_t v = t.version(1);
        CHECK(t.expire(1, 102, 10) == 0);
        CHECK(t.version(1) == v);
    }
}

TEST_CASE("restore writes a whole snapshot, or nothing if the entry changed since")
{
    RelayTable from = table_with_a_and_b();
    RelayTable to(4, state::disable);
    const RelaySnapshot s = from.read(1);
    CHECK(to.restore(3, s));
    const RelaySnapshot r = to.read(3);
    CHECK(r.state == s.state);
    CHECK(r.a == A);
    CHECK(r.b == B);
    CHECK(r.seen_a == 100);
    CHECK(r.seen_b == 101);

    const uint32_t v = to.version(3);
    CHECK(v % 2 == 0);
    to.learn(3, A, 200); // a worker writes the entry: its version moves on
    CHECK_FALSE(to.restore(3, RelaySnapshot{}, v));
    CHECK(to.read(3).a == A);
    CHECK(to.restore(3, RelaySnapshot{}, to.version(3)));
    CHECK(to.read(3).state == 0);
}

namespace {

LearnPolicy policy(LearningMode mode, uint32_t reset_interval = 0)
{
    LearnPolicy p;
    p.mode = mode;
    p.reset_interval = reset_interval;
    p.probation_packets = 4;
    p.probation_ms = 1000;
    return p;
}

LearnClock at_ms(uint64_t ms) { return {static_cast<uint32_t>(ms / 1000), ms}; }

} // namespace

TEST_CASE("reset mode: a reset waits reset_interval after the last one")
{
    RelayTable t = table_with_a_and_b(); // A at 100 s, B at 101 s
    const LearnPolicy p = policy(LearningMode::reset, 10);
    CHECK(t.learn(1, C, at_ms(102000), p).outcome == Learn::reset);
    CHECK(t.learn(1, B, at_ms(102500), p).outcome == Learn::learned_b);
    CHECK(t.learn(1, D, at_ms(111000), p).outcome == Learn::reset_limited); // 9 s later
    CHECK(t.read(1).a == C);
    CHECK(t.learn(1, D, at_ms(112000), p).outcome == Learn::reset);
    CHECK(t.read(1).a == D);
}

TEST_CASE("strict mode: a third endpoint is refused unless a learning window is open")
{
    RelayTable t = table_with_a_and_b();
    const LearnPolicy p = policy(LearningMode::strict);
    for (int i = 0; i < 10; i++)
        CHECK(t.learn(1, C, at_ms(102000 + i), p).outcome == Learn::refused_strict);
    RelaySnapshot s = t.read(1);
    CHECK(s.a == A);
    CHECK(s.b == B);
    // A new port learns its first two endpoints as in reset mode.
    CHECK(t.learn(2, C, at_ms(102000), p).outcome == Learn::learned_a);
    CHECK(t.learn(2, D, at_ms(102000), p).outcome == Learn::learned_b);
    // The control side opens a window until second 105.
    t.open_window(1, 105);
    CHECK(t.window_open(1, 105));
    CHECK(t.learn(1, C, at_ms(104000), p).outcome == Learn::reset);
    CHECK(t.learn(1, D, at_ms(104000), p).outcome == Learn::learned_b);
    CHECK(t.learn(1, A, at_ms(106000), p).outcome == Learn::refused_strict); // closed again
    s = t.read(1);
    CHECK(s.a == C);
    CHECK(s.b == D);
}

TEST_CASE("probation: a new source replaces the silent endpoint after N packets over the minimum time")
{
    const LearnPolicy p = policy(LearningMode::probation);
    SECTION("B went silent: C replaces it on its 4th packet, a second after its first") {
        RelayTable t = table_with_a_and_b(); // A at 100 s, B at 101 s
        t.touch(1, 1, 105);                  // A speaks on; B is silent from 101 s
        CHECK(t.learn(1, C, at_ms(106000), p).outcome == Learn::probation_started);
        CHECK(t.learn(1, C, at_ms(106300), p).outcome == Learn::probation);
        CHECK(t.learn(1, C, at_ms(106600), p).outcome == Learn::probation);
        CHECK(t.learn(1, C, at_ms(106900), p).outcome == Learn::probation); // 4 packets, 900 ms
        const LearnResult r = t.learn(1, C, at_ms(107000), p);
        CHECK(r.outcome == Learn::replaced_b);
        CHECK(r.to == A);
        const RelaySnapshot s = t.read(1);
        CHECK(s.state == (state::set2 | state::active1));
        CHECK(s.a == A);
        CHECK(s.b == C);
        CHECK(s.seen_b == 107);
    }
    SECTION("A went silent: C replaces A and is relayed to B") {
        RelayTable t = table_with_a_and_b();
        t.touch(1, 2, 105);
        for (uint64_t ms : {106000, 106400, 106800})
            CHECK(t.learn(1, C, at_ms(ms), p).outcome != Learn::replaced_a);
        const LearnResult r = t.learn(1, C, at_ms(107200), p);
        CHECK(r.outcome == Learn::replaced_a);
        CHECK(r.to == B);
        CHECK(t.read(1).a == C);
    }
    SECTION("fewer than N packets, or N packets too fast, replace nothing") {
        RelayTable t = table_with_a_and_b();
        t.touch(1, 1, 105);
        for (uint64_t ms = 106000; ms < 106100; ms += 10) // 10 packets in 100 ms
            CHECK(t.learn(1, C, at_ms(ms), p).outcome != Learn::replaced_b);
        CHECK(t.read(1).b == B);
        RelayTable u = table_with_a_and_b();
        u.touch(1, 1, 105);
        for (uint64_t ms : {106000, 107000, 108000}) // 3 packets over 2 s
            CHECK(u.learn(1, C, at_ms(ms), p).outcome != Learn::replaced_b);
        CHECK(u.read(1).b == B);
    }
    SECTION("the endpoint it would replace speaks meanwhile: the count starts over") {
        RelayTable t = table_with_a_and_b();
        t.touch(1, 1, 105);
        CHECK(t.learn(1, C, at_ms(106000), p).outcome == Learn::probation_started);
        CHECK(t.learn(1, C, at_ms(106400), p).outcome == Learn::probation);
        t.touch(1, 2, 106); // B (the older one, the one C would replace) speaks
        CHECK(t.learn(1, C, at_ms(106800), p).outcome == Learn::probation_started);
        // A live call: B speaks every second, so C never gets through.
        for (uint64_t ms = 107000; ms < 115000; ms += 250) {
            t.touch(1, 2, static_cast<uint32_t>(ms / 1000));
            t.touch(1, 1, static_cast<uint32_t>(ms / 1000));
            const Learn l = t.learn(1, C, at_ms(ms), p).outcome;
            CHECK((l == Learn::probation || l == Learn::probation_started));
        }
        CHECK(t.read(1).b == B);
    }
    SECTION("an endpoint last heard in the candidate's first second: counted again from the next") {
        RelayTable t = table_with_a_and_b();
        t.touch(1, 1, 106);
        t.touch(1, 2, 106); // both spoke in second 106; then A goes quiet, B speaks on
        CHECK(t.learn(1, C, at_ms(106500), p).outcome == Learn::probation_started); // would replace A
        t.touch(1, 2, 107);
        for (uint64_t ms : {106800, 107100})
            CHECK(t.learn(1, C, at_ms(ms), p).outcome == Learn::probation);
        // 4 packets over 1 s, but whether A spoke after C's first packet in
        // second 106 is unknown: start over.
        CHECK(t.learn(1, C, at_ms(107500), p).outcome == Learn::probation_started);
        for (uint64_t ms : {107800, 108100})
            CHECK(t.learn(1, C, at_ms(ms), p).outcome == Learn::probation);
        const LearnResult r = t.learn(1, C, at_ms(108500), p);
        CHECK(r.outcome == Learn::replaced_a);
        CHECK(r.to == B);
    }
    SECTION("replacements wait reset_interval too; a window lets any source in at once") {
        RelayTable t = table_with_a_and_b();
        const LearnPolicy limited = policy(LearningMode::probation, 30);
        t.touch(1, 1, 105);
        for (uint64_t ms : {106000, 106400, 106800})
            t.learn(1, C, at_ms(ms), limited);
        CHECK(t.learn(1, C, at_ms(107200), limited).outcome == Learn::replaced_b);
        t.touch(1, 1, 108);
        for (uint64_t ms : {109000, 109400, 109800})
            t.learn(1, D, at_ms(ms), limited);
        CHECK(t.learn(1, D, at_ms(110200), limited).outcome == Learn::reset_limited);
        t.open_window(1, 111);
        CHECK(t.learn(1, D, at_ms(111000), p).outcome == Learn::reset);
    }
}

TEST_CASE("carry_learning: a port's window, reset limit and probation attempt go with it")
{
    RelayTable from = table_with_a_and_b(); // A at 100 s, B at 101 s, port 1
    RelayTable to(4, state::set0);           // the new table: the port is entry 2
    auto carry = [&] {
        to.restore(2, from.read(1));
        const uint32_t v = to.version(2);
        to.carry_learning(2, from, 1);
        CHECK(to.version(2) == v); // no endpoint changed: nothing for a reader to see
    };
    SECTION("the later learning window and the last reset") {
        CHECK(from.learn(1, C, at_ms(102000), policy(LearningMode::reset)).outcome == Learn::reset);
        CHECK(from.learn(1, D, at_ms(102000), policy(LearningMode::reset)).outcome == Learn::learned_b);
        from.open_window(1, 200);
        carry();
        CHECK(to.window_until(2) == 200);
        const LearnPolicy strict = policy(LearningMode::strict, 10);
        CHECK(to.learn(2, A, at_ms(111000), strict).outcome == Learn::reset_limited); // 9 s after 102
        CHECK(to.learn(2, A, at_ms(112000), strict).outcome == Learn::reset);        // in the window
        to.open_window(2, 300);
        to.carry_learning(2, from, 1);
        CHECK(to.window_until(2) == 300); // a window the new table opened meanwhile stands
    }
    SECTION("a probation attempt goes on where it was, also across the second carry") {
        const LearnPolicy p = policy(LearningMode::probation);
        from.touch(1, 1, 105); // B is silent from 101 s
        CHECK(from.learn(1, C, at_ms(106000), p).outcome == Learn::probation_started);
        carry();
        // Workers still on `from` until the grace period ends.
        CHECK(from.learn(1, C, at_ms(106300), p).outcome == Learn::probation);
        CHECK(from.learn(1, C, at_ms(106600), p).outcome == Learn::probation);
        to.carry_learning(2, from, 1);
        // Its 4th packet, a second after its first.
        CHECK(to.learn(2, C, at_ms(107000), p).outcome == Learn::replaced_b);
    }
    SECTION("an attempt the new table started of its own stands, even one with fewer packets") {
        const LearnPolicy p = policy(LearningMode::probation);
        from.touch(1, 1, 105);
        CHECK(from.learn(1, C, at_ms(106000), p).outcome == Learn::probation_started);
        carry();
        CHECK(to.learn(2, D, at_ms(106100), p).outcome == Learn::probation_started);
        CHECK(from.learn(1, C, at_ms(106300), p).outcome == Learn::probation); // C: 2 packets, D: 1
        to.carry_learning(2, from, 1);
        CHECK(to.learn(2, D, at_ms(106200), p).outcome == Learn::probation); // D's, not C's
    }
}
