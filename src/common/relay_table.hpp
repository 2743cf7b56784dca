// The per-port endpoint table shared by every worker and the control thread.
//
// Memory-ordering protocol (a seqlock per relay port):
//  - `seq` is even when the entry is stable and odd while one writer is inside.
//  - Readers load seq (acquire), load the fields (acquire, which keeps the
//    second load after them) and load seq again; equal and even means the
//    fields are one whole write; otherwise read() tries again, while the
//    packet path's steady() hands the packet to the learning step, which
//    takes the entry's lock. A reader never writes, so relaying between
//    learned endpoints costs no atomic read-modify-write and no shared store
//    (except the coarse last-seen clock, stored only when its second changes).
//  - Writers (a worker learning, the control thread writing a state) take the
//    entry by CAS of seq from even to odd, store the fields (release, so a
//    reader that sees one also sees the odd seq) and publish with a release
//    store of seq + 2. Writers are rare: only state transitions write, never
//    steady relaying.
// Every field is an atomic so that the reads racing a writer are defined
// behaviour; no standalone fences, which ThreadSanitizer cannot check. On x86
// acquire loads and release stores compile to plain moves.
#pragma once

#include "huge_array.hpp"
#include "ipv4.hpp"
#include "relay_state.hpp"

#include <arpa/inet.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

namespace relay {

// Waiting on another writer: a hint to the core, never a syscall, since this
// runs on worker lcores.
inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

struct Endpoint {
    Ipv4 addr = 0;       // 0: no endpoint
    uint16_t port = 0;   // UDP port, host order
    uint16_t ifport = 0; // ethdev port its packets arrive on
    Mac mac{};           // source MAC of its packets (the next hop towards it)
    uint16_t local = 0;  // index of the box address it sends to

    bool known() const { return addr != 0; }
    bool same_peer(Ipv4 a, uint16_t p) const { return addr == a && port == p; }
    bool operator==(const Endpoint &o) const
    {
        return addr == o.addr && port == o.port && ifport == o.ifport && mac == o.mac &&
               local == o.local;
    }
};

struct RelaySnapshot {
    uint8_t state = 0;
    Endpoint a, b;
    uint32_t seen_a = 0, seen_b = 0; // coarse clock, seconds
};

struct LearnResult {
    Learn outcome;
    Endpoint to; // where to relay, for learned_b, to_a, to_b, replaced_a, replaced_b
};

// How a port learns (README "Security"): its range's mode and the relay
// section's limits.
struct LearnPolicy {
    LearningMode mode = LearningMode::reset;
    uint32_t reset_interval = 0;    // seconds between two resets or replacements; 0: no limit
    uint32_t probation_packets = 4; // from the new source, counting the first
    uint32_t probation_ms = 1000;   // from its first packet to its last
};

// The clock a learning step runs at: coarse seconds (last-seen stamps,
// windows, the reset limit) and milliseconds (probation), one time base.
struct LearnClock {
    uint32_t s = 0;
    uint64_t ms = 0;
};

// An endpoint as the table stores it: two words, so that a reader copies it
// with two loads. w0 = address << 32 | port << 16 | ifport; w1 = the MAC's six
// bytes in memory order, then local << 48.
struct PackedEndpoint {
    uint64_t w0 = 0, w1 = 0;

    static PackedEndpoint pack(const Endpoint &e)
    {
        PackedEndpoint p;
        p.w0 = uint64_t(e.addr) << 32 | uint64_t(e.port) << 16 | e.ifport;
        std::memcpy(&p.w1, e.mac.data(), 6);
        p.w1 |= uint64_t(e.local) << 48;
        return p;
    }
    // What identifies a peer: its address and port, as w0 >> 16 holds them.
    static uint64_t peer(Ipv4 addr, uint16_t port) { return uint64_t(addr) << 16 | port; }

