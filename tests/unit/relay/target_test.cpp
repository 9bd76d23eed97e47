#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tollgate/relay/target.hpp"

using namespace tollgate;
using relay::check_proxy_path;
using relay::upstream_target;

namespace {

struct Refused {
  std::string_view target;
  std::string_view says;  // a word the message must contain
};

}  // namespace

TEST_CASE("a target with a dot segment, backslash, control character, bad escape or stray byte is refused") {
  const std::vector<Refused> cases{
      // absolute-form and scheme-relative
      {"http://evil.com/x", "absolute-form"},
      {"https://evil.com/x", "absolute-form"},
      {"HTTP://evil.com", "absolute-form"},
      {"http:/evil.com/x", "absolute-form"},
      {"//evil.com/x", "scheme-relative"},
      {"/evil.com/x", "scheme-relative"},
      // dot segments, literal and encoded in any case and mix
      {".", "segment"},
      {"..", "segment"},
      {"./a", "segment"},
      {"../a", "segment"},
      {"a/..", "segment"},
      {"a/.", "segment"},
      {"a/../b", "segment"},
      {"a/./b", "segment"},
      {"a/../b?x=1", "segment"},
      {"a/..?x=1", "segment"},
      {"%2E", "segment"},
      {"%2e", "segment"},
      {"%2e%2e", "segment"},
      {"a/%2e%2e/b", "segment"},
      {"a/%2E%2E/b", "segment"},
      {"a/.%2E/b", "segment"},
      {"a/.%2e/b", "segment"},
      {"a/%2e./b", "segment"},
      {"a/%2E/b", "segment"},
      {"a//../b", "segment"},
      // dot segments hidden behind an encoded slash
      {"a/..%2Fb", "segment"},
      {"a%2F..%2Fb", "segment"},
      {"a%2f%2e%2e%2fb", "segment"},
      // backslash, literal or encoded, path or query
      {"a\\b", "backslash"},
      {"\\\\evil.com", "backslash"},
      {"a%5cb", "backslash"},
      {"a%5Cb", "backslash"},
      {"a?q=\\", "backslash"},
      {"a?q=%5C", "backslash"},
      // control characters, literal or encoded, path or query
      {"a%00b", "control"},
      {"a%0d%0ab", "control"},
      {"a%0D%0Ab", "control"},
      {"a%1fb", "control"},
      {"a%7Fb", "control"},
      {"?q=%0a", "control"},
      {std::string_view("a\0b", 3), "control"},
      {"a\r\nb", "control"},
      {"a\tb", "control"},
      {"a?q=\x7f", "control"},
      // invalid percent-escapes
      {"a%zzb", "percent-escape"},
      {"a%4", "percent-escape"},
      {"a%", "percent-escape"},
      {"a?q=%g1", "percent-escape"},
      {"%%41", "percent-escape"},
      // bytes not allowed in a request target
      {"a b", "space"},
      {"a?q=a b", "space"},
      {"a#frag", "not allowed"},
      {"a\"b", "not allowed"},
      {"a<b>", "not allowed"},
      {"a{b}", "not allowed"},
      {"a|b", "not allowed"},
      {"a^b", "not allowed"},
      {"a`b", "not allowed"},
      {"a[0]", "not allowed"},
      {"caf\xc3\xa9", "non-ASCII"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    auto error = check_proxy_path(c.target);
    REQUIRE(error.has_value());
    CHECK(error->code == errors::Code::bad_request);
    CHECK(error->message.find(c.says) != std::string::npos);
  }
}

TEST_CASE("a refusal message names the kind of problem, never the offending text") {
  auto error = check_proxy_path("secret-token-in-path/%2e%2e/evil.com?key=hunter2");
  REQUIRE(error.has_value());
  CHECK(error->message.find("secret") == std::string::npos);
  CHECK(error->message.find("evil") == std::string::npos);
  CHECK(error->message.find("hunter2") == std::string::npos);
}

TEST_CASE("ordinary API targets, encoded slashes and dotted names are accepted") {
  const std::vector<std::string_view> accepted{
      "",
      "?x=1",
      "repos/a/b/issues?state=open&per_page=100",
      "items?filter[status]=open&page[size]=10",
      "api/v4/projects/group%2Fproject/issues",
      "api/v4/projects/group%2fsub%2Fproject",
      "a/.well-known/x",
      ".well-known",
      "a/..b/c",
      "a/b..",
      "a/...",
      "a/.../b",
      "a/%2e%2e%2e",
      "a/.b%2e",
      "%41",
      "a%20b",
      "caf%C3%A9",
      "v3/projects:search",
      "v4/spreadsheets/id/values:batchGet?ranges=A1:B2",
      "users/me@example.com/x",
      "a//b",
      "a/b/",
      "search?q=a+b&sort=-created&filter=(x,y);z=1!*'$~",
      "a?next=/b/../c",
      "a?redirect=http://example.com/x",
      "a?path=..",
      "a?x=%2e%2e%2F",
  };
  for (auto target : accepted) {
    CAPTURE(target);
    auto error = check_proxy_path(target);
    CHECK_MESSAGE(!error.has_value(), (error ? error->message : std::string()));
  }
}

TEST_CASE("the upstream target joins base path and proxied path with exactly one slash") {
  CHECK(upstream_target("", "repos/a/b?x=1") == "/repos/a/b?x=1");
  CHECK(upstream_target("/", "repos/a/b") == "/repos/a/b");
  CHECK(upstream_target("/api/v2", "users") == "/api/v2/users");
  CHECK(upstream_target("/api/v2/", "users") == "/api/v2/users");
  CHECK(upstream_target("api/v2", "users") == "/api/v2/users");
  CHECK(upstream_target("/api/v2", "/users") == "/api/v2/users");
  CHECK(upstream_target("", "") == "/");
  CHECK(upstream_target("/api/v2", "") == "/api/v2/");
  CHECK(upstream_target("/api/v2", "?a=1") == "/api/v2/?a=1");
}

TEST_CASE("the upstream target keeps the query and encoded slashes byte for byte") {
  CHECK(upstream_target("/api/v4", "projects/group%2Fproject/issues?labels=a%2Cb&x=%2F") ==
        "/api/v4/projects/group%2Fproject/issues?labels=a%2Cb&x=%2F");
  CHECK(upstream_target("", "a?q=1&q=2&&empty=") == "/a?q=1&q=2&&empty=");
}
