#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "tollgate/crypto/keyring.hpp"
#include "tollgate/crypto/random.hpp"

using namespace tollgate::crypto;

namespace {

Keyring ring_with(std::initializer_list<const char*> ids) {
  Keyring ring;
  for (const char* id : ids) ring.add(id, Secret(random_bytes(kKeyBytes)));
  return ring;
}

const AssociatedData kAd{"tnt_a", "pac_1", "access_token"};

// Sealed layout offsets for a key id of length `id_len` (see keyring.hpp).
std::size_t nonce_at(std::size_t id_len) { return 2 + id_len; }

std::string key_id_of(const std::string& sealed) {
  return sealed.substr(2, static_cast<unsigned char>(sealed[1]));
}

}  // namespace

TEST_CASE("a sealed value unseals to the same plaintext") {
  const Keyring ring = ring_with({"k1"});
  const std::string plaintext = "ya29.a0AfH6SMB-refresh-me";
  const std::string sealed = ring.seal(plaintext, kAd);
  CHECK(sealed.find(plaintext) == std::string::npos);
  const Unsealed out = ring.unseal(sealed, kAd);
  REQUIRE(out);
  CHECK(out.value->reveal() == plaintext);
}

TEST_CASE("an empty plaintext seals and unseals") {
  const Keyring ring = ring_with({"k1"});
  const std::string sealed = ring.seal("", kAd);
  CHECK(sealed.size() == 2 + 2 + 12 + 16);
  const Unsealed out = ring.unseal(sealed, kAd);
  REQUIRE(out);
  CHECK(out.value->empty());
}

TEST_CASE("a large plaintext seals and unseals") {
  const Keyring ring = ring_with({"k1"});
  const std::string plaintext = random_bytes(3 * 1024 * 1024 + 7);
  const std::string sealed = ring.seal(plaintext, kAd);
  CHECK(sealed.size() == 2 + 2 + 12 + plaintext.size() + 16);
  const Unsealed out = ring.unseal(sealed, kAd);
  REQUIRE(out);
  CHECK(out.value->reveal() == plaintext);
}

TEST_CASE("the sealed bytes start with version 1 and the primary key id") {
  const Keyring ring = ring_with({"key-2024"});
  const std::string sealed = ring.seal("x", kAd);
  CHECK(sealed[0] == '\x01');
  CHECK(key_id_of(sealed) == "key-2024");
}

TEST_CASE("sealing the same plaintext twice gives different bytes (a fresh nonce each time)") {
  const Keyring ring = ring_with({"k1"});
  const std::string a = ring.seal("same", kAd);
  const std::string b = ring.seal("same", kAd);
  CHECK(a != b);
  CHECK(a.substr(nonce_at(2), 12) != b.substr(nonce_at(2), 12));
  CHECK(ring.unseal(a, kAd).value->reveal() == "same");
  CHECK(ring.unseal(b, kAd).value->reveal() == "same");
}

TEST_CASE("a flipped bit anywhere in a sealed value makes it fail") {
  const Keyring ring = ring_with({"k1"});
  const std::string sealed = ring.seal("a refresh token", kAd);
  const std::size_t id_len = 2;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      CAPTURE(i);
      CAPTURE(bit);
      const Unsealed out = ring.unseal(tampered, kAd);
      REQUIRE_FALSE(out);
      if (i == 0) {
        CHECK(out.error == UnsealError::unsupported_version);
      } else if (i == 1) {
        CHECK((out.error == UnsealError::malformed || out.error == UnsealError::unknown_key));
      } else if (i < nonce_at(id_len)) {
        CHECK(out.error == UnsealError::unknown_key);
      } else {
        CHECK(out.error == UnsealError::authentication_failed);
      }
    }
  }
}

TEST_CASE("a value whose key id matches another key in the ring still fails") {
  // 'k1' with one bit flipped is 'k3': the AAD binds the id, so the other key
  // cannot open it even by accident.
  const Keyring ring = ring_with({"k1", "k3"});
  std::string sealed = ring.seal("secret", kAd);
  sealed[3] = static_cast<char>(sealed[3] ^ 0x02);
  REQUIRE(key_id_of(sealed) == "k3");
  const Unsealed out = ring.unseal(sealed, kAd);
  REQUIRE_FALSE(out);
  CHECK(out.error == UnsealError::authentication_failed);
}

TEST_CASE("a value sealed under a key the ring does not have fails with unknown_key") {
  const Keyring sealer = ring_with({"k9"});
  const Keyring ring = ring_with({"k1"});
  const Unsealed out = ring.unseal(sealer.seal("secret", kAd), kAd);
  REQUIRE_FALSE(out);
  CHECK(out.error == UnsealError::unknown_key);
}

TEST_CASE("a value sealed under a different key with the same id fails authentication") {
  const Keyring sealer = ring_with({"k1"});
  const Keyring ring = ring_with({"k1"});
  const Unsealed out = ring.unseal(sealer.seal("secret", kAd), kAd);
  REQUIRE_FALSE(out);
  CHECK(out.error == UnsealError::authentication_failed);
}

TEST_CASE("a value copied to another tenant, record or field does not unseal") {
  const Keyring ring = ring_with({"k1"});
  const std::string sealed = ring.seal("secret", kAd);
  for (const AssociatedData& other : {
           AssociatedData{"tnt_b", "pac_1", "access_token"},
           AssociatedData{"tnt_a", "pac_2", "access_token"},
           AssociatedData{"tnt_a", "pac_1", "refresh_token"},
           AssociatedData{"", "", ""},
       }) {
    CAPTURE(other.tenant_id);
    CAPTURE(other.record_id);
    CAPTURE(other.field);
    const Unsealed out = ring.unseal(sealed, other);
    REQUIRE_FALSE(out);
    CHECK(out.error == UnsealError::authentication_failed);
  }
}

