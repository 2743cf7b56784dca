// The per-port endpoint table shared by every worker and the control thread.
//
// Memory-ordering protocol (a seqlock per relay port):
//  - `seq` is even when the entry is stable and odd while one writer is inside.
//  - Readers load seq (acquire), load the fields (acquire, which keeps the
//    second load after them) and load seq again; equal and even means the
//    fields are one whole write. A reader never writes, so relaying between
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

#include "ipv4.hpp"
#include "relay_state.hpp"

#include <atomic>
#include <cstdint>
#include <memory>

namespace relay {

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
    Endpoint to; // where to relay, for learned_b, to_a, to_b
};

class RelayTable {
public:
    explicit RelayTable(uint32_t size, uint8_t initial_state);

    uint32_t size() const { return size_; }

    RelaySnapshot read(uint32_t idx) const;

    // The full learning step for a packet from src, under the entry's write
    // lock, in `reset` mode. Only called when a read shows the step changes
    // something (a new endpoint, or an activity bit not yet set).
    LearnResult learn(uint32_t idx, const Endpoint &src, uint32_t now);

    // Writes a state word (SPEC section 4 mask semantics); returns the new state.
    uint8_t write_state(uint32_t idx, uint8_t value);

    // Stores the coarse clock for slot 1 (A) or 2 (B) if its second changed.
    void touch(uint32_t idx, int slot, uint32_t now)
    {
        auto &seen = slot == 1 ? entries_[idx].seen_a : entries_[idx].seen_b;
        if (seen.load(std::memory_order_relaxed) != now)
            seen.store(now, std::memory_order_relaxed);
    }

private:
    struct alignas(64) Entry {
        std::atomic<uint32_t> seq{0};   // dataplane: rw (learning), control: rw
        std::atomic<uint32_t> state{0}; // the fields below: written only inside seq
        std::atomic<uint64_t> a0{0}, a1{0}, b0{0}, b1{0};
        std::atomic<uint32_t> seen_a{0}, seen_b{0}; // outside seq: a torn age is harmless
    };

    uint32_t lock(Entry &e);
    static void unlock(Entry &e, uint32_t seq) { e.seq.store(seq + 2, std::memory_order_release); }
    static void store(Entry &e, uint8_t state, const Endpoint &a, const Endpoint &b);

    uint32_t size_;
    std::unique_ptr<Entry[]> entries_;
};

} // namespace relay
