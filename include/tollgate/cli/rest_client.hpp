#pragma once
// A small synchronous HTTP/1.1 client for the client verbs: one request per
// connection to a relay's REST API over http:// or https:// (system CA store,
// SNI, host-name verification), with the key as a bearer token and one
// deadline for resolve + connect + TLS + request + response.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tollgate/cli/target.hpp"
#include "tollgate/crypto/encoding.hpp"

namespace tollgate::cli {

struct RestResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  // The first value of a header (name matched case-insensitively), or "".
  std::string header(std::string_view name) const;
};

// The relay could not be reached or did not answer; what() is the whole line
// to print after "tollgate: ".
struct ConnectionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RestClient {
 public:
  explicit RestClient(Target target, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // `target` is the path and query under the base URL, e.g. "/v1/tenants?limit=500".
  // A JSON body is sent with Content-Type: application/json. Any HTTP status is
  // a response; throws ConnectionError when there is none.
  RestResponse send(std::string_view method, std::string_view target,
                    const std::optional<std::string>& json_body = std::nullopt) const;

  // Any request: these headers added as given (after the client's own, which
  // they may replace, except Host and Authorization), and the body as is.
  using Headers = std::vector<std::pair<std::string, std::string>>;
  RestResponse send(std::string_view method, std::string_view target, const Headers& headers,
                    const std::optional<std::string>& body) const;

  const BaseUrl& base_url() const { return target_.url; }

 private:
  Target target_;
  std::chrono::milliseconds timeout_;
};

// "a/b c" → "a%2Fb%20c": a value made safe to be one path segment or query value.
using crypto::percent_encode;

}  // namespace tollgate::cli
