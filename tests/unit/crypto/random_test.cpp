#include <doctest/doctest.h>

#include <set>
#include <string>

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/random.hpp"

using namespace tollgate::crypto;

TEST_CASE("random_bytes returns the number of bytes asked for, and different ones each time") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(1).size() == 1);
  CHECK(random_bytes(1000).size() == 1000);
  CHECK(random_bytes(32) != random_bytes(32));
}

TEST_CASE("random_id is the prefix, an underscore and 32 lower-case base32 characters") {
  const std::string id = random_id("tnt");
  REQUIRE(id.size() == 4 + 32);
  CHECK(id.substr(0, 4) == "tnt_");
  for (char c : id.substr(4)) {
    CAPTURE(c);
    CHECK(((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')));
  }
  CHECK(random_id("").size() == 33);
}

TEST_CASE("random ids do not repeat and use the whole base32 alphabet") {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = random_id("pss");
    CHECK(seen.insert(id).second);
    chars.insert(id.begin() + 4, id.end());
  }
  CHECK(seen.size() == 5000);
  CHECK(chars.size() == 32);
}

TEST_CASE("random_token is the prefix and the unpadded base64url of the random bytes") {
  const std::string token = random_token("tg_live_");
  REQUIRE(token.rfind("tg_live_", 0) == 0);
  const auto raw = base64url_decode(token.substr(8));
  REQUIRE(raw.has_value());
  CHECK(raw->size() == 32);
  CHECK(token.find('=') == std::string::npos);
  CHECK(random_token("x_", 16).size() == 2 + 22);
  CHECK(random_token("tg_live_") != random_token("tg_live_"));
}
