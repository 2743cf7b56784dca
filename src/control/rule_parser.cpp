// Rules in iptables spelling, and the vocabulary and checks that both rule
// spellings share, so that "-A PREROUTING -p udp --dport 3000:3099 -j RELAY"
// and its mapping form become the same Rule and are refused for the same
// reasons.
#include "config.hpp"

#include <array>
#include <cctype>

namespace relay {

namespace {

bool iequal(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); i++)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string quoted(std::string_view s)
{
    return "\"" + std::string(s) + "\"";
}

// Plain decimal digits only: "+5", "0x10" and "5 " are not numbers here.
std::optional<unsigned> number(std::string_view s, unsigned max)
{
    if (s.empty() || s.size() > 5)
        return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + unsigned(c - '0');
    }
    if (v > max)
        return std::nullopt;
    return v;
}

const char *proto_name(uint8_t p)
{
    switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    default: return nullptr;
    }
}

std::string format_ports(const PortRange &r)
{
    if (r.lo == r.hi)
        return std::to_string(r.lo);
    return std::to_string(r.lo) + ":" + std::to_string(r.hi);
}

} // namespace

const char *target_name(Target t)
{
    switch (t) {
    case Target::relay: return "RELAY";
    case Target::dest: return "DEST";
    case Target::source: return "SOURCE";
    }
    return "?";
}

namespace syntax {

std::optional<Hook> hook(std::string_view s)
{
    if (iequal(s, "prerouting"))
        return Hook::prerouting;
    if (iequal(s, "postrouting"))
        return Hook::postrouting;
    return std::nullopt;
}

std::optional<Target> target(std::string_view s, std::string &why)
{
    for (Target t : {Target::relay, Target::dest, Target::source})
        if (iequal(s, target_name(t)))
            return t;
    why = quoted(s) + " is not a target (RELAY, DEST or SOURCE)";
    return std::nullopt;
}

std::optional<uint8_t> proto(std::string_view s, std::string &why)
{
    for (uint8_t p : {1, 6, 17})
        if (iequal(s, proto_name(p)))
            return p;
    // 0 means "any protocol" to iptables; here that is spelled by leaving -p out.
    auto n = number(s, 255);
    if (n && *n != 0)
        return static_cast<uint8_t>(*n);
    why = quoted(s) + " is not a protocol (udp, tcp, icmp or a number 1-255)";
    return std::nullopt;
}

std::optional<Prefix> prefix(std::string_view s, std::string &why)
{
    if (auto p = parse_prefix(s))
        return p;
    if (auto loose = parse_prefix(s, true))
        why = quoted(s) + " has host bits set (the prefix is " + format_prefix(*loose) + ")";
    else
        why = quoted(s) + " is not an IPv4 address or prefix";
    return std::nullopt;
}

std::optional<PortRange> ports(std::string_view s, char sep, std::string &why)
{
    PortRange r;
    const size_t at = s.find(sep);
    std::optional<unsigned> lo, hi;
    if (at == std::string_view::npos) {
        lo = hi = number(s, 65535);
    } else if (sep == ':' && (at == 0 || at + 1 == s.size()) && s.size() > 1) {
        // iptables' open ends: ":1023" is 0:1023, "1024:" is 1024:65535.
        lo = at == 0 ? 0 : number(s.substr(0, at), 65535);
        hi = at == 0 ? number(s.substr(1), 65535) : 65535;
    } else {
        lo = number(s.substr(0, at), 65535);
        hi = number(s.substr(at + 1), 65535);
    }
    if (!lo || !hi || *lo > *hi) {
        why = quoted(s) + " is not a port or range (0-65535)";
        return std::nullopt;
    }
    r.lo = static_cast<uint16_t>(*lo);
    r.hi = static_cast<uint16_t>(*hi);
    return r;
}

std::optional<Ipv4> address(std::string_view s, std::string &why)
{
    auto a = parse_ipv4(s);
    if (!a) {
        why = quoted(s) + " is not an IPv4 address";
        return std::nullopt;
    }
    if (is_martian(*a)) {
        why = quoted(s) + " is not a usable address (zero, loopback, multicast or reserved)";
        return std::nullopt;
    }
    return a;
}

} // namespace syntax

