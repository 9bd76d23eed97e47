// PKCE S256 (RFC 7636): the verifier's shape and the challenge derived from it.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "tollgate/oauth/pkce.hpp"

namespace tollgate::oauth {
namespace {

bool is_verifier_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// RFC 7636 Appendix B: the verifier is base64url of the octets 116, 24, 223, 180 … 141, 121.
TEST_CASE("the S256 challenge of RFC 7636 Appendix B's verifier is the one the RFC gives") {
  CHECK(challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST_CASE("make_pkce gives a 64-character verifier of RFC 7636's alphabet and its S256 challenge") {
  const Pkce pkce = make_pkce();
  const std::string& verifier = pkce.verifier.reveal();
  CHECK(verifier.size() == 64);
  CHECK(std::all_of(verifier.begin(), verifier.end(), is_verifier_char));
  CHECK(pkce.challenge == challenge_for(verifier));
  CHECK(pkce.challenge.size() == 43);  // 32 bytes of base64url without padding
  CHECK(pkce.challenge.find('=') == std::string::npos);
}

TEST_CASE("every verifier is fresh") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(make_pkce().verifier.reveal());
  CHECK(seen.size() == 100);
}

}  // namespace
}  // namespace tollgate::oauth
