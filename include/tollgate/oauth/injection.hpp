#pragma once
// Where a credential goes on a call to a provider's API (SPEC §5): a header
// (bearer token, API key in its format), a query parameter, or HTTP Basic —
// and the provider's fixed api.headers. Shared by the relay and the
// verification request of a pasted API key.
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/errors/error.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::oauth {

struct Injection {
  std::string header;    // the header that carries it ("Authorization" for Basic); empty when `query` is set
  std::string query;     // the query parameter that carries it instead
  crypto::Secret value;  // the header's value, or the query value (not yet percent-encoded)
};

// The credential rendered for `p`: credentials.format (or username/password for
// basic) with the secret and the connection parameters put in.
std::variant<Injection, errors::Error> inject_credential(const config::Provider& p, const crypto::Secret& credential,
                                                         const ParamValues& params);

// api.headers with the connection parameters substituted, in name order.
std::variant<std::vector<std::pair<std::string, std::string>>, errors::Error> api_headers(const config::Provider& p,
                                                                                          const ParamValues& params);

}  // namespace tollgate::oauth
