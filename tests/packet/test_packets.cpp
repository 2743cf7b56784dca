// Packet-level tests: frames built by packet_builder.hpp go through the real
// burst function (Worker::process_burst) on mbufs from an EAL started with
// --no-huge; each step names the frame it expects out, or the counter its drop
// must land under.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "box.hpp"
#include "mbuf_fence.hpp"
#include "neighbour.hpp"
#include "packet_builder.hpp"
#include "port.hpp"
#include "test_eal.hpp"
#include "worker.hpp"

#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <unistd.h>

using namespace relay;
using relay::test::ether;
using relay::test::finish_box;
using relay::test::Packet;

namespace {

MbufPools pools;
// Received frames, fenced (mbuf_fence.hpp): the packet path never allocates
// from this pool, so a fenced mbuf is never handed out again before run()
// unfences it.
rte_mempool *rx_pool;

const Mac box_mac = {0x02, 0, 0, 0, 0, 0x01};
const Mac mac_a = {0x02, 0, 0, 0, 0, 0x0a};
const Mac mac_b = {0x02, 0, 0, 0, 0, 0x0b};
const Mac mac_c = {0x02, 0, 0, 0, 0, 0x0c};
const Mac other_mac = {0x02, 0, 0, 0, 0, 0x77};
const Mac broadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const Mac zero_mac = {};
const Ipv4 box = 0x0a000001;   // 10.0.0.1
const Ipv4 box2 = 0xc0000201;  // 192.0.2.1, a second address on port 1
const Ipv4 alias2 = 0xc0000207; // 192.0.2.7, an alias on port 1
const Ipv4 host_a = 0x0a00000a, host_b = 0x0a00000b, host_c = 0x0a00000c;
const uint16_t port_a = 40000, port_b = 40001, port_c = 40002;

// The box the tests run: two ports sharing one MAC, relay ports 3000-3099 on
// every box address and 5000-5009 on the wan address alone, and a stateless
// 1:1 NAT of 203.0.113.10 to a server on the lan. nat_cases.py builds its
// frames for the same box.
const char *const rig_config = R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24, mtu: 1000 }
  - { name: wan, device: "1", address: 192.0.2.1/24, aliases: [192.0.2.7] }
neighbours:
  - { address: 10.0.0.53, mac: "02:00:00:00:00:35" }
  - { address: 10.0.0.54, mac: "02:00:00:00:00:36" }
  - { address: 192.0.2.254, mac: "02:00:00:00:00:fe" }
routes:
  - { prefix: 198.18.0.0/15, via: 192.0.2.254 }
rules:
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  - "-A PREROUTING -p udp -d 192.0.2.1 --dport 5000:5009 -j RELAY"
  - "-A PREROUTING -d 203.0.113.10 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -p tcp -d 203.0.113.11 ! --dport 22 -j DEST --to=10.0.0.54"
  - "-A PREROUTING -i lan -d 203.0.113.12 -j DEST --to=10.0.0.53"
  - "-A POSTROUTING -s 10.0.0.53 -o wan -j SOURCE --to=203.0.113.10"
  - "-A POSTROUTING -s 10.0.0.54 -o wan -j SOURCE --to=203.0.113.11"
  - "-A PREROUTING -p udp -d 192.0.2.1 --dport 53 -j DEST --to=10.0.0.53"
relay: { initial_state: INITIAL }
)";

struct Rig : relay::test::Box {
    // `text`: a config whose relay section says INITIAL where the state goes.
    explicit Rig(uint8_t initial_state, std::string text = rig_config)
    {
        text.replace(text.find("INITIAL"), 7, initial_state ? "enabled" : "disabled");
        config = parse_config(text, "rig.yaml");
        finish_box(*this, {{0, ether(box_mac)}, {1, ether(box_mac)}}, pools);
    }

    RelayTable &relay() { return *relay_table; }
    Worker &worker() { return *workers[0]; }
    uint64_t rule_hits(uint32_t rule) const { return tables->counters[0].rule_hits[rule].load(); }
    const RelayPortCounters &port_counters(uint32_t e) const { return tables->counters[0].ports[e]; }

    struct Frame {
        uint16_t port;
        std::vector<uint8_t> bytes;
    };
    struct Out {
        bool sent = false;
        uint16_t port = 0;
        std::vector<uint8_t> frame; // the first frame sent
        std::vector<Frame> all;
        Counters counts;
    };

    Out run(const std::vector<uint8_t> &frame, uint16_t in_port = 0)
    {
        return run_burst({frame}, in_port);
    }

    // A frame as a PMD would hand it over, fenced where ASan can tell.
    static rte_mbuf *mbuf(const std::vector<uint8_t> &frame)
    {
        rte_mbuf *m = rte_pktmbuf_alloc(rx_pool);
        REQUIRE(m != nullptr);
        char *p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
        REQUIRE(p != nullptr);
        std::memcpy(p, frame.data(), frame.size());
        relay::test::fence(m);
        return m;
    }

    // The frames as one burst.
    Out run_burst(const std::vector<std::vector<uint8_t>> &frames, uint16_t in_port = 0)
    {
        REQUIRE(frames.size() <= burst_size);
        rte_mbuf *burst[burst_size], *received[burst_size];
        const auto n = static_cast<uint16_t>(frames.size());
        for (uint16_t i = 0; i < n; i++)
            burst[i] = received[i] = mbuf(frames[i]);
        worker().process_burst(*tables, in_port, burst, n);
        Out out;
        for (uint16_t port = 0; port < max_ports; port++) {
            Worker::TxList &l = worker().tx_list(port);
            for (uint16_t i = 0; i < l.n; i++) {
                // Fragments are chains: a header mbuf and the data it refers to.
                std::vector<uint8_t> bytes(rte_pktmbuf_pkt_len(l.pkts[i]));
                const auto *d = static_cast<const uint8_t *>(rte_pktmbuf_read(
                    l.pkts[i], 0, static_cast<uint32_t>(bytes.size()), bytes.data()));
                if (d != bytes.data())
                    std::memcpy(bytes.data(), d, bytes.size());
                out.all.push_back({port, std::move(bytes)});
                rte_pktmbuf_free(l.pkts[i]);
            }
            l.n = 0;
        }
        for (uint16_t i = 0; i < n; i++)
            relay::test::unfence(received[i]); // sent and freed above, or dropped
        if (!out.all.empty()) {
            out.sent = true;
            out.port = out.all[0].port;
            out.frame = out.all[0].bytes;
        }
        out.counts = worker().pending_counters();
        worker().pending_counters() = Counters{};
        return out;
    }
};

// A frame from host to the box's relay port, and what leaves towards a peer.
Packet from(const Mac &mac, Ipv4 host, uint16_t hport, Ipv4 dst = box, uint16_t relay_port = 3000,
            uint8_t ttl = 64)
{
    Packet p;
    p.eth(box_mac, mac).ipv4(host, dst, ttl).udp(hport, relay_port).payload(21, uint8_t(hport));
    return p;
}

std::vector<uint8_t> relayed(const Mac &to_mac, Ipv4 to, uint16_t to_port, uint16_t sender_port,
                             Ipv4 src = box, uint16_t relay_port = 3000, uint8_t ttl = 63)
{
    return Packet()
        .eth(to_mac, box_mac)
        .ipv4(src, to, ttl)
        .udp(relay_port, to_port)
        .payload(21, uint8_t(sender_port))
        .bytes();
}

