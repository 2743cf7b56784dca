// The lookup structures behind the packet path, on the EAL that
// test_packets.cpp starts: rule compilation and first-match order in the
// classifier, longest-prefix routes, and the neighbour table's life cycle.
#include <catch2/catch.hpp>

#include "build_tables.hpp"
#include "neighbour.hpp"
#include "routes.hpp"

#include <rte_byteorder.h>

#include <netinet/in.h>

#include <algorithm>
#include <numeric>
#include <random>

using namespace relay;

namespace {

Ipv4 ip(const char *s) { return *parse_ipv4(s); }

Config config_with(const std::string &rules)
{
    return parse_config("ports:\n"
                        "  - { name: lan, device: \"0\", address: 10.0.0.1/24 }\n"
                        "  - { name: wan, device: \"1\", address: 192.0.2.1/24 }\n"
                        "rules:\n" +
                            rules,
                        "t.yaml");
}

AclKey key(uint8_t proto, const char *src, const char *dst, uint16_t sport, uint16_t dport,
           uint8_t in_port, uint8_t out_port = 0, bool l4 = true)
{
    AclKey k{};
    k.proto = proto;
    k.src = rte_cpu_to_be_32(ip(src));
    k.dst = rte_cpu_to_be_32(ip(dst));
    k.sport = rte_cpu_to_be_16(sport);
    k.dport = rte_cpu_to_be_16(dport);
    k.in_port = in_port;
    k.out_port = out_port;
    k.l4 = l4 ? RTE_BE16(1) : 0;
    return k;
}

uint32_t classify(const Classifier &c, const AclKey &k)
{
    const uint8_t *p = reinterpret_cast<const uint8_t *>(&k);
    uint32_t r;
    c.classify(&p, &r, 1);
    return r;
}

// Random tables and keys for comparing a classifier method with rte_acl.
struct Draw {
    std::mt19937 rng;
    explicit Draw(uint32_t seed) : rng(seed) {}
    uint32_t operator()(uint32_t lo, uint32_t hi)
    {
        return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
    }
    // A range within [0, max]: left whole (any value) a third of the time,
    // else from 0 a third of the time (a port range that a key without ports,
    // sport = dport = 0, falls in, where only needs_l4 tells them apart).
    template <class T>
    void range(uint32_t max, T &lo, T &hi)
    {
        if ((*this)(0, 2) == 0)
            return;
        const uint32_t a = (*this)(0, 2) ? (*this)(0, max) : 0, b = (*this)(0, max);
        lo = static_cast<T>(std::min(a, b));
        hi = static_cast<T>(std::max(a, b));
    }
    // A key near rule r: each field at an edge of r's range or one off it,
    // each address r's or, now and then, with random bits below r's prefix.
    AclKey near(const AclRule &r)
    {
        auto around = [this](uint32_t lo, uint32_t hi, uint32_t max) {
            const uint32_t edge = (*this)(0, 1) ? lo : hi;
            return std::min(edge + (*this)(0, 2) - 1, max);
        };
        AclKey k{};
        k.proto = static_cast<uint8_t>(around(r.proto_lo, r.proto_hi, 255));
        k.src = rte_cpu_to_be_32(r.src ^ ((*this)(0, 3) ? 0 : (*this)(0, ~0u) >> r.src_len % 32));
        k.dst = rte_cpu_to_be_32(r.dst ^ ((*this)(0, 3) ? 0 : (*this)(0, ~0u) >> r.dst_len % 32));
        k.l4 = (*this)(0, 3) ? RTE_BE16(1) : 0;
        if (k.l4) {
            k.sport = rte_cpu_to_be_16(static_cast<uint16_t>(around(r.sport_lo, r.sport_hi, 65535)));
            k.dport = rte_cpu_to_be_16(static_cast<uint16_t>(around(r.dport_lo, r.dport_hi, 65535)));
        }
        k.in_port = static_cast<uint8_t>(around(r.in_lo, r.in_hi, 3));
        k.out_port = static_cast<uint8_t>(around(r.out_lo, r.out_hi, 3));
        return k;
    }
};

} // namespace