    Ipv4 addr() const { return static_cast<Ipv4>(w0 >> 32); }
    uint16_t port() const { return static_cast<uint16_t>(w0 >> 16); }
    uint16_t ifport() const { return static_cast<uint16_t>(w0); }
    uint16_t local() const { return static_cast<uint16_t>(w1 >> 48); }
    const uint8_t *mac() const { return reinterpret_cast<const uint8_t *>(&w1); } // little endian
    Endpoint unpack() const
    {
        Endpoint e;
        e.addr = addr();
        e.port = port();
        e.ifport = ifport();
        e.local = local();
        std::memcpy(e.mac.data(), mac(), 6);
        return e;
    }
};

// A packet's source as steady relaying compares it: the IPv4 source
// address's four bytes and the UDP source port's two, each loaded as they sit
// in the header (no byte swap), the port above the address.
inline uint64_t header_peer(uint32_t addr_bytes, uint16_t port_bytes)
{
    return uint64_t(port_bytes) << 32 | addr_bytes;
}
inline uint64_t header_peer(const Endpoint &e) { return header_peer(htonl(e.addr), htons(e.port)); }

class RelayTable {
    struct Entry; // below

public:
    explicit RelayTable(uint32_t size, uint8_t initial_state);

    uint32_t size() const { return size_; }

    RelaySnapshot read(uint32_t idx) const;

    // What relaying reads and the stamp it stores, through a copy of the
    // entries' address: a worker keeps a Reader in a register for a whole
    // burst, where the table's own members would be loaded again after
    // every store into a packet (a store that, for all the compiler knows,
    // may change them).
    class Reader {
    public:
        Reader() = default; // of no table: reads nothing
        // Steady relaying, the fast path: a packet from `peer`
        // (header_peer) that comes from one learned endpoint of a port whose
        // other endpoint is learned and already active goes there without
        // learning anything. Returns the slot it goes to (1 = A, 2 = B) with
        // that endpoint in `to`, or 0 when the packet needs the full learning
        // step, which is also the answer when a writer is at the entry: the
        // learning step waits for it and reads again. Reads only, in one
        // seqlock pass and without a loop, so that the compiler keeps the
        // fields in registers; the writer has worked out which sources
        // qualify (Entry::from_a, from_b).
        int steady(uint32_t idx, uint64_t peer, PackedEndpoint &to) const
        {
            const Entry &e = entries_[idx];
            const uint32_t seq = e.seq.load(std::memory_order_acquire);
            const bool from_a = e.from_a.load(std::memory_order_acquire) == peer;
            const bool from_b = e.from_b.load(std::memory_order_acquire) == peer;
            to.w0 = (from_a ? e.b0 : e.a0).load(std::memory_order_acquire);
            to.w1 = (from_a ? e.b1 : e.a1).load(std::memory_order_acquire);
            const int slot = from_a ? 2 : from_b ? 1 : 0;
            const bool stable = !(seq & 1) && e.seq.load(std::memory_order_relaxed) == seq;
            return stable ? slot : 0;
        }

        // Brings an entry towards the cache ahead of its use.
        void prefetch(uint32_t idx) const { __builtin_prefetch(&entries_[idx]); }

        // Stores the coarse clock for slot 1 (A) or 2 (B) if its second changed.
        void touch(uint32_t idx, int slot, uint32_t now) const
        {
            auto &seen = slot == 1 ? entries_[idx].seen_a : entries_[idx].seen_b;
            if (seen.load(std::memory_order_relaxed) != now)
                seen.store(now, std::memory_order_relaxed);
        }

    private:
        friend class RelayTable;
        explicit Reader(Entry *entries) : entries_(entries) {}
        Entry *entries_ = nullptr;
    };
    Reader reader() const { return Reader(entries_.data()); }

    int steady(uint32_t idx, uint64_t peer, PackedEndpoint &to) const
    {
        return reader().steady(idx, peer, to);
    }
    void touch(uint32_t idx, int slot, uint32_t now) { reader().touch(idx, slot, now); }

    // The full learning step for a packet from src, under the entry's write
    // lock. Only called when a read shows the step may change something (a
    // new endpoint, or an activity bit not yet set).
    LearnResult learn(uint32_t idx, const Endpoint &src, LearnClock now,
                      const LearnPolicy &policy = {});
    LearnResult learn(uint32_t idx, const Endpoint &src, uint32_t now)
    {
        return learn(idx, src, LearnClock{now, uint64_t(now) * 1000});
    }