struct Step {
    std::string name;
    std::function<void(Rig &)> before; // a control action, if any
    std::vector<uint8_t> input;
    std::vector<uint8_t> expect;       // the frame that must leave, if any
    Counter counter;                   // the counter that must move by one
    uint8_t state_after = 0xff;        // checked on relay entry 0 unless 0xff
    uint16_t in_port = 0;
    uint16_t out_port = 0;
};

void run_steps(Rig &rig, const std::vector<Step> &steps)
{
    for (const Step &s : steps) {
        INFO("step: " << s.name);
        if (s.before)
            s.before(rig);
        if (s.input.empty())
            continue;
        Rig::Out out = rig.run(s.input, s.in_port);
        CHECK(out.counts[s.counter] >= 1);
        if (s.expect.empty()) {
            CHECK_FALSE(out.sent);
        } else {
            REQUIRE(out.sent);
            CHECK(out.port == s.out_port);
            INFO(relay::test::diff_frames(out.frame, s.expect));
            CHECK(out.frame == s.expect);
        }
        if (s.state_after != 0xff)
            CHECK(int(rig.relay().read(0).state) == int(s.state_after));
    }
}

// Sends `in` `times` times as a new flow's packets: the first misses the
// flow cache, the others hit it; each must leave by out_port as `want`,
// counted under `counter`.
void run_flow(Rig &rig, const std::vector<uint8_t> &in, uint16_t in_port, int times,
              Counter counter, uint16_t out_port, const std::vector<uint8_t> &want)
{
    for (int i = 0; i < times; i++) {
        INFO("packet " << i + 1 << " of the flow");
        const Rig::Out o = rig.run(in, in_port);
        CHECK(o.counts[i == 0 ? Counter::flow_cache_misses : Counter::flow_cache_hits] == 1);
        CHECK(o.counts[counter] == 1);
        CHECK(o.counts[Counter::forwarded_packets] == 1);
        REQUIRE(o.sent);
        CHECK(o.port == out_port);
        INFO(relay::test::diff_frames(o.frame, want));
        CHECK(o.frame == want);
    }
}

} // namespace

TEST_CASE("every relay transition, as SPEC section 4 lists them")
{
    Rig rig(state::disable);
    const auto enable = [](Rig &r) { r.relay().write_state(0, 1); };
    run_steps(rig, {
        {"disabled port drops and learns nothing", {}, from(mac_a, host_a, port_a).bytes(), {},
         Counter::drop_relay_disabled, state::disable},
        {"first packet after enable becomes A, not forwarded", enable,
         from(mac_a, host_a, port_a).bytes(), {}, Counter::drop_relay_unlearned, state::set1},
        {"A alone has nowhere to go", {}, from(mac_a, host_a, port_a).bytes(), {},
         Counter::drop_relay_unlearned, state::set1},
        {"second endpoint becomes B and is relayed to A", {},
         from(mac_b, host_b, port_b).bytes(), relayed(mac_a, host_a, port_a, port_b),
         Counter::relayed_packets, state::set2 | state::active1},
        {"A to B", {}, from(mac_a, host_a, port_a).bytes(),
         relayed(mac_b, host_b, port_b, port_a), Counter::relayed_packets, state::all},
        {"B to A again (steady state, no write)", {}, from(mac_b, host_b, port_b).bytes(),
         relayed(mac_a, host_a, port_a, port_b), Counter::relayed_packets, state::all},
        {"a third endpoint resets: it becomes A, B is forgotten", {},
         from(mac_c, host_c, port_c).bytes(), {}, Counter::drop_relay_reset, state::set1},
        {"the old B is learned anew and relayed to the new A", {},
         from(mac_b, host_b, port_b).bytes(), relayed(mac_c, host_c, port_c, port_b),
         Counter::relay_learned, state::set2 | state::active1},
        {"write 3 keeps both endpoints, clears activity", [](Rig &r) { r.relay().write_state(0, 3); },
         from(mac_c, host_c, port_c).bytes(), relayed(mac_b, host_b, port_b, port_c),
         Counter::relayed_packets, state::set2 | state::active2},
        {"write 0 disables", [](Rig &r) { r.relay().write_state(0, 0); },
         from(mac_c, host_c, port_c).bytes(), {}, Counter::drop_relay_disabled, state::disable},
    });
    const RelaySnapshot s = rig.relay().read(0);
    CHECK_FALSE(s.a.known());
    CHECK_FALSE(s.b.known());
}

TEST_CASE("a rule above a relay range keeps its packets from the classifier-free path")
{
    // Port 3050 of 10.0.0.1 matches the DEST rule first; the rest of the range
    // relays, and only it is direct.
    Rig rig(state::set0, R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24 }
  - { name: wan, device: "1", address: 192.0.2.1/24 }
neighbours:
  - { address: 10.0.0.53, mac: "02:00:00:00:00:35" }
rules:
  - "-A PREROUTING -p udp -d 10.0.0.1 --dport 3050 -j DEST --to=10.0.0.53"
  - "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
  - "-A PREROUTING -p udp --dport 4000:4099 -j RELAY"
relay: { initial_state: INITIAL }
)");
    CHECK_FALSE(rig.tables->ranges[0].direct);
    CHECK(rig.tables->ranges[1].direct);
    run_steps(rig, {
        {"to 3050: DEST, not the relay", {}, from(mac_a, host_a, port_a, box, 3050).bytes(),
         Packet().eth(Mac{0x02, 0, 0, 0, 0, 0x35}, box_mac).ipv4(host_a, 0x0a000035, 63)
             .udp(port_a, 3050).payload(21, uint8_t(port_a)).bytes(),
         Counter::rewritten_dest},
        {"to 3051: relayed through the classifier", {}, from(mac_a, host_a, port_a, box, 3051).bytes(),
         {}, Counter::drop_relay_unlearned},
        {"to 4000: relayed directly", {}, from(mac_a, host_a, port_a, box, 4000).bytes(), {},
         Counter::drop_relay_unlearned},
    });
    CHECK(rig.rule_hits(0) == 1);
    CHECK(rig.rule_hits(1) == 1);
    CHECK(rig.rule_hits(2) == 1);
}

TEST_CASE("a relay datagram takes the classifier-free path wherever it sits in a burst")
{
    // The first pass puts direct relay datagrams aside a few packets behind
    // the header checks, and the last few after them: every position of
    // bursts shorter and longer than that, relay datagrams alone or between
    // pings, which the general path answers. A relay datagram that reached
    // the general path would look its flow up in the flow cache.
    Rig rig(state::set0);
    run_steps(rig, {
        {"A", {}, from(mac_a, host_a, port_a).bytes(), {}, Counter::drop_relay_unlearned},
        {"B to A", {}, from(mac_b, host_b, port_b).bytes(),
         relayed(mac_a, host_a, port_a, port_b), Counter::relayed_packets},
    });
    const auto datagram = from(mac_a, host_a, port_a).bytes();
    const auto out = relayed(mac_b, host_b, port_b, port_a);
    const auto ping =
        Packet().eth(box_mac, mac_c).ipv4(host_c, box, 64, 1).icmp_echo(8, 7, 1).payload(8).bytes();
    for (const uint16_t n : {1, 2, 3, 4, 5, 6, 9, 31, 32}) {
        for (const bool pings : {false, true}) {
            INFO(n << " frames" << (pings ? ", every other one a ping" : ""));
            std::vector<std::vector<uint8_t>> burst;
            size_t datagrams = 0;
            for (uint16_t i = 0; i < n; i++) {
                const bool relay = !pings || i % 2 == 1 || n == 1;
                burst.push_back(relay ? datagram : ping);
                datagrams += relay;
            }
            const Rig::Out o = rig.run_burst(burst);
            CHECK(o.counts[Counter::relayed_packets] == datagrams);
            CHECK(o.counts[Counter::icmp_echo_replies] == n - datagrams);
            CHECK(o.counts[Counter::flow_cache_misses] + o.counts[Counter::flow_cache_hits] == 0);
            CHECK(size_t(std::count_if(o.all.begin(), o.all.end(),
                                    [&](const Rig::Frame &f) { return f.bytes == out; })) ==
                  datagrams);
        }
    }
}