TEST_CASE("associated data parts cannot be shifted from one field to the next") {
  const Keyring ring = ring_with({"k1"});
  const std::string sealed = ring.seal("secret", {"ab", "c", "f"});
  CHECK_FALSE(ring.unseal(sealed, {"a", "bc", "f"}));
  CHECK_FALSE(ring.unseal(sealed, {"abc", "", "f"}));
  CHECK_FALSE(ring.unseal(sealed, {"ab", "", "cf"}));
  CHECK(ring.unseal(sealed, {"ab", "c", "f"}));
}

TEST_CASE("a truncated sealed value is malformed") {
  const Keyring ring = ring_with({"k1"});
  const std::string sealed = ring.seal("secret", kAd);
  const std::size_t minimum = 2 + 2 + 12 + 16;
  for (std::size_t len = 0; len < minimum; ++len) {
    CAPTURE(len);
    const Unsealed out = ring.unseal(sealed.substr(0, len), kAd);
    REQUIRE_FALSE(out);
    CHECK(out.error == UnsealError::malformed);
  }
  // Longer cuts still hold a whole header, so only the tag can tell.
  for (std::size_t len = minimum; len < sealed.size(); ++len) {
    CAPTURE(len);
    const Unsealed out = ring.unseal(sealed.substr(0, len), kAd);
    REQUIRE_FALSE(out);
    CHECK(out.error == UnsealError::authentication_failed);
  }
}

TEST_CASE("an empty key id length is malformed and another version is unsupported") {
  const Keyring ring = ring_with({"k1"});
  CHECK(ring.unseal(std::string("\x01\x00", 2) + std::string(40, 'x'), kAd).error == UnsealError::malformed);
  CHECK(ring.unseal(std::string("\x02\x02k1") + std::string(40, 'x'), kAd).error ==
        UnsealError::unsupported_version);
  CHECK(ring.unseal(std::string("\x00", 1), kAd).error == UnsealError::unsupported_version);
}

TEST_CASE("after rotation old values still unseal and new values use the new primary") {
  Keyring ring = ring_with({"k1"});
  const std::string old_value = ring.seal("old", kAd);
  REQUIRE(key_id_of(old_value) == "k1");

  ring.add("k2", Secret(random_bytes(kKeyBytes)));
  CHECK(ring.primary() == "k1");  // adding a key does not switch by itself
  ring.set_primary("k2");
  CHECK(ring.primary() == "k2");

  const std::string new_value = ring.seal("new", kAd);
  CHECK(key_id_of(new_value) == "k2");
  CHECK(ring.unseal(old_value, kAd).value->reveal() == "old");
  CHECK(ring.unseal(new_value, kAd).value->reveal() == "new");

  // A ring that only knows the old key cannot read the new value.
  Keyring old_only;
  old_only.add("k1", Secret(std::string(kKeyBytes, '\0')));
  CHECK(old_only.unseal(new_value, kAd).error == UnsealError::unknown_key);
}

TEST_CASE("the keyring refuses bad keys, bad ids and an unknown primary") {
  Keyring ring;
  CHECK(ring.empty());
  CHECK_THROWS_AS(ring.add("k1", Secret(std::string(31, 'x'))), std::invalid_argument);
  CHECK_THROWS_AS(ring.add("k1", Secret(std::string(33, 'x'))), std::invalid_argument);
  CHECK_THROWS_AS(ring.add("", Secret(std::string(32, 'x'))), std::invalid_argument);
  CHECK_THROWS_AS(ring.add(std::string(256, 'k'), Secret(std::string(32, 'x'))), std::invalid_argument);
  CHECK(ring.empty());

  ring.add(std::string(255, 'k'), Secret(std::string(32, 'x')));
  ring.add("k1", Secret(std::string(32, 'y')));
  CHECK(ring.size() == 2);
  CHECK(ring.primary() == std::string(255, 'k'));
  CHECK_THROWS_AS(ring.add("k1", Secret(std::string(32, 'z'))), std::invalid_argument);
  CHECK_THROWS_AS(ring.set_primary("k2"), std::invalid_argument);
  CHECK(ring.primary() == std::string(255, 'k'));

  // The longest id still fits the one-byte length in the sealed layout.
  const std::string sealed = ring.seal("v", kAd);
  CHECK(key_id_of(sealed) == std::string(255, 'k'));
  CHECK(ring.unseal(sealed, kAd).value->reveal() == "v");
}

TEST_CASE("the error message for a short key does not contain the key") {
  Keyring ring;
  try {
    ring.add("k1", Secret(std::string("SUPERSECRETKEYBYTES")));
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("SUPERSECRET") == std::string::npos);
  }
}

TEST_CASE("sealing with an empty keyring is a logic error") {
  const Keyring ring;
  CHECK_THROWS_AS(ring.seal("x", kAd), std::logic_error);
  CHECK(ring.unseal(std::string("\x01\x02k1") + std::string(28, 'x'), kAd).error == UnsealError::unknown_key);
}

TEST_CASE("unseal errors have stable names") {
  CHECK(to_string(UnsealError::malformed) == "malformed");
  CHECK(to_string(UnsealError::unsupported_version) == "unsupported_version");
  CHECK(to_string(UnsealError::unknown_key) == "unknown_key");
  CHECK(to_string(UnsealError::authentication_failed) == "authentication_failed");
}
