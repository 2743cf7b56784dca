// A list of IPv4 addresses with a direct lookup of an address's position:
// the box's own addresses (every packet to the box asks which one it is for,
// and a box may have dozens of aliases; an endpoint stores the index), and
// the single addresses that classifier entries match on (classifier.hpp).
#pragma once

#include "ipv4.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace relay {

class AddressIndex {
public:
    AddressIndex() { assign({}); }
    AddressIndex &operator=(std::vector<Ipv4> addresses)
    {
        assign(std::move(addresses));
        return *this;
    }

    operator const std::vector<Ipv4> &() const { return list_; }
    size_t size() const { return list_.size(); }
    bool empty() const { return list_.empty(); }
    Ipv4 operator[](size_t i) const { return list_[i]; }
    std::vector<Ipv4>::const_iterator begin() const { return list_.begin(); }
    std::vector<Ipv4>::const_iterator end() const { return list_.end(); }

    // The index of address a (host order) in the list, or -1. Open
    // addressing with linear probing over a table at most a quarter full,
    // whose multiplier is chosen when it is built so that few addresses
    // share a slot: usually one probe, whether a is in the list or not. An
    // empty slot holds an address that is not in the list and index -1, so
    // that a lookup of that address ends there too.
    int index(Ipv4 a) const
    {
        for (uint32_t i = home(a);; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.address == a)
                return s.index;
            if (s.index < 0)
                return -1;
        }
    }

    // Brings the slot where a lookup of a starts towards the cache, so that
    // a burst's lookups wait for memory together rather than one by one.
    void prefetch(Ipv4 a) const { __builtin_prefetch(&slots_[home(a)]); }

private:
    uint32_t home(Ipv4 a) const { return (a * multiplier_) >> shift_; }
    struct Slot {
        Ipv4 address;
        int32_t index;
    };
    void assign(std::vector<Ipv4> addresses);

    std::vector<Ipv4> list_;
    std::vector<Slot> slots_;
    uint32_t multiplier_ = 0, shift_ = 0, mask_ = 0;
};

} // namespace relay
