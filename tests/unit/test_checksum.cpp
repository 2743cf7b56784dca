// Incremental checksum updates (RFC 1624) against full recomputes, over random
// IPv4 headers with options and TCP/UDP datagrams of odd and even lengths.
//
// Two oracles: the library's own full recomputes (ipv4_header_csum and
// l4_full_csum, which debug builds of the dataplane also assert against), and,
// to keep those honest, a separate big-endian RFC 1071 sum written here.
#include "checksum.hpp"
#include "ipv4.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace relay;

namespace {

constexpr uint8_t proto_tcp = 6;
constexpr uint8_t proto_udp = 17;

uint16_t load16(const uint8_t *p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

void store16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

void store32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }

// A raw checksum word as the number a packet dump shows (big-endian bytes).
uint16_t be(uint16_t raw)
{
    uint8_t b[2];
    std::memcpy(b, &raw, 2);
    return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

// Independent oracle: RFC 1071 over big-endian byte pairs, folded only at the
// end, with no 0 -> 0xFFFF mapping. Only the last piece summed may be odd.
uint64_t ref_add(uint64_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 2)
        sum += uint32_t(p[i]) << 8 | (i + 1 < n ? p[i + 1] : 0);
    return sum;
}

// The checksum for a sum, as a big-endian number.
uint16_t ref_finish(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// Residue of a - b in one's complement arithmetic, where 0 and 0xFFFF are one
// value. Raw (byte-swapped) words work too: a swap multiplies by 256 mod 0xFFFF.
uint16_t ones_delta(uint16_t a, uint16_t b)
{
    return static_cast<uint16_t>((a + 0xffffu - b) % 0xffffu);
}

struct Packet {
    std::vector<uint8_t> bytes;
    size_t ihl = 20; // IPv4 header bytes
    uint8_t proto = proto_udp;
    size_t csum_off = 6; // of the L4 checksum, from the L4 header
    bool udp_no_csum = false;

    uint8_t *ip() { return bytes.data(); }
    const uint8_t *ip() const { return bytes.data(); }
    uint8_t *l4() { return bytes.data() + ihl; }
    const uint8_t *l4() const { return bytes.data() + ihl; }
    size_t l4_len() const { return bytes.size() - ihl; }

    uint16_t ip_csum() const { return load16(ip() + 10); }
    uint16_t l4_csum() const { return load16(l4() + csum_off); }

    uint16_t full_ip_csum() const { return ipv4_header_csum(ip(), ihl); }
    uint16_t full_l4_csum() const
    {
        return l4_full_csum(load32(ip() + 12), load32(ip() + 16), proto, l4(), l4_len(), csum_off);
    }

    // The true checksums by the independent oracle (UDP 0 not mapped).
    uint16_t ref_l4_csum() const
    {
        const uint8_t pseudo[4] = {0, proto, static_cast<uint8_t>(l4_len() >> 8),
                                   static_cast<uint8_t>(l4_len())};
        uint64_t sum = ref_add(0, ip() + 12, 8);
        sum = ref_add(sum, pseudo, 4);
        sum = ref_add(sum, l4(), csum_off);
        return ref_finish(ref_add(sum, l4() + csum_off + 2, l4_len() - csum_off - 2));
    }
    uint16_t ref_ip_csum() const
    {
        return ref_finish(ref_add(ref_add(0, ip(), 10), ip() + 12, ihl - 12));
    }

    void fix_checksums()
    {
        store16(ip() + 10, full_ip_csum());
        store16(l4() + csum_off, udp_no_csum ? 0 : full_l4_csum());
    }
};

class Gen {
public:
    explicit Gen(uint64_t seed) : rng_(seed) {}

    uint32_t u32() { return static_cast<uint32_t>(rng_()); }
    uint16_t u16() { return static_cast<uint16_t>(rng_()); }
    uint8_t u8() { return static_cast<uint8_t>(rng_()); }
    size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }

    // A random UDP or TCP datagram in an IPv4 header of IHL 5..15, with
    // correct checksums (or UDP checksum 0 now and then).
    Packet packet(size_t max_payload = 300)
    {
        Packet p;
        p.ihl = 4 * (5 + below(11));
        p.proto = below(2) ? proto_udp : proto_tcp;
        size_t l4_hdr = p.proto == proto_udp ? 8 : 4 * (5 + below(11));
        p.csum_off = p.proto == proto_udp ? 6 : 16;
        size_t payload = below(max_payload + 1);
        p.bytes.resize(p.ihl + l4_hdr + payload);
        for (size_t i = 0; i < p.bytes.size(); i += 8) {
            uint64_t r = rng_();
            std::memcpy(&p.bytes[i], &r, std::min<size_t>(8, p.bytes.size() - i));
        }
        uint8_t *ip = p.ip();
        ip[0] = static_cast<uint8_t>(0x40 | p.ihl / 4);
        ip[2] = static_cast<uint8_t>(p.bytes.size() >> 8);
        ip[3] = static_cast<uint8_t>(p.bytes.size());
        ip[8] = static_cast<uint8_t>(1 + below(255));
        ip[9] = p.proto;
        if (p.proto == proto_udp) {
            p.l4()[4] = static_cast<uint8_t>(p.l4_len() >> 8);
            p.l4()[5] = static_cast<uint8_t>(p.l4_len());
            p.udp_no_csum = below(8) == 0;
        } else {
            p.l4()[12] = static_cast<uint8_t>((l4_hdr / 4) << 4 | (p.l4()[12] & 0x0f));
        }
        p.fix_checksums();
        return p;
    }

private:
    std::mt19937_64 rng_;
};

// One rewrite, applied the way the dataplane applies it: the field changes and
// every checksum covering it is updated incrementally.
enum class Field { src, dst, sport, dport, ttl, count };

const char *field_name(Field f)
{
    static const char *const names[] = {"src", "dst", "sport", "dport", "ttl"};
    return names[static_cast<int>(f)];
}

uint16_t l4_update16(const Packet &p, uint16_t csum, uint16_t o, uint16_t n)
{
    return p.proto == proto_udp ? udp_csum_update16(csum, o, n) : csum_update16(csum, o, n);
}

uint16_t l4_update32(const Packet &p, uint16_t csum, uint32_t o, uint32_t n)
{
    return p.proto == proto_udp ? udp_csum_update32(csum, o, n) : csum_update32(csum, o, n);
}

void rewrite(Packet &p, Field f, Gen &g)
{
    uint8_t *ip = p.ip();
    uint8_t *l4 = p.l4();
    switch (f) {
    case Field::src:
    case Field::dst: {
        uint8_t *field = ip + (f == Field::src ? 12 : 16);
        uint32_t o = load32(field), n = g.u32();
        store16(ip + 10, csum_update32(p.ip_csum(), o, n));
        store16(l4 + p.csum_off, l4_update32(p, p.l4_csum(), o, n));
        store32(field, n);
        break;
    }
    case Field::sport:
    case Field::dport: {
        uint8_t *field = l4 + (f == Field::sport ? 0 : 2);
        uint16_t o = load16(field), n = g.u16();
        store16(l4 + p.csum_off, l4_update16(p, p.l4_csum(), o, n));
        store16(field, n);
        break;
    }
    case Field::ttl: {
        // TTL shares its 16-bit word with the protocol: update the whole word.
        uint16_t o = load16(ip + 8);
        ip[8] = g.u8();
        store16(ip + 10, csum_update16(p.ip_csum(), o, load16(ip + 8)));
        break;
    }
    case Field::count:
        break;
    }
}

std::string describe(const Packet &p, size_t case_no, const std::string &what)
{
    std::ostringstream s;
    s << "case " << case_no << " " << (p.proto == proto_udp ? "udp" : "tcp") << " ihl "
      << p.ihl << " l4 len " << p.l4_len() << ": " << what;
    return s.str();
}

// Empty when every checksum matches its full recompute.
std::string verify(const Packet &p, size_t case_no)
{
    uint16_t want_ip = p.full_ip_csum();
    uint16_t want_l4 = p.udp_no_csum ? 0 : p.full_l4_csum();
    if (p.ip_csum() == want_ip && p.l4_csum() == want_l4)
        return {};
    std::ostringstream s;
    s << std::hex << "ip csum 0x" << be(p.ip_csum()) << " want 0x" << be(want_ip)
      << ", l4 csum 0x" << be(p.l4_csum()) << " want 0x" << be(want_l4);
    return describe(p, case_no, s.str());
}

} // namespace