TEST_CASE("negations expand into the ranges and prefixes around them")
{
    const Config c = config_with("  - \"-A PREROUTING -p tcp ! -s 10.0.0.0/8 ! --dport 22 -j DEST --to=10.0.0.9\"\n"
                                 "  - \"-A PREROUTING -p udp -i lan --dport 53 -j DEST --to=10.0.0.9\"\n"
                                 "  - \"-A PREROUTING ! -i lan -j DEST --to=10.0.0.9\"\n"
                                 "  - \"-A PREROUTING ! --dport 0:65535 -p udp -j DEST --to=10.0.0.9\"\n"
                                 "  - \"-A PREROUTING -p udp --dport 7000:7999 -j RELAY\"\n");
    const CompiledRules r = compile_rules(c, {0, 1}, {ip("10.0.0.1"), ip("192.0.2.1")});
    std::vector<AclRule> per_rule[5];
    for (const AclRule &a : r.prerouting)
        per_rule[a.rule].push_back(a);
    CHECK(r.postrouting.empty());
    // ! -s 10.0.0.0/8: 8 sibling prefixes; ! --dport 22: two ranges.
    REQUIRE(per_rule[0].size() == 16);
    for (const AclRule &a : per_rule[0]) {
        CHECK(a.needs_l4);
        CHECK(a.proto_lo == 6);
        CHECK(a.proto_hi == 6);
        CHECK_FALSE(Prefix{a.src, a.src_len}.contains(ip("10.1.2.3")));
        CHECK(((a.dport_lo == 0 && a.dport_hi == 21) || (a.dport_lo == 23 && a.dport_hi == 65535)));
    }
    REQUIRE(per_rule[1].size() == 1);
    CHECK(per_rule[1][0].in_lo == 0);
    CHECK(per_rule[1][0].in_hi == 0);
    // ! -i lan (port 0): ports 1-255.
    REQUIRE(per_rule[2].size() == 1);
    CHECK(per_rule[2][0].in_lo == 1);
    CHECK(per_rule[2][0].in_hi == 255);
    CHECK_FALSE(per_rule[2][0].needs_l4);
    // Negating everything matches nothing.
    CHECK(per_rule[3].empty());
    // RELAY without an address: one entry per box address.
    REQUIRE(per_rule[4].size() == 2);
    CHECK(per_rule[4][0].dst_len == 32);
    CHECK(per_rule[4][1].dst == ip("192.0.2.1"));
}

TEST_CASE("the classifier returns the first matching rule")
{
    const Config c = config_with("  - \"-A PREROUTING -p udp -d 198.51.100.0/24 --dport 1000:1999 -j DEST --to=10.0.0.2\"\n"
                                 "  - \"-A PREROUTING -d 198.51.100.7 -j DEST --to=10.0.0.3\"\n"
                                 "  - \"-A PREROUTING -p tcp ! --dport 22 -j DEST --to=10.0.0.4\"\n"
                                 "  - \"-A PREROUTING -i wan -j DEST --to=10.0.0.5\"\n"
                                 "  - \"-A POSTROUTING -o lan -s 10.0.0.0/24 -j SOURCE --to=192.0.2.9\"\n");
    const CompiledRules r = compile_rules(c, {0, 1}, {ip("10.0.0.1"), ip("192.0.2.1")});
    const Classifier pre("t_pre", r.prerouting), post("t_post", r.postrouting);
    const struct {
        const char *name;
        AclKey k;
        uint32_t want;
    } cases[] = {
        {"rule 0 before the more specific rule 1", key(17, "1.1.1.1", "198.51.100.7", 5, 1500, 0), 0},
        {"outside rule 0's ports: rule 1", key(17, "1.1.1.1", "198.51.100.7", 5, 2500, 0), 1},
        {"a later fragment has no ports: not rule 0", key(17, "1.1.1.1", "198.51.100.7", 0, 0, 0, 0, false), 1},
        {"tcp to 80 on another address: rule 2", key(6, "1.1.1.1", "8.8.8.8", 5, 80, 0), 2},
        {"tcp to 22 from lan: nothing", key(6, "1.1.1.1", "8.8.8.8", 5, 22, 0), no_rule},
        {"tcp to 22 from wan: rule 3", key(6, "1.1.1.1", "8.8.8.8", 5, 22, 1), 3},
        {"icmp from lan: nothing", key(1, "1.1.1.1", "8.8.8.8", 0, 0, 0, 0, false), no_rule},
    };
    for (const auto &tc : cases) {
        INFO(tc.name);
        CHECK(classify(pre, tc.k) == tc.want);
    }
    CHECK(classify(post, key(17, "10.0.0.7", "8.8.8.8", 1, 2, 1, 0)) == 4);
    CHECK(classify(post, key(17, "10.0.0.7", "8.8.8.8", 1, 2, 1, 1)) == no_rule);
    CHECK(classify(post, key(17, "10.0.1.7", "8.8.8.8", 1, 2, 1, 0)) == no_rule);
}

