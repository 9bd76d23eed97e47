#pragma once
// RFC 9110 field syntax, shared by the request checks of the server and the
// relay's own (response heads, header filters): case-insensitive names,
// tokens, optional whitespace and comma-separated lists. Header-only and pure.
#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

namespace tollgate::http {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Field names (and a few values, like `chunked`) compare case-insensitively.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// tchar of RFC 9110 §5.6.2, as a table: every byte of every header name of
// every request and response is checked against it.
inline constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
inline bool is_tchar(unsigned char c) { return kTchar[c]; }

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
