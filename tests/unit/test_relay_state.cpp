// The state word: writes, learning and names, against a model written here
// from the prose of SPEC section 4 (not from relay_state.hpp).
#include "relay_state.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using namespace relay;

namespace {

// What SPEC section 4 says a port is: enabled or not, which endpoints are
// known, and whether packets have been sent to each.
struct Model {
    bool enabled = false;
    bool a = false, b = false;
    bool sent_a = false, sent_b = false;

    // Bits 0-1: 0 disabled, 1 none known, 2 A known, 3 both; bit 2 sent to A,
    // bit 3 sent to B.
    static Model decode(int s)
    {
        Model m;
        int set = s & 3;
        m.enabled = set != 0;
        m.a = set >= 2;
        m.b = set == 3;
        m.sent_a = s & 4;
        m.sent_b = s & 8;
        return m;
    }

    int encode() const
    {
        int s = !enabled ? 0 : b ? 3 : a ? 2 : 1;
        return s | (sent_a ? 4 : 0) | (sent_b ? 8 : 0);
    }

    // "V = 0: disable the port (endpoints forgotten). V != 0: enable the port
    // and keep only what V names: both endpoints if V&3 = 3, only A if V&3 = 2,
    // none if V&3 = 1; an activity bit is kept only where V has it and its
    // endpoint is kept." V&3 = 0 with V != 0 names no endpoint, like 1.
    Model write(int v) const
    {
        Model m;
        if (v == 0)
            return m;
        m.enabled = true;
        m.a = enabled && a && (v & 3) >= 2;
        m.b = enabled && b && (v & 3) == 3;
        m.sent_a = m.a && sent_a && (v & 4);
        m.sent_b = m.b && sent_b && (v & 8);
        return m;
    }

    // A packet from A, from B or from someone else, in `reset` learning.
    enum From { from_a, from_b, from_other };
    Model packet(From from) const
    {
        Model m = *this;
        if (!enabled)
            return m; // "disabled port: ... nothing is learned"
        if (!a) {     // "nothing known: a packet from X sets A = X; not forwarded"
            m.a = true;
            return m;
        }
        if (!b) {
            if (from == from_a) // "packet from A: nowhere to go"
                return m;
            m.b = true; // "B = Y; the packet is relayed to A"
            m.sent_a = true;
            return m;
        }
        if (from == from_a) // "from A go to B"
            m.sent_b = true;
        else if (from == from_b)
            m.sent_a = true;
        else { // "A = Z, B is cleared; the packet is not forwarded"
            m.b = false;
            m.sent_a = m.sent_b = false;
        }
        return m;
    }
};

// The slot a packet's source matches, as learn_reset_mode takes it.
int match_of(Model::From f) { return f == Model::from_a ? 1 : f == Model::from_b ? 2 : 0; }

// The froms that can happen in a state: only known endpoints can match.
std::vector<Model::From> possible_froms(const Model &m)
{
    std::vector<Model::From> out{Model::from_other};
    if (m.a)
        out.push_back(Model::from_a);
    if (m.b)
        out.push_back(Model::from_b);
    return out;
}

// Every state reachable from the two initial states by the model's packets
// and writes.
std::set<int> reachable_states()
{
    std::set<int> seen{0, 1};
    std::vector<int> todo{0, 1};
    while (!todo.empty()) {
        Model m = Model::decode(todo.back());
        todo.pop_back();
        std::vector<int> next;
        for (auto f : possible_froms(m))
            next.push_back(m.packet(f).encode());
        for (int v = 0; v < 16; v++)
            next.push_back(m.write(v).encode());
        for (int n : next)
            if (seen.insert(n).second)
                todo.push_back(n);
    }
    return seen;
}

} // namespace

TEST_CASE("the reachable states are the ones the spec's table implies")
{
    // Learning alone reaches 0 1 2 3 7 11 15; writes add SET1|ACTIVE1 (6),
    // e.g. writing 14 to ALL. SET1|ACTIVE2 never happens: B is not known.
    CHECK(reachable_states() == std::set<int>{0, 1, 2, 3, 6, 7, 11, 15});
}

TEST_CASE("state_after_write: every value from every reachable state")
{
    for (int cur : reachable_states()) {
        for (int v = 0; v < 16; v++) {
            INFO("state " << cur << " write " << v);
            CHECK(int(state_after_write(uint8_t(cur), uint8_t(v))) ==
                  Model::decode(cur).write(v).encode());
        }
    }
}

TEST_CASE("state_after_write: unreachable states are still handled by the same rule")
{
    for (int cur = 0; cur < 16; cur++)
        for (int v = 0; v < 16; v++) {
            INFO("state " << cur << " write " << v);
            CHECK(int(state_after_write(uint8_t(cur), uint8_t(v))) ==
                  Model::decode(cur).write(v).encode());
        }
}

