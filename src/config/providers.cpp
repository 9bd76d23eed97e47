#include "scalars.hpp"
#include "sections.hpp"

namespace tollgate::config::detail {

bool is_provider_key(std::string_view key) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (key.empty() || !lower_or_digit(key.front())) return false;
  for (char c : key) {
    if (!lower_or_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

void read_providers(Reader& r, const Value& v, std::map<std::string, Provider>& out) {
  r.read_entries(v, [&](const std::string& key, const Value& entry) {
    if (!is_provider_key(key)) {
      r.error(entry.key_pos, entry.path,
              "a provider key is lower-case letters, digits, _ and -, starting with a letter or digit "
              "(^[a-z0-9][a-z0-9_-]*$)");
      return;
    }
    Provider provider;
    provider.key = key;
    // The catalog issue extends this schema; until then only display_name exists.
    r.read_map(entry, {
        {"display_name", [&](const Value& x) { set(provider.display_name, read_string(r, x)); }},
    });
    out[key] = std::move(provider);
  });
}

}  // namespace tollgate::config::detail
