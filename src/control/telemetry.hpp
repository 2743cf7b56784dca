// The /relay/... commands on the DPDK telemetry socket (SPEC section 5).
#pragma once

#include <string>

namespace relay {

struct Runtime;

// Registers the commands; rt must outlive the process's telemetry thread (it
// lives until exit).
void register_telemetry(Runtime &rt);

// Each command with what it does and takes, for --help.
std::string telemetry_help();

} // namespace relay
