// IPv4 addresses, prefixes and MAC addresses as plain values.
// Addresses are kept in host byte order everywhere except inside packets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

using Ipv4 = uint32_t; // host byte order

struct Prefix {
    Ipv4 addr = 0; // already masked
    uint8_t len = 0;

    Ipv4 mask() const { return len == 0 ? 0 : ~Ipv4(0) << (32 - len); }
    bool contains(Ipv4 a) const { return (a & mask()) == addr; }
    bool operator==(const Prefix &o) const { return addr == o.addr && len == o.len; }
};

using Mac = std::array<uint8_t, 6>;

// The box's addresses on one port: the one that names its subnet, and aliases.
struct PortAddresses {
    Ipv4 address = 0;
    std::vector<Ipv4> aliases;

    bool owns(Ipv4 a) const
    {
        if (a == address)
            return true;
        for (Ipv4 x : aliases)
            if (x == a)
                return true;
        return false;
    }
};

std::optional<Ipv4> parse_ipv4(std::string_view s);
// "a.b.c.d" or "a.b.c.d/len"; host bits must be zero unless allow_host_bits.
std::optional<Prefix> parse_prefix(std::string_view s, bool allow_host_bits = false);
std::optional<Mac> parse_mac(std::string_view s);
std::string format_ipv4(Ipv4 a);
std::string format_prefix(const Prefix &p);
std::string format_mac(const Mac &m);

// Addresses a relay must never learn or send to, whatever the config says:
// 0.0.0.0/8, 127.0.0.0/8, multicast 224.0.0.0/4, class E and limited broadcast.
inline bool is_martian(Ipv4 a)
{
    const uint8_t first = static_cast<uint8_t>(a >> 24);
    return first == 0 || first == 127 || first >= 224;
}

} // namespace relay
