#include "relay_state.hpp"

#include <cctype>

namespace relay {

std::string state_names(uint8_t s)
{
    static const char *const set_names[] = {"DISABLE", "SET0", "SET1", "SET2"};
    if (s == state::all)
        return "ALL";
    std::string out = set_names[s & state::set_mask];
    if ((s & state::active) == state::active)
        out += "|ACTIVE";
    else if (s & state::active1)
        out += "|ACTIVE1";
    else if (s & state::active2)
        out += "|ACTIVE2";
    return out;
}

std::optional<uint8_t> parse_state_value(std::string_view s)
{
    if (s.empty() || s.size() > 16)
        return std::nullopt;
    if (std::isdigit(static_cast<unsigned char>(s[0]))) {
        unsigned v = 0;
        for (char c : s) {
            if (!std::isdigit(static_cast<unsigned char>(c)))
                return std::nullopt;
            v = v * 10 + unsigned(c - '0');
            if (v > 15)
                return std::nullopt;
        }
        return static_cast<uint8_t>(v);
    }
    std::string lower;
    for (char c : s)
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const struct {
        const char *name;
        uint8_t value;
    } names[] = {
        {"disable", state::disable}, {"disabled", state::disable}, {"set0", state::set0},
        {"enable", state::set0},     {"reset", state::set0},       {"set1", state::set1},
        {"keepa", state::set1},      {"relearn", state::set1},     {"set2", state::set2},
        {"keepboth", state::set2},   {"active1", state::active1},  {"active2", state::active2},
        {"active", state::active},   {"all", state::all},          {"keep", state::all},
    };
    for (const auto &n : names)
        if (lower == n.name)
            return n.value;
    return std::nullopt;
}

const char *learning_mode_name(LearningMode m)
{
    switch (m) {
    case LearningMode::reset: return "reset";
    case LearningMode::strict: return "strict";
    case LearningMode::probation: return "probation";
    }
    return "?";
}

} // namespace relay
