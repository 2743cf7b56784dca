// A compiled rule table for one hook: rte_acl over a small per-packet key,
// first match by priority. Built on the control side from AclRule lists
// (control/rule_compiler.cpp expands negations and address sets into them),
// immutable afterwards, classified in bulk per burst.
#pragma once

#include <rte_acl.h>

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
    enum class Method { automatic, acl, linear };
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
        if (!ctx_) {
            for (uint32_t i = 0; i < n; i++)
                results[i] = first_match(*reinterpret_cast<const AclKey *>(keys[i]));
            return;
        }
        rte_acl_classify(ctx_, keys, results, n, 1);
        for (uint32_t i = 0; i < n; i++)
            results[i] -= 1; // userdata is rule + 1 (0 means no match): 0 - 1 == no_rule
    }

    size_t size() const { return size_; }
    Method method() const { return ctx_ ? Method::acl : Method::linear; }

private:
    // An AclRule for trying in order: host-order values and masks.
    struct Linear {
        uint32_t rule, order;
        uint32_t src, src_mask, dst, dst_mask;
        uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
        uint8_t proto_lo, proto_hi, in_lo, in_hi, out_lo, out_hi;
        bool needs_l4;
    };
    uint32_t first_match(const AclKey &k) const;

    rte_acl_ctx *ctx_ = nullptr; // null: the linear method
    std::vector<Linear> linear_; // by order
    size_t size_ = 0;
};

} // namespace relay
