// A compiled rule table for one hook: rte_acl over a small per-packet key,
// first match by priority. Built on the control side from AclRule lists
// (control/rule_compiler.cpp expands negations and address sets into them),
// immutable afterwards, classified in bulk per burst.
#pragma once

#include "address_index.hpp"

#include <rte_acl.h>
#include <rte_byteorder.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace relay {

// What the ACL looks at, in network byte order as rte_acl reads it. Built per
// packet from the headers; ports are 0 and `l4` is 0 where there is no TCP/UDP
// header (other protocols, later fragments).
struct alignas(8) AclKey {
    uint8_t proto;
    uint8_t pad[3];
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t in_port, out_port;
    uint16_t l4; // 1 (big-endian) when sport/dport are real
};
static_assert(sizeof(AclKey) == 24, "AclKey layout is the ACL's field layout");

// One ACL rule: ranges are inclusive, prefixes are address + length, all host
// order. `rule` is the config rule index it came from; lower `order` wins.
struct AclRule {
    uint32_t rule = 0;
    uint32_t order = 0;
    uint8_t proto_lo = 0, proto_hi = 255;
    uint32_t src = 0;
    uint8_t src_len = 0;
    uint32_t dst = 0;
    uint8_t dst_len = 0;
    uint16_t sport_lo = 0, sport_hi = 65535;
    uint16_t dport_lo = 0, dport_hi = 65535;
    uint8_t in_lo = 0, in_hi = 255;
    uint8_t out_lo = 0, out_hi = 255;
    bool needs_l4 = false; // the rule matches ports: later fragments never match
};

constexpr uint32_t no_rule = ~0u;

class Classifier {
public:
    // How a table is looked up, chosen once when it is built: rte_acl's trie
    // costs about the same for one rule as for ten thousand, while trying a
    // handful of entries in order is several times cheaper than one trie walk.
    // `exact` serves tables whose entries nearly all match one destination
    // (DEST, RELAY) or one source (SOURCE) address: those entries are found
    // by that address in a hash table and tried in order, the others (at
    // most linear_max for `automatic`) tried in order after them, and the
    // first in the table's order of both answers, as in the other methods.
    enum class Method { automatic, acl, linear, exact };
    static constexpr size_t linear_max = 8; // entries; `automatic` goes linear up to here

    // Throws std::runtime_error if rte_acl cannot build the table.
    Classifier(const std::string &name, const std::vector<AclRule> &rules,
               Method method = Method::automatic);
    ~Classifier();
    Classifier(const Classifier &) = delete;
    Classifier &operator=(const Classifier &) = delete;

    // results[i] = config rule index of the first match for keys[i], or no_rule.
    void classify(const uint8_t **keys, uint32_t *results, uint32_t n) const
    {
        if (method_ == Method::exact && large()) {
            classify_exact(keys, results, n);
            return;
        }
        if (method_ == Method::exact) {
            for (uint32_t i = 0; i < n; i++) {
                const auto &k = *reinterpret_cast<const AclKey *>(keys[i]);
                const HostKey h(k);
                results[i] = exact_match(k, h, index_.index(by_dst_ ? h.dst : h.src));
            }
            return;
        }
        if (method_ == Method::linear) {
            for (uint32_t i = 0; i < n; i++)
                results[i] = first_match(*reinterpret_cast<const AclKey *>(keys[i]));
            return;
        }
        rte_acl_classify(ctx_, keys, results, n, 1);
        for (uint32_t i = 0; i < n; i++)
            results[i] -= 1; // userdata is rule + 1 (0 means no match): 0 - 1 == no_rule
    }

