#pragma once
// Where the Redis store connects: the URL and the Sentinel addresses of
// RedisOptions, checked once when the store opens.
#include <string>
#include <string_view>

namespace tollgate::store::redis {

struct Endpoint {
  std::string host;
  int port = 6379;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct ServerAddress {
  Endpoint endpoint;
  std::string username;  // empty: AUTH with the password alone (the default user)
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed when not 0
};

// redis://[[user]:password@]host[:port][/db]; user and password may be
// percent-encoded. Throws std::invalid_argument for anything else, rediss://
// included (hiredis 0.14 speaks no TLS). Messages never repeat the password.
ServerAddress parse_redis_url(std::string_view url);

// "host:port" (an IPv6 host in brackets). Throws std::invalid_argument.
Endpoint parse_host_port(std::string_view text);

}  // namespace tollgate::store::redis
