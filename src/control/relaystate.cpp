// relaystate: prints or writes the state of one relay port of a running
// dpdk-relay over its DPDK telemetry socket, as the original perl tool did for
// the kernel module (SPEC section 5).
#include "atomic_file.hpp"
#include "ipv4.hpp"
#include "metrics.hpp"
#include "relay_state.hpp"
#include "telemetry_client.hpp"

#include <boost/program_options.hpp>

#include <cstdint>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

namespace po = boost::program_options;
using nlohmann::json;

namespace {

// Exit codes, documented in --help: scripts tell a refusal from a dead relay.
constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

const char *const usage_line = "Usage: relaystate [--file-prefix NAME] [--json] PORT [VALUE]\n"
                              "       relaystate [--file-prefix NAME] --metrics [--output FILE]";

const char *const help_text = R"(
Prints the state of relay port PORT of a running dpdk-relay, or writes VALUE to it.

  PORT   a relay port number, or ADDR:PORT where the same port number is relayed
         on several of the box's addresses
  VALUE  0..15 or a name: disable (0), reset or enable (1), relearn or keepa (2:
         keep A, relearn B), keepboth (3: keep both, clear activity), keep (15),
         or a state name (SET0, SET1, SET2, ACTIVE1, ACTIVE2, ACTIVE, ALL)

--metrics prints the relay's counters in the Prometheus text format instead
(README "Metrics"); with --output FILE it replaces FILE atomically, for
node_exporter's textfile collector, and writes dpdk_relay_up 0 there when the
relay cannot be reached.

State bits: 0-1 DISABLE/SET0/SET1/SET2 (no, none, one, both endpoints known),
2 ACTIVE1 (sent to A), 3 ACTIVE2 (sent to B). Writing V keeps only what V names.

Exit status: 0 ok, 1 the relay refused the request, 2 usage error,
3 cannot reach dpdk-relay.
The manual, relaystate(8), has more: man 8 relaystate
)";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "3000" or "10.77.0.1:3000", normalised; the relay resolves a bare port.
std::string parse_port_arg(const std::string &arg)
{
    std::string addr, num = arg;
    if (size_t colon = arg.rfind(':'); colon != std::string::npos) {
        addr = arg.substr(0, colon);
        num = arg.substr(colon + 1);
        auto a = relay::parse_ipv4(addr);
        if (!a)
            throw UsageError("invalid PORT '" + arg + "': '" + addr + "' is not an IPv4 address");
        addr = relay::format_ipv4(*a) + ":";
    }
    unsigned long v = 0;
    bool ok = !num.empty() && num.size() <= 5 &&
              num.find_first_not_of("0123456789") == std::string::npos;
    if (ok)
        v = std::stoul(num);
    if (!ok || v > 65535)
        throw UsageError("invalid PORT '" + arg + "': expected a port 0..65535 or ADDR:PORT");
    return addr + std::to_string(v);
}

uint8_t parse_value_arg(const std::string &arg)
{
    auto v = relay::parse_state_value(arg);
    if (!v)
        throw UsageError("invalid VALUE '" + arg +
                         "': expected 0..15 or a name (disable, reset, relearn, keepboth, "
                         "keep, SET2, ALL, ...)");
    return *v;
}

std::string endpoint_line(char slot, const json &e, const json &reply, const std::string &to)
{
    std::ostringstream s;
    s << "  " << slot << ' ' << e.value("addr", std::string("?"));
    if (e.contains("port"))
        s << ':' << e["port"].get<unsigned>();
    if (e.contains("mac"))
        s << " mac " << e["mac"].get<std::string>();
    if (e.contains("ifport"))
        s << " port " << e["ifport"].get<unsigned>();
    if (e.contains("age") && e["age"].is_number())
        s << " seen " << e["age"].get<uint64_t>() << "s ago";
    if (reply.contains(to + "_packets"))
        s << ", sent " << reply[to + "_packets"].get<uint64_t>() << " packets "
          << reply.value(to + "_bytes", uint64_t(0)) << " bytes";
    return s.str();
}

// The human form: "3000 (10.77.0.1): 15 ALL" and one line per known endpoint.
std::string format_reply(const json &r, const std::string &port_arg)
{
    std::ostringstream s;
    if (r.contains("port"))
        s << r["port"].get<unsigned>();
    else
        s << port_arg;
    if (r.contains("address"))
        s << " (" << r["address"].get<std::string>() << ")";
    unsigned st = r.at("state").get<unsigned>();
    s << ": " << st << ' '
      << (r.contains("names") ? r["names"].get<std::string>()
                              : relay::state_names(static_cast<uint8_t>(st & 15)))
      << '\n';
    if (r.contains("a") && r["a"].is_object())
        s << endpoint_line('A', r["a"], r, "to_a") << '\n';
    if (r.contains("b") && r["b"].is_object())
        s << endpoint_line('B', r["b"], r, "to_b") << '\n';
    return s.str();
}