TEST_CASE("the library's full checksums agree with an independent RFC 1071 sum")
{
    Gen g(0x5eed0001);
    for (size_t i = 0; i < 5000; i++) {
        Packet p = g.packet();
        REQUIRE(be(p.full_ip_csum()) == p.ref_ip_csum());
        uint16_t ref = p.ref_l4_csum();
        if (p.proto == proto_udp && ref == 0)
            ref = 0xffff;
        REQUIRE(be(p.full_l4_csum()) == ref);
    }
}

TEST_CASE("known headers checksum to their published values")
{
    // The IPv4 header example of Wikipedia's "IPv4 header checksum" article.
    const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                          0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(be(ipv4_header_csum(ip, sizeof ip)) == 0xb861);

    // 192.168.0.1:1024 -> 192.168.0.199:53, payload "abc" (odd length); the
    // value is what Python's reading of RFC 768 computes.
    const uint8_t udp[] = {0x04, 0x00, 0x00, 0x35, 0x00, 0x0b, 0x00, 0x00, 'a', 'b', 'c'};
    CHECK(be(l4_full_csum(load32(ip + 12), load32(ip + 16), proto_udp, udp, sizeof udp, 6)) ==
          0xb527);
}

TEST_CASE("incremental updates equal full recomputes over 100000 random rewrites")
{
    Gen g(0x5eed0002);
    size_t odd = 0, even = 0, udp_none = 0, tcp = 0, rewrites = 0;
    for (size_t i = 0; i < 100000; i++) {
        Packet p = g.packet();
        (p.l4_len() & 1 ? odd : even)++;
        udp_none += p.udp_no_csum;
        tcp += p.proto == proto_tcp;
        size_t n = 1 + g.below(4);
        for (size_t k = 0; k < n; k++) {
            Field f = static_cast<Field>(g.below(static_cast<size_t>(Field::count)));
            rewrite(p, f, g);
        }
        // FAIL only on a mismatch: a Catch2 assertion per case would dominate
        // the run time under ThreadSanitizer.
        if (std::string err = verify(p, i); !err.empty())
            FAIL(err);
        if (p.udp_no_csum && p.l4_csum() != 0)
            FAIL(describe(p, i, "UDP checksum 0 did not stay 0"));
        rewrites += n;
    }
    CHECK(rewrites > 200000);
    // The generator really produced every kind of case.
    CHECK(odd > 10000);
    CHECK(even > 10000);
    CHECK(udp_none > 1000);
    CHECK(tcp > 10000);
}

