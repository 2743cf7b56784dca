// fuzz_config: arbitrary text as a config file. ConfigError is the answer to
// a bad file; any other exception, a crash or a hang is a finding. A config
// that parses is described as --check would print it.
#include "build_tables.hpp"
#include "config.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string text(reinterpret_cast<const char *>(data), size);
    try {
        const relay::Config config = relay::parse_config(text, "fuzz.yaml");
        const std::string described = relay::describe_config(config);
        if (described.empty())
            std::abort();
    } catch (const relay::ConfigError &) {
        // the expected answer to a bad file
    } catch (const std::exception &e) {
        std::fprintf(stderr, "fuzz_config: not a ConfigError: %s\n", e.what());
        std::abort();
    }
    return 0;
}