TEST_CASE("relayed packets carry the receiving endpoint's box address and MAC")
{
    Rig rig(state::set0);
    // A arrives on port 1 to 192.0.2.1, B on port 0 to 10.0.0.1; each gets
    // packets from the address it sends to, out of the port it came in on.
    run_steps(rig, {
        {"A on wan", {}, from(mac_a, host_a, port_a, box2).bytes(), {},
         Counter::drop_relay_unlearned, state::set1, 1},
        {"B on lan, relayed to A on wan", {}, from(mac_b, host_b, port_b).bytes(),
         relayed(mac_a, host_a, port_a, port_b, box2), Counter::relayed_packets, 0xff, 0, 1},
        {"A to B on lan", {}, from(mac_a, host_a, port_a, box2).bytes(),
         relayed(mac_b, host_b, port_b, port_a, box), Counter::relayed_packets, 0xff, 1, 0},
    });
    const RelaySnapshot s = rig.relay().read(0);
    CHECK(s.a.ifport == 1);
    CHECK(s.a.mac == mac_a);
    CHECK(s.a.local == 1);
    CHECK(s.b.ifport == 0);
    CHECK(s.b.local == 0);
    CHECK(rig.port_counters(0).to_a_packets.load() == 1);
    CHECK(rig.port_counters(0).to_b_packets.load() == 1);
    CHECK(rig.port_counters(0).to_a_bytes.load() == 20 + 8 + 21);
}

TEST_CASE("without per-port counters a relay relays the same and keeps no counts a port")
{
    std::string text = rig_config;
    text.replace(text.find("initial_state: INITIAL"), 22,
                 "initial_state: INITIAL, port_counters: false");
    Rig rig(state::set0, text);
    // Relay ports 3000-3099 on every address and 5000-5009 on one: a sink,
    // not an array of 110.
    CHECK(rig.tables->counters[0].ports.size() == 1);
    const auto sink = [&rig] {
        const RelayPortCounters &pc = rig.tables->counters[0].ports[0];
        return pc.to_a_packets.load() + pc.to_b_packets.load();
    };
    run_steps(rig, {
        {"A", {}, from(mac_a, host_a, port_a, box, 3007).bytes(), {},
         Counter::drop_relay_unlearned},
        {"B to A", {}, from(mac_b, host_b, port_b, box, 3007).bytes(),
         relayed(mac_a, host_a, port_a, port_b, box, 3007), Counter::relayed_packets},
        {"A to B", {}, from(mac_a, host_a, port_a, box, 3007).bytes(),
         relayed(mac_b, host_b, port_b, port_a, box, 3007), Counter::relayed_packets},
    });
    CHECK(sink() == 2); // counted into the sink, whatever the port
    CHECK(rig.relay().read(7).state == (state::set0 | state::set1 | state::set2 |
                                        state::active1 | state::active2));
}

TEST_CASE("checksums through the relay")
{
    Rig rig(state::set0);
    rig.run(from(mac_a, host_a, port_a).bytes());

    SECTION("UDP checksum 0 stays 0")
    {
        Packet in = from(mac_b, host_b, port_b);
        Rig::Out out = rig.run(in.no_udp_csum().bytes());
        REQUIRE(out.sent);
        Packet want;
        want.eth(mac_a, box_mac).ipv4(box, host_a, 63).udp(3000, port_a).payload(21, uint8_t(port_b));
        CHECK(out.frame == want.no_udp_csum().bytes());
        CHECK(out.frame[14 + 20 + 6] == 0);
        CHECK(out.frame[14 + 20 + 7] == 0);
    }
    SECTION("a wrong checksum stays wrong by the same amount")
    {
        auto in = from(mac_b, host_b, port_b).bytes();
        auto good_out = relayed(mac_a, host_a, port_a, port_b);
        // Add 0x0101 to both checksums, as one's complement sums.
        auto skew = [](std::vector<uint8_t> &f, size_t at) {
            uint16_t c;
            std::memcpy(&c, &f[at], 2);
            c = static_cast<uint16_t>(~csum_fold(uint32_t(uint16_t(~c)) + 0x0101));
            std::memcpy(&f[at], &c, 2);
        };
        skew(in, 14 + 10);
        skew(in, 14 + 20 + 6);
        skew(good_out, 14 + 10);
        skew(good_out, 14 + 20 + 6);
        Rig::Out out = rig.run(in);
        REQUIRE(out.sent);
        CHECK(out.frame == good_out);
    }
    SECTION("IP options are kept and the UDP header found after them")
    {
        const std::vector<uint8_t> opts = {0x94, 0x04, 0x00, 0x00}; // router alert
        Packet in;
        in.eth(box_mac, mac_b).ipv4(host_b, box, 64, 17, opts).udp(port_b, 3000).payload(21, uint8_t(port_b));
        Packet want;
        want.eth(mac_a, box_mac).ipv4(box, host_a, 63, 17, opts).udp(3000, port_a).payload(21, uint8_t(port_b));
        Rig::Out out = rig.run(in.bytes());
        REQUIRE(out.sent);
        INFO(relay::test::diff_frames(out.frame, want.bytes()));
        CHECK(out.frame == want.bytes());
    }
    SECTION("odd payload lengths")
    {
        for (size_t len : {0, 1, 3, 255, 945}) { // lan's MTU is 1000
            Packet in, want;
            in.eth(box_mac, mac_b).ipv4(host_b, box).udp(port_b, 3000).payload(len, 9);
            want.eth(mac_a, box_mac).ipv4(box, host_a, 63).udp(3000, port_a).payload(len, 9);
            Rig::Out out = rig.run(in.bytes());
            REQUIRE(out.sent);
            CHECK(out.frame == want.bytes());
        }
    }
}

TEST_CASE("relay refuses sources it must never learn")
{
    Rig rig(state::set0);
    struct Case {
        const char *name;
        Ipv4 src;
        uint16_t sport;
    } cases[] = {
        {"0.0.0.0/8", 0x00000005, 1000},      {"loopback", 0x7f000001, 1000},
        {"multicast", 0xe0000001, 1000},      {"limited broadcast", 0xffffffff, 1000},
        {"the box itself", box, 1000},        {"another box address", box2, 1000},
        {"directed broadcast", 0x0a0000ff, 1000}, {"source port 0", host_a, 0},
    };
    for (const Case &c : cases) {
        INFO(c.name);
        Rig::Out out = rig.run(from(mac_a, c.src, c.sport).bytes());
        CHECK_FALSE(out.sent);
        CHECK(out.counts[Counter::drop_relay_refused] == 1);
        CHECK(rig.relay().read(0).state == state::set0);
    }
}

