#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "tollgate/ops/log.hpp"

using namespace tollgate;

namespace {
constexpr std::string_view kTs = "2026-12-04T18:00:00.123Z";
}

TEST_CASE("a JSON log line has every kind of field, in order, and ends in one newline") {
  const std::string line = ops::format_line(ops::Format::json, ops::Level::info, "request",
                                            {{"request_id", "req_abc"},
                                             {"status", 200},
                                             {"latency_ms", 11.2284},
                                             {"ok", true},
                                             {"gone", false},
                                             {"bytes", std::int64_t{0}}},
                                            kTs);
  CHECK(line ==
        "{\"ts\":\"2026-12-04T18:00:00.123Z\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"req_abc\","
        "\"status\":200,\"latency_ms\":11.228,\"ok\":true,\"gone\":false,\"bytes\":0}\n");
}

TEST_CASE("a JSON log line escapes quotes, backslashes and controls in the message, keys and values") {
  const std::string line = ops::format_line(ops::Format::json, ops::Level::warn, "say \"hi\"\n",
                                            {{"k\\ey", std::string("a\tb\x01\x7f\xc3\xa9")}}, kTs);
  CHECK(line ==
        "{\"ts\":\"2026-12-04T18:00:00.123Z\",\"level\":\"warn\",\"msg\":\"say \\\"hi\\\"\\n\","
        "\"k\\\\ey\":\"a\\tb\\u0001\\u007f\xc3\xa9\"}\n");
}

TEST_CASE("a JSON log line has room for the worst case: every byte of every text an escape") {
  const std::string controls(300, '\x02');
  const std::string line =
      ops::format_line(ops::Format::json, ops::Level::error, controls, {{controls, controls}, {"n", 1.5}}, kTs);
  std::string escaped;
  for (int i = 0; i < 300; ++i) escaped += "\\u0002";
  CHECK(line == "{\"ts\":\"2026-12-04T18:00:00.123Z\",\"level\":\"error\",\"msg\":\"" + escaped + "\",\"" + escaped +
                    "\":\"" + escaped + "\",\"n\":1.500}\n");
}

TEST_CASE("numbers at the ends of their ranges: integers whole, doubles that do not fit and non-finite ones null") {
  const std::string line = ops::format_line(
      ops::Format::json, ops::Level::debug, "",
      {{"min", std::numeric_limits<std::int64_t>::min()},
       {"max", std::numeric_limits<std::int64_t>::max()},
       {"huge", 1e300},
       {"nan", std::nan("")},
       {"inf", -std::numeric_limits<double>::infinity()},
       {"neg", -0.0005}},
      kTs);
  CHECK(line ==
        "{\"ts\":\"2026-12-04T18:00:00.123Z\",\"level\":\"debug\",\"msg\":\"\",\"min\":-9223372036854775808,"
        "\"max\":9223372036854775807,\"huge\":null,\"nan\":null,\"inf\":null,\"neg\":-0.001}\n");
}
