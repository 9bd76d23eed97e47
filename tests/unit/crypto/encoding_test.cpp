#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "tollgate/crypto/encoding.hpp"

using namespace tollgate::crypto;

namespace {

// RFC 4648 §10.
const std::vector<std::pair<std::string, std::string>> kBase64Vectors = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

std::string unpadded(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("base64 matches the RFC 4648 test vectors both ways") {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
}

TEST_CASE("base64url matches the RFC 4648 test vectors without padding, and decodes with or without it") {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    CAPTURE(plain);
    CHECK(base64url_encode(plain) == unpadded(encoded));
    CHECK(base64url_decode(unpadded(encoded)) == plain);
    CHECK(base64url_decode(encoded) == plain);
  }
}

TEST_CASE("base64 and base64url differ only in the two last alphabet characters") {
  CHECK(base64_encode("\xfb\xef\xbe") == "++++");
  CHECK(base64_encode("\xff\xff\xff") == "////");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64url_encode("\xfb\xef\xbe") == "----");
  CHECK(base64url_encode("\xff\xff\xff") == "____");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
  CHECK(base64_decode("+/8=") == std::string("\xfb\xff"));
}

TEST_CASE("every byte value survives a base64 and a base64url round trip") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const std::string piece = all.substr(all.size() - len);
    CHECK(base64_decode(base64_encode(piece)) == piece);
    CHECK(base64url_decode(base64url_encode(piece)) == piece);
  }
}

TEST_CASE("base64 decoding rejects bad characters, bad padding and non-canonical input") {
  for (const char* bad : {
           "Zg",        // padding missing
           "Zg=",       // padding short
           "Zg===",     // padding long
           "Z===",      // a lone character cannot encode a byte
           "====",      // nothing but padding
           "Zg==Zg==",  // padding in the middle
           "Zm9v\n",    // whitespace
           " Zm9v",     // whitespace
           "Zm-v",      // base64url character
           "Zm_v",      // base64url character
           "Zm9v!A==",  // not in any alphabet
           "Zh==",      // leftover bits are not zero
           "Zm9=",      // leftover bits are not zero
       }) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
  CHECK_FALSE(base64_decode(std::string("Zm9v\0", 5)).has_value());
  CHECK_FALSE(base64_decode("Zm\xc3\xa9v").has_value());
}

TEST_CASE("base64url decoding rejects bad characters, bad padding and non-canonical input") {
  for (const char* bad : {
           "Z",     // a lone character cannot encode a byte
           "Zm9vY",
           "Zg=",   // padding present but short
           "Zg===",
           "Zg==Zg",
           "+/8",   // standard alphabet
           "Zm9v ",
           "Zh",    // leftover bits are not zero
       }) {
    CAPTURE(bad);
    CHECK_FALSE(base64url_decode(bad).has_value());
  }
}

TEST_CASE("hex matches the RFC 4648 base16 test vectors, in lower case") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode("f") == "66");
  CHECK(hex_encode("fo") == "666f");
  CHECK(hex_encode("foo") == "666f6f");
  CHECK(hex_encode("foob") == "666f6f62");
  CHECK(hex_encode("fooba") == "666f6f6261");
  CHECK(hex_encode("foobar") == "666f6f626172");
  CHECK(hex_encode(std::string("\x00\x0f\xab\xff", 4)) == "000fabff");
}
