// What the benchmarks share: the box (box.hpp), the statistics of their
// rounds and the cost of the timestamps.
#pragma once

#include "box.hpp"
#include "test_eal.hpp"

#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace relay::bench {

using test::Box;
using test::ether;
using test::finish_box;

// The q-quantile of the rounds (0.5: the median).
inline double quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[size_t(q * double(v.size() - 1) + 0.5)];
}

inline double median(const std::vector<double> &v) { return quantile(v, 0.5); }

// {"median": .., "p25": .., "p75": ..} of a figure's rounds.
inline std::string json_spread(const std::vector<double> &v)
{
    char buf[128];
    std::snprintf(buf, sizeof buf, "{\"median\": %.2f, \"p25\": %.2f, \"p75\": %.2f}",
                  median(v), quantile(v, 0.25), quantile(v, 0.75));
    return buf;
}

// The cost of the two timestamps around an empty region, for the reader.
inline double timer_overhead()
{
    std::vector<double> v;
    for (int r = 0; r < 9; r++) {
        uint64_t sum = 0;
        for (int i = 0; i < 1000; i++) {
            const uint64_t t0 = rte_rdtsc_precise();
            sum += rte_rdtsc_precise() - t0;
        }
        v.push_back(double(sum) / 1000);
    }
    return median(v);
}

// What the build does to every packet beyond the product's work, for a
// bench's header line.
inline const char *build_note()
{
#ifdef NDEBUG
    return "NDEBUG: no checksum audit";
#else
    return "checksum audit ON (debug build): per-packet figures are inflated";
#endif
}

using test::stop_eal;

} // namespace relay::bench