// One range per learning mode and one with an allow list, enabled.
const char *const modes_config = R"(
ports:
  - { name: lan, device: "0", address: 10.0.0.1/24 }
  - { name: wan, device: "1", address: 192.0.2.1/24 }
rules:
  - { hook: prerouting, match: { dport: 3000-3009 }, target: RELAY }
  - { hook: prerouting, match: { dport: 3100-3109 }, target: RELAY, learning: strict }
  - { hook: prerouting, match: { dport: 3200-3209 }, target: RELAY, learning: probation }
  - { hook: prerouting, match: { dport: 3300-3309 }, target: RELAY, allow: [10.0.0.10/31] }
relay: { initial_state: INITIAL }
)";

TEST_CASE("learning modes through the packet path")
{
    Rig rig(state::set0, modes_config);
    auto set_clock = [&rig](uint64_t ms) {
        rig.shared.clock.store(static_cast<uint32_t>(ms / 1000));
        rig.shared.clock_ms.store(ms);
    };
    // A then B on each port: A learned, B learned and relayed to A.
    auto learn_pair = [&rig](uint16_t port) {
        rig.run(from(mac_a, host_a, port_a, box, port).bytes());
        REQUIRE(rig.run(from(mac_b, host_b, port_b, box, port).bytes()).sent);
    };
    auto entry = [&rig](uint16_t port) { return rig.tables->range_entry(0, port); };

    SECTION("reset: one packet from a third endpoint takes the port over") {
        learn_pair(3000);
        const Rig::Out out = rig.run(from(mac_c, host_c, port_c, box, 3000).bytes());
        CHECK_FALSE(out.sent);
        CHECK(out.counts[Counter::drop_relay_reset] == 1);
        CHECK(rig.relay().read(entry(3000)).a.addr == host_c);
    }
    SECTION("strict: a third endpoint is dropped and counted, the pair goes on") {
        learn_pair(3100);
        for (int i = 0; i < 5; i++) {
            const Rig::Out out = rig.run(from(mac_c, host_c, port_c, box, 3100).bytes());
            CHECK_FALSE(out.sent);
            CHECK(out.counts[Counter::drop_relay_strict] == 1);
        }
        const Rig::Out out = rig.run(from(mac_a, host_a, port_a, box, 3100).bytes());
        CHECK(out.frame == relayed(mac_b, host_b, port_b, port_a, box, 3100));
        rig.relay().open_window(entry(3100), 5);
        CHECK(rig.run(from(mac_c, host_c, port_c, box, 3100).bytes()).counts[Counter::drop_relay_reset] == 1);
    }
    SECTION("probation: the source replaces the silent endpoint on its 4th packet, a second on") {
        learn_pair(3200);              // at second 1
        set_clock(5000);
        rig.run(from(mac_a, host_a, port_a, box, 3200).bytes()); // A speaks on, B is silent
        Rig::Out out = rig.run(from(mac_c, host_c, port_c, box, 3200).bytes());
        CHECK(out.counts[Counter::relay_probation_started] == 1);
        CHECK(out.counts[Counter::drop_relay_probation] == 1);
        for (uint64_t ms : {5300, 5600}) {
            set_clock(ms);
            out = rig.run(from(mac_c, host_c, port_c, box, 3200).bytes());
            CHECK_FALSE(out.sent);
            CHECK(out.counts[Counter::drop_relay_probation] == 1);
        }
        set_clock(6000);
        out = rig.run(from(mac_c, host_c, port_c, box, 3200).bytes());
        CHECK(out.counts[Counter::relay_replaced] == 1);
        CHECK(out.frame == relayed(mac_a, host_a, port_a, port_c, box, 3200));
        // The pair is A and C now, both ways.
        out = rig.run(from(mac_a, host_a, port_a, box, 3200).bytes());
        CHECK(out.frame == relayed(mac_c, host_c, port_c, port_a, box, 3200));
        CHECK(rig.run(from(mac_b, host_b, port_b, box, 3200).bytes()).counts[Counter::relay_probation_started] == 1);
    }
    SECTION("allow: sources outside the prefixes are never learned") {
        Rig::Out out = rig.run(from(mac_c, host_c, port_c, box, 3300).bytes());
        CHECK(out.counts[Counter::drop_relay_not_allowed] == 1);
        CHECK(rig.relay().read(entry(3300)).state == state::set0);
        learn_pair(3300); // 10.0.0.10 and .11 are inside 10.0.0.10/31
        out = rig.run(from(mac_c, host_c, port_c, box, 3300).bytes());
        CHECK(out.counts[Counter::drop_relay_not_allowed] == 1);
        CHECK(rig.relay().read(entry(3300)).a.addr == host_a);
    }
    SECTION("no mode learns a martian source") {
        for (uint16_t port : {3000, 3100, 3200, 3300}) {
            for (Ipv4 src : {Ipv4(0x00000005), Ipv4(0x7f000001), Ipv4(0xe0000001), Ipv4(0xffffffff),
                             box, box2, Ipv4(0x0a0000ff)}) {
                INFO(port << " from " << format_ipv4(src));
                const Rig::Out out = rig.run(from(mac_a, src, 1000, box, port).bytes());
                CHECK_FALSE(out.sent);
                CHECK(out.counts[Counter::drop_relay_refused] == 1);
            }
            CHECK(rig.run(from(mac_a, host_a, 0, box, port).bytes()).counts[Counter::drop_relay_refused] == 1);
            CHECK(rig.relay().read(entry(port)).state == state::set0);
        }
    }
}

