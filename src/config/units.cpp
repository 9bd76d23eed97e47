#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

#include "tollgate/config/load.hpp"

namespace tollgate::config {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr Unit kDurationUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000},
};

constexpr Unit kSizeUnits[] = {
    {"", 1},           {"B", 1},
    {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30},
    {"KB", 1'000},     {"MB", 1'000'000}, {"GB", 1'000'000'000},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits "<digits><letters>" off the front of `text`; nullopt when it does not start with a digit
// or the number does not fit.
std::optional<std::pair<std::uint64_t, std::string_view>> take_term(std::string_view& text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc{} || end != text.data() + digits) return std::nullopt;
  std::size_t letters = digits;
  while (letters < text.size() && is_letter(text[letters])) ++letters;
  const std::string_view unit = text.substr(digits, letters - digits);
  text.remove_prefix(letters);
  return std::pair{number, unit};
}

template <std::size_t N>
std::optional<std::uint64_t> factor_of(std::string_view unit, const Unit (&units)[N]) {
  for (const Unit& u : units) {
    if (u.name == unit) return u.factor;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> scaled(std::uint64_t number, std::uint64_t factor, std::uint64_t limit) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(number, factor, &product) || product > limit) return std::nullopt;
  return product;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration::zero();
  if (text.empty()) return std::nullopt;
  constexpr auto kLimit = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  std::uint64_t total = 0;
  while (!text.empty()) {
    const auto term = take_term(text);
    if (!term) return std::nullopt;
    const auto factor = factor_of(term->second, kDurationUnits);
    if (!factor) return std::nullopt;
    const auto ms = scaled(term->first, *factor, kLimit);
    if (!ms || *ms > kLimit - total) return std::nullopt;
    total += *ms;
  }
  return Duration{static_cast<Duration::rep>(total)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const auto term = take_term(text);
  // One term only: "1MiB512KiB" is not a size anyone means.
  if (!term || !text.empty()) return std::nullopt;
  const auto factor = factor_of(term->second, kSizeUnits);
  if (!factor) return std::nullopt;
  return scaled(term->first, *factor, std::numeric_limits<std::uint64_t>::max());
}

}  // namespace tollgate::config
