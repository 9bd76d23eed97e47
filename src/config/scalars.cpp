#include "scalars.hpp"

#include <charconv>
#include <cmath>

namespace tollgate::config::detail {
namespace {

constexpr std::string_view kDurationHint = "a duration like 30s, 5m, 1h or 1h30m (units: ms, s, m, h, d)";
constexpr std::string_view kSizeHint = "a size like 16KiB, 10MiB or 512 (bytes; units: B, KiB, MiB, GiB, KB, MB, GB)";

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

bool is_decimal(std::string_view text) {
  const std::size_t point = text.find('.');
  if (point == std::string_view::npos) return all_digits(text);
  return all_digits(text.substr(0, point)) && all_digits(text.substr(point + 1));
}

std::optional<std::string> read_string(Reader& r, const Value& v) { return r.text(v, "a string"); }

std::optional<bool> read_bool(Reader& r, const Value& v) {
  const auto text = r.text(v, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "True" || *text == "TRUE") return true;
  if (*text == "false" || *text == "False" || *text == "FALSE") return false;
  r.error(v, "expected true or false");
  return std::nullopt;
}

std::optional<std::uint64_t> read_count(Reader& r, const Value& v, std::uint64_t max) {
  const std::string expected = max == std::numeric_limits<std::uint64_t>::max()
                                   ? "a whole number, 0 or more"
                                   : "a whole number from 0 to " + std::to_string(max);
  const auto text = r.text(v, expected);
  if (!text) return std::nullopt;
  std::uint64_t number = 0;
  const char* end = text->data() + text->size();
  if (all_digits(*text)) {
    const auto result = std::from_chars(text->data(), end, number);
    if (result.ec == std::errc{} && result.ptr == end && number <= max) return number;
  }
  r.error(v, "expected " + expected);
  return std::nullopt;
}

std::optional<double> read_rate(Reader& r, const Value& v) {
  constexpr std::string_view kExpected = "a number, 0 or more, like 10 or 0.5";
  const auto text = r.text(v, kExpected);
  if (!text) return std::nullopt;
  double number = 0;
  const char* end = text->data() + text->size();
  // from_chars alone would also take "inf", "nan" and exponents.
  if (is_decimal(*text)) {
    const auto result = std::from_chars(text->data(), end, number);
    if (result.ec == std::errc{} && result.ptr == end && std::isfinite(number)) return number;
  }
  r.error(v, "expected " + std::string(kExpected));
  return std::nullopt;
}

std::optional<Duration> read_duration(Reader& r, const Value& v, Zero zero) {
  const auto text = r.text(v, kDurationHint);
  if (!text) return std::nullopt;
  const auto duration = parse_duration(*text);
  if (!duration) {
    if (all_digits(*text)) {
      r.error(v, "a duration needs a unit, e.g. 30s rather than 30 (units: ms, s, m, h, d)");
    } else {
      r.error(v, "expected " + std::string(kDurationHint));
    }
    return std::nullopt;
  }
  if (zero == Zero::refused && *duration == Duration::zero()) {
    r.error(v, "must be longer than 0, e.g. 30s");
    return std::nullopt;
  }
  return duration;
}

std::optional<std::uint64_t> read_size(Reader& r, const Value& v, Zero zero) {
  const auto text = r.text(v, kSizeHint);
  if (!text) return std::nullopt;
  const auto size = parse_size(*text);
  if (!size) {
    r.error(v, "expected " + std::string(kSizeHint));
    return std::nullopt;
  }
  if (zero == Zero::refused && *size == 0) {
    r.error(v, "must be larger than 0");
    return std::nullopt;
  }
  return size;
}

std::optional<std::filesystem::path> read_path(Reader& r, const Value& v) {
  const auto text = r.text(v, "a file path");
  if (!text) return std::nullopt;
  if (text->empty()) return std::filesystem::path{};
  return (r.base_dir() / *text).lexically_normal();
}

std::optional<std::filesystem::path> read_required_path(Reader& r, const Value& v) {
  auto path = read_path(r, v);
  if (path && path->empty()) {
    r.error(v, "expected a file path, got an empty string");
    return std::nullopt;
  }
  return path;
}

}  // namespace tollgate::config::detail