TEST_CASE("routes: longest prefix wins, static routes override connected ones")
{
    Config c = parse_config("ports:\n"
                            "  - { name: lan, device: \"0\", address: 10.0.0.1/24 }\n"
                            "  - { name: wan, device: \"1\", address: 192.0.2.1/24, gateway: 192.0.2.254 }\n"
                            "routes:\n"
                            "  - { prefix: 10.8.0.0/16, via: 10.0.0.254 }\n"
                            "  - { prefix: 10.8.1.0/24, via: 192.0.2.253 }\n",
                            "t.yaml");
    const std::vector<ResolvedPort> resolved = {{0, {}}, {1, {}}};
    const RouteTable routes(config_routes(c, resolved));
    NextHop h;
    REQUIRE(routes.lookup(ip("10.0.0.77"), h));
    CHECK(h.port == 0);
    CHECK(h.gateway == 0);
    REQUIRE(routes.lookup(ip("10.8.9.9"), h));
    CHECK(h.port == 0);
    CHECK(h.gateway == ip("10.0.0.254"));
    REQUIRE(routes.lookup(ip("10.8.1.9"), h));
    CHECK(h.port == 1);
    CHECK(h.gateway == ip("192.0.2.253"));
    REQUIRE(routes.lookup(ip("8.8.8.8"), h));
    CHECK(h.port == 1);
    CHECK(h.gateway == ip("192.0.2.254"));

    c.ports[1].gateway.reset();
    const RouteTable no_default(config_routes(c, resolved));
    CHECK_FALSE(no_default.lookup(ip("8.8.8.8"), h));
}

TEST_CASE("neighbours: learning, refresh, static entries and expiry")
{
    NeighbourTable n(64);
    const Mac m1 = {2, 0, 0, 0, 0, 1}, m2 = {2, 0, 0, 0, 0, 2}, m3 = {2, 0, 0, 0, 0, 3};
    Mac got;
    uint32_t age;
    CHECK_FALSE(n.lookup(ip("10.0.0.5"), got, 10, age));

    // Gratuitous ARP (create = false) does not create an entry.
    CHECK(n.post({ip("10.0.0.5"), 0, false, m1}));
    n.apply_updates(10);
    CHECK_FALSE(n.lookup(ip("10.0.0.5"), got, 10, age));

    // A request or reply to the box does; gratuitous ARP then refreshes it.
    CHECK(n.post({ip("10.0.0.5"), 0, true, m1}));
    n.apply_updates(10);
    REQUIRE(n.lookup(ip("10.0.0.5"), got, 15, age));
    CHECK(got == m1);
    CHECK(age == 5);
    CHECK(n.post({ip("10.0.0.5"), 0, false, m2}));
    n.apply_updates(20);
    REQUIRE(n.lookup(ip("10.0.0.5"), got, 20, age));
    CHECK(got == m2);
    CHECK(age == 0);

    // Static entries are not overridden by the wire and never expire.
    n.set(ip("10.0.0.6"), 0, m3, 1, true, true);
    CHECK(n.post({ip("10.0.0.6"), 0, true, m1}));
    n.apply_updates(30);
    REQUIRE(n.lookup(ip("10.0.0.6"), got, 1000, age));
    CHECK(got == m3);
    CHECK(age == 0);

    // Learned entries expire after max_age without confirmation, and come
    // back when ARP confirms them again.
    n.expire(20 + 300, 300);
    CHECK(n.lookup(ip("10.0.0.5"), got, 320, age));
    n.expire(20 + 301, 300);
    CHECK_FALSE(n.lookup(ip("10.0.0.5"), got, 321, age));
    CHECK(n.lookup(ip("10.0.0.6"), got, 321, age));
    CHECK(n.dump(321).size() == 1);
    CHECK(n.post({ip("10.0.0.5"), 0, true, m1}));
    n.apply_updates(400);
    CHECK(n.lookup(ip("10.0.0.5"), got, 400, age));
    CHECK(n.dump(400).size() == 2);

    // A full table refuses new entries and keeps the old ones.
    NeighbourTable small(8);
    int added = 0;
    for (uint32_t i = 1; i <= 64; i++)
        added += small.set(0x0a000000 | i, 0, m1, 1, false, true);
    CHECK(added >= 8);
    CHECK(added < 64);
    CHECK(small.lookup(0x0a000001, got, 1, age));
}

