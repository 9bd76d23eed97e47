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

// Bytes that may not appear in a field value (RFC 9110 §5.5: controls other
// than HTAB, and DEL); CR is one, so a scan for them also finds the line's end.
inline constexpr std::array<bool, 256> kValueStop = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = c != '\t';
  t[0x7f] = true;
  return t;
}();

// The fast path of the head checks: when the line at `pos` of `head` is a
// well-formed field (a non-empty token, ':', a value without controls, CRLF),
// sets name and value (without OWS) and returns where the next line starts;
// otherwise npos, and the caller's full checks find out what the line is (the
// head's end, or which rule it breaks). One pass over each byte, by table.
inline std::size_t scan_plain_field(std::string_view head, std::size_t pos, std::string_view& name,
                                    std::string_view& value) noexcept {
  const std::size_t size = head.size();
  std::size_t i = pos;
  while (i < size && kTchar[static_cast<unsigned char>(head[i])]) ++i;
  if (i == pos || i == size || head[i] != ':') return std::string_view::npos;
  std::size_t j = i + 1;
  while (j < size && !kValueStop[static_cast<unsigned char>(head[j])]) ++j;
  if (j + 1 >= size || head[j] != '\r' || head[j + 1] != '\n') return std::string_view::npos;
  name = head.substr(pos, i - pos);
  value = trim_ows(head.substr(i + 1, j - i - 1));
  return j + 2;
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
