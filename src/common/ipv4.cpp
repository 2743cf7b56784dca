#include "ipv4.hpp"

#include <cstdio>

namespace relay {

namespace {

// Parses a decimal number in [0, max] with no sign, no leading '+', at most
// one leading zero; returns false on anything else.
bool parse_uint(std::string_view s, unsigned max, unsigned &out)
{
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + unsigned(c - '0');
    }
    if (v > max)
        return false;
    out = v;
    return true;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

std::optional<Ipv4> parse_ipv4(std::string_view s)
{
    Ipv4 a = 0;
    for (int i = 0; i < 4; i++) {
        size_t dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos)
            return std::nullopt;
        unsigned octet;
        if (!parse_uint(s.substr(0, dot), 255, octet))
            return std::nullopt;
        a = (a << 8) | octet;
        s = i < 3 ? s.substr(dot + 1) : std::string_view();
    }
    return a;
}

std::optional<Prefix> parse_prefix(std::string_view s, bool allow_host_bits)
{
    Prefix p;
    size_t slash = s.find('/');
    unsigned len = 32;
    if (slash != std::string_view::npos && !parse_uint(s.substr(slash + 1), 32, len))
        return std::nullopt;
    auto a = parse_ipv4(s.substr(0, slash));
    if (!a)
        return std::nullopt;
    p.len = static_cast<uint8_t>(len);
    p.addr = *a & p.mask();
    if (p.addr != *a && !allow_host_bits)
        return std::nullopt;
    return p;
}

std::optional<Mac> parse_mac(std::string_view s)
{
    Mac m;
    if (s.size() != 17)
        return std::nullopt;
    for (size_t i = 0; i < 6; i++) {
        int hi = hex_digit(s[i * 3]), lo = hex_digit(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
            return std::nullopt;
        m[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return m;
}

std::string format_ipv4(Ipv4 a)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
                  a & 0xff);
    return buf;
}

std::string format_prefix(const Prefix &p)
{
    return format_ipv4(p.addr) + "/" + std::to_string(p.len);
}

std::string format_mac(const Mac &m)
{
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                  m[5]);
    return buf;
}

} // namespace relay