TEST_CASE("the linear method answers as rte_acl does")
{
    // Random tables of up to linear_max entries, random keys drawn near the
    // entries' edges: both methods must return the same first match.
    Draw pick(0x5eed0a11);
    size_t matched = 0, keys = 0;
    for (int table = 0; table < 300; table++) {
        std::vector<AclRule> rules(pick(1, Classifier::linear_max));
        std::vector<uint32_t> orders(rules.size());
        std::iota(orders.begin(), orders.end(), 0u);
        std::shuffle(orders.begin(), orders.end(), pick.rng); // as the compiler's: no ties
        for (size_t i = 0; i < rules.size(); i++) {
            AclRule &r = rules[i];
            r.rule = static_cast<uint32_t>(i);
            r.order = orders[i];
            pick.range(255, r.proto_lo, r.proto_hi);
            r.src_len = static_cast<uint8_t>(pick(0, 2) ? pick(0, 32) : 0);
            r.src = pick(0, ~0u) & (r.src_len ? ~0u << (32 - r.src_len) : 0);
            r.dst_len = static_cast<uint8_t>(pick(0, 32));
            r.dst = pick(0, ~0u) & (r.dst_len ? ~0u << (32 - r.dst_len) : 0);
            pick.range(65535, r.sport_lo, r.sport_hi);
            pick.range(65535, r.dport_lo, r.dport_hi);
            pick.range(3, r.in_lo, r.in_hi);
            pick.range(3, r.out_lo, r.out_hi);
            r.needs_l4 = r.sport_lo || r.dport_lo || r.sport_hi < 65535 || r.dport_hi < 65535;
        }
        const Classifier acl("t_acl", rules, Classifier::Method::acl);
        const Classifier linear("t_linear", rules, Classifier::Method::linear);
        REQUIRE(acl.method() == Classifier::Method::acl);
        REQUIRE(linear.method() == Classifier::Method::linear);
        for (int n = 0; n < 200; n++) {
            const AclKey k = pick.near(rules[pick(0, uint32_t(rules.size() - 1))]);
            const uint32_t want = classify(acl, k);
            REQUIRE(classify(linear, k) == want);
            matched += want != no_rule;
            keys++;
        }
    }
    CHECK(matched > keys / 10); // the keys really exercised matches, not only misses
    CHECK(matched < keys);
}

TEST_CASE("a large exact table classifies whole bursts as rte_acl does")
{
    // From Classifier::large_min entries on, the exact method looks a burst
    // up in prefetching passes of up to 32 keys. Bursts of 1 to 100 keys,
    // some to addresses without entries, against rte_acl on the same table:
    // entries on 1,500 destination addresses, a quarter of them for a UDP
    // port range, and a few source prefixes anywhere in the order.
    Draw pick(0x1a29e);
    const uint32_t base = 0xc6120000, addresses = 1500;
    std::vector<AclRule> rules(Classifier::large_min + 500);
    std::vector<uint32_t> orders(rules.size());
    std::iota(orders.begin(), orders.end(), 0u);
    std::shuffle(orders.begin(), orders.end(), pick.rng);
    for (size_t i = 0; i < rules.size(); i++) {
        AclRule &r = rules[i];
        r.rule = static_cast<uint32_t>(i);
        r.order = orders[i];
        if (i % 300 == 7) { // one of the few that match no single address
            r.src = pick(0, 255) << 24;
            r.src_len = 8;
            continue;
        }
        r.dst = base + pick(0, addresses - 1);
        r.dst_len = 32;
        if (pick(0, 3) == 0) {
            r.proto_lo = r.proto_hi = IPPROTO_UDP;
            r.dport_lo = static_cast<uint16_t>(pick(0, 60000));
            r.dport_hi = static_cast<uint16_t>(r.dport_lo + 5000);
            r.needs_l4 = true;
        }
    }
    const Classifier acl("big_acl", rules, Classifier::Method::acl);
    const Classifier exact("big_exact", rules);
    REQUIRE(exact.method() == Classifier::Method::exact);
    REQUIRE(exact.large());
    size_t matched = 0, keys = 0;
    for (int burst = 0; burst < 60; burst++) {
        std::vector<AclKey> k(pick(1, 100));
        std::vector<const uint8_t *> ptrs;
        for (AclKey &key : k) {
            key.proto = pick(0, 3) ? IPPROTO_UDP : IPPROTO_TCP;
            key.src = rte_cpu_to_be_32(pick(0, ~0u));
            key.dst = rte_cpu_to_be_32(base + pick(0, addresses + addresses / 10));
            key.sport = rte_cpu_to_be_16(static_cast<uint16_t>(pick(0, 65535)));
            key.dport = rte_cpu_to_be_16(static_cast<uint16_t>(pick(0, 65535)));
            key.l4 = RTE_BE16(1);
            ptrs.push_back(reinterpret_cast<const uint8_t *>(&key));
        }
        std::vector<uint32_t> got(k.size()), want(k.size());
        exact.classify(ptrs.data(), got.data(), static_cast<uint32_t>(k.size()));
        acl.classify(ptrs.data(), want.data(), static_cast<uint32_t>(k.size()));
        REQUIRE(got == want);
        for (uint32_t r : want)
            matched += r != no_rule;
        keys += k.size();
    }
    CHECK(matched > keys / 3);
    CHECK(matched < keys);
}

