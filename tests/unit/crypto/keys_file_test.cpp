#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/crypto/random.hpp"

using namespace tollgate::crypto;
using tollgate::test::TempDir;
namespace fs = std::filesystem;

namespace {

const AssociatedData kAd{"tnt_a", "pac_1", "refresh_token"};

std::string b64_key(char fill) { return base64_encode(std::string(kKeyBytes, fill)); }

// The message load_file throws for `content`, or "" if it loads.
std::string load_error(const TempDir& dir, const std::string& content) {
  const fs::path file = dir.write("keys", content);
  try {
    Keyring::load_file(file);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a created keys file is mode 0600 and loads to the same ring") {
  const TempDir dir;
  const fs::path file = dir / "etc" / "tollgate" / "keys";
  const Keyring created = Keyring::create_file(file);
  CHECK(created.size() == 1);
  CHECK(created.primary() == "k1");

  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0);

  const Keyring loaded = Keyring::load_file(file);
  CHECK(loaded.size() == 1);
  CHECK(loaded.primary() == created.primary());
  const std::string sealed = created.seal("round trip", kAd);
  const Unsealed out = loaded.unseal(sealed, kAd);
  REQUIRE(out);
  CHECK(out.value->reveal() == "round trip");
  CHECK(created.unseal(loaded.seal("back", kAd), kAd).value->reveal() == "back");
}

TEST_CASE("a created keys file is 0600 even under a permissive umask") {
  const TempDir dir;
  const mode_t old = ::umask(0);
  const fs::path file = dir / "keys";
  Keyring::create_file(file);
  ::umask(old);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("creating a keys file refuses to overwrite an existing one") {
  const TempDir dir;
  const fs::path file = dir.write("keys", "keep me\n");
  CHECK_THROWS_AS(Keyring::create_file(file), std::runtime_error);
  CHECK(tollgate::test::read_file(file) == "keep me\n");

  const fs::path created = dir / "created";
  const Keyring first = Keyring::create_file(created);
  const std::string content = tollgate::test::read_file(created);
  CHECK_THROWS_AS(Keyring::create_file(created), std::runtime_error);
  CHECK(tollgate::test::read_file(created) == content);
}

TEST_CASE("creating a keys file refuses a symlink in its place") {
  const TempDir dir;
  const fs::path target = dir / "elsewhere";
  fs::create_symlink(target, dir / "keys");
  CHECK_THROWS_AS(Keyring::create_file(dir / "keys"), std::runtime_error);
  CHECK_FALSE(fs::exists(target));
}

TEST_CASE("two created keys files hold different keys") {
  const TempDir dir;
  const Keyring a = Keyring::create_file(dir / "a");
  const Keyring b = Keyring::create_file(dir / "b");
  CHECK(tollgate::test::read_file(dir / "a") != tollgate::test::read_file(dir / "b"));
  CHECK_FALSE(b.unseal(a.seal("x", kAd), kAd));
}

TEST_CASE("a keys file with comments, blank lines and CRLF loads, and primary picks the sealing key") {
  const TempDir dir;
  const fs::path file = dir.write("keys",
                                  "# rotated 2024-05\r\n"
                                  "\r\n"
                                  "   # indented comment\n"
                                  "primary\tk2\r\n"
                                  "key k1 " + b64_key('a') + "\n"
                                  "  key   k2   " + b64_key('b') + "  \n");
  const Keyring ring = Keyring::load_file(file);
  CHECK(ring.size() == 2);
  CHECK(ring.primary() == "k2");

  Keyring expected;
  expected.add("k1", Secret(std::string(kKeyBytes, 'a')));
  expected.add("k2", Secret(std::string(kKeyBytes, 'b')));
  CHECK(expected.unseal(ring.seal("x", kAd), kAd).value->reveal() == "x");
  expected.set_primary("k2");
  CHECK(ring.unseal(expected.seal("y", kAd), kAd).value->reveal() == "y");
}

TEST_CASE("without a primary line the first key in the keys file is primary") {
  const TempDir dir;
  const fs::path file = dir.write("keys", "key z9 " + b64_key('a') + "\nkey a1 " + b64_key('b') + "\n");
  CHECK(Keyring::load_file(file).primary() == "z9");
}

TEST_CASE("keys file errors name the file and line and never show key material") {
  const TempDir dir;
  const std::string file = (dir / "keys").string();
  const std::string good = "key k1 " + b64_key('a') + "\n";
  const std::string secret_b64 = b64_key('S');
  const std::string short_b64 = base64_encode(std::string(31, 'S'));
  const std::string long_b64 = base64_encode(std::string(33, 'S'));

  struct Case {
    const char* what;
    std::string content;
    std::string expected_prefix;
  };
  const Case cases[] = {
      {"unknown directive", good + "secret " + secret_b64 + "\n", file + ":2: "},
      {"key line missing its id", good + "key " + secret_b64 + "\n", file + ":2: "},
      {"key line with extra words", "# c\n" + good + "key k2 " + secret_b64 + " extra\n", file + ":3: "},
      {"bad base64", "key k1 " + secret_b64.substr(1) + "\n", file + ":1: "},
      {"base64url instead of base64", "key k1 " + base64url_encode(std::string(32, '\xfb')) + "\n",
       file + ":1: "},
      {"key too short", good + "key k2 " + short_b64 + "\n", file + ":2: "},
      {"key too long", "\n\nkey k2 " + long_b64 + "\n", file + ":3: "},
      {"duplicate id", good + "\nkey k1 " + secret_b64 + "\n", file + ":3: "},
      {"unknown primary", "primary k7\n" + good, file + ":1: "},
      {"two primary lines", good + "primary k1\nprimary k1\n", file + ":3: "},
      {"primary without id", good + "primary\n", file + ":2: "},
      {"id too long", "key " + std::string(256, 'k') + " " + secret_b64 + "\n", file + ":1: "},
      {"no keys at all", "# nothing here\nprimary k1\n", file + ": "},
      {"empty file", "", file + ": "},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const std::string message = load_error(dir, c.content);
    CAPTURE(message);
    REQUIRE_FALSE(message.empty());
    CHECK(message.rfind(c.expected_prefix, 0) == 0);
    CHECK(message.size() > c.expected_prefix.size());
    CHECK(message.find(secret_b64) == std::string::npos);
    CHECK(message.find(secret_b64.substr(1)) == std::string::npos);
    CHECK(message.find(short_b64) == std::string::npos);
    CHECK(message.find(long_b64) == std::string::npos);
    CHECK(message.find("SSSS") == std::string::npos);
  }
}

TEST_CASE("the duplicate-id error points at the first definition") {
  const TempDir dir;
  const std::string message =
      load_error(dir, "key k1 " + b64_key('a') + "\n# x\nkey k1 " + b64_key('b') + "\n");
  CHECK(message.find(":3: ") != std::string::npos);
  CHECK(message.find("line 1") != std::string::npos);
}

TEST_CASE("loading a missing keys file names the file") {
  const TempDir dir;
  const fs::path file = dir / "missing";
  try {
    Keyring::load_file(file);
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind(file.string() + ": ", 0) == 0);
  }
}

TEST_CASE("loading a directory as a keys file fails") {
  const TempDir dir;
  CHECK_THROWS_AS(Keyring::load_file(dir.path()), std::runtime_error);
}
