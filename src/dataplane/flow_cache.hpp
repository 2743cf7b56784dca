// A worker's exact-match cache of what the rule stages and the route decided
// for a flow: its DEST and SOURCE rules, its out port and next hop. A packet
// of a cached flow skips both classifier lookups, the box-address and
// martian checks and the route lookup; it still has its TTL, checksums,
// next hop's MAC and MTU dealt with as every packet does.
//
// Only whole TCP and UDP datagrams that the rules and the route forward are
// cached: those decisions depend on nothing but the key and the tables.
// Relayed, locally delivered and dropped packets, fragments and other
// protocols take the stages every time. The cache belongs to one table
// (Tables::generation): a reload empties it. Private to its worker: no
// atomics, no locks.
//
// Buckets of four entries in two cache lines: a new flow goes to the first
// way and pushes the others one way down, the last one out.
#pragma once

#include "classifier.hpp"
#include "huge_array.hpp"
#include "ipv4.hpp"

#include <rte_prefetch.h>

#include <cstdint>
#include <cstring>

namespace relay {

// A flow as the classifier keys name it, in network byte order.
struct FlowKey {
    uint64_t addresses; // src, then dst, as they sit in the header
    uint64_t rest;      // sport and dport as they sit in the header | proto << 32 | in_port << 40
};

class FlowCache {
public:
    struct Entry {
        uint64_t addresses = 0;
        uint64_t rest = 0; // FlowKey::rest | out_port << 48; 0: empty (proto is never 0)
        uint32_t dest_rule = no_rule, source_rule = no_rule;
        Ipv4 next_hop = 0;

        uint16_t out_port() const { return static_cast<uint16_t>(rest >> 48); }
    };
    static constexpr uint32_t no_bucket = ~0u;
    static constexpr unsigned bucket_bits = 13;
    static constexpr uint32_t buckets = 1u << bucket_bits;
    static constexpr unsigned ways = 4; // 32,768 flows in 1 MiB

    FlowCache() : buckets_(buckets) {}

    static uint32_t bucket_of(const FlowKey &k)
    {
        const uint64_t h = (k.addresses ^ (k.rest * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
        return static_cast<uint32_t>(h >> (64 - bucket_bits));
    }
    void prefetch(uint32_t b) const
    {
        rte_prefetch0(&buckets_[b].way[0]);
        rte_prefetch0(&buckets_[b].way[ways / 2]);
    }

    const Entry *find(uint32_t b, const FlowKey &k) const
    {
        for (const Entry &e : buckets_[b].way)
            if (holds(e, k))
                return &e;
        return nullptr;
    }

    void insert(uint32_t b, const FlowKey &k, uint16_t out_port, uint32_t dest_rule,
                uint32_t source_rule, Ipv4 next_hop)
    {
        Bucket &bk = buckets_[b];
        if (!holds(bk.way[0], k)) // two packets of a new flow in one burst: one entry
            for (unsigned w = ways - 1; w > 0; w--)
                bk.way[w] = bk.way[w - 1];
        bk.way[0] = Entry{k.addresses, k.rest | uint64_t(out_port) << 48, dest_rule, source_rule,
                          next_hop};
    }

    // Forgets every flow: the decisions of another table.
    void clear() { std::memset(static_cast<void *>(buckets_.data()), 0, buckets * sizeof(Bucket)); }

private:
    static bool holds(const Entry &e, const FlowKey &k)
    {
        return e.addresses == k.addresses && ((e.rest ^ k.rest) << 16) == 0;
    }
    struct alignas(64) Bucket {
        Entry way[ways];
    };
    static_assert(sizeof(Entry) == 32, "two entries a cache line");
    HugeArray<Bucket> buckets_;
};

} // namespace relay
