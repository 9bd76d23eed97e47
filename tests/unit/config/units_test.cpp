#include <doctest/doctest.h>

#include <string_view>

#include "tollgate/config/load.hpp"

namespace tollgate::config {
namespace {

using std::chrono::milliseconds;

TEST_CASE("parse_duration accepts ms, s, m, h, d and their concatenations") {
  const struct {
    std::string_view text;
    milliseconds expected;
  } cases[] = {
      {"0", 0ms},          {"0s", 0ms},           {"250ms", 250ms},         {"30s", 30s},
      {"5m", 5min},        {"1h", 1h},            {"1d", 24h},              {"1h30m", 90min},
      {"2m30s", 150s},     {"1s500ms", 1500ms},   {"1d2h3m4s5ms", 93784005ms}, {"0030s", 30s},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto parsed = parse_duration(c.text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == c.expected);
  }
}

TEST_CASE("parse_duration refuses bare numbers other than 0, signs, fractions, unknown units and overflow") {
  for (std::string_view text : {"", "30", "00", "-5s", "+5s", "1.5s", "5 s", " 5s", "5s ", "5sec", "5S", "s", "ms5",
                                "1h30", "5us", "1w", "9223372036854775807s", "99999999999999999999ms"}) {
    INFO(text);
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

TEST_CASE("parse_size accepts bytes, binary and decimal units") {
  const struct {
    std::string_view text;
    std::uint64_t expected;
  } cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"512B", 512},
      {"16KiB", 16 * 1024},
      {"10MiB", 10 * 1024 * 1024},
      {"1GiB", 1024ULL * 1024 * 1024},
      {"16KB", 16'000},
      {"10MB", 10'000'000},
      {"2GB", 2'000'000'000},
      {"18446744073709551615", 18446744073709551615ULL},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto parsed = parse_size(c.text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == c.expected);
  }
}

TEST_CASE("parse_size refuses negatives, fractions, unknown units, spaces, overflow and empty text") {
  for (std::string_view text : {"", "-1", "-1KiB", "1.5MiB", "16kib", "16K", "16 KiB", "KiB", "1TiB", "1MiB512KiB",
                                "18446744073709551616", "17179869184GiB"}) {
    INFO(text);
    CHECK_FALSE(parse_size(text).has_value());
  }
}

}  // namespace
}  // namespace tollgate::config
