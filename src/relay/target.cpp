#include "tollgate/relay/target.hpp"

namespace tollgate::relay {

namespace {

using errors::Code;
using errors::Error;

Error refuse(std::string_view what) {
  return Error{Code::bad_request, "the proxied request target " + std::string(what)};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 3986 pchar minus pct-encoded, plus "/" and "?" (path and query share them).
bool is_target_char(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                       // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':  // sub-delims
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '@': case '/': case '?':
      return true;
    default:
      return false;
  }
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

// A path piece is a dot segment when, with only %2e/%2E decoded, it is "." or "..".
bool is_dot_segment(std::string_view piece) {
  int dots = 0;
  for (std::size_t i = 0; i < piece.size();) {
    if (piece[i] == '.') {
      ++i;
    } else if (piece[i] == '%' && i + 2 < piece.size() && piece[i + 1] == '2' &&
               (piece[i + 2] == 'e' || piece[i + 2] == 'E')) {
      i += 3;
    } else {
      return false;
    }
    if (++dots > 2) return false;
  }
  return dots == 1 || dots == 2;
}

// The segments of `path`, split on "/" and also on an encoded "%2F": an
// upstream that decodes %2F must not find a dot segment either.
bool has_dot_segment(std::string_view path) {
  std::size_t start = 0;
  for (std::size_t i = 0; i <= path.size();) {
    bool end = i == path.size();
    std::size_t sep = 0;
    if (!end && path[i] == '/') sep = 1;
    if (!end && path[i] == '%' && i + 2 < path.size() && path[i + 1] == '2' &&
        (path[i + 2] == 'f' || path[i + 2] == 'F'))
      sep = 3;
    if (end || sep != 0) {
      if (is_dot_segment(path.substr(start, i - start))) return true;
      if (end) break;
      i += sep;
      start = i;
    } else {
      ++i;
    }
  }
  return false;
}

// `scheme:/…` at the very start: absolute-form (or a near miss some parsers
// accept as one). `projects:search` is a plain segment and stays allowed.
bool starts_with_scheme_and_slash(std::string_view path) {
  if (path.empty() || !is_alpha(path[0])) return false;
  std::size_t i = 1;
  while (i < path.size() &&
         (is_alpha(path[i]) || is_digit(path[i]) || path[i] == '+' || path[i] == '-' || path[i] == '.'))
    ++i;
  return i + 1 < path.size() && path[i] == ':' && path[i + 1] == '/';
}

}  // namespace

std::optional<errors::Error> check_proxy_path(std::string_view path_and_query) {
  // Byte-level checks first, over the whole target (path and query).
  const std::size_t query_start = path_and_query.find('?');
  for (std::size_t i = 0; i < path_and_query.size(); ++i) {
    auto c = static_cast<unsigned char>(path_and_query[i]);
    // Brackets are common unencoded in queries (filter[status]=open); harmless there.
    if ((c == '[' || c == ']') && query_start != std::string_view::npos && i > query_start) continue;
    if (c == '\\') return refuse("contains a backslash");
    if (is_control(c)) return refuse("contains a control character");
    if (c == '%') {
      if (i + 2 >= path_and_query.size())
        return refuse("contains an invalid percent-escape");
      int hi = hex_value(path_and_query[i + 1]);
      int lo = hex_value(path_and_query[i + 2]);
      if (hi < 0 || lo < 0) return refuse("contains an invalid percent-escape");
      auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      if (decoded == '\\') return refuse("contains an encoded backslash");
      if (is_control(decoded)) return refuse("contains an encoded control character");
      i += 2;
      continue;
    }
    if (c >= 0x80) return refuse("contains a non-ASCII byte");
    if (c == ' ') return refuse("contains a space");
    if (!is_target_char(static_cast<char>(c))) return refuse("contains a character not allowed in a request target");
  }

  std::string_view path = path_and_query.substr(0, path_and_query.find('?'));
  if (!path.empty() && path.front() == '/') return refuse("is scheme-relative or starts with an empty segment");
  if (starts_with_scheme_and_slash(path)) return refuse("is in absolute-form");
  if (has_dot_segment(path)) return refuse("contains a '.' or '..' path segment");
  return std::nullopt;
}

std::string upstream_target(std::string_view base_path, std::string_view path_and_query) {
  while (!base_path.empty() && base_path.back() == '/') base_path.remove_suffix(1);
  while (!path_and_query.empty() && path_and_query.front() == '/') path_and_query.remove_prefix(1);
  std::string out;
  out.reserve(base_path.size() + path_and_query.size() + 2);
  if (!base_path.empty()) {
    if (base_path.front() != '/') out += '/';
    out += base_path;
  }
  out += '/';
  out += path_and_query;
  return out;
}

}  // namespace tollgate::relay