TEST_CASE("one difference over several fields serves the IPv4 and the L4 checksum")
{
    // What the relay does to a datagram at once: both addresses, both ports
    // and the TTL, with the address difference shared by the two checksums.
    Gen g(0x5eed0005);
    for (size_t i = 0; i < 20000; i++) {
        Packet p = g.packet();
        uint8_t *ip = p.ip();
        uint8_t *l4 = p.l4();
        CsumDelta addresses;
        for (size_t off : {12, 16}) {
            const uint32_t o = load32(ip + off), n = g.u32();
            addresses.add32(o, n);
            store32(ip + off, n);
        }
        CsumDelta ip_delta = addresses, l4_delta = addresses;
        const uint16_t old_ttl = load16(ip + 8);
        ip[8] = g.u8();
        ip_delta.add16(old_ttl, load16(ip + 8));
        for (size_t off : {0, 2}) {
            const uint16_t o = load16(l4 + off), n = g.u16();
            l4_delta.add16(o, n);
            store16(l4 + off, n);
        }
        store16(ip + 10, csum_apply(p.ip_csum(), ip_delta));
        if (!p.udp_no_csum) {
            uint16_t c = csum_apply(p.l4_csum(), l4_delta);
            if (p.proto == proto_udp && c == 0)
                c = 0xffff;
            store16(l4 + p.csum_off, c);
        }
        if (std::string err = verify(p, i); !err.empty())
            FAIL(err);
    }
}

TEST_CASE("a UDP checksum of 0 (none) stays 0 after every kind of rewrite")
{
    Gen g(0x5eed0003);
    for (size_t i = 0; i < 2000; i++) {
        Packet p = g.packet();
        if (p.proto != proto_udp)
            continue;
        store16(p.l4() + p.csum_off, 0);
        p.udp_no_csum = true;
        for (int f = 0; f < static_cast<int>(Field::count); f++) {
            rewrite(p, static_cast<Field>(f), g);
            REQUIRE(p.l4_csum() == 0);
            REQUIRE(p.ip_csum() == p.full_ip_csum());
        }
    }
    CHECK(udp_csum_update16(0, 0x1234, 0x4321) == 0);
    CHECK(udp_csum_update32(0, 0x0a000001, 0xc0a80001) == 0);
}

namespace {

// Rewrites one field of p at random, step after step, until the true checksum
// (by the independent oracle) of the rewritten header or datagram is 0, checking
// every step on the way. Returns the number of steps, 0 if none was found.
size_t walk_to_zero(Packet &p, Gen &g, Field f, bool want_l4, size_t max_steps = 3000000)
{
    for (size_t step = 1; step <= max_steps; step++) {
        rewrite(p, f, g);
        std::string err = verify(p, step);
        if (!err.empty()) {
            FAIL_CHECK(err);
            return 0;
        }
        if ((want_l4 ? p.ref_l4_csum() : p.ref_ip_csum()) == 0)
            return step;
    }
    return 0;
}

} // namespace