// --metrics: /relay/stats, every page of /relay/rules and each port's
// /ethdev/stats, as Prometheus text on stdout or in `output`.
int metrics(const std::string &prefix, const std::string &output)
{
    auto emit = [&output](const std::string &text) {
        if (output.empty())
            std::cout << text;
        else
            relay::write_file_atomically(output, text, 0644);
    };
    relay::MetricsSource src;
    relay::TelemetryClient client;
    try {
        client.connect(prefix);
        src.stats = client.request("/relay/stats");
        for (long start = 0; start >= 0;) {
            const json page = client.request("/relay/rules," + std::to_string(start));
            src.rules.push_back(page.at("rules"));
            start = page.at("next").get<long>();
        }
        for (const auto &[name, id] : src.stats.at("ethdev").items())
            src.ethdev.emplace_back(name, client.request("/ethdev/stats," + std::to_string(id.get<int>())));
    } catch (const relay::TelemetryConnectError &e) {
        std::cerr << "relaystate: " << e.what() << '\n';
        emit(relay::prometheus_down());
        return exit_unreachable;
    } catch (const relay::TelemetryReplyError &e) {
        std::cerr << "relaystate: " << e.what() << '\n';
        emit(relay::prometheus_down());
        return exit_refused;
    }
    emit(relay::prometheus_text(src));
    return exit_ok;
}

int run(int argc, char **argv)
{
    std::string prefix, port_arg, value_arg;
    po::options_description visible("Options");
    visible.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("file-prefix,f", po::value(&prefix)->default_value("rte")->value_name("NAME"),
         "the --file-prefix dpdk-relay was started with")
        ("json", "print the relay's reply as one line of JSON")
        ("metrics", "print every counter in the Prometheus text format (no PORT)")
        ("output,o", po::value<std::string>()->value_name("FILE"),
         "--metrics: write to FILE (atomically, mode 0644) instead of standard output");
    po::options_description hidden;
    hidden.add_options()
        ("port", po::value(&port_arg))
        ("value", po::value(&value_arg));
    po::options_description all;
    all.add(visible).add(hidden);
    po::positional_options_description positional;
    positional.add("port", 1).add("value", 1);

    // Boost would call "-1" an unknown option; name it as the bad value it is.
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9')
            throw UsageError("invalid argument '" + std::string(argv[i]) +
                             "': PORT and VALUE are never negative");

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
                  vm);
        po::notify(vm);
    } catch (const po::error &e) {
        throw UsageError(e.what());
    }
    if (vm.count("help")) {
        std::cout << usage_line << '\n' << help_text << '\n' << visible << '\n';
        return exit_ok;
    }
    if (vm.count("version")) {
        std::cout << "relaystate " << RELAY_VERSION << '\n';
        return exit_ok;
    }
    if (prefix.empty() || prefix.find('/') != std::string::npos)
        throw UsageError("invalid --file-prefix '" + prefix + "'");
    if (vm.count("metrics")) {
        if (vm.count("port") || vm.count("json"))
            throw UsageError("--metrics takes no PORT, VALUE or --json");
        return metrics(prefix, vm.count("output") ? vm["output"].as<std::string>() : "");
    }
    if (vm.count("output"))
        throw UsageError("--output goes with --metrics");
    if (!vm.count("port"))
        throw UsageError("missing PORT");

    // Everything is checked before connecting: a typo never reaches the relay.
    std::string port = parse_port_arg(port_arg);
    std::optional<uint8_t> value;
    if (vm.count("value"))
        value = parse_value_arg(value_arg);
    std::string cmd = value ? "/relay/set," + port + "," + std::to_string(*value)
                            : "/relay/port," + port;

    relay::TelemetryClient client;
    json reply;
    try {
        client.connect(prefix);
        reply = client.request(cmd);
    } catch (const relay::TelemetryConnectError &e) {
        std::cerr << "relaystate: " << e.what() << '\n';
        return exit_unreachable;
    } catch (const relay::TelemetryReplyError &e) {
        std::cerr << "relaystate: " << e.what() << '\n';
        return exit_refused;
    }

    if (reply.is_object() && reply.contains("error")) {
        const json &err = reply["error"];
        std::cerr << "relaystate: " << (err.is_string() ? err.get<std::string>() : err.dump())
                  << '\n';
        return exit_refused;
    }
    try {
        std::cout << (vm.count("json") ? reply.dump() + "\n" : format_reply(reply, port));
    } catch (const json::exception &e) {
        std::cerr << "relaystate: unexpected reply from dpdk-relay (" << e.what()
                  << "): " << reply.dump() << '\n';
        return exit_refused;
    }
    return exit_ok;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const UsageError &e) {
        std::cerr << "relaystate: " << e.what() << '\n'
                  << usage_line << "\nTry 'relaystate --help' for more information.\n";
        return exit_usage;
    } catch (const std::exception &e) {
        std::cerr << "relaystate: " << e.what() << '\n';
        return exit_refused;
    }
}
