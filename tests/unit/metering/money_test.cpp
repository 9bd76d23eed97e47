// Decimal money: parsing, half-even rounding to minor units, exact sums.
#include <doctest/doctest.h>

#include "tollgate/metering/money.hpp"

using tollgate::metering::Decimal;
using tollgate::metering::minor_units;

namespace {
std::string per_thousand(std::string_view price, std::uint64_t calls, unsigned places) {
  auto p = Decimal::parse(price);
  REQUIRE(p);
  return Decimal::per_thousand(*p, calls, places).to_string();
}
}  // namespace

TEST_CASE("prices parse as digits with an optional point and print back with their places") {
  for (const char* text : {"0.10", "12", "0.000125", "0", "0.0", "1234567890.123456789"}) {
    CAPTURE(text);
    auto d = Decimal::parse(text);
    REQUIRE(d);
    CHECK(d->to_string() == text);
  }
  for (const char* bad : {"", ".5", "1.", "1.2.3", "-1", "+1", "1e3", " 1", "0,10", "12345678901234567890",
                          "0.1234567890123456789"}) {
    CAPTURE(bad);
    CHECK_FALSE(Decimal::parse(bad));
  }
}

TEST_CASE("an amount is price times calls over a thousand, rounded half to even at the minor unit") {
  CHECK(per_thousand("0.10", 1000, 2) == "0.10");
  CHECK(per_thousand("0.10", 12345, 2) == "1.23");    // 1.2345 → 1.23
  CHECK(per_thousand("0.10", 12350, 2) == "1.24");    // 1.235 exact half, 3 odd → 4
  CHECK(per_thousand("0.10", 12250, 2) == "1.22");    // 1.225 exact half, 2 even → stays
  CHECK(per_thousand("0.05", 12300, 2) == "0.62");    // 0.615 → 0.62 (1 odd → 2)
  CHECK(per_thousand("0.05", 12500, 2) == "0.62");    // 0.625 → 0.62 (2 even)
  CHECK(per_thousand("0.05", 12501, 2) == "0.63");    // 0.62505 is past the half
  CHECK(per_thousand("0.10", 0, 2) == "0.00");
  CHECK(per_thousand("0.10", 5, 2) == "0.00");        // 0.0005
  CHECK(per_thousand("0.10", 50, 2) == "0.00");       // 0.005: half, 0 even
  CHECK(per_thousand("0.10", 150, 2) == "0.02");      // 0.015: half, 1 odd → 2
  CHECK(per_thousand("1", 1500, 0) == "2");           // JPY: 1.5 → 2
  CHECK(per_thousand("1", 2500, 0) == "2");           // 2.5 → 2
  CHECK(per_thousand("1", 3500, 0) == "4");
  CHECK(per_thousand("0.0125", 1000, 3) == "0.012");  // KWD: 0.0125 → 0.012
  CHECK(per_thousand("0.0135", 1000, 3) == "0.014");
  CHECK(per_thousand("7", 3, 2) == "0.02");           // 0.021
}

TEST_CASE("amounts stay exact at the largest prices and counts") {
  // 9999999999999999999 (19 digits) × (2^64 - 1) / 1000: no overflow, exact.
  CHECK(per_thousand("9999999999999999999", 18446744073709551615ull, 0) ==
        "184467440737095516131553255926290448");
  CHECK(per_thousand("0.000000000000000001", 1, 2) == "0.00");
  CHECK(per_thousand("0.10", 10'000'000'000'000ull, 2) == "1000000000.00");
}

TEST_CASE("sums are exact in the larger number of places and equal regardless of trailing zeros") {
  auto a = *Decimal::parse("0.10");
  auto b = *Decimal::parse("0.205");
  CHECK((a + b).to_string() == "0.305");
  CHECK((a + a).to_string() == "0.20");
  CHECK(*Decimal::parse("0.1") == *Decimal::parse("0.100"));
  CHECK(b.rounded(2).to_string() == "0.20");
  CHECK(Decimal::parse("0.215")->rounded(2).to_string() == "0.22");
  CHECK(Decimal::parse("3")->rounded(3).to_string() == "3.000");
}

TEST_CASE("minor units follow ISO 4217 for common, zero-decimal and three-decimal currencies") {
  CHECK(minor_units("USD") == 2);
  CHECK(minor_units("EUR") == 2);
  CHECK(minor_units("GBP") == 2);
  CHECK(minor_units("JPY") == 0);
  CHECK(minor_units("KRW") == 0);
  CHECK(minor_units("KWD") == 3);
  CHECK(minor_units("BHD") == 3);
  CHECK(minor_units("ZZZ") == 2);
}
