#include "env.hpp"

#include <cstdlib>

namespace tollgate::config {

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    // getenv needs a terminated string; a string_view may not be one.
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

namespace detail {
namespace {

bool valid_variable_name(std::string_view name) {
  if (name.empty()) return false;
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!letter(name.front())) return false;
  for (char c : name) {
    if (!letter(c) && !digit(c)) return false;
  }
  return true;
}

}  // namespace

Expansion expand_env(std::string_view text, const EnvLookup& env) {
  Expansion out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos || dollar + 1 == text.size()) {
      out.text.append(text.substr(i));
      break;
    }
    out.text.append(text.substr(i, dollar - i));
    const char next = text[dollar + 1];
    if (next == '$') {
      out.text += '$';
      i = dollar + 2;
      continue;
    }
    if (next != '{') {
      out.text += '$';
      i = dollar + 1;
      continue;
    }
    const std::size_t close = text.find('}', dollar + 2);
    if (close == std::string_view::npos) {
      out.errors.emplace_back("\"${\" is not closed by \"}\" (write $$ for a literal $)");
      break;
    }
    const std::string_view inside = text.substr(dollar + 2, close - dollar - 2);
    const std::size_t fallback_at = inside.find(":-");
    const std::string_view name = inside.substr(0, fallback_at);
    i = close + 1;
    if (!valid_variable_name(name)) {
      out.errors.emplace_back("\"${" + std::string(name) +
                              "}\" is not a valid variable reference (names are letters, digits and _, "
                              "not starting with a digit; write $$ for a literal $)");
      continue;
    }
    std::optional<std::string> value = env(name);
    if (fallback_at != std::string_view::npos) {
      // Like the shell's ${VAR:-default}: an empty variable falls back too.
      out.text += value && !value->empty() ? *value : std::string(inside.substr(fallback_at + 2));
    } else if (value) {
      out.text += *value;
    } else {
      out.errors.emplace_back("environment variable " + std::string(name) + " is not set (write ${" +
                              std::string(name) + ":-default} to give it a fallback)");
    }
  }
  return out;
}

}  // namespace detail
}  // namespace tollgate::config
