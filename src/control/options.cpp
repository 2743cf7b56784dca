#include "options.hpp"

#include "telemetry.hpp"

#include <boost/program_options.hpp>

#include <iostream>
#include <stdexcept>

namespace po = boost::program_options;

namespace relay {

std::optional<Options> parse_options(const std::vector<std::string> &args)
{
    Options opt;
    po::options_description desc(
        "Usage: dpdk-relay [EAL options] -- --config FILE\n"
        "       dpdk-relay --check --config FILE [--file-prefix NAME]   (no EAL)\n\n"
        "A user-space UDP relay and stateless address rewriter (DEST, SOURCE, RELAY).\n"
        "The main lcore does housekeeping; every other lcore in -l is a worker.\n"
        "Control it with relaystate or the DPDK telemetry socket (/relay/...).\n"
        "SIGHUP (or /relay/reload) reloads FILE; SIGTERM or SIGINT stops it.\n"
        "The manual, dpdk-relay(8), describes all of it: man 8 dpdk-relay\n\n"
        "Options");
    desc.add_options()
        ("config,c", po::value(&opt.config)->value_name("FILE"), "relay.yaml to run (required)")
        ("check", po::bool_switch(&opt.check),
         "validate the config, print what it compiles to, and exit; with the rule hits "
         "of the dpdk-relay running on it, if one is")
        ("log-json", po::bool_switch(&opt.log_json),
         "log relay events (learning, resets, refusals, expiries, reloads) as JSON lines "
         "rather than text; either way through DPDK's log, type relay.event")
        ("file-prefix", po::value(&opt.file_prefix)->value_name("NAME"),
         "--check: the EAL --file-prefix of that running dpdk-relay (default rte)")
        ("help,h", "print this help and exit")
        ("version,V", "print the version and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error &e) {
        throw std::runtime_error(std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
        std::cout << desc << "\nTelemetry commands (echo CMD | dpdk-telemetry.py -f PREFIX):\n"
                  << telemetry_help() << "\n";
        return std::nullopt;
    }
    if (vm.count("version")) {
        std::cout << "dpdk-relay " RELAY_VERSION "\n";
        return std::nullopt;
    }
    if (opt.config.empty())
        throw std::runtime_error("--config FILE is required (see --help)");
    return opt;
}

} // namespace relay
