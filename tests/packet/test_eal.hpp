// What the test and bench programs that start EAL themselves share.
#pragma once

#include <rte_eal.h>

#include <filesystem>
#include <string>

namespace relay::test {

// rte_eal_cleanup, and the runtime directory (/var/run/dpdk/PREFIX) that EAL
// leaves behind.
inline void stop_eal()
{
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ignored;
    std::filesystem::remove_all(runtime_dir, ignored);
}

} // namespace relay::test
