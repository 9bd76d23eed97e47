#include "tollgate/errors/error.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace tollgate::errors {
namespace {

struct Entry {
  Code code;
  std::string_view name;
  int status;
};

// SPEC §4's table. The order matches the enum so lookups index directly.
constexpr std::array<Entry, kCodeCount> kTable{{
    {Code::bad_request, "bad_request", 400},
    {Code::unauthenticated, "unauthenticated", 401},
    {Code::quota_exceeded, "quota_exceeded", 402},
    {Code::forbidden, "forbidden", 403},
    {Code::not_found, "not_found", 404},
    {Code::provider_not_found, "provider_not_found", 404},
    {Code::auth_config_not_found, "auth_config_not_found", 404},
    {Code::setup_session_not_found, "setup_session_not_found", 404},
    {Code::method_not_allowed, "method_not_allowed", 405},
    {Code::conflict, "conflict", 409},
    {Code::payload_too_large, "payload_too_large", 413},
    {Code::uri_too_long, "uri_too_long", 414},
    {Code::reauth_required, "reauth_required", 424},
    {Code::rate_limited, "rate_limited", 429},
    {Code::headers_too_large, "headers_too_large", 431},
    {Code::internal, "internal", 500},
    {Code::not_implemented, "not_implemented", 501},
    {Code::upstream_unreachable, "upstream_unreachable", 502},
    {Code::refresh_failed, "refresh_failed", 502},
    {Code::store_unavailable, "store_unavailable", 503},
    {Code::upstream_timeout, "upstream_timeout", 504},
}};

constexpr bool table_matches_enum() {
  for (int i = 0; i < kCodeCount; ++i)
    if (static_cast<int>(kTable[i].code) != i) return false;
  return true;
}
static_assert(table_matches_enum(), "kTable must list the codes in enum order");

}  // namespace

std::string_view name(Code code) noexcept { return kTable[static_cast<int>(code)].name; }

int status(Code code) noexcept { return kTable[static_cast<int>(code)].status; }

std::optional<Code> from_name(std::string_view n) noexcept {
  for (const auto& e : kTable)
    if (e.name == n) return e.code;
  return std::nullopt;
}

char* write_json_quoted(char* out, std::string_view text) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr auto kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x100; ++c) t[c] = c != 0x7f && c != '"' && c != '\\';
    return t;
  }();
  *out++ = '"';
  // Eight bytes at a time while a word has no byte to escape (the bit tricks
  // say exactly whether it has a control, DEL, quote or backslash, not where);
  // the byte loop goes on from the first word that has one.
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t w) { return (w - kOnes) & ~w & kHighs; };
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    if (((w - kOnes * 0x20) & ~w & kHighs) | has_zero(w ^ (kOnes * 0x7f)) | has_zero(w ^ (kOnes * '"')) |
        has_zero(w ^ (kOnes * '\\')))
      break;
    std::memcpy(out, &w, 8);
    out += 8;
  }
  for (const char ch : text.substr(i)) {
    const auto c = static_cast<unsigned char>(ch);
    if (kPlain[c]) {
      *out++ = ch;
      continue;
    }
    *out++ = '\\';
    switch (c) {
      case '"': *out++ = '"'; break;
      case '\\': *out++ = '\\'; break;
      case '\n': *out++ = 'n'; break;
      case '\r': *out++ = 'r'; break;
      case '\t': *out++ = 't'; break;
      default:  // the other controls and DEL
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = kHex[c >> 4];
        *out++ = kHex[c & 0xf];
    }
  }
  *out++ = '"';
  return out;
}

void append_json_quoted(std::string& out, std::string_view text) {
  const std::size_t at = out.size();
  out.resize(at + json_quoted_bound(text.size()));
  char* end = write_json_quoted(out.data() + at, text);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

std::string json_quote(std::string_view text) {
  std::string out;
  append_json_quoted(out, text);
  return out;
}

std::string json_body(Code code, std::string_view message, std::string_view request_id) {
  std::string out = "{\"error\":{\"code\":";
  out += json_quote(name(code));
  out += ",\"message\":";
  out += json_quote(message);
  out += ",\"request_id\":";
  out += json_quote(request_id);
  out += "}}";
  return out;
}

}  // namespace tollgate::errors
