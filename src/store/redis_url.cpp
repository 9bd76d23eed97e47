#include "redis_url.hpp"

#include <charconv>
#include <stdexcept>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace tollgate::store::redis {
namespace {

std::invalid_argument bad_url(const std::string& why) {
  return std::invalid_argument("redis url: " + why + " (expected redis://[[user]:password@]host:port[/db])");
}

template <typename Int>
bool parse_whole(std::string_view text, Int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

ServerAddress parse_redis_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) throw bad_url("not a URL");
  const boost::urls::url_view url = *parsed;
  const std::string scheme = url.scheme();
  if (scheme == "rediss") {
    throw std::invalid_argument("redis url: rediss:// (TLS) is not supported: hiredis 0.14 has no TLS; "
                                "use redis:// on a trusted network or a TLS tunnel such as stunnel");
  }
  if (scheme != "redis") throw bad_url("the scheme must be redis://");
  if (!url.has_authority() || url.host_address().empty()) throw bad_url("no host");
  if (url.has_query() || url.has_fragment()) throw bad_url("a query or fragment is not allowed");

  ServerAddress out;
  out.endpoint.host = url.host_address();
  if (url.has_port()) {
    if (!parse_whole(std::string_view(url.port()), out.endpoint.port) || out.endpoint.port < 1 ||
        out.endpoint.port > 65535) {
      throw bad_url("the port must be a number from 1 to 65535");
    }
  }
  if (url.has_userinfo()) {
    if (!url.has_password()) throw bad_url("the user info must be [user]:password");
    out.username = url.user();
    out.password = url.password();
  }
  std::string_view path = url.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    if (!parse_whole(path, out.db) || out.db < 0) throw bad_url("the path must be a database number");
  }
  return out;
}

Endpoint parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::invalid_argument("redis sentinel address \"" + std::string(text) + "\" is not host:port");
  }
  Endpoint out;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.host = std::string(host);
  if (!parse_whole(text.substr(colon + 1), out.port) || out.port < 1 || out.port > 65535) {
    throw std::invalid_argument("redis sentinel address \"" + std::string(text) + "\" has no valid port");
  }
  return out;
}

}  // namespace tollgate::store::redis
