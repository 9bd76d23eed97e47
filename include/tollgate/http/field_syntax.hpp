#pragma once
// RFC 9110 field syntax, shared by the request checks of the server and the
// relay's own (response heads, header filters): case-insensitive names,
// tokens, optional whitespace and comma-separated lists. Header-only and pure.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
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
  // The loops need no bound of their own: a whole head ends in LF, which is
  // neither a tchar nor allowed in a value, so both stop at it at the latest.
  if (pos >= size || head[size - 1] != '\n') return std::string_view::npos;
  const char* p = head.data();
  std::size_t i = pos;
  while (kTchar[static_cast<unsigned char>(p[i])]) ++i;
  if (i == pos || p[i] != ':') return std::string_view::npos;
  std::size_t j = i + 1;
  // Eight value bytes at a time while none is below 0x20 or DEL (the bit
  // tricks say exactly whether a word has one, not where); the byte loop
  // finds it, and takes a word with a tab, which is allowed, from there on.
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  while (j + 8 <= size) {
    std::uint64_t w;
    std::memcpy(&w, p + j, 8);
    const std::uint64_t del = w ^ (kOnes * 0x7f);
    if (((w - kOnes * 0x20) & ~w & kHighs) | ((del - kOnes) & ~del & kHighs)) break;
    j += 8;
  }
  while (!kValueStop[static_cast<unsigned char>(p[j])]) ++j;
  if (p[j] != '\r' || j + 1 >= size || p[j + 1] != '\n') return std::string_view::npos;
  name = head.substr(pos, i - pos);
  value = trim_ows(head.substr(i + 1, j - i - 1));
  return j + 2;
}

// Calls each(item) for the trimmed, non-empty elements of a comma-separated
// value, in order.
template <typename Each>
void for_each_list_item(std::string_view value, Each&& each) {
  for (;;) {
    auto comma = value.find(',');
    auto item = trim_ows(value.substr(0, comma));
    if (!item.empty()) each(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Appends the trimmed, non-empty elements of a comma-separated value.
inline void split_list(std::string_view value, std::vector<std::string_view>& out) {
  for_each_list_item(value, [&](std::string_view item) { out.push_back(item); });
}

}  // namespace tollgate::http