TEST_CASE("state_after_write: the examples spelled out in the spec")
{
    CHECK(state_after_write(state::all, 1) == state::set0);  // enable and reset
    CHECK(state_after_write(state::all, 3) == state::set2);  // keep both, clear activity
    CHECK(state_after_write(state::all, 15) == state::all);  // keep everything
    CHECK(state_after_write(state::all, 2) == state::set1);  // keep A, relearn B
    CHECK(state_after_write(state::all, 0) == state::disable);
    CHECK(state_after_write(state::disable, 15) == state::set0); // nothing to keep
    CHECK(state_after_write(state::set1, 15) == state::set1);    // B was never known
    CHECK(state_after_write(state::all, 14) == (state::set1 | state::active1));
    CHECK(state_after_write(state::all, 11) == (state::set2 | state::active2));
    CHECK(state_after_write(state::set2 | state::active2, 14) == state::set1);
    CHECK(state_after_write(state::all, 12) == state::set0);
}

TEST_CASE("learning: every possible packet from every reachable state")
{
    for (int cur : reachable_states()) {
        Model m = Model::decode(cur);
        for (auto f : possible_froms(m)) {
            INFO("state " << cur << " packet matching slot " << match_of(f));
            Learn l = learn_reset_mode(uint8_t(cur), match_of(f));
            CHECK(int(state_after_learn(uint8_t(cur), l)) == m.packet(f).encode());
        }
    }
}

TEST_CASE("learning: the outcome names what happens to the packet")
{
    CHECK(learn_reset_mode(state::disable, 0) == Learn::drop_disabled);
    CHECK(learn_reset_mode(state::set0, 0) == Learn::learned_a);
    CHECK(learn_reset_mode(state::set1, 1) == Learn::from_a_alone);
    CHECK(learn_reset_mode(state::set1 | state::active1, 1) == Learn::from_a_alone);
    CHECK(learn_reset_mode(state::set1, 0) == Learn::learned_b);
    for (uint8_t s : {3, 7, 11, 15}) {
        INFO("state " << int(s));
        CHECK(learn_reset_mode(s, 1) == Learn::to_b);
        CHECK(learn_reset_mode(s, 2) == Learn::to_a);
        CHECK(learn_reset_mode(s, 0) == Learn::reset);
    }
}

TEST_CASE("state_names: all 16 values")
{
    const char *const want[16] = {
        "DISABLE",        "SET0",        "SET1",        "SET2",
        "DISABLE|ACTIVE1", "SET0|ACTIVE1", "SET1|ACTIVE1", "SET2|ACTIVE1",
        "DISABLE|ACTIVE2", "SET0|ACTIVE2", "SET1|ACTIVE2", "SET2|ACTIVE2",
        "DISABLE|ACTIVE",  "SET0|ACTIVE",  "SET1|ACTIVE",  "ALL",
    };
    for (int s = 0; s < 16; s++) {
        INFO("state " << s);
        CHECK(state_names(uint8_t(s)) == want[s]);
    }
}

TEST_CASE("parse_state_value: numbers")
{
    for (int v = 0; v < 16; v++) {
        INFO(v);
        CHECK(parse_state_value(std::to_string(v)) == uint8_t(v));
    }
    CHECK(parse_state_value("07") == uint8_t(7));
    for (const char *bad : {"16", "99", "100", "-1", "+1", "", " 1", "1 ", "1x", "0x1", "1.0",
                            "4294967311", "18446744073709551631"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_state_value(bad));
    }
}

TEST_CASE("parse_state_value: names, any case")
{
    const struct {
        const char *name;
        int value;
    } names[] = {
        {"disable", 0}, {"DISABLE", 0}, {"Disabled", 0}, {"set0", 1},   {"SET0", 1},
        {"enable", 1},  {"reset", 1},   {"RESET", 1},    {"set1", 2},   {"keepa", 2},
        {"relearn", 2}, {"set2", 3},    {"keepboth", 3}, {"KeepBoth", 3}, {"active1", 4},
        {"active2", 8}, {"active", 12}, {"ALL", 15},     {"all", 15},   {"keep", 15},
    };
    for (const auto &n : names) {
        INFO(n.name);
        CHECK(parse_state_value(n.name) == uint8_t(n.value));
    }
    for (const char *bad : {"foo", "al", "alll", "set3", "disable ", "re set", "SET2|ACTIVE1",
                            "keep_both", "\xc3\xa4ll", "ALL\n"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_state_value(bad));
    }
}

TEST_CASE("parse_state_value: the names printed for SET0, SET1, SET2 and ALL write back")
{
    // An operator can paste what relaystate printed to restore a state.
    for (uint8_t s : {state::set0, state::set1, state::set2, state::all}) {
        auto v = parse_state_value(state_names(s));
        REQUIRE(v);
        CHECK(*v == s);
        CHECK(state_after_write(s, *v) == s);
    }
}
