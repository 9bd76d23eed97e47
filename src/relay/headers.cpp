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

Headers filter(const Headers& in, bool (*dropped)(std::string_view, std::span<const std::string>)) {
  const auto listed = all_connection_listed(in);
  Headers out;
  out.reserve(in.size());
  for (const auto& header : in)
    if (!dropped(header.first, listed)) out.push_back(header);
  return out;
}

}  // namespace

// Every field of every relayed message is classified here, so a name is
// compared only with the fixed names of its own length.
bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    case 18: return iequals(name, "proxy-authenticate");
    case 19: return iequals(name, "proxy-authorization");
    default: return false;
  }
}

bool listed_in(std::span<const std::string> listed, std::string_view name) {
  return std::any_of(listed.begin(), listed.end(), [&](const std::string& token) { return iequals(token, name); });
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

namespace {

bool is_tollgate_field(std::string_view name) { return lower(name.front()) == 't' && istarts_with(name, "tollgate-"); }

// Credentials, forwarding and framing fields, which tollgate sets itself.
bool is_client_only(std::string_view name) {
  switch (name.size()) {
    case 4: return iequals(name, "host");
    case 6: return iequals(name, "cookie") || iequals(name, "expect");
    case 9: return iequals(name, "forwarded");
    case 13: return iequals(name, "authorization");
    case 14: return iequals(name, "content-length");
    default: return false;
  }
}

}  // namespace

bool request_header_dropped(std::string_view name, std::span<const std::string> listed) {
  if (name.empty()) return false;
  return is_hop_by_hop(name) || is_client_only(name) || is_tollgate_field(name) ||
         (lower(name.front()) == 'x' && istarts_with(name, "x-forwarded-")) || listed_in(listed, name);
}

bool response_header_dropped(std::string_view name, std::span<const std::string> listed) {
  // Transfer-Encoding is hop-by-hop already; Content-Length is the framing layer's.
  // An upstream's own Tollgate-* headers go too: a client must always be able to
  // tell tollgate's answers (Tollgate-Error, Tollgate-Refreshed) from the provider's.
  if (name.empty()) return false;
  return is_hop_by_hop(name) || (name.size() == 14 && iequals(name, "content-length")) || is_tollgate_field(name) ||
         listed_in(listed, name);
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