TEST_CASE("the exact method answers as rte_acl does")
{
    // Random tables whose entries mostly match one destination (or, in half
    // of them, one source) address out of a small pool, so that several
    // entries share an address, with some entries of any shape among them in
    // the table's order; keys near the entries. Every method must return the
    // same first match.
    Draw pick(0xe4ac7);
    auto prefix = [&](uint32_t &addr, uint8_t &len, uint8_t max_len) {
        len = static_cast<uint8_t>(pick(0, max_len));
        addr = pick(0, ~0u) & (len ? ~0u << (32 - len) : 0);
    };
    size_t matched = 0, keys = 0, exact_tables = 0;
    for (int table = 0; table < 200; table++) {
        const bool by_src = pick(0, 1);
        std::vector<uint32_t> pool(pick(1, 12));
        for (uint32_t &a : pool)
            a = pick(0, 3) ? pick(0, ~0u) : pick(0, 3); // 0 and its neighbours too
        std::vector<AclRule> rules(pick(Classifier::linear_max + 1, 60));
        std::vector<uint32_t> orders(rules.size());
        std::iota(orders.begin(), orders.end(), 0u);
        std::shuffle(orders.begin(), orders.end(), pick.rng); // as the compiler's: no ties
        const uint32_t others = pick(0, 3) ? pick(0, Classifier::linear_max) : pick(0, 20);
        for (size_t i = 0; i < rules.size(); i++) {
            AclRule &r = rules[i];
            r.rule = static_cast<uint32_t>(i);
            r.order = orders[i];
            pick.range(255, r.proto_lo, r.proto_hi);
            const bool keyed = i >= others;
            uint32_t &a = by_src ? r.src : r.dst;
            uint8_t &len = by_src ? r.src_len : r.dst_len;
            if (keyed) {
                a = pool[pick(0, uint32_t(pool.size() - 1))];
                len = 32;
            } else {
                prefix(a, len, 31);
            }
            // The other address: any prefix, now and then a single address.
            prefix(by_src ? r.dst : r.src, by_src ? r.dst_len : r.src_len, pick(0, 3) ? 32 : 8);
            pick.range(65535, r.sport_lo, r.sport_hi);
            pick.range(65535, r.dport_lo, r.dport_hi);
            pick.range(3, r.in_lo, r.in_hi);
            pick.range(3, r.out_lo, r.out_hi);
            r.needs_l4 = r.sport_lo || r.dport_lo || r.sport_hi < 65535 || r.dport_hi < 65535;
        }
        std::shuffle(rules.begin(), rules.end(), pick.rng); // the keyed ones anywhere in the list
        const Classifier acl("t_acl", rules, Classifier::Method::acl);
        const Classifier exact("t_exact", rules, Classifier::Method::exact);
        const Classifier automatic("t_auto", rules);
        REQUIRE(exact.method() == Classifier::Method::exact);
        exact_tables += automatic.method() == Classifier::Method::exact;
        for (int n = 0; n < 200; n++) {
            const AclKey k = pick.near(rules[pick(0, uint32_t(rules.size() - 1))]);
            const uint32_t want = classify(acl, k);
            REQUIRE(classify(exact, k) == want);
            REQUIRE(classify(automatic, k) == want);
            matched += want != no_rule;
            keys++;
        }
    }
    CHECK(matched > keys / 10);
    CHECK(matched < keys);
    CHECK(exact_tables > 100); // `automatic` took the exact method for most tables
    CHECK(exact_tables < 200); // and rte_acl for those with too many other entries
}