TEST_CASE("a true UDP checksum of 0 is sent as 0xFFFF, and later rewrites start from it")
{
    Gen g(0x5eed0004);
    for (Field f : {Field::dport, Field::sport, Field::src, Field::dst}) {
        for (size_t payload : {0, 1, 7, 64}) {
            Packet p;
            do
                p = g.packet(payload);
            while (p.proto != proto_udp || p.udp_no_csum || p.l4_len() - 8 != payload);
            INFO("rewriting " << field_name(f) << ", payload " << payload);
            size_t steps = walk_to_zero(p, g, f, true);
            REQUIRE(steps > 0);
            CHECK(be(p.l4_csum()) == 0xffff);
            CHECK(p.l4_csum() == p.full_l4_csum());
            for (int k = 0; k < 20; k++) {
                rewrite(p, static_cast<Field>(k % static_cast<int>(Field::count)), g);
                REQUIRE(verify(p, steps + size_t(k)) == std::string());
            }
        }
    }
}

TEST_CASE("a true TCP or IPv4 header checksum of 0 stays 0 (no UDP mapping)")
{
    Gen g(0x5eed0005);
    SECTION("TCP")
    {
        for (Field f : {Field::dport, Field::dst}) {
            Packet p;
            do
                p = g.packet(33);
            while (p.proto != proto_tcp);
            INFO("rewriting " << field_name(f));
            REQUIRE(walk_to_zero(p, g, f, true) > 0);
            CHECK(p.l4_csum() == 0);
        }
    }
    SECTION("IPv4 header, address rewrites")
    {
        Packet p = g.packet(10);
        REQUIRE(walk_to_zero(p, g, Field::src, false) > 0);
        CHECK(p.ip_csum() == 0);
    }
    SECTION("IPv4 header, TTL rewrites")
    {
        // TTL alone reaches only 256 sums per header: try header after header.
        bool found = false;
        for (size_t tries = 0; tries < 100000 && !found; tries++) {
            Packet p = g.packet(10);
            found = walk_to_zero(p, g, Field::ttl, false, 1000) > 0;
            if (found)
                CHECK(p.ip_csum() == 0);
        }
        REQUIRE(found);
    }
}

TEST_CASE("a checksum that was wrong on arrival stays wrong by the same amount")
{
    Gen g(0x5eed0006);
    for (size_t i = 0; i < 20000; i++) {
        Packet p = g.packet();
        if (p.udp_no_csum)
            continue;
        uint16_t ip_err = static_cast<uint16_t>(1 + g.below(0xfffe));
        uint16_t l4_err = static_cast<uint16_t>(1 + g.below(0xfffe));
        store16(p.ip() + 10, static_cast<uint16_t>((p.ip_csum() + ip_err) % 0xffff));
        uint16_t l4_bad = static_cast<uint16_t>((p.l4_csum() + l4_err) % 0xffff);
        if (p.proto == proto_udp && l4_bad == 0)
            continue; // that would read as "no checksum"
        store16(p.l4() + p.csum_off, l4_bad);
        size_t n = 1 + g.below(4);
        for (size_t k = 0; k < n; k++)
            rewrite(p, static_cast<Field>(g.below(static_cast<size_t>(Field::count))), g);
        INFO(describe(p, i, "after rewrites"));
        REQUIRE(ones_delta(p.ip_csum(), p.full_ip_csum()) == ip_err);
        REQUIRE(ones_delta(p.l4_csum(), p.full_l4_csum()) == l4_err);
    }
}

TEST_CASE("checksum helpers on hand-picked words")
{
    // RFC 1624 section 4's example: 0xDD2F with a word changing 0x5555 -> 0x3285.
    CHECK(csum_update16(0xdd2f, 0x5555, 0x3285) == 0x0000);
    CHECK(csum_update16(0x1234, 0xabcd, 0xabcd) == 0x1234);
    CHECK(csum_update32(0x1234, 0xdeadbeef, 0xdeadbeef) == 0x1234);
    CHECK(csum_fold(0x0001ffff) == 0x0001);
    CHECK(csum_fold(0xffffffff) == 0xffff);
    const uint8_t odd[3] = {0x01, 0x02, 0x03};
    CHECK(be(csum_fold(csum_add_bytes(0, odd, 3))) == 0x0402);
}

