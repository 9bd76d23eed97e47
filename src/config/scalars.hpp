#pragma once
// Typed readers for single values. Each reports its own problem and returns
// nullopt; none quotes the value in a message, because a value may hold a
// secret that came from the environment.
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "reader.hpp"
#include "tollgate/config/config.hpp"

namespace tollgate::config::detail {

enum class Zero { allowed, refused };

// ^[0-9]+(\.[0-9]+)?$
bool is_decimal(std::string_view text);

std::optional<std::string> read_string(Reader& r, const Value& v);
std::optional<bool> read_bool(Reader& r, const Value& v);
std::optional<std::uint64_t> read_count(Reader& r, const Value& v,
                                        std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
// A non-negative decimal number such as 10 or 0.5.
std::optional<double> read_rate(Reader& r, const Value& v);
std::optional<Duration> read_duration(Reader& r, const Value& v, Zero zero);
std::optional<std::uint64_t> read_size(Reader& r, const Value& v, Zero zero);
// Absolute, against the file's directory; an empty value stays empty.
std::optional<std::filesystem::path> read_path(Reader& r, const Value& v);
// The same, but an empty value is an error.
std::optional<std::filesystem::path> read_required_path(Reader& r, const Value& v);

template <class T>
using Choices = std::initializer_list<std::pair<std::string_view, T>>;

template <class T>
std::optional<T> read_choice(Reader& r, const Value& v, Choices<T> choices) {
  std::string names;
  for (const auto& choice : choices) names += (names.empty() ? "" : ", ") + std::string(choice.first);
  const auto text = r.text(v, "one of: " + names);
  if (!text) return std::nullopt;
  for (const auto& choice : choices) {
    if (choice.first == *text) return choice.second;
  }
  r.error(v, "expected one of: " + names);
  return std::nullopt;
}

template <class T>
void set(T& out, std::optional<T> value) {
  if (value) out = std::move(*value);
}

}  // namespace tollgate::config::detail
