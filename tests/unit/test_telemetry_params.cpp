// The telemetry commands' parameter parsers (telemetry_params.hpp), on relay
// tables built by hand: no EAL, no socket.
#include <catch2/catch.hpp>

#include "telemetry_params.hpp"

using namespace relay;

namespace {

// 3000-3009 on every address, 5000-5001 on 192.0.2.1 and on 10.0.0.2.
Tables relay_tables()
{
    Tables t;
    t.locals = {0x0a000001, 0x0a000002, 0xc0000201};
    RelayRange all, wan, alias;
    all.lo = 3000;
    all.hi = 3009;
    wan.lo = alias.lo = 5000;
    wan.hi = alias.hi = 5001;
    wan.address = 0xc0000201;
    alias.address = 0x0a000002;
    t.add_range(all);
    t.add_range(wan);
    t.add_range(alias);
    return t;
}

} // namespace

TEST_CASE("page starts: absent, or a decimal offset up to the end")
{
    uint32_t start = 99;
    CHECK(page_start(nullptr, 10, start));
    CHECK(start == 0);
    CHECK(page_start("", 10, start));
    CHECK(page_start("10", 10, start));
    CHECK(start == 10);
    for (const char *bad : {"11", "-1", "+1", " 1", "1x", "x", "99999999999999999999999"})
        CHECK_FALSE(page_start(bad, 10, start));
}

TEST_CASE("decimal numbers: digits only, up to a maximum")
{
    CHECK(parse_decimal("0", 5) == 0u);
    CHECK(parse_decimal("0086400", 86400) == 86400u);
    CHECK(parse_decimal("4294967295", 4294967295u) == 4294967295u);
    for (const char *bad : {"", "86401", "-1", "+1", " 1", "1 ", "0x10", "4294967296"})
        CHECK_FALSE(parse_decimal(bad, bad[0] == '4' ? 4294967295u : 86400));
}

TEST_CASE("PORT,VALUE splits at the last comma")
{
    CHECK_FALSE(split_port_value(nullptr));
    CHECK_FALSE(split_port_value("3000"));
    const auto pv = split_port_value("10.0.0.1:3000,keep");
    REQUIRE(pv);
    CHECK(pv->port == "10.0.0.1:3000");
    CHECK(pv->value == "keep");
    CHECK(split_port_value("a,b,c")->port == "a,b");
    CHECK(split_port_value(",")->value.empty());
}

TEST_CASE("/relay/port and /relay/set parameters")
{
    const Tables t = relay_tables();
    std::string err;
    CHECK(port_params(t, "3001", err) == 1);
    CHECK(port_params(t, "10.0.0.2:5001", err) == 13);
    CHECK(port_params(t, nullptr, err) == no_relay);
    CHECK(port_params(t, "5000", err) == no_relay);
    CHECK(err == "port 5000 exists on several addresses: name it as ADDR:PORT");

    uint32_t e = 0;
    uint8_t v = 0;
    CHECK(set_params(t, "192.0.2.1:5000,keep", e, v, err));
    CHECK(e == 10);
    CHECK(v == state::all);
    CHECK_FALSE(set_params(t, "3000", e, v, err));
    CHECK(err == "usage: /relay/set,PORT,VALUE");
    CHECK_FALSE(set_params(t, "4000,1", e, v, err));
    CHECK(err == "port 4000 is not a relay port");
    CHECK_FALSE(set_params(t, "3000,16", e, v, err));
    CHECK(err == "\"16\" is not a state value (0-15 or a name such as reset, keep, disable)");
}

TEST_CASE("PORT,NUMBER parameters")
{
    const Tables t = relay_tables();
    std::string err;
    uint32_t e = 0, n = 0;
    CHECK(port_number_params(t, "3009,30", 86400, "usage: /x,PORT,SECONDS", e, n, err));
    CHECK(e == 9);
    CHECK(n == 30);
    CHECK_FALSE(port_number_params(t, "3009", 86400, "usage: /x,PORT,SECONDS", e, n, err));
    CHECK(err == "usage: /x,PORT,SECONDS");
    CHECK_FALSE(port_number_params(t, "3009,86401", 86400, "usage", e, n, err));
    CHECK(err == "\"86401\" is not a number from 0 to 86400");
    CHECK_FALSE(port_number_params(t, "10.9.9.9:3000,1", 86400, "usage", e, n, err));
    CHECK(err == "\"10.9.9.9\" is not an address of this box");
}