    size_t size() const { return size_; }
    // Large enough that lookups miss the cache and are worth prefetching for.
    static constexpr size_t large_min = 1024; // entries
    bool large() const { return size_ >= large_min; }
    Method method() const { return method_; }

private:
    // An AclRule for trying in order: host-order values and masks. `order`
    // is the entry's position in the table's order for the exact method.
    struct Linear {
        uint32_t rule, order;
        uint32_t src, src_mask, dst, dst_mask;
        uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
        uint8_t proto_lo, proto_hi, in_lo, in_hi, out_lo, out_hi;
        bool needs_l4;
    };
    // A key's fields in host order, as Linear entries hold theirs.
    struct HostKey {
        uint32_t src, dst;
        uint16_t sport, dport;
        explicit HostKey(const AclKey &k)
            : src(rte_be_to_cpu_32(k.src)), dst(rte_be_to_cpu_32(k.dst)),
              sport(rte_be_to_cpu_16(k.sport)), dport(rte_be_to_cpu_16(k.dport))
        {
        }
    };
    static bool matches(const Linear &e, const AclKey &k, const HostKey &h)
    {
        return k.proto >= e.proto_lo && k.proto <= e.proto_hi &&
               ((h.src ^ e.src) & e.src_mask) == 0 && ((h.dst ^ e.dst) & e.dst_mask) == 0 &&
               h.sport >= e.sport_lo && h.sport <= e.sport_hi && h.dport >= e.dport_lo &&
               h.dport <= e.dport_hi && k.in_port >= e.in_lo && k.in_port <= e.in_hi &&
               k.out_port >= e.out_lo && k.out_port <= e.out_hi && (k.l4 || !e.needs_l4);
    }
    uint32_t first_match(const AclKey &k) const
    {
        const HostKey h(k);
        for (const Linear &e : linear_)
            if (matches(e, k, h))
                return e.rule;
        return no_rule;
    }
    // The first match for k, whose address is in group b of index_ (-1: none).
    uint32_t exact_match(const AclKey &k, const HostKey &h, int b) const
    {
        uint32_t order = ~0u, rule = no_rule;
        if (b >= 0)
            for (uint32_t i = buckets_[b].first; i < buckets_[b].last; i++)
                if (matches(keyed_[i], k, h)) {
                    order = keyed_[i].order;
                    rule = keyed_[i].rule;
                    break;
                }
        for (const Linear &e : linear_) {
            if (e.order > order)
                break;
            if (matches(e, k, h))
                return e.rule;
        }
        return rule;
    }
    // Up to exact_chunk keys at a time in three passes, each prefetching what
    // the next one reads (the address's hash slot, its group, the group's
    // first entry): with thousands of rules each of them is a cache miss,
    // and a burst's misses then overlap instead of following one another.
    // Smaller tables stay in cache, where the passes would only cost
    // instructions.
    static constexpr uint32_t exact_chunk = 32;
    void classify_exact(const uint8_t **keys, uint32_t *results, uint32_t n) const
    {
        for (uint32_t base = 0; base < n; base += exact_chunk) {
            const uint32_t m = std::min(n - base, exact_chunk);
            Ipv4 address[exact_chunk];
            int group[exact_chunk];
            for (uint32_t i = 0; i < m; i++) {
                const auto *k = reinterpret_cast<const AclKey *>(keys[base + i]);
                address[i] = rte_be_to_cpu_32(by_dst_ ? k->dst : k->src);
                index_.prefetch(address[i]);
            }
            for (uint32_t i = 0; i < m; i++) {
                group[i] = index_.index(address[i]);
                if (group[i] >= 0)
                    __builtin_prefetch(&buckets_[group[i]]);
            }
            for (uint32_t i = 0; i < m; i++)
                if (group[i] >= 0)
                    __builtin_prefetch(&keyed_[buckets_[group[i]].first]);
            for (uint32_t i = 0; i < m; i++) {
                const auto *k = reinterpret_cast<const AclKey *>(keys[base + i]);
                results[base + i] = exact_match(*k, HostKey(*k), group[i]);
            }
        }
    }
    void build_exact(std::vector<Linear> entries);

    Method method_ = Method::linear;
    rte_acl_ctx *ctx_ = nullptr; // the acl method
    std::vector<Linear> linear_; // by order; for the exact method, the entries not keyed
    // The exact method: entries keyed by a single address, grouped by it
    // (index_ gives the group), each group by order.
    bool by_dst_ = true;
    AddressIndex index_;
    struct Bucket {
        uint32_t first, last;
    };
    std::vector<Bucket> buckets_;
    std::vector<Linear> keyed_;
    size_t size_ = 0;
};

} // namespace relay