std::optional<RuleProblem> check_rule(Rule &r, bool iptables)
{
    const Match &m = r.match;
    const bool relay = r.target == Target::relay;
    const std::string j = std::string(iptables ? "-j " : "") + target_name(r.target);
    auto name = [iptables](const char *mapping, const char *ipt) {
        return std::string(iptables ? ipt : mapping);
    };
    const std::string pre = name("prerouting", "PREROUTING");
    const std::string post = name("postrouting", "POSTROUTING");

    const Hook wanted = r.target == Target::source ? Hook::postrouting : Hook::prerouting;
    if (r.hook != wanted)
        return RuleProblem{"target",
                           j + " only works in " + (wanted == Hook::prerouting ? pre : post)};
    if (relay && r.to != 0)
        return RuleProblem{"to", j + " takes no " + name("\"to\"", "--to")};
    if (!relay && r.to == 0)
        return RuleProblem{"to", j + " needs " + name("\"to\"", "--to=ADDR") + " (the new " +
                                     (r.target == Target::dest ? "destination" : "source") +
                                     " address)"};
    if (r.hook == Hook::prerouting && m.out_port.present())
        return RuleProblem{"match.out_port", name("out_port", "-o") + " only works in " + post +
                                                 " (routing chooses the out port)"};
    if (relay) {
        if (m.proto.present() && (m.proto.negate || *m.proto.value != 17))
            return RuleProblem{"match.proto", j + " relays udp only (use " +
                                                  name("proto: udp", "-p udp") +
                                                  " or leave it out)"};
        if (!m.dport.present())
            return RuleProblem{"match.dport", j + " needs " + name("dport", "--dport") +
                                                  " (the range of relay ports)"};
        if (m.dport.negate)
            return RuleProblem{"match.dport", j + " cannot negate " + name("dport", "--dport")};
        if (m.dst.present() && m.dst.negate)
            return RuleProblem{"match.dst", j + " cannot negate " + name("dst", "-d")};
        if (m.dst.present() && m.dst.value->len != 32)
            return RuleProblem{"match.dst", j + " needs " + name("dst", "-d") +
                                                " to be one address of the box, not the prefix " +
                                                format_prefix(*m.dst.value)};
    }
    const bool has_ports =
        !m.proto.negate && m.proto.present() && (*m.proto.value == 6 || *m.proto.value == 17);
    if (!has_ports && !relay) {
        if (m.sport.present())
            return RuleProblem{"match.sport",
                               name("sport", "--sport") + " needs " +
                                   name("proto udp or tcp", "-p udp or -p tcp")};
        if (m.dport.present())
            return RuleProblem{"match.dport",
                               name("dport", "--dport") + " needs " +
                                   name("proto udp or tcp", "-p udp or -p tcp")};
    }
    if (relay && !m.proto.present())
        r.match.proto.value = 17;
    return std::nullopt;
}

