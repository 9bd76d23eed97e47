#pragma once
// The OAuth app whose client id and secret a token request is made with.
#include <string>

#include "tollgate/crypto/secret.hpp"

namespace tollgate::oauth {

struct AppCredentials {
  crypto::Secret client_id;
  crypto::Secret client_secret;  // empty: client_secret_post sends only client_id
  // Who issued the tokens: "managed:<service_config_key>" (the operator's app) or "your-own".
  std::string label;
};

}  // namespace tollgate::oauth
