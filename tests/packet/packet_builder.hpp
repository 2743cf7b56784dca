// A small fluent builder for test frames:
//   Packet().eth(dst, src).ipv4(src, dst).udp(3000, 5000).payload(10).bytes()
// Lengths and checksums are filled in by a full computation when the frame is
// built (the independent oracle for the dataplane's incremental fixups), unless
// a test overrides them to build a broken frame.
#pragma once

#include "checksum.hpp"
#include "ipv4.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace relay::test {

class Packet {
public:
    Packet &eth(const Mac &dst, const Mac &src, uint16_t type = 0x0800)
    {
        put(dst.data(), 6);
        put(src.data(), 6);
        put16(type);
        return *this;
    }

    Packet &ipv4(Ipv4 src, Ipv4 dst, uint8_t ttl = 64, uint8_t proto = 17,
                 std::vector<uint8_t> options = {})
    {
        ip_ = b_.size();
        const uint8_t ihl = static_cast<uint8_t>(5 + options.size() / 4);
        b_.push_back(static_cast<uint8_t>(0x40 | ihl));
        b_.push_back(0);
        put16(0); // total length: at build
        put16(0x1234);
        put16(frag_);
        b_.push_back(ttl);
        b_.push_back(proto);
        put16(0); // checksum: at build
        put32(src);
        put32(dst);
        b_.insert(b_.end(), options.begin(), options.end());
        return *this;
    }

    Packet &udp(uint16_t sport, uint16_t dport)
    {
        l4_ = b_.size();
        proto_ = 17;
        put16(sport);
        put16(dport);
        put16(0);
        put16(0);
        return *this;
    }

    Packet &icmp_echo(uint8_t type = 8, uint16_t id = 7, uint16_t seq = 1)
    {
        l4_ = b_.size();
        proto_ = 1;
        b_.push_back(type);
        b_.push_back(0);
        put16(0);
        put16(id);
        put16(seq);
        return *this;
    }

    Packet &arp(uint16_t op, const Mac &sha, Ipv4 sip, const Mac &tha, Ipv4 tip)
    {
        put16(1);
        put16(0x0800);
        b_.push_back(6);
        b_.push_back(4);
        put16(op);
        put(sha.data(), 6);
        put32(sip);
        put(tha.data(), 6);
        put32(tip);
        return *this;
    }

    Packet &payload(size_t n, uint8_t seed = 0)
    {
        for (size_t i = 0; i < n; i++)
            b_.push_back(static_cast<uint8_t>(seed + i * 7));
        return *this;
    }

    // Overrides, to build broken or special frames. Call before ipv4() for frag.
    Packet &frag(uint16_t flags_offset) { frag_ = flags_offset; return *this; }
    Packet &no_udp_csum() { udp_csum_ = false; return *this; }
    Packet &total_length(uint16_t v) { total_ = v; return *this; }
    Packet &udp_length(uint16_t v) { udp_len_ = v; return *this; }
    Packet &ihl(uint8_t v) { ihl_ = v; return *this; }
    Packet &bad_ip_csum() { bad_ip_ = true; return *this; }
    Packet &truncate(size_t n) { cut_ = n; return *this; }

    std::vector<uint8_t> bytes() const
    {
        std::vector<uint8_t> f = b_;
        if (ip_) {
            const size_t ihl_bytes = size_t(f[ip_] & 0xf) * 4;
            set16(f, ip_ + 2, total_ ? *total_ : uint16_t(f.size() - ip_));
            if (l4_ && proto_ == 17) {
                const uint16_t len = udp_len_ ? *udp_len_ : uint16_t(f.size() - l4_);
                set16(f, l4_ + 4, len);
                if (udp_csum_) {
                    uint32_t s, d;
                    std::memcpy(&s, &f[ip_ + 12], 4);
                    std::memcpy(&d, &f[ip_ + 16], 4);
                    uint16_t c = l4_full_csum(s, d, 17, &f[l4_], f.size() - l4_, 6);
                    std::memcpy(&f[l4_ + 6], &c, 2);
                }
            } else if (l4_ && proto_ == 1) {
                f[l4_ + 2] = f[l4_ + 3] = 0;
                uint16_t c = static_cast<uint16_t>(
                    ~csum_fold(csum_add_bytes(0, &f[l4_], f.size() - l4_)));
                std::memcpy(&f[l4_ + 2], &c, 2);
            }
            uint16_t c = ipv4_header_csum(&f[ip_], ihl_bytes);
            if (bad_ip_)
                c = static_cast<uint16_t>(c ^ 0x5a5a);
            std::memcpy(&f[ip_ + 10], &c, 2);
            if (ihl_)
                f[ip_] = static_cast<uint8_t>(0x40 | *ihl_);
        }
        if (cut_)
            f.resize(*cut_);
        return f;
    }

private:
    void put(const uint8_t *p, size_t n) { b_.insert(b_.end(), p, p + n); }
    void put16(uint16_t v)
    {
        b_.push_back(static_cast<uint8_t>(v >> 8));
        b_.push_back(static_cast<uint8_t>(v));
    }
    void put32(uint32_t v)
    {
        put16(static_cast<uint16_t>(v >> 16));
        put16(static_cast<uint16_t>(v));
    }
    static void set16(std::vector<uint8_t> &f, size_t at, uint16_t v)
    {
        f[at] = static_cast<uint8_t>(v >> 8);
        f[at + 1] = static_cast<uint8_t>(v);
    }

    std::vector<uint8_t> b_;
    size_t ip_ = 0, l4_ = 0;
    uint8_t proto_ = 0;
    uint16_t frag_ = 0;
    bool udp_csum_ = true, bad_ip_ = false;
    std::optional<uint16_t> total_, udp_len_;
    std::optional<uint8_t> ihl_;
    std::optional<size_t> cut_;
};

// Hex dump of the first difference, for failure messages.
inline std::string diff_frames(const std::vector<uint8_t> &got, const std::vector<uint8_t> &want)
{
    if (got == want)
        return "identical";
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i])
        i++;
    char buf[160];
    std::snprintf(buf, sizeof buf, "lengths %zu/%zu, first difference at byte %zu: got %02x want %02x",
                  got.size(), want.size(), i, i < got.size() ? got[i] : 0,
                  i < want.size() ? want[i] : 0);
    return buf;
}

} // namespace relay::test
