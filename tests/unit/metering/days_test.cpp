#include <doctest/doctest.h>

#include "tollgate/metering/days.hpp"

using namespace tollgate::metering;

TEST_CASE("UTC days parse, print and come from epoch milliseconds, leap years included") {
  CHECK(parse_day("1970-01-01") == 0);
  CHECK(parse_day("2000-03-01") == 11017);
  CHECK(format_day(11017) == "2000-03-01");
  CHECK(parse_day("2024-02-29"));
  CHECK_FALSE(parse_day("2023-02-29"));
  CHECK_FALSE(parse_day("2100-02-29"));
  CHECK(parse_day("2000-02-29"));
  for (const char* bad : {"2024-13-01", "2024-00-10", "2024-1-01", "2024-01-32", "20240101", "2024-01-01T00", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_day(bad));
  }
  for (tollgate::store::Day d = -800; d < 80'000; d += 37) {
    CAPTURE(d);
    CHECK(parse_day(format_day(d)) == d);
  }
  CHECK(day_of(0) == 0);
  CHECK(day_of(86'399'999) == 0);
  CHECK(day_of(86'400'000) == 1);
  CHECK(day_of(-1) == -1);
}

TEST_CASE("months parse as YYYY-MM and span their days, December and February included") {
  auto dec = parse_month("2025-12");
  REQUIRE(dec);
  CHECK(format_day(dec->first) == "2025-12-01");
  CHECK(format_day(dec->end) == "2026-01-01");
  auto feb = parse_month("2024-02");
  REQUIRE(feb);
  CHECK(feb->end - feb->first == 29);
  CHECK_FALSE(parse_month("2024-13"));
  CHECK_FALSE(parse_month("2024-1"));
  CHECK(month_of(*parse_day("2024-02-17")).first == feb->first);
}
