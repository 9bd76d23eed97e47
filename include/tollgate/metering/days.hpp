#pragma once
// UTC calendar days and months as the metering reports use them: a day is
// store::Day (days since 1970-01-01), written YYYY-MM-DD; a month YYYY-MM.
#include <optional>
#include <string>
#include <string_view>

#include "tollgate/store/records.hpp"

namespace tollgate::metering {

store::Day day_of(store::Millis utc_ms);
store::Day day_from_civil(int year, unsigned month, unsigned day);
// "2026-03-01"; nullopt unless exactly YYYY-MM-DD naming a real date.
std::optional<store::Day> parse_day(std::string_view text);
std::string format_day(store::Day day);

// A calendar month: its first day and the first day of the next.
struct Month {
  store::Day first = 0;
  store::Day end = 0;  // exclusive
};
// "2026-03"; nullopt unless exactly YYYY-MM with a month 01..12.
std::optional<Month> parse_month(std::string_view text);
Month month_of(store::Day day);

}  // namespace tollgate::metering
