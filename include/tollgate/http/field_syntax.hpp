#pragma once
// RFC 9110 field syntax, shared by the request checks of the server and the
// relay's own (response heads, header filters): case-insensitive names,
// tokens, optional whitespace and comma-separated lists. Header-only and pure.
#include <algorithm>
#include <string_view>
#include <vector>

namespace tollgate::http {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Field names (and a few values, like `chunked`) compare case-insensitively.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// tchar of RFC 9110 §5.6.2.
inline bool is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Without leading and trailing SP and HTAB (OWS).
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Appends the trimmed, non-empty elements of a comma-separated value.
inline void split_list(std::string_view value, std::vector<std::string_view>& out) {
  for (;;) {
    auto comma = value.find(',');
    auto item = trim_ows(value.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace tollgate::http
