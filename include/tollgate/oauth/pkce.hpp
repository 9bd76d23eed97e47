#pragma once
// PKCE with S256 (RFC 7636): the verifier stays with the setup session, the
// challenge goes into the authorization URL, the verifier into the token request.
#include <string>
#include <string_view>

#include "tollgate/crypto/secret.hpp"

namespace tollgate::oauth {

struct Pkce {
  crypto::Secret verifier;  // 64 characters of base64url (48 random bytes), inside RFC 7636's 43–128 [A-Za-z0-9-._~]
  std::string challenge;    // challenge_for(verifier)
};

// A fresh verifier and its S256 challenge. Throws std::runtime_error only if the CSPRNG fails.
Pkce make_pkce();

// BASE64URL(SHA-256(verifier)) without padding (RFC 7636 §4.2, S256).
std::string challenge_for(std::string_view verifier);

}  // namespace tollgate::oauth