TEST_CASE("malformed and foreign frames are counted, never relayed")
{
    Rig rig(state::set0);
    rig.run(from(mac_a, host_a, port_a).bytes());
    const auto frag_first = Packet().frag(0x2000);
    Packet first = frag_first;
    first.eth(box_mac, mac_b).ipv4(host_b, box).udp(port_b, 3000).payload(16);
    Packet later = Packet().frag(0x0003);
    later.eth(box_mac, mac_b).ipv4(host_b, box).payload(16);
    Packet ipv6;
    ipv6.eth(box_mac, mac_b, 0x86dd).payload(60);
    Packet vlan;
    vlan.eth(box_mac, mac_b, 0x8100).payload(60);
    run_steps(rig, {
        {"runt frame", {}, std::vector<uint8_t>(10, 0), {}, Counter::drop_malformed},
        {"truncated IPv4 header", {}, from(mac_b, host_b, port_b).truncate(14 + 12).bytes(), {},
         Counter::drop_malformed},
        {"IHL below 5", {}, from(mac_b, host_b, port_b).ihl(4).bytes(), {}, Counter::drop_malformed},
        {"IHL past the frame", {},
         Packet().eth(box_mac, mac_b).ipv4(host_b, box).ihl(15).payload(10).bytes(), {},
         Counter::drop_malformed},
        {"total length past the frame", {}, from(mac_b, host_b, port_b).total_length(400).bytes(),
         {}, Counter::drop_truncated},
        {"total length below the IHL", {}, from(mac_b, host_b, port_b).total_length(12).bytes(),
         {}, Counter::drop_malformed},
        {"UDP header cut off", {},
         Packet().eth(box_mac, mac_b).ipv4(host_b, box).payload(4).bytes(), {},
         Counter::drop_malformed},
        {"UDP length past the datagram", {}, from(mac_b, host_b, port_b).udp_length(300).bytes(),
         {}, Counter::drop_malformed},
        {"UDP length below its header", {}, from(mac_b, host_b, port_b).udp_length(4).bytes(), {},
         Counter::drop_malformed},
        {"first fragment to a relay port", {}, first.bytes(), {}, Counter::drop_fragment},
        {"later fragment to a box address", {}, later.bytes(), {}, Counter::drop_fragment},
        {"IPv6", {}, ipv6.bytes(), {}, Counter::drop_non_ipv4},
        {"VLAN tag", {}, vlan.bytes(), {}, Counter::drop_non_ipv4},
        {"unicast to another MAC", {},
         Packet().eth(other_mac, mac_b).ipv4(host_b, box).udp(port_b, 3000).payload(8).bytes(), {},
         Counter::drop_not_for_us},
        {"UDP to a port that is no relay port", {},
         from(mac_b, host_b, port_b, box, 4000).bytes(), {}, Counter::drop_local_unhandled},
        {"5000 exists only on the other address", {},
         from(mac_b, host_b, port_b, box, 5000).bytes(), {}, Counter::drop_local_unhandled},
        {"TCP to the box", {},
         Packet().eth(box_mac, mac_b).ipv4(host_b, box, 64, 6).payload(20).bytes(), {},
         Counter::drop_local_unhandled},
        {"not for the box and no route", {},
         from(mac_b, host_b, port_b, 0x64400001).bytes(), {}, Counter::drop_no_route},
    });
    // After all that, the relay still relays and still knows only A.
    CHECK(rig.relay().read(0).state == state::set1);
    Rig::Out out = rig.run(from(mac_b, host_b, port_b).bytes());
    CHECK(out.frame == relayed(mac_a, host_a, port_a, port_b));
}

TEST_CASE("a relayed packet whose TTL would expire is dropped")
{
    Rig rig(state::set0);
    rig.run(from(mac_a, host_a, port_a).bytes());
    rig.run(from(mac_b, host_b, port_b).bytes());
    run_steps(rig, {
        {"TTL 1", {}, from(mac_a, host_a, port_a, box, 3000, 1).bytes(), {}, Counter::drop_ttl},
        {"TTL 2 leaves with 1", {}, from(mac_a, host_a, port_a, box, 3000, 2).bytes(),
         relayed(mac_b, host_b, port_b, port_a, box, 3000, 1), Counter::relayed_packets},
    });
}

TEST_CASE("a worker publishes its counts every 16 bursts, and the rest on commit()")
{
    Rig rig(state::set0);
    Worker &w = rig.worker();
    auto published = [&rig](Counter c) { return rig.counters[0].get(static_cast<size_t>(c)); };
    // A frame for another MAC: dropped, so flush() has nothing to send (the
    // rig has no ethdevs) and only commits.
    Packet p;
    p.eth(other_mac, mac_a).ipv4(host_a, box, 64).udp(port_a, 3000).payload(21, 1);
    const std::vector<uint8_t> frame = p.bytes();
    auto burst = [&] {
        rte_mbuf *m = Rig::mbuf(frame);
        w.process_burst(*rig.tables, 0, &m, 1);
        w.flush();
    };
    for (int i = 1; i < 16; i++)
        burst();
    CHECK(published(Counter::rx_packets) == 0);
    burst(); // the 16th
    CHECK(published(Counter::rx_packets) == 16);
    CHECK(published(Counter::drop_not_for_us) == 16);
    CHECK(w.pending_counters()[Counter::rx_packets] == 0);
    burst();
    CHECK(published(Counter::rx_packets) == 16);
    w.commit();
    CHECK(published(Counter::rx_packets) == 17);
    CHECK(published(Counter::drop_not_for_us) == 17);
    CHECK(w.pending_counters()[Counter::rx_packets] == 0);
    for (int i = 1; i < 16; i++) // commit() starts the count of 16 again
        burst();
    CHECK(published(Counter::rx_packets) == 17);
    burst();
    CHECK(published(Counter::rx_packets) == 33);
}

TEST_CASE("ARP and ICMP echo for the box's addresses")
{
    Rig rig(state::disable);
    Packet req;
    req.eth(broadcast, mac_a, 0x0806).arp(1, mac_a, host_a, zero_mac, box);
    Packet reply;
    reply.eth(mac_a, box_mac, 0x0806).arp(2, box_mac, box, mac_a, host_a);
    Packet other;
    other.eth(broadcast, mac_a, 0x0806).arp(1, mac_a, host_a, zero_mac, 0x0a000063);
    Packet wrong_port;
    wrong_port.eth(broadcast, mac_a, 0x0806).arp(1, mac_a, host_a, zero_mac, box2);
    Packet ping;
    ping.eth(box_mac, mac_a).ipv4(host_a, box, 64, 1).icmp_echo(8, 7, 1).payload(56);
    Packet pong;
    pong.eth(mac_a, box_mac).ipv4(box, host_a, 64, 1).icmp_echo(0, 7, 1).payload(56);
    Packet ping_ttl;
    ping_ttl.eth(box_mac, mac_a).ipv4(host_a, box, 3, 1).icmp_echo(8, 9, 2).payload(13);
    Packet pong_ttl;
    pong_ttl.eth(mac_a, box_mac).ipv4(box, host_a, 64, 1).icmp_echo(0, 9, 2).payload(13);
    Packet echo_reply_in;
    echo_reply_in.eth(box_mac, mac_a).ipv4(host_a, box, 64, 1).icmp_echo(0).payload(8);
    run_steps(rig, {
        {"ARP request for the box", {}, req.bytes(), reply.bytes(), Counter::arp_replies},
        {"ARP request for someone else", {}, other.bytes(), {}, Counter::arp_ignored},
        {"ARP for the other port's address", {}, wrong_port.bytes(), {}, Counter::arp_ignored},
        {"truncated ARP", {}, req.truncate(30).bytes(), {}, Counter::drop_malformed},
        {"echo request", {}, ping.bytes(), pong.bytes(), Counter::icmp_echo_replies},
        {"echo request, odd length, low TTL", {}, ping_ttl.bytes(), pong_ttl.bytes(),
         Counter::icmp_echo_replies},
        {"an echo reply is not answered", {}, echo_reply_in.bytes(), {},
         Counter::drop_local_unhandled},
    });
}

TEST_CASE("no echo reply to a source that no host can have")
{
    // Found by fuzz_burst: the box answered pings from martian, broadcast and
    // its own addresses.
    Rig rig(state::disable);
    for (Ipv4 src : {Ipv4(0x7f000001), Ipv4(0x00000005), Ipv4(0xe0000001), Ipv4(0xf0000001),
                     Ipv4(0xffffffff), Ipv4(0x0a0000ff), box, box2}) {
        INFO("source " << format_ipv4(src));
        Packet ping;
        ping.eth(box_mac, mac_a).ipv4(src, box, 64, 1).icmp_echo(8, 7, 1).payload(8);
        Rig::Out out = rig.run(ping.bytes());
        CHECK_FALSE(out.sent);
        CHECK(out.counts[Counter::drop_martian] == 1);
    }
}

