// Civil-calendar arithmetic on the proleptic Gregorian calendar, by the
// era/day-of-era method (400-year eras of 146097 days).
#include "tollgate/metering/days.hpp"

#include <charconv>

namespace tollgate::metering {
namespace {

struct Civil {
  int year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(store::Day z) {
  z += 719468;
  const store::Day era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const auto y = static_cast<int>(static_cast<store::Day>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
  return {y, m, d};
}

unsigned days_in_month(int year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<unsigned> digits(std::string_view text) {
  unsigned out = 0;
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::from_chars(text.data(), text.data() + text.size(), out);
  return out;
}

std::string two(unsigned n) { return std::string(1, static_cast<char>('0' + n / 10)) + static_cast<char>('0' + n % 10); }

}  // namespace

store::Day day_from_civil(int year, unsigned month, unsigned day) {
  const int y = year - (month <= 2 ? 1 : 0);
  const store::Day era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<store::Day>(doe) - 719468;
}

store::Day day_of(store::Millis utc_ms) {
  constexpr store::Millis kDay = 86'400'000;
  return utc_ms >= 0 ? utc_ms / kDay : -((-utc_ms + kDay - 1) / kDay);
}

std::optional<store::Day> parse_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = digits(text.substr(0, 4));
  const auto m = digits(text.substr(5, 2));
  const auto d = digits(text.substr(8, 2));
  if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1) return std::nullopt;
  if (*d > days_in_month(static_cast<int>(*y), *m)) return std::nullopt;
  return day_from_civil(static_cast<int>(*y), *m, *d);
}

std::string format_day(store::Day day) {
  const Civil c = civil_from_days(day);
  std::string year = std::to_string(c.year);
  if (year.size() < 4) year.insert(0, 4 - year.size(), '0');
  return year + "-" + two(c.month) + "-" + two(c.day);
}

std::optional<Month> parse_month(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  const auto y = digits(text.substr(0, 4));
  const auto m = digits(text.substr(5, 2));
  if (!y || !m || *m < 1 || *m > 12) return std::nullopt;
  return month_of(day_from_civil(static_cast<int>(*y), *m, 1));
}

Month month_of(store::Day day) {
  const Civil c = civil_from_days(day);
  Month out;
  out.first = day_from_civil(c.year, c.month, 1);
  out.end = c.month == 12 ? day_from_civil(c.year + 1, 1, 1) : day_from_civil(c.year, c.month + 1, 1);
  return out;
}

}  // namespace tollgate::metering
