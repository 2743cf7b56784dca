// Internet checksum helpers.
//
// Incremental updates follow RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m').
// All 16-bit values are raw header words exactly as they sit in the packet
// (network byte order); one's complement arithmetic does not care about byte
// order as long as every operand uses the same one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace relay {

// Folds a 32-bit one's complement accumulator to 16 bits.
inline uint16_t csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// One's complement sum of a buffer, as raw 16-bit words; an odd last byte is
// padded with zero (RFC 1071).
inline uint32_t csum_add_bytes(uint32_t sum, const void *data, size_t len)
{
    const auto *p = static_cast<const uint8_t *>(data);
    while (len >= 2) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        sum += w;
        if (sum & 0x80000000u)
            sum = (sum & 0xffff) + (sum >> 16);
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = {*p, 0};
        uint16_t w;
        std::memcpy(&w, last, 2);
        sum += w;
    }
    return sum;
}

// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), for any number of changed fields:
// the sum of ~m + m' over them, kept apart from any checksum so that one
// difference serves every checksum covering the same fields (the IPv4 header
// and the TCP/UDP pseudo-header both cover the addresses). A 32-bit field is
// added as one word: one's complement sums do not care how words are grouped,
// since 2^16 = 1 modulo 2^16 - 1.
struct CsumDelta {
    uint64_t sum = 0;

    void add16(uint16_t old_word, uint16_t new_word)
    {
        sum += static_cast<uint16_t>(~old_word);
        sum += new_word;
    }
    void add32(uint32_t old_word, uint32_t new_word)
    {
        sum += static_cast<uint32_t>(~old_word);
        sum += new_word;
    }
    // add16(m, m - by) for a word that goes down by `by` without a borrow
    // out of it: ~m + (m - by) = 0xFFFF - by, whatever m is.
    void decrement16(uint16_t by) { sum += 0xffffu - by; }
    // add16(m, m): a word that leaves one field of the sum for another, as a
    // port moving from destination to source does. ~m + m = 0xFFFF.
    void add_zero16() { sum += 0xffffu; }
};

// A checksum with a difference applied. The folds add with end-around carry
// (RFC 1071): 64 to 32 bits as two halves and their carry, 32 to 16 as the
// top half of x + (x rotated by 16), which is hi + lo + the carry out of lo.
inline uint16_t csum_apply(uint16_t csum, const CsumDelta &d)
{
    const uint64_t s = d.sum + static_cast<uint16_t>(~csum);
    const auto hi = static_cast<uint32_t>(s >> 32);
    uint32_t x = static_cast<uint32_t>(s) + hi;
    x += x < hi;
    x += x << 16 | x >> 16;
    return static_cast<uint16_t>(~(x >> 16));
}

// One 16-bit word changing from old_word to new_word.
inline uint16_t csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    CsumDelta d;
    d.add16(old_word, new_word);
    return csum_apply(csum, d);
}

// The same for a 32-bit field (an IPv4 address).
inline uint16_t csum_update32(uint16_t csum, uint32_t old_word, uint32_t new_word)
{
    CsumDelta d;
    d.add32(old_word, new_word);
    return csum_apply(csum, d);
}

// A UDP checksum of 0 means "none" and stays 0; a computed 0 is sent as 0xFFFF
// (RFC 768). TCP has no such rule, so it uses csum_update* directly.
inline uint16_t udp_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    if (csum == 0)
        return 0;
    uint16_t r = csum_update16(csum, old_word, new_word);
    return r == 0 ? 0xffff : r;
}

inline uint16_t udp_csum_update32(uint16_t csum, uint32_t old_word, uint32_t new_word)
{
    if (csum == 0)
        return 0;
    uint16_t r = csum_update32(csum, old_word, new_word);
    return r == 0 ? 0xffff : r;
}

// Full IPv4 header checksum over ihl_bytes, with the checksum field taken as 0.
// Used by tests and debug builds as the oracle for the incremental updates.
inline uint16_t ipv4_header_csum(const void *hdr, size_t ihl_bytes)
{
    uint8_t copy[60];
    std::memcpy(copy, hdr, ihl_bytes);
    copy[10] = copy[11] = 0;
    return static_cast<uint16_t>(~csum_fold(csum_add_bytes(0, copy, ihl_bytes)));
}

// Full TCP/UDP checksum with the IPv4 pseudo-header; src and dst are raw
// (network order) addresses and l4 points at the L4 header, whose checksum
// field at csum_offset is taken as 0. For UDP a result of 0 becomes 0xFFFF.
inline uint16_t l4_full_csum(uint32_t src, uint32_t dst, uint8_t proto, const void *l4,
                             size_t l4_len, size_t csum_offset)
{
    uint32_t sum = 0;
    sum = csum_add_bytes(sum, &src, 4);
    sum = csum_add_bytes(sum, &dst, 4);
    uint8_t pseudo[4] = {0, proto, static_cast<uint8_t>(l4_len >> 8),
                         static_cast<uint8_t>(l4_len & 0xff)};
    sum = csum_add_bytes(sum, pseudo, 4);
    const auto *p = static_cast<const uint8_t *>(l4);
    sum = csum_add_bytes(sum, p, csum_offset);
    sum = csum_add_bytes(sum, p + csum_offset + 2, l4_len - csum_offset - 2);
    uint16_t r = static_cast<uint16_t>(~csum_fold(sum));
    if (proto == 17 && r == 0)
        r = 0xffff;
    return r;
}

} // namespace relay