TEST_CASE("a packet from a connected subnet's broadcast or the box's own address is not forwarded")
{
    // Found by fuzz_burst: only the destination was checked for a directed
    // broadcast. A source that is one of the box's addresses is spoofed: no
    // packet of the box's own comes in from the wire (Linux drops it as a
    // martian source too).
    Rig rig(state::disable);
    run_steps(rig, {
        {"from the wan broadcast to a lan host", {},
         Packet().eth(box_mac, mac_a).ipv4(0xc00002ff, 0x0a000035).udp(1, 2).payload(8).bytes(), {},
         Counter::drop_martian, 0xff, 1},
        {"from the lan broadcast to a routed prefix", {},
         Packet().eth(box_mac, mac_a).ipv4(0x0a0000ff, 0xc6120001).udp(1, 2).payload(8).bytes(), {},
         Counter::drop_martian},
        {"from the box's wan alias to a lan host", {},
         Packet().eth(box_mac, mac_a).ipv4(alias2, 0x0a000035).udp(1, 2).payload(8).bytes(), {},
         Counter::drop_martian, 0xff, 1},
        {"from the box's lan address, DEST-rewritten", {},
         Packet().eth(box_mac, mac_a).ipv4(box, 0xcb00710a).udp(1, 2).payload(8).bytes(), {},
         Counter::drop_martian, 0xff, 1},
        {"from a lan host to a routed prefix: forwarded", {},
         Packet().eth(box_mac, mac_a).ipv4(0x0a00003c, 0xc6120001).udp(1, 2).payload(8).bytes(),
         Packet().eth({0x02, 0, 0, 0, 0, 0xfe}, box_mac).ipv4(0x0a00003c, 0xc6120001, 63).udp(1, 2).payload(8).bytes(),
         Counter::forwarded_packets, 0xff, 0, 1},
    });
}

TEST_CASE("DEST forwards a UDP datagram whose length field overstates it, reading only its bytes")
{
    // Found by fuzz_burst: the debug builds' checksum audit summed as many
    // bytes as the UDP length said, past the frame (the ASan build's fenced
    // mbufs catch that read).
    Rig rig(state::disable);
    const Mac server = {0x02, 0, 0, 0, 0, 0x35};
    Packet in, want;
    in.eth(box_mac, mac_a).ipv4(0xc6336407, 0xcb00710a).udp(5000, 53).payload(20).udp_length(1400);
    want.eth(server, box_mac).ipv4(0xc6336407, 0x0a000035, 63).udp(5000, 53).payload(20).udp_length(1400);
    run_steps(rig, {{"DEST to 10.0.0.53", {}, in.bytes(), want.bytes(), Counter::rewritten_dest, 0xff, 1, 0}});
}

TEST_CASE("fragments keep a header checksum that was wrong on arrival wrong")
{
    // 1,400 bytes of UDP DEST-rewritten out of lan, whose MTU is 1000: two
    // fragments, each with a header of its own. Checked by a full recompute.
    Rig rig(state::disable);
    for (const bool bad : {false, true}) {
        INFO((bad ? "a wrong" : "a right") << " header checksum on arrival");
        Packet in;
        in.eth(box_mac, mac_a).ipv4(0xc6336407, 0xcb00710a).udp(5000, 53).payload(1400);
        if (bad)
            in.bad_ip_csum();
        const Rig::Out out = rig.run(in.bytes(), 1);
        CHECK(out.counts[Counter::fragmented_packets] == 1);
        REQUIRE(out.all.size() == 2);
        for (const Rig::Frame &f : out.all) {
            REQUIRE(f.bytes.size() > sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
            CHECK(f.bytes.size() <= sizeof(rte_ether_hdr) + 1000);
            const auto *ip = reinterpret_cast<const rte_ipv4_hdr *>(f.bytes.data() + sizeof(rte_ether_hdr));
            CHECK((ipv4_header_csum(ip, rte_ipv4_hdr_len(ip)) == ip->hdr_checksum) == !bad);
        }
    }
}

TEST_CASE("an alias is one more address of its port: ARP, ping and relaying")
{
    Rig rig(state::set0);
    Packet req, reply, req_lan, ping, pong;
    req.eth(broadcast, mac_a, 0x0806).arp(1, mac_a, host_a, zero_mac, alias2);
    reply.eth(mac_a, box_mac, 0x0806).arp(2, box_mac, alias2, mac_a, host_a);
    req_lan = req;
    ping.eth(box_mac, mac_a).ipv4(host_a, alias2, 64, 1).icmp_echo(8, 7, 1).payload(8);
    pong.eth(mac_a, box_mac).ipv4(alias2, host_a, 64, 1).icmp_echo(0, 7, 1).payload(8);
    run_steps(rig, {
        {"ARP for the alias on its port", {}, req.bytes(), reply.bytes(), Counter::arp_replies, 0xff, 1, 1},
        {"ARP for the alias on the other port", {}, req_lan.bytes(), {}, Counter::arp_ignored},
        {"echo request to the alias", {}, ping.bytes(), pong.bytes(), Counter::icmp_echo_replies,
         0xff, 1, 1},
        // A sends to the alias, B to 10.0.0.1: each hears from the address it uses.
        {"A to the alias", {}, from(mac_a, host_a, port_a, alias2).bytes(), {},
         Counter::drop_relay_unlearned, state::set1, 1},
        {"B on lan, relayed to A from the alias", {}, from(mac_b, host_b, port_b).bytes(),
         relayed(mac_a, host_a, port_a, port_b, alias2), Counter::relayed_packets, 0xff, 0, 1},
    });
    // Port 5001 exists on 192.0.2.1 alone, not on its alias.
    std::string err;
    CHECK(rig.tables->find_entry("192.0.2.7:3005", err) == 5);
    CHECK(rig.tables->find_entry("192.0.2.7:5001", err) == no_relay);
}

TEST_CASE("a box address with a range of its own still relays the ranges on every address")
{
    // 192.0.2.1 has 5000-5009 of its own besides 3000-3099, which every box
    // address has; its alias and 10.0.0.1 have no 5000-5009.
    Rig rig(state::set0);
    const uint32_t own = rig.tables->range_entry(box2, 5001);
    const uint32_t every = rig.tables->range_entry(0, 3001);
    REQUIRE(own != no_relay);
    REQUIRE(every != no_relay);
    run_steps(rig, {
        {"A to 192.0.2.1:5001", {}, from(mac_a, host_a, port_a, box2, 5001).bytes(), {},
         Counter::drop_relay_unlearned},
        {"B to 192.0.2.1:5001, relayed to A", {}, from(mac_b, host_b, port_b, box2, 5001).bytes(),
         relayed(mac_a, host_a, port_a, port_b, box2, 5001), Counter::relayed_packets},
        {"A to 192.0.2.1:3001", {}, from(mac_a, host_a, port_a, box2, 3001).bytes(), {},
         Counter::drop_relay_unlearned},
        {"B to 192.0.2.1:3001, relayed to A", {}, from(mac_b, host_b, port_b, box2, 3001).bytes(),
         relayed(mac_a, host_a, port_a, port_b, box2, 3001), Counter::relayed_packets},
        {"the alias has no port 5001", {}, from(mac_a, host_a, port_a, alias2, 5001).bytes(), {},
         Counter::drop_local_unhandled},
        {"10.0.0.1 has no port 5001", {}, from(mac_a, host_a, port_a, box, 5001).bytes(), {},
         Counter::drop_local_unhandled},
    });
    CHECK(int(rig.relay().read(own).state) == int(state::set2 | state::active1));
    CHECK(int(rig.relay().read(every).state) == int(state::set2 | state::active1));
}

TEST_CASE("relay ports are named as PORT or ADDR:PORT")
{
    Rig rig(state::disable);
    std::string err;
    CHECK(rig.tables->find_entry("3000", err) == 0);
    CHECK(rig.tables->find_entry("3099", err) == 99);
    CHECK(rig.tables->find_entry("10.0.0.1:3005", err) == 5);
    CHECK(rig.tables->find_entry("192.0.2.1:3005", err) == 5);
    CHECK(rig.tables->find_entry("5001", err) == 101);
    CHECK(rig.tables->find_entry("192.0.2.1:5001", err) == 101);
    CHECK(rig.tables->entry_port(101) == 5001);
    CHECK(rig.tables->find_entry("10.0.0.1:5001", err) == no_relay);
    CHECK(err == "port 10.0.0.1:5001 is not a relay port");
    CHECK(rig.tables->find_entry("3100", err) == no_relay);
    CHECK(err == "port 3100 is not a relay port");
    CHECK(rig.tables->find_entry("70000", err) == no_relay);
    CHECK(err == "\"70000\" is not a port (0-65535) or ADDR:PORT");
    CHECK(rig.tables->find_entry("abc", err) == no_relay);
    CHECK(rig.tables->find_entry("", err) == no_relay);
    CHECK(rig.tables->find_entry("10.9.9.9:3000", err) == no_relay);
    CHECK(err == "\"10.9.9.9\" is not an address of this box");
}

namespace {

std::vector<uint8_t> unhex(const std::string &h)
{
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
    return out;
}

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    size_t start = 0, at;
    while ((at = s.find(sep, start)) != std::string::npos) {
        out.push_back(s.substr(start, at - start));
        start = at + 1;
    }
    out.push_back(s.substr(start));
    return out;
}

} // namespace

