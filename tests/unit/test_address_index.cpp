// The address index: every address finds its position in the list, and
// nothing else finds one, whatever the number of addresses.
#include "address_index.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

using namespace relay;

TEST_CASE("listed addresses find their index, other addresses find -1")
{
    std::mt19937 rng(3);
    for (size_t n : {0, 1, 2, 3, 18, 100, 1000}) {
        std::vector<Ipv4> list;
        std::set<Ipv4> seen;
        // Neighbouring addresses (aliases are often consecutive) and random ones.
        for (Ipv4 a = 0x0a00ff02; list.size() < n / 2; a++)
            if (seen.insert(a).second)
                list.push_back(a);
        while (list.size() < n) {
            const Ipv4 a = rng() | 1;
            if (seen.insert(a).second)
                list.push_back(a);
        }
        AddressIndex b;
        b = list;
        REQUIRE(b.size() == n);
        for (size_t i = 0; i < n; i++) {
            REQUIRE(b[i] == list[i]);
            REQUIRE(b.index(list[i]) == int(i));
        }
        REQUIRE(b.index(0) == -1);
        for (int k = 0; k < 10000; k++) {
            const Ipv4 a = rng();
            if (!seen.count(a))
                REQUIRE(b.index(a) == -1);
        }
        const std::vector<Ipv4> &as_vector = b;
        REQUIRE(as_vector == list);
    }
}

TEST_CASE("0 and its neighbours are addresses like others")
{
    for (std::vector<Ipv4> list : {std::vector<Ipv4>{0}, std::vector<Ipv4>{0, 1, 2, 3},
                                   std::vector<Ipv4>{1, 2}, std::vector<Ipv4>{5, 0xffffffff}}) {
        AddressIndex b;
        b = list;
        for (size_t i = 0; i < list.size(); i++)
            REQUIRE(b.index(list[i]) == int(i));
        for (Ipv4 a : {0u, 1u, 2u, 3u, 4u, 5u, 0xffffffffu})
            if (std::find(list.begin(), list.end(), a) == list.end())
                REQUIRE(b.index(a) == -1);
    }
}

TEST_CASE("a repeated address keeps its first index, as a scan would")
{
    AddressIndex b;
    b = std::vector<Ipv4>{0x0a000001, 0xc0000201, 0x0a000001};
    REQUIRE(b.index(0x0a000001) == 0);
    REQUIRE(b.index(0xc0000201) == 1);
}

TEST_CASE("an empty list finds nothing")
{
    AddressIndex b;
    REQUIRE(b.empty());
    REQUIRE(b.index(0x0a000001) == -1);
    REQUIRE(b.index(0) == -1);
}
