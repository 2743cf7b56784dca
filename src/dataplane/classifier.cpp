#include "classifier.hpp"

#include <rte_byteorder.h>
#include <rte_errno.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <stdexcept>

namespace relay {

namespace {

enum Field { f_proto, f_src, f_dst, f_sport, f_dport, f_in, f_out, f_l4, field_count };

RTE_ACL_RULE_DEF(AclEntry, field_count);

// Input groups of four bytes after the one-byte first field, as rte_acl wants.
const rte_acl_field_def field_defs[field_count] = {
    {RTE_ACL_FIELD_TYPE_RANGE, 1, f_proto, 0, offsetof(AclKey, proto)},
    {RTE_ACL_FIELD_TYPE_MASK, 4, f_src, 1, offsetof(AclKey, src)},
    {RTE_ACL_FIELD_TYPE_MASK, 4, f_dst, 2, offsetof(AclKey, dst)},
    {RTE_ACL_FIELD_TYPE_RANGE, 2, f_sport, 3, offsetof(AclKey, sport)},
    {RTE_ACL_FIELD_TYPE_RANGE, 2, f_dport, 3, offsetof(AclKey, dport)},
    {RTE_ACL_FIELD_TYPE_RANGE, 1, f_in, 4, offsetof(AclKey, in_port)},
    {RTE_ACL_FIELD_TYPE_RANGE, 1, f_out, 4, offsetof(AclKey, out_port)},
    {RTE_ACL_FIELD_TYPE_BITMASK, 2, f_l4, 4, offsetof(AclKey, l4)},
};

AclEntry to_entry(const AclRule &r)
{
    AclEntry e{};
    e.data.category_mask = 1;
    e.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - r.order);
    e.data.userdata = r.rule + 1;
    e.field[f_proto].value.u8 = r.proto_lo;
    e.field[f_proto].mask_range.u8 = r.proto_hi;
    e.field[f_src].value.u32 = r.src;
    e.field[f_src].mask_range.u32 = r.src_len;
    e.field[f_dst].value.u32 = r.dst;
    e.field[f_dst].mask_range.u32 = r.dst_len;
    e.field[f_sport].value.u16 = r.sport_lo;
    e.field[f_sport].mask_range.u16 = r.sport_hi;
    e.field[f_dport].value.u16 = r.dport_lo;
    e.field[f_dport].mask_range.u16 = r.dport_hi;
    e.field[f_in].value.u8 = r.in_lo;
    e.field[f_in].mask_range.u8 = r.in_hi;
    e.field[f_out].value.u8 = r.out_lo;
    e.field[f_out].mask_range.u8 = r.out_hi;
    e.field[f_l4].value.u16 = r.needs_l4 ? 1 : 0;
    e.field[f_l4].mask_range.u16 = r.needs_l4 ? 1 : 0;
    return e;
}

} // namespace

Classifier::Classifier(const std::string &name, const std::vector<AclRule> &rules,
                       Method method)
    : size_(rules.size())
{
    auto mask = [](uint8_t len) { return len ? ~uint32_t(0) << (32 - len) : 0u; };
    std::vector<Linear> ordered;
    for (const AclRule &r : rules)
        ordered.push_back({r.rule, r.order, r.src & mask(r.src_len), mask(r.src_len),
                           r.dst & mask(r.dst_len), mask(r.dst_len), r.sport_lo, r.sport_hi,
                           r.dport_lo, r.dport_hi, r.proto_lo, r.proto_hi, r.in_lo, r.in_hi,
                           r.out_lo, r.out_hi, r.needs_l4});
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const Linear &a, const Linear &b) { return a.order < b.order; });
    if (method == Method::linear ||
        (method == Method::automatic && rules.size() <= linear_max)) {
        method_ = Method::linear;
        linear_ = std::move(ordered);
        return;
    }
    // The exact method pays off when few entries are left to try in order.
    size_t dst32 = 0, src32 = 0;
    for (const AclRule &r : rules) {
        dst32 += r.dst_len == 32;
        src32 += r.src_len == 32;
    }
    by_dst_ = dst32 >= src32;
    if (method == Method::exact ||
        (method == Method::automatic && rules.size() - std::max(dst32, src32) <= linear_max)) {
        build_exact(std::move(ordered));
        return;
    }
    method_ = Method::acl;

    // rte_acl_create returns an existing context of the same name: every
    // table gets its own.
    static std::atomic<unsigned> serial{0};
    const std::string unique = name + std::to_string(serial++);
    rte_acl_param param{};
    param.name = unique.c_str();
    param.socket_id = SOCKET_ID_ANY;
    param.rule_size = RTE_ACL_RULE_SZ(field_count);
    param.max_rule_num = static_cast<uint32_t>(rules.size() ? rules.size() : 1);
    ctx_ = rte_acl_create(&param);
    if (!ctx_)
        throw std::runtime_error("rule table " + name + ": cannot create: " +
                                 rte_strerror(rte_errno));
    std::vector<AclEntry> entries;
    entries.reserve(rules.size());
    for (const AclRule &r : rules)
        entries.push_back(to_entry(r));
    int rc = entries.empty() ? 0
                             : rte_acl_add_rules(ctx_, reinterpret_cast<rte_acl_rule *>(entries.data()),
                                                 static_cast<uint32_t>(entries.size()));
    rte_acl_config cfg{};
    cfg.num_categories = 1;
    cfg.num_fields = field_count;
    std::copy(std::begin(field_defs), std::end(field_defs), cfg.defs);
    if (rc == 0)
        rc = rte_acl_build(ctx_, &cfg);
    if (rc != 0) {
        rte_acl_free(ctx_);
        throw std::runtime_error("rule table " + name + ": cannot build " +
                                 std::to_string(rules.size()) + " rules: " + rte_strerror(-rc));
    }
}

void Classifier::build_exact(std::vector<Linear> entries)
{
    method_ = Method::exact;
    std::vector<Linear> keyed;
    for (size_t i = 0; i < entries.size(); i++) {
        Linear &e = entries[i];
        e.order = static_cast<uint32_t>(i); // a position: no two entries tie
        if ((by_dst_ ? e.dst_mask : e.src_mask) == ~0u)
            keyed.push_back(e);
        else
            linear_.push_back(e);
    }
    auto address = [this](const Linear &e) { return by_dst_ ? e.dst : e.src; };
    std::stable_sort(keyed.begin(), keyed.end(), [&address](const Linear &a, const Linear &b) {
        return address(a) < address(b);
    });
    std::vector<Ipv4> addresses;
    for (uint32_t i = 0; i < keyed.size(); i++) {
        if (i == 0 || address(keyed[i]) != address(keyed[i - 1])) {
            addresses.push_back(address(keyed[i]));
            buckets_.push_back({i, i});
        }
        buckets_.back().last = i + 1;
    }
    index_ = std::move(addresses);
    keyed_ = std::move(keyed);
}

Classifier::~Classifier() { rte_acl_free(ctx_); }

} // namespace relay
