// The neighbour (ARP) table: IPv4 address -> MAC of hosts on connected subnets.
//
// Concurrency: workers only read; one writer, the main lcore, applies what
// workers hand it over a ring (ARP replies and requests they saw) and the
// config's static entries. The rte_hash is created lock-free for readers
// (RW_CONCURRENCY_LF) and entries are never deleted, only marked invalid, so a
// position a reader got stays meaningful. An entry's MAC and flags share one
// 64-bit atomic, so a reader never sees a MAC half-written.
#pragma once

#include "ipv4.hpp"

#include <rte_hash.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace relay {

// What a worker saw in an ARP frame, handed to the main lcore.
struct NeighbourUpdate {
    Ipv4 address;
    uint16_t port;
    bool create; // a request or reply addressed to us; gratuitous ARP only refreshes
    Mac mac;
};

class NeighbourTable {
public:
    // Throws std::runtime_error if the hash or ring cannot be created.
    explicit NeighbourTable(uint32_t capacity);
    ~NeighbourTable();
    NeighbourTable(const NeighbourTable &) = delete;
    NeighbourTable &operator=(const NeighbourTable &) = delete;

    // Worker side. Returns false if unknown or invalid; `age` is seconds since
    // the entry was last confirmed (0 for static entries).
    bool lookup(Ipv4 address, Mac &mac, uint32_t now, uint32_t &age) const;
    // Hands an update to the main lcore; false if the ring is full.
    bool post(NeighbourUpdate u) { return rte_ring_mp_enqueue_elem(ring_, &u, sizeof u) == 0; }

    // Main lcore side (the single writer).
    void apply_updates(uint32_t now);
    bool set(Ipv4 address, uint16_t port, const Mac &mac, uint32_t now, bool is_static,
             bool create);
    // Learned entries not confirmed for max_age seconds become invalid.
    void expire(uint32_t now, uint32_t max_age);

    struct Entry {
        Ipv4 address;
        Mac mac;
        uint16_t port;
        bool is_static;
        uint32_t age;
    };
    std::vector<Entry> dump(uint32_t now) const;

private:
    static constexpr uint64_t valid = 1, is_static_flag = 2;
    struct Slot {
        std::atomic<uint64_t> word{0}; // mac << 16 | flags
        std::atomic<uint32_t> confirmed{0};
        std::atomic<uint16_t> port{0};
        Ipv4 address = 0; // written before the key is added, never after
    };

    rte_hash *hash_ = nullptr;
    rte_ring *ring_ = nullptr;
    std::unique_ptr<Slot[]> slots_;
};

} // namespace relay