TEST_CASE("a worker asks the neighbour table once a second per next hop")
{
    // 10.0.0.53 is a static neighbour of the rig; the table changes under the
    // worker, which keeps what it resolved for the rest of that second.
    Rig rig(state::disable);
    const Mac moved = {0x02, 0, 0, 0, 0, 0x53};
    auto forward = [&rig] {
        Packet in;
        in.eth(box_mac, mac_c).ipv4(host_c, 0x0a000035).udp(1, 2).payload(8);
        Rig::Out out = rig.run(in.bytes());
        REQUIRE(out.sent);
        return Mac{out.frame[0], out.frame[1], out.frame[2], out.frame[3], out.frame[4], out.frame[5]};
    };
    const Mac before = forward();
    CHECK(before == Mac{0x02, 0, 0, 0, 0, 0x35});
    rig.neighbours->set(0x0a000035, 0, moved, 1, true, false);
    CHECK(forward() == before); // the same second: the worker's own copy
    rig.shared.clock.store(2);
    CHECK(forward() == moved); // the next second: asked again
}

TEST_CASE("the flow cache keeps four flows a bucket, the newest first, and forgets on clear")
{
    FlowCache cache;
    auto key = [](uint32_t n) { return FlowKey{0x0100000a0200000aull + n, 0x0000011135003500ull}; };
    // Flows that share bucket b: found by hashing keys until five do.
    const uint32_t b = FlowCache::bucket_of(key(0));
    std::vector<FlowKey> same{key(0)};
    for (uint32_t n = 1; same.size() < 5; n++)
        if (FlowCache::bucket_of(key(n)) == b)
            same.push_back(key(n));
    for (uint32_t i = 0; i < 4; i++)
        cache.insert(b, same[i], 1, i, no_rule, 0x0a000035 + i);
    for (uint32_t i = 0; i < 4; i++) {
        const FlowCache::Entry *e = cache.find(b, same[i]);
        REQUIRE(e != nullptr);
        CHECK(e->dest_rule == i);
        CHECK(e->source_rule == no_rule);
        CHECK(e->next_hop == 0x0a000035 + i);
        CHECK(e->out_port() == 1);
    }
    // The same flow again takes one entry, so nothing is pushed out.
    cache.insert(b, same[3], 0, 7, 8, 9);
    CHECK(cache.find(b, same[0]) != nullptr);
    CHECK(cache.find(b, same[3])->dest_rule == 7);
    CHECK(cache.find(b, same[3])->out_port() == 0);
    // A fifth pushes out the one that went in longest ago.
    cache.insert(b, same[4], 0, 4, no_rule, 0);
    CHECK(cache.find(b, same[0]) == nullptr);
    CHECK(cache.find(b, same[1]) != nullptr);
    CHECK(cache.find(b, same[4]) != nullptr);
    // A key differs from another in any of its fields, the in port included.
    FlowKey other_port = same[4];
    other_port.rest ^= uint64_t(1) << 40;
    CHECK(cache.find(b, other_port) == nullptr);
    cache.clear();
    for (const FlowKey &k : same)
        CHECK(cache.find(b, k) == nullptr);
}

TEST_CASE("a flow in the flow cache: hits counted, TTL checked, a reload's new rules applied")
{
    Rig rig(state::disable);
    const Mac gw = {0x02, 0, 0, 0, 0, 0xfe}, server = {0x02, 0, 0, 0, 0, 0x35},
              server2 = {0x02, 0, 0, 0, 0, 0x36};
    const Ipv4 client = 0xc6120005, vip = 0xcb00710a; // 198.18.0.5 to 203.0.113.10
    auto in = [&](uint8_t ttl) {
        return Packet().eth(box_mac, gw).ipv4(client, vip, ttl).udp(40000, 53).payload(19).bytes();
    };
    auto to = [&](const Mac &mac, Ipv4 addr) {
        return Packet().eth(mac, box_mac).ipv4(client, addr, 63).udp(40000, 53).payload(19).bytes();
    };
    run_flow(rig, in(64), 1, 4, Counter::rewritten_dest, 0, to(server, 0x0a000035));
    CHECK(rig.rule_hits(2) == 4); // the DEST rule, by every packet
    // A packet of the flow whose TTL would expire: the rule matched, then
    // dropped, as without the cache.
    const Rig::Out expired = rig.run(in(1), 1);
    CHECK(expired.counts[Counter::flow_cache_hits] == 1);
    CHECK(expired.counts[Counter::drop_ttl] == 1);
    CHECK_FALSE(expired.sent);
    CHECK(rig.rule_hits(2) == 5);

    // The server's replies: SOURCE, counted by every packet too.
    const auto reply = Packet().eth(box_mac, server).ipv4(0x0a000035, client).udp(53, 40000).payload(19).bytes();
    const auto sourced = Packet().eth(gw, box_mac).ipv4(vip, client, 63).udp(53, 40000).payload(19).bytes();
    run_flow(rig, reply, 0, 3, Counter::rewritten_source, 1, sourced);
    CHECK(rig.rule_hits(5) == 3);

    // A reload sends the VIP to the second server: the cache held the old
    // decision, which the new table must not take.
    std::string text = rig_config;
    const std::string old_rule = "-d 203.0.113.10 -j DEST --to=10.0.0.53";
    text.replace(text.find(old_rule), old_rule.size(), "-d 203.0.113.10 -j DEST --to=10.0.0.54");
    text.replace(text.find("INITIAL"), 7, "disabled");
    rig.config = parse_config(text, "reload.yaml");
    auto reloaded = build_tables(rig.config, {{0, ether(box_mac)}, {1, ether(box_mac)}});
    reloaded->relay = rig.relay_table.get();
    reloaded->neighbours = rig.neighbours.get();
    reloaded->add_counters(1);
    rig.tables = std::move(reloaded);
    run_flow(rig, in(64), 1, 2, Counter::rewritten_dest, 0, to(server2, 0x0a000036));
}