TEST_CASE("IPv4 addresses parse and format")
{
    CHECK(parse_ipv4("10.77.0.1") == Ipv4(0x0a4d0001));
    CHECK(parse_ipv4("0.0.0.0") == Ipv4(0));
    CHECK(parse_ipv4("255.255.255.255") == Ipv4(0xffffffff));
    CHECK(format_ipv4(0x0a4d0001) == "10.77.0.1");
    CHECK(format_ipv4(0xffffffff) == "255.255.255.255");
    for (const char *bad : {"", "10.0.0", "10.0.0.1.2", "256.0.0.1", "10.0.0.01", "10..0.1",
                            " 10.0.0.1", "10.0.0.1 ", "10.0.0.1/24", "a.b.c.d", "-1.0.0.1",
                            "+1.0.0.1", "10.0.0.", ".10.0.0", "1000000.0.0.1"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_ipv4(bad));
    }
}

TEST_CASE("prefixes and MAC addresses parse and format")
{
    auto p = parse_prefix("10.1.0.0/24");
    REQUIRE(p);
    CHECK(p->addr == 0x0a010000);
    CHECK(int(p->len) == 24);
    CHECK(p->contains(0x0a0100fe));
    CHECK_FALSE(p->contains(0x0a010100));
    CHECK(format_prefix(*p) == "10.1.0.0/24");
    CHECK(parse_prefix("10.0.0.1") == Prefix{0x0a000001, 32});
    CHECK(parse_prefix("0.0.0.0/0") == Prefix{0, 0});
    CHECK_FALSE(parse_prefix("10.1.0.1/24"));
    CHECK(parse_prefix("10.1.0.1/24", true) == Prefix{0x0a010000, 24});
    for (const char *bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08", "/8",
                            "10.0.0/8", "10.0.0.0/8/8"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_prefix(bad, true));
    }

    auto m = parse_mac("02:00:00:00:0A:fe");
    REQUIRE(m);
    CHECK(*m == Mac{0x02, 0, 0, 0, 0x0a, 0xfe});
    CHECK(format_mac(*m) == "02:00:00:00:0a:fe");
    for (const char *bad : {"", "02:00:00:00:00", "02:00:00:00:00:0g", "02-00-00-00-00-00",
                            "02:00:00:00:00:000", "2:0:0:0:0:0"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_mac(bad));
    }

    CHECK(is_martian(0));
    CHECK(is_martian(0x7f000001));
    CHECK(is_martian(0xe0000001));
    CHECK(is_martian(0xffffffff));
    CHECK_FALSE(is_martian(0x0a000001));
}

TEST_CASE("csum_apply folds as repeated halving folds do, sums of 0 and all ones included")
{
    // The folds before csum_apply took end-around carries by shift and add.
    auto reference = [](uint16_t csum, uint64_t sum) {
        uint64_t s = sum + static_cast<uint16_t>(~csum);
        s = (s & 0xffffffff) + (s >> 32);
        s = (s & 0xffffffff) + (s >> 32);
        return static_cast<uint16_t>(~csum_fold(static_cast<uint32_t>(s)));
    };
    std::mt19937_64 rng(7);
    std::vector<uint64_t> sums = {0, 1, 0xffff, 0x10000, 0xffffffff, 0x100000000, 0x1fffffffe,
                                  0x7fffffff8, ~uint64_t(0) >> 20};
    for (int i = 0; i < 100000; i++)
        sums.push_back(rng() >> (rng() % 40 + 24)); // up to 40 bits: a few dozen fields
    for (uint64_t sum : sums)
        for (uint16_t csum : {uint16_t(0), uint16_t(0xffff), uint16_t(1), uint16_t(rng())}) {
            CsumDelta d;
            d.sum = sum;
            INFO("sum " << sum << " csum " << csum);
            REQUIRE(csum_apply(csum, d) == reference(csum, sum));
        }
}

TEST_CASE("decrement16 and add_zero16 are add16 of the words they stand for")
{
    std::mt19937 rng(11);
    for (int i = 0; i < 100000; i++) {
        const auto by = static_cast<uint16_t>(rng() % 0x200);
        const auto w = static_cast<uint16_t>(by + rng() % (0x10000 - by));
        CsumDelta a, b;
        a.add16(w, static_cast<uint16_t>(w - by));
        b.decrement16(by);
        REQUIRE(a.sum == b.sum);
        CsumDelta c, z;
        c.add16(w, w);
        z.add_zero16();
        REQUIRE(c.sum == z.sum);
    }
}