namespace {

enum class Opt { append, in_port, out_port, proto, src, dst, sport, dport, jump, to, match };

struct OptName {
    const char *name;
    Opt opt;
};

constexpr std::array<OptName, 23> option_names{{
    {"-A", Opt::append},
    {"--append", Opt::append},
    {"-i", Opt::in_port},
    {"--in-interface", Opt::in_port},
    {"-o", Opt::out_port},
    {"--out-interface", Opt::out_port},
    {"-p", Opt::proto},
    {"--protocol", Opt::proto},
    {"-s", Opt::src},
    {"--source", Opt::src},
    {"--src", Opt::src},
    {"-d", Opt::dst},
    {"--destination", Opt::dst},
    {"--dst", Opt::dst},
    {"--sport", Opt::sport},
    {"--source-port", Opt::sport},
    {"--dport", Opt::dport},
    {"--destination-port", Opt::dport},
    {"-j", Opt::jump},
    {"--jump", Opt::jump},
    {"--to", Opt::to},
    // iptables-save writes "-p udp -m udp --dport ..."; the -m is implied here.
    {"-m", Opt::match},
    {"--match", Opt::match},
}};

bool negatable(Opt o)
{
    return o == Opt::in_port || o == Opt::out_port || o == Opt::proto || o == Opt::src ||
           o == Opt::dst || o == Opt::sport || o == Opt::dport;
}

// One iptables rule being read, so that every error can quote the rule.
class RuleReader {
public:
    RuleReader(std::string_view text, const SourceMark &mark, std::string_view key)
        : text_(text), mark_(mark), key_(key)
    {
        size_t i = 0;
        while (i < text.size()) {
            while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
                i++;
            size_t start = i;
            while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])))
                i++;
            if (i > start)
                tokens_.push_back(text.substr(start, i - start));
        }
    }

    [[noreturn]] void fail(const std::string &what) const
    {
        std::string msg = mark_.str();
        if (!msg.empty())
            msg += ": ";
        if (!key_.empty())
            msg += std::string(key_) + ": ";
        throw ConfigError(msg + what + " in " + quoted(text_));
    }

    Rule read()
    {
        Rule r;
        if (tokens_.empty())
            fail("empty rule (expected \"-A PREROUTING ...\" or \"-A POSTROUTING ...\")");
        if (find(tokens_[0]) != Opt::append)
            fail("a rule starts with \"-A PREROUTING\" or \"-A POSTROUTING\", not " +
                 quoted(tokens_[0]));
        if (tokens_.size() < 2)
            fail(quoted(tokens_[0]) + " needs a chain (PREROUTING or POSTROUTING)");
        auto hook = syntax::hook(tokens_[1]);
        if (!hook)
            fail("unknown chain " + quoted(tokens_[1]) + " (PREROUTING or POSTROUTING)");
        r.hook = *hook;

        bool seen[int(Opt::match) + 1] = {};
        seen[int(Opt::append)] = true;
        std::optional<uint8_t> match_proto;
        bool negate = false;
        for (size_t i = 2; i < tokens_.size(); i++) {
            std::string_view tok = tokens_[i];
            if (tok == "!") {
                if (negate)
                    fail("\"!\" given twice");
                if (i + 1 == tokens_.size())
                    fail("\"!\" at the end (it negates the option after it)");
                negate = true;
                continue;
            }
            // getopt_long accepts "--dport=3000" as well as "--dport 3000".
            std::string_view name = tok, value;
            bool inline_value = false;
            if (tok.substr(0, 2) == "--" && tok.find('=') != std::string_view::npos) {
                name = tok.substr(0, tok.find('='));
                value = tok.substr(tok.find('=') + 1);
                inline_value = true;
            }
            auto opt = find(name);
            if (!opt)
                fail("unknown option " + quoted(tok));
            if (negate && !negatable(*opt))
                fail("\"!\" cannot negate " + quoted(name));
            if (seen[int(*opt)])
                fail(quoted(name) + " given twice");
            seen[int(*opt)] = true;
            if (!inline_value) {
                if (i + 1 == tokens_.size())
                    fail(quoted(name) + " needs a value");
                value = tokens_[++i];
            }
            if (value.empty())
                fail(quoted(name) + " needs a value");
            if (value == "!")
                fail("\"!\" goes before the option: \"! " + std::string(name) + " VALUE\"");
            apply(r, *opt, name, value, negate, match_proto);
            negate = false;
        }
        if (!seen[int(Opt::jump)])
            fail("no target (-j RELAY, -j DEST or -j SOURCE)");
        if (match_proto) {
            const MatchField<uint8_t> &p = r.match.proto;
            // -m udp is what iptables needs to load --dport; it implies nothing itself.
            if (!p.present() || p.negate || *p.value != *match_proto)
                fail("\"-m " + std::string(proto_name(*match_proto)) + "\" needs \"-p " +
                     proto_name(*match_proto) + "\"");
        }
        if (auto problem = check_rule(r, true))
            fail(problem->what);
        r.text = format_rule(r);
        r.mark = mark_;
        return r;
    }