TEST_CASE("new flows after packets that stage 2 decided, in one burst: each leaves as itself")
{
    // Stage 3 gets only the packets that stage 2 forwarded, here the last
    // two; the first never reaches stage 2, so the others' places in the
    // burst and in stage 2 differ.
    Rig rig(state::disable);
    const Mac gw = {0x02, 0, 0, 0, 0, 0xfe}, server = {0x02, 0, 0, 0, 0, 0x35};
    const Ipv4 client = 0xc6120005, vip = 0xcb00710a, box = 0xc0000201;
    auto in = [&](uint16_t sport, uint8_t ttl) {
        return Packet().eth(box_mac, gw).ipv4(client, vip, ttl).udp(sport, 53).payload(19).bytes();
    };
    auto out = [&](uint16_t sport) {
        return Packet().eth(server, box_mac).ipv4(client, 0x0a000035, 63).udp(sport, 53).payload(19).bytes();
    };
    const auto ping = Packet().eth(box_mac, gw).ipv4(client, box, 64, 1).icmp_echo(8, 7, 1).payload(8).bytes();
    const auto pong = Packet().eth(gw, box_mac).ipv4(box, client, 64, 1).icmp_echo(0, 7, 1).payload(8).bytes();
    const std::vector<uint8_t> foreign(60, 0); // to MAC 00:00:00:00:00:00
    const Rig::Out o = rig.run_burst({foreign, in(40000, 1), ping, in(40001, 64), in(40002, 64)}, 1);
    CHECK(o.counts[Counter::drop_not_for_us] == 1);
    CHECK(o.counts[Counter::drop_ttl] == 1);
    CHECK(o.counts[Counter::icmp_echo_replies] == 1);
    CHECK(o.counts[Counter::flow_cache_misses] == 3);
    CHECK(o.counts[Counter::rewritten_dest] == 3);
    CHECK(o.counts[Counter::forwarded_packets] == 2);
    std::multiset<std::pair<uint16_t, std::vector<uint8_t>>> sent, want{
        {1, pong}, {0, out(40001)}, {0, out(40002)}};
    for (const Rig::Frame &f : o.all)
        sent.insert({f.port, f.bytes});
    CHECK(sent == want);
    // Each went into the flow cache under its own key.
    const Rig::Out again = rig.run_burst({in(40002, 64), in(40001, 64)}, 1);
    CHECK(again.counts[Counter::flow_cache_hits] == 2);
    REQUIRE(again.all.size() == 2);
    CHECK(again.all[0].bytes == out(40002));
    CHECK(again.all[1].bytes == out(40001));
}

TEST_CASE("a datagram to a box address outside the relay ranges, DEST-forwarded, is cached")
{
    // UDP to the wan address is a relay candidate first: port 53 is in no
    // relay range, and a DEST rule forwards it.
    Rig rig(state::set0);
    const Mac gw = {0x02, 0, 0, 0, 0, 0xfe}, server = {0x02, 0, 0, 0, 0, 0x35};
    const Ipv4 client = 0xc6120005; // 198.18.0.5
    const auto in = Packet().eth(box_mac, gw).ipv4(client, box2).udp(40000, 53).payload(12).bytes();
    const auto out =
        Packet().eth(server, box_mac).ipv4(client, 0x0a000035, 63).udp(40000, 53).payload(12).bytes();
    run_flow(rig, in, 1, 2, Counter::rewritten_dest, 0, out);
    CHECK(rig.rule_hits(7) == 2);
}

TEST_CASE("DEST, SOURCE and forwarding against frames scapy built")
{
    const char *path = std::getenv("RELAY_NAT_CASES");
    REQUIRE(path != nullptr); // set by meson to the file nat_cases.py wrote
    std::ifstream in(path);
    REQUIRE(in.good());
    Rig rig(state::disable);
    std::string line;
    int count = 0;
    uint64_t cache_hits = 0;
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        const auto f = split(line, '\t');
        REQUIRE(f.size() == 5);
        INFO("case: " << f[0]);
        size_t counter = counter_count;
        for (size_t i = 0; i < counter_count; i++)
            if (f[3] == counter_info[i].name)
                counter = i;
        REQUIRE(counter < counter_count);
        std::vector<Rig::Frame> want;
        if (!f[4].empty())
            for (const std::string &w : split(f[4], ','))
                want.push_back({static_cast<uint16_t>(std::stoi(w.substr(0, w.find(':')))),
                                unhex(w.substr(w.find(':') + 1))});
        // Twice: the second time (or already the first, for a flow an
        // earlier case shares) a forwarded TCP or UDP datagram's flow is in
        // the worker's flow cache, and must come out the same. A second
        // later, so that an unresolved neighbour is asked for again.
        for (int pass = 1; pass <= 2; pass++) {
            INFO("pass " << pass);
            rig.shared.clock.store(rig.shared.clock.load() + 1);
            Rig::Out out = rig.run(unhex(f[2]), static_cast<uint16_t>(std::stoi(f[1])));
            CHECK(out.counts.v[counter] == 1);
            cache_hits += out.counts[Counter::flow_cache_hits];
            REQUIRE(out.all.size() == want.size());
            for (size_t i = 0; i < want.size(); i++) {
                INFO(relay::test::diff_frames(out.all[i].bytes, want[i].bytes));
                CHECK(out.all[i].port == want[i].port);
                CHECK(out.all[i].bytes == want[i].bytes);
            }
        }
        count++;
    }
    CHECK(count >= 30);
    // The TCP and UDP cases that are forwarded whole, without IP options.
    CHECK(cache_hits >= 10);
    // Every DEST and SOURCE rule that the cases exercise counted its hits.
    for (uint32_t rule = 2; rule <= 6; rule++)
        CHECK(rig.rule_hits(rule) > 0);
}

int main(int argc, char **argv)
{
    const std::string prefix = "relay_pkt_" + std::to_string(getpid());
    const char *eal[] = {"test_packets", "--no-huge", "-m", "256", "--no-pci", "-l", "0",
                         "--no-telemetry", "--log-level", "*:error", "--file-prefix",
                         prefix.c_str()};
    if (rte_eal_init(int(std::size(eal)), const_cast<char **>(eal)) < 0) {
        std::fprintf(stderr, "test_packets: EAL initialisation failed\n");
        return 1;
    }
    try {
        pools = create_mbuf_pools(2, 1, 2048);
        rx_pool = rte_pktmbuf_pool_create("test_rx", 64, 0, 0, RTE_PKTMBUF_HEADROOM + 2048,
                                          SOCKET_ID_ANY);
        if (!rx_pool)
            throw std::runtime_error("cannot create the RX pool");
    } catch (const std::exception &e) {
        std::fprintf(stderr, "test_packets: %s\n", e.what());
        return 1;
    }
    const int rc = Catch::Session().run(argc, argv);
    for (rte_mempool *p : {pools.packets, pools.headers, pools.indirect, rx_pool})
        rte_mempool_free(p);
    relay::test::stop_eal();
    return rc;
}
