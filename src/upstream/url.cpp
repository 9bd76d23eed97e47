#include "tollgate/upstream/url.hpp"

#include <cctype>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace tollgate::upstream {
namespace {

Error bad_url(std::string reason) { return Error{Failure::bad_url, false, "bad upstream URL: " + std::move(reason)}; }

// RFC 3986 reg-name without percent-encoding, which DNS names never need.
bool plain_host_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

}  // namespace

std::string Url::origin() const {
  std::string text = tls ? "https://" : "http://";
  text += host.find(':') == std::string::npos ? host : "[" + host + "]";
  text += ":" + std::to_string(port);
  return text;
}

std::string Url::redacted() const { return origin() + target.substr(0, target.find('?')); }

std::variant<Url, Error> parse_url(std::string_view text) {
  // parse_uri rather than parse_absolute_uri: a fragment is allowed and dropped
  // (it is never sent), as a browser would.
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return bad_url("not an absolute URI");
  const boost::urls::url_view& u = *parsed;

  Url url;
  if (u.scheme_id() == boost::urls::scheme::https) url.tls = true;
  else if (u.scheme_id() != boost::urls::scheme::http) return bad_url("the scheme must be http or https");
  if (!u.has_authority()) return bad_url("no host");
  if (u.has_userinfo()) return bad_url("userinfo is not allowed");

  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
      url.host = u.host_ipv4_address().to_string();
      url.ip_literal = true;
      break;
    case boost::urls::host_type::ipv6:
      url.host = u.host_ipv6_address().to_string();
      url.ip_literal = true;
      break;
    case boost::urls::host_type::name:
      url.host = u.encoded_host();
      if (!plain_host_name(url.host)) return bad_url("the host is not a plain DNS name");
      for (auto& c : url.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      break;
    default:
      return bad_url("unsupported host form");
  }

  std::uint16_t default_port = url.tls ? 443 : 80;
  url.port = default_port;
  if (u.has_port() && !u.port().empty()) {
    unsigned long value = 0;
    for (char c : u.port()) {
      value = value * 10 + static_cast<unsigned long>(c - '0');  // the grammar allows digits only
      if (value > 65535) return bad_url("the port is out of range");
    }
    if (value == 0) return bad_url("the port is out of range");
    url.port = static_cast<std::uint16_t>(value);
  }

  url.authority = url.ip_literal && url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != default_port) url.authority += ":" + std::to_string(url.port);

  url.target = u.encoded_target();
  if (url.target.empty() || url.target[0] != '/') url.target.insert(0, "/");
  return url;
}

}  // namespace tollgate::upstream
