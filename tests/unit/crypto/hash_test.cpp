#include <doctest/doctest.h>

#include <string>

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/hash.hpp"

using namespace tollgate::crypto;

TEST_CASE("SHA-256 matches the FIPS 180-2 vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256("abc").size() == 32);
  CHECK(hex_encode(sha256("abc")) == sha256_hex("abc"));
}

TEST_CASE("HMAC-SHA256 matches the RFC 4231 vectors") {
  // Test case 1.
  CHECK(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the hash.
  CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  CHECK(hex_encode(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("HMAC-SHA256 accepts an empty key and empty data") {
  // Well-known value of HMAC-SHA256("", "").
  CHECK(hex_encode(hmac_sha256("", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("constant_time_equal is plain equality, including across different lengths") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK_FALSE(constant_time_equal("ab", "abc"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK_FALSE(constant_time_equal("a", ""));
  CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST_CASE("constant_time_equal finds a difference in any byte of a long value, within a word or after the last") {
  // Lengths around the eight-byte steps: the difference in a whole word, in the
  // tail after the last word, in the first and in the last byte.
  for (std::size_t len : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 40u, 64u, 71u}) {
    std::string a(len, 'k');
    for (std::size_t i = 0; i < len; ++i) a[i] = static_cast<char>('a' + i % 26);
    CHECK(constant_time_equal(a, a));
    for (std::size_t i = 0; i < len; ++i) {
      for (unsigned char bit = 1; bit != 0; bit = static_cast<unsigned char>(bit << 1)) {
        std::string b = a;
        b[i] = static_cast<char>(static_cast<unsigned char>(b[i]) ^ bit);
        CHECK_FALSE(constant_time_equal(a, b));
        CHECK_FALSE(constant_time_equal(b, a));
      }
    }
    CHECK_FALSE(constant_time_equal(a, a + "x"));
    CHECK_FALSE(constant_time_equal(a.substr(1), a));
  }
}

TEST_CASE("a stored key hash matches only its own key") {
  const std::string key = "tg_live_abcdefghijklmnopqrstuvwxyz012345";
  const std::string stored = hash_key(key);
  CHECK(stored == sha256_hex(key));
  CHECK(stored.find(key) == std::string::npos);
  CHECK(key_matches(key, stored));
  CHECK_FALSE(key_matches(key + "x", stored));
  CHECK_FALSE(key_matches("", stored));
  CHECK_FALSE(key_matches(key, stored.substr(1)));
  CHECK_FALSE(key_matches(key, ""));
}
