#include "telemetry_params.hpp"

#include "relay_state.hpp"

#include <cctype>
#include <cstdlib>

namespace relay {

bool page_start(const char *params, size_t max, uint32_t &start)
{
    start = 0;
    if (!params || !*params)
        return true;
    if (!std::isdigit(static_cast<unsigned char>(params[0])))
        return false;
    char *end = nullptr;
    const unsigned long v = std::strtoul(params, &end, 10);
    if (*end || v > max)
        return false;
    start = static_cast<uint32_t>(v);
    return true;
}

std::optional<uint32_t> parse_decimal(std::string_view s, uint32_t max)
{
    if (s.empty())
        return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return std::nullopt;
        v = v * 10 + uint64_t(c - '0');
        if (v > max)
            return std::nullopt;
    }
    return static_cast<uint32_t>(v);
}

std::optional<PortValue> split_port_value(const char *params)
{
    const std::string p = params ? params : "";
    const size_t comma = p.rfind(',');
    if (comma == std::string::npos)
        return std::nullopt;
    return PortValue{p.substr(0, comma), p.substr(comma + 1)};
}

bool port_number_params(const Tables &t, const char *params, uint32_t max, const char *usage,
                        uint32_t &entry, uint32_t &number, std::string &err)
{
    const auto pv = split_port_value(params);
    if (!pv) {
        err = usage;
        return false;
    }
    entry = t.find_entry(pv->port, err);
    if (entry == no_relay)
        return false;
    const auto n = parse_decimal(pv->value, max);
    if (!n) {
        err = "\"" + pv->value + "\" is not a number from 0 to " + std::to_string(max);
        return false;
    }
    number = *n;
    return true;
}

uint32_t port_params(const Tables &t, const char *params, std::string &err)
{
    return t.find_entry(params ? params : "", err);
}

bool set_params(const Tables &t, const char *params, uint32_t &entry, uint8_t &value,
                std::string &err)
{
    const auto pv = split_port_value(params);
    if (!pv) {
        err = "usage: /relay/set,PORT,VALUE";
        return false;
    }
    entry = t.find_entry(pv->port, err);
    if (entry == no_relay)
        return false;
    const auto v = parse_state_value(pv->value);
    if (!v) {
        err = "\"" + pv->value +
              "\" is not a state value (0-15 or a name such as reset, keep, disable)";
        return false;
    }
    value = *v;
    return true;
}

} // namespace relay
