#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <utility>

#include "tollgate/crypto/secret.hpp"

using tollgate::crypto::Secret;

TEST_CASE("a secret streams as *** whatever it holds") {
  const Secret secret(std::string("hunter2-access-token"));
  std::ostringstream out;
  out << "token=" << secret;
  CHECK(out.str() == "token=***");
}

TEST_CASE("doctest's stringification of a secret does not reveal it") {
  const Secret secret(std::string("hunter2-access-token"));
  const std::string shown = doctest::toString(secret).c_str();
  CHECK(shown == "***");
  CHECK(shown.find("hunter2") == std::string::npos);
}

TEST_CASE("reveal gives the value back unchanged") {
  const std::string value("a\0b with a NUL and more than fifteen bytes", 43);
  const Secret secret(value);
  CHECK(secret.reveal() == value);
  CHECK(secret.size() == value.size());
  CHECK_FALSE(secret.empty());
  CHECK(Secret().empty());
}

TEST_CASE("secrets compare by content") {
  CHECK(Secret(std::string("abc")) == Secret(std::string("abc")));
  CHECK_FALSE(Secret(std::string("abc")) == Secret(std::string("abd")));
  CHECK_FALSE(Secret(std::string("abc")) == Secret(std::string("abcd")));
  CHECK_FALSE(Secret(std::string("abcd")) == Secret(std::string("abc")));
  CHECK(Secret() == Secret(std::string()));
}

TEST_CASE("copies and moves of a secret keep the value") {
  Secret a(std::string("short"));
  Secret b(std::string("a value long enough to live on the heap"));
  Secret copy = a;
  CHECK(copy.reveal() == "short");
  copy = b;
  CHECK(copy.reveal() == b.reveal());
  Secret moved = std::move(b);
  CHECK(moved.reveal() == "a value long enough to live on the heap");
  moved = std::move(a);
  CHECK(moved.reveal() == "short");
  a = moved;
  CHECK(a.reveal() == "short");
}