    // Opens a learning window until second `until` (0 closes it): meanwhile a
    // strict or probation port takes a third endpoint as a reset-mode port
    // does. control: w, dataplane: r.
    void open_window(uint32_t idx, uint32_t until)
    {
        cold_[idx].window_until.store(until, std::memory_order_relaxed);
    }
    bool window_open(uint32_t idx, uint32_t now) const
    {
        return cold_[idx].window_until.load(std::memory_order_relaxed) >= now;
    }
    uint32_t window_until(uint32_t idx) const
    {
        return cold_[idx].window_until.load(std::memory_order_relaxed);
    }

    // Carries what learning keeps beside the endpoints of entry from_idx of
    // `from` (the learning window, the last reset for reset_interval, a
    // probation attempt) to entry idx: the later window and reset, and the
    // attempt unless idx has another of its own or got further with the same
    // one. A reload calls
    // it before it publishes the new table and again once no worker uses the
    // old one, for what workers did there meanwhile. Control side.
    void carry_learning(uint32_t idx, RelayTable &from, uint32_t from_idx);

    // Writes a state word (SPEC section 4 mask semantics); returns the new state.
    uint8_t write_state(uint32_t idx, uint8_t value);

    // Forgets the endpoints of entry idx that have sent nothing for `timeout`
    // seconds at `now`, as if they had never been learned: the other one, if
    // it stays, becomes A (SET1). Returns how many it forgot; with `forgotten`,
    // stores there the A and B it forgot (unknown: not forgotten).
    int expire(uint32_t idx, uint32_t now, uint32_t timeout, Endpoint *forgotten = nullptr);

    // Changes with every write to the entry (a reload copies what changed).
    uint32_t version(uint32_t idx) const { return entries_[idx].seq.load(std::memory_order_acquire); }

    // Overwrites an entry with a snapshot (carried over by a reload, or read
    // from a state file), if its version is still `expected` (any_version:
    // whatever it is). Returns whether it wrote.
    static constexpr uint32_t any_version = 1; // never a stable version: those are even
    bool restore(uint32_t idx, const RelaySnapshot &s, uint32_t expected = any_version);

private:
    static constexpr uint64_t no_peer = ~uint64_t(0); // never a header_peer: that has 48 bits
    struct alignas(64) Entry {
        std::atomic<uint32_t> seq{0};   // dataplane: rw (learning), control: rw
        std::atomic<uint32_t> state{0}; // the fields below: written only inside seq
        std::atomic<uint64_t> a0{0}, a1{0}, b0{0}, b1{0};
        // What steady() compares a packet's source with: A's header_peer
        // while A's packets go straight to B (both known, B active), B's
        // while B's go straight to A; otherwise no_peer. Written by store().
        std::atomic<uint64_t> from_a{no_peer}, from_b{no_peer};
        std::atomic<uint32_t> seen_a{0}, seen_b{0}; // outside seq: a torn age is harmless
    };
    static_assert(sizeof(Entry) == 64, "steady relaying reads one cache line a packet");

    // What only learning's slow path and the control side touch, apart
    // from the entries that steady relaying reads: the probation candidate
    // and the reset limit (under the entry's lock), the learning window.
    struct Cold {
        std::atomic<uint64_t> candidate{0}; // PackedEndpoint::peer of the source on probation
        std::atomic<uint64_t> candidate_since_ms{0};
        std::atomic<uint32_t> candidate_since_s{0};
        std::atomic<uint32_t> victim_seen{0}; // the replaced slot's last-seen when it began
        std::atomic<uint16_t> candidate_packets{0};
        std::atomic<uint8_t> victim{0}; // the slot it would replace: 1 A, 2 B
        std::atomic<uint32_t> window_until{0};
        std::atomic<uint32_t> last_reset{0};
    };

    uint32_t lock(Entry &e);
    // The step for a third endpoint on a port that knows two.
    Learn third_endpoint(uint32_t idx, const Endpoint &src, LearnClock now,
                         const LearnPolicy &policy);
    // Publishes a write; without one the version stays what it was.
    static void unlock(Entry &e, uint32_t seq, bool wrote = true)
    {
        e.seq.store(wrote ? seq + 2 : seq, std::memory_order_release);
    }
    static void store(Entry &e, uint8_t state, const Endpoint &a, const Endpoint &b);

    uint32_t size_;
    HugeArray<Entry> entries_;
    HugeArray<Cold> cold_;
};

} // namespace relay
