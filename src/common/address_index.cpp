#include "address_index.hpp"

#include <algorithm>
#include <utility>

namespace relay {

void AddressIndex::assign(std::vector<Ipv4> addresses)
{
    list_ = std::move(addresses);
    std::vector<Ipv4> sorted = list_;
    std::sort(sorted.begin(), sorted.end());
    Ipv4 empty = 0;
    while (std::binary_search(sorted.begin(), sorted.end(), empty))
        empty++;
    // The multiplier that leaves fewest addresses out of their home slot,
    // from a fixed sequence of odd numbers (Knuth's multiplicative hashing);
    // for a short list (the box's addresses) a table up to 8 times bigger if
    // none places every one at home. A long one (classifier entries) would
    // not fit in cache at that size, and a few collisions cost less.
    constexpr size_t short_list = 64;
    uint32_t bits = 4;
    while ((size_t(1) << bits) < 4 * list_.size())
        bits++;
    const uint32_t max_bits = list_.size() <= short_list ? bits + 3 : bits;
    const int attempts = list_.size() <= short_list ? 64 : 8;
    uint64_t best = ~uint64_t(0);
    std::vector<Slot> slots;
    for (; bits <= max_bits && best != 0; bits++) {
        const uint32_t size = 1u << bits;
        uint32_t m = 0x9e3779b1u;
        for (int attempt = 0; attempt < attempts && best != 0;
             attempt++, m = (m * 0x2c1b3c6du + 0x297a2d38u) | 1u) {
            slots.assign(size, Slot{empty, -1});
            uint64_t displaced = 0;
            for (size_t k = 0; k < list_.size(); k++) {
                const Ipv4 a = list_[k];
                uint32_t i = (a * m) >> (32 - bits);
                while (slots[i].index >= 0 && slots[i].address != a) {
                    i = (i + 1) & (size - 1);
                    displaced++;
                }
                if (slots[i].index < 0) // a repeated address keeps its first index
                    slots[i] = Slot{a, static_cast<int32_t>(k)};
            }
            if (displaced < best) {
                best = displaced;
                slots_ = slots;
                multiplier_ = m;
                shift_ = 32 - bits;
                mask_ = size - 1;
            }
        }
    }
}

} // namespace relay
