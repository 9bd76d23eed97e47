#include "tollgate/relay/headers.hpp"

#include <algorithm>
#include <array>

namespace tollgate::relay {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// Every token named by any `Connection` header in `in`, lowercased.
std::vector<std::string> all_connection_listed(const Headers& in) {
  std::vector<std::string> names;
  for (const auto& [name, value] : in) {
    if (!iequals(name, "connection")) continue;
    auto listed = connection_listed(value);
    names.insert(names.end(), listed.begin(), listed.end());
  }
  return names;
}

bool listed_in(const std::vector<std::string>& listed, std::string_view name) {
  return std::any_of(listed.begin(), listed.end(), [&](const std::string& token) { return iequals(token, name); });
}

Headers filter(const Headers& in, bool (*dropped)(std::string_view, const std::vector<std::string>&)) {
  const auto listed = all_connection_listed(in);
  Headers out;
  out.reserve(in.size());
  for (const auto& header : in)
    if (!dropped(header.first, listed)) out.push_back(header);
  return out;
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kHopByHop{
      "connection", "keep-alive",          "proxy-connection",   "te",
      "trailer",    "transfer-encoding",   "upgrade",            "proxy-authenticate",
      "proxy-authorization"};
  return std::any_of(kHopByHop.begin(), kHopByHop.end(), [&](std::string_view h) { return iequals(name, h); });
}

std::vector<std::string> connection_listed(std::string_view connection_value) {
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start <= connection_value.size()) {
    std::size_t comma = connection_value.find(',', start);
    if (comma == std::string_view::npos) comma = connection_value.size();
    std::string_view token = connection_value.substr(start, comma - start);
    while (!token.empty() && is_ows(token.front())) token.remove_prefix(1);
    while (!token.empty() && is_ows(token.back())) token.remove_suffix(1);
    if (!token.empty()) {
      std::string lowered(token);
      std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
      tokens.push_back(std::move(lowered));
    }
    start = comma + 1;
  }
  return tokens;
}

bool request_header_dropped(std::string_view name, const std::vector<std::string>& listed) {
  return is_hop_by_hop(name) || listed_in(listed, name) || iequals(name, "authorization") || iequals(name, "cookie") ||
         istarts_with(name, "tollgate-") || iequals(name, "forwarded") || istarts_with(name, "x-forwarded-") ||
         iequals(name, "host") || iequals(name, "content-length") || iequals(name, "expect");
}

bool response_header_dropped(std::string_view name, const std::vector<std::string>& listed) {
  // Transfer-Encoding is hop-by-hop already; Content-Length is the framing layer's.
  // An upstream's own Tollgate-* headers go too: a client must always be able to
  // tell tollgate's answers (Tollgate-Error, Tollgate-Refreshed) from the provider's.
  return is_hop_by_hop(name) || listed_in(listed, name) || iequals(name, "content-length") ||
         istarts_with(name, "tollgate-");
}

Headers filter_request_headers(const Headers& in) { return filter(in, request_header_dropped); }

Headers filter_response_headers(const Headers& in) { return filter(in, response_header_dropped); }

std::string x_forwarded_for(std::string_view client_ip) {
  if (client_ip.size() >= 2 && client_ip.front() == '[' && client_ip.back() == ']')
    client_ip = client_ip.substr(1, client_ip.size() - 2);
  std::string out;
  out.reserve(client_ip.size());
  for (char c : client_ip) {
    bool keep = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
                c == ':' || c == '%' || c == '-' || c == '_';
    if (keep) out += c;
  }
  return out;
}

}  // namespace tollgate::relay
