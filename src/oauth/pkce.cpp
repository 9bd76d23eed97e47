#include "tollgate/oauth/pkce.hpp"

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/crypto/random.hpp"

namespace tollgate::oauth {

Pkce make_pkce() {
  // 48 bytes → 64 base64url characters: 384 bits, well inside 43–128 characters.
  std::string bytes = crypto::random_bytes(48);
  crypto::Secret verifier(crypto::base64url_encode(bytes));
  std::fill(bytes.begin(), bytes.end(), '\0');
  std::string challenge = challenge_for(verifier.reveal());
  return Pkce{std::move(verifier), std::move(challenge)};
}

std::string challenge_for(std::string_view verifier) { return crypto::base64url_encode(crypto::sha256(verifier)); }

}  // namespace tollgate::oauth