private:
    static std::optional<Opt> find(std::string_view name)
    {
        for (const OptName &o : option_names)
            if (name == o.name)
                return o.opt;
        return std::nullopt;
    }

    template <typename T>
    void set(MatchField<T> &f, std::optional<T> v, bool negate, std::string_view name,
             const std::string &why) const
    {
        if (!v)
            fail(std::string(name) + ": " + why);
        f.value = std::move(v);
        f.negate = negate;
    }

    void apply(Rule &r, Opt opt, std::string_view name, std::string_view value, bool negate,
               std::optional<uint8_t> &match_proto) const
    {
        std::string why;
        Match &m = r.match;
        switch (opt) {
        case Opt::in_port:
            set(m.in_port, std::optional<std::string>(value), negate, name, why);
            break;
        case Opt::out_port:
            set(m.out_port, std::optional<std::string>(value), negate, name, why);
            break;
        case Opt::proto: set(m.proto, syntax::proto(value, why), negate, name, why); break;
        case Opt::src: set(m.src, syntax::prefix(value, why), negate, name, why); break;
        case Opt::dst: set(m.dst, syntax::prefix(value, why), negate, name, why); break;
        case Opt::sport: set(m.sport, syntax::ports(value, ':', why), negate, name, why); break;
        case Opt::dport: set(m.dport, syntax::ports(value, ':', why), negate, name, why); break;
        case Opt::jump: {
            auto t = syntax::target(value, why);
            if (!t)
                fail(std::string(name) + ": " + why);
            r.target = *t;
            break;
        }
        case Opt::to: {
            auto a = syntax::address(value, why);
            if (!a)
                fail(std::string(name) + ": " + why);
            r.to = *a;
            break;
        }
        case Opt::match:
            if (iequal(value, "udp") || iequal(value, "tcp"))
                match_proto = iequal(value, "udp") ? 17 : 6;
            else
                fail(std::string(name) + ": " + quoted(value) +
                     " is not supported (only -m udp and -m tcp, which -p implies)");
            break;
        case Opt::append: break; // rejected as "given twice" before it gets here
        }
    }

    std::string_view text_;
    const SourceMark &mark_;
    std::string_view key_;
    std::vector<std::string_view> tokens_;
};

} // namespace

Rule parse_iptables_rule(std::string_view text, const SourceMark &mark, std::string_view key)
{
    return RuleReader(text, mark, key).read();
}

std::string format_rule(const Rule &r)
{
    std::string s = r.hook == Hook::prerouting ? "-A PREROUTING" : "-A POSTROUTING";
    auto add = [&s](bool negate, const char *opt, const std::string &value) {
        s += negate ? " ! " : " ";
        s += opt;
        s += ' ';
        s += value;
    };
    const Match &m = r.match;
    if (m.in_port.present())
        add(m.in_port.negate, "-i", *m.in_port.value);
    if (m.out_port.present())
        add(m.out_port.negate, "-o", *m.out_port.value);
    if (m.proto.present()) {
        const char *name = proto_name(*m.proto.value);
        add(m.proto.negate, "-p", name ? name : std::to_string(*m.proto.value));
    }
    if (m.src.present())
        add(m.src.negate, "-s", format_prefix(*m.src.value));
    if (m.dst.present())
        add(m.dst.negate, "-d", format_prefix(*m.dst.value));
    if (m.sport.present())
        add(m.sport.negate, "--sport", format_ports(*m.sport.value));
    if (m.dport.present())
        add(m.dport.negate, "--dport", format_ports(*m.dport.value));
    s += " -j ";
    s += target_name(r.target);
    if (r.target != Target::relay)
        s += " --to=" + format_ipv4(r.to);
    return s;
}

} // namespace relay