TEST_CASE("a relay range skips the classifier only where no earlier rule can match")
{
    const Config c = config_with(
        "  - \"-A PREROUTING -p tcp -d 10.0.0.1 --dport 3000:3999 -j DEST --to=10.0.0.9\"\n"
        "  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 4050 -j DEST --to=10.0.0.9\"\n"
        "  - \"-A PREROUTING -p udp -d 192.0.2.1 --dport 4000:4099 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 4000:4099 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -d 192.0.2.0/24 ! --dport 6050 -j DEST --to=10.0.0.9\"\n"
        "  - \"-A PREROUTING -p udp -d 192.0.2.1 --dport 6000:6099 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 6000:6099 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -s 10.9.0.0/16 --dport 7000:7099 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -d 203.0.113.0/24 --dport 7100 -j DEST --to=10.0.0.9\"\n"
        "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 7100:7199 -j RELAY\"\n"
        "  - \"-A PREROUTING -p udp -d 10.0.0.1 --dport 3050 -j DEST --to=10.0.0.9\"\n");
    const std::vector<ResolvedPort> resolved = {{0, {}}, {1, {}}};
    const auto t = build_tables(c, resolved);
    REQUIRE(t->ranges.size() == 7);
    CHECK(t->ranges[0].direct);       // the DEST above is TCP, the UDP one comes after it
    CHECK(t->ranges[1].direct);       // the UDP DEST above is for 10.0.0.1
    CHECK_FALSE(t->ranges[2].direct); // ... and takes 10.0.0.1:4050
    CHECK_FALSE(t->ranges[3].direct); // ! --dport 6050 takes 192.0.2.1:6000-6049
    CHECK(t->ranges[4].direct);       // the negated DEST is for 192.0.2.0/24 only
    CHECK_FALSE(t->ranges[5].direct); // it matches a source: only the classifier can tell
    CHECK(t->ranges[6].direct);       // the DEST above is for 203.0.113.0/24
    // The slots carry the flag that stage 1 reads.
    CHECK(t->relay_lookup(0, 3000).direct);
    CHECK_FALSE(t->relay_lookup(0, 4050).direct);
    CHECK(t->relay_lookup(1, 4050).direct);
    // Where stage 1 starts a lookup: each address (10.0.0.1, 192.0.2.1) at
    // its own slot, as both have ranges of their own; 3000-3099 in slot 0.
    CHECK(t->relay_home == std::vector<uint32_t>{1u << 16, 2u << 16});
    CHECK(t->relay_every);
    const auto every =
        build_tables(config_with("  - \"-A PREROUTING -p udp --dport 3000:3099 -j RELAY\"\n"), resolved);
    CHECK(every->relay_home == std::vector<uint32_t>{0, 0});
    CHECK(every->relay_every);
    const auto wan_only = build_tables(
        config_with("  - \"-A PREROUTING -p udp -d 192.0.2.1 --dport 3000:3099 -j RELAY\"\n"), resolved);
    CHECK(wan_only->relay_home == std::vector<uint32_t>{0, 2u << 16});
    CHECK_FALSE(wan_only->relay_every);
}

TEST_CASE("POSTROUTING is looked up only for out ports its rules can match")
{
    const std::vector<ResolvedPort> resolved = {{0, {}}, {1, {}}};
    const auto one = build_tables(
        config_with("  - \"-A POSTROUTING -o wan -s 10.0.0.0/24 -j SOURCE --to=192.0.2.9\"\n"),
        resolved);
    CHECK_FALSE(one->postrouting_ports[0]);
    CHECK(one->postrouting_ports[1]);
    const auto any = build_tables(
        config_with("  - \"-A POSTROUTING -s 10.0.0.0/24 -j SOURCE --to=192.0.2.9\"\n"), resolved);
    CHECK(any->postrouting_ports[0]);
    CHECK(any->postrouting_ports[1]);
    const auto none = build_tables(config_with(""), resolved);
    CHECK_FALSE(none->postrouting_ports[0]);
    CHECK_FALSE(none->postrouting_ports[1]);
}
