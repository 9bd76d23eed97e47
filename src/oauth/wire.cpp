#include "wire.hpp"

#include <algorithm>

#include "tollgate/crypto/encoding.hpp"

namespace tollgate::oauth::wire {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_encode(std::string_view text) { return crypto::percent_encode(text); }

std::string form_encode(std::string_view text) {
  // Percent-encoding with '+' for a space (RFC 6749 Appendix B).
  std::string out;
  for (std::size_t start = 0;;) {
    const auto space = text.find(' ', start);
    out += crypto::percent_encode(text.substr(start, space == std::string_view::npos ? space : space - start));
    if (space == std::string_view::npos) return out;
    out += '+';
    start = space + 1;
  }
}

std::optional<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string form_body(const Fields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += form_encode(name);
    out += '=';
    out += form_encode(value);
  }
  return out;
}

std::optional<Fields> parse_form(std::string_view body) {
  Fields out;
  std::size_t start = 0;
  while (start <= body.size()) {
    const std::size_t end = std::min(body.find('&', start), body.size());
    const std::string_view pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      auto name = form_decode(pair.substr(0, eq));
      auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
      if (!name || !value) return std::nullopt;
      out.emplace_back(std::move(*name), std::move(*value));
    }
    start = end + 1;
  }
  return out;
}

std::string basic_authorization(std::string_view client_id, std::string_view client_secret) {
  std::string joined = form_encode(client_id) + ":" + form_encode(client_secret);
  std::string header = "Basic " + crypto::base64_encode(joined);
  std::fill(joined.begin(), joined.end(), '\0');
  return header;
}

}  // namespace tollgate::oauth::wire
