// The authorization URL (RFC 6749 §4.1.1, RFC 7636 §4.3) and the RFC 9207 issuer check.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tollgate/oauth/authorize.hpp"

namespace tollgate::oauth {
namespace {

using config::Provider;

const std::string kRedirect = "https://relay.example/oauth/callback";

Provider github() {
  Provider p;
  p.key = "github";
  p.authorization_url = "https://github.com/login/oauth/authorize";
  p.token_url = "https://github.com/login/oauth/access_token";
  p.default_scopes = {"read:user"};
  return p;
}

Provider slack() {
  Provider p;
  p.key = "slack";
  p.authorization_url = "https://slack.com/oauth/v2/authorize";
  p.pkce = false;
  p.scope_param = "user_scope";
  p.scope_separator = ",";
  p.default_scopes = {"users:read"};
  return p;
}

Provider zendesk() {
  Provider p;
  p.key = "zendesk";
  p.connection_params["subdomain"] = {"^[a-z0-9][a-z0-9-]{0,62}$", "your Zendesk subdomain"};
  p.authorization_url = "https://{subdomain}.zendesk.com/oauth/authorizations/new";
  p.pkce = false;
  p.default_scopes = {"read", "write"};
  return p;
}

AppCredentials app() {
  return AppCredentials{crypto::Secret("Iv1.client id"), crypto::Secret("the-client-secret-value"), "managed:github"};
}

std::string ok(std::variant<std::string, errors::Error> result) {
  if (const auto* error = std::get_if<errors::Error>(&result)) FAIL("unexpected error: " << error->message);
  return std::get<std::string>(std::move(result));
}

// The URL before '?', and its query as (name, value) pairs in order, still encoded.
std::pair<std::string, std::vector<std::pair<std::string, std::string>>> split(const std::string& url) {
  const auto mark = url.find('?');
  REQUIRE(mark != std::string::npos);
  std::vector<std::pair<std::string, std::string>> query;
  std::size_t start = mark + 1;
  while (start <= url.size()) {
    const auto end = std::min(url.find('&', start), url.size());
    const std::string pair = url.substr(start, end - start);
    const auto eq = pair.find('=');
    REQUIRE(eq != std::string::npos);
    query.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    start = end + 1;
  }
  return {url.substr(0, mark), query};
}

std::map<std::string, std::string> query_map(const std::string& url) {
  std::map<std::string, std::string> out;
  for (auto& [name, value] : split(url).second) {
    CHECK_MESSAGE(out.count(name) == 0, "repeated parameter " << name);
    out[name] = value;
  }
  return out;
}

TEST_CASE("a PKCE provider's URL carries exactly the OAuth parameters, in order, with S256") {
  Provider p = github();
  const std::string url = ok(authorization_url(p, {}, app(), {}, "st4te-_~.x", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                               kRedirect));
  const auto [base, query] = split(url);
  CHECK(base == "https://github.com/login/oauth/authorize");
  const std::vector<std::pair<std::string, std::string>> expected{
      {"response_type", "code"},
      {"client_id", "Iv1.client%20id"},
      {"redirect_uri", "https%3A%2F%2Frelay.example%2Foauth%2Fcallback"},
      {"state", "st4te-_~.x"},
      {"scope", "read%3Auser"},
      {"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
      {"code_challenge_method", "S256"},
  };
  CHECK(query == expected);
}

TEST_CASE("the client secret never appears in the authorization URL") {
  for (const Provider& p : {github(), slack()}) {
    const std::string url = ok(authorization_url(p, {}, app(), {"a", "b"}, "state", "challenge", kRedirect));
    CHECK(url.find("the-client-secret-value") == std::string::npos);
    CHECK(url.find("client_secret") == std::string::npos);
  }
}

TEST_CASE("requested scopes replace the defaults and are joined with the provider's separator") {
  SUBCASE("space, encoded as %20") {
    auto q = query_map(ok(authorization_url(github(), {}, app(), {"repo", "read:org"}, "s", "c", kRedirect)));
    CHECK(q["scope"] == "repo%20read%3Aorg");
  }
  SUBCASE("Slack: user_scope with commas, and no PKCE") {
    auto q = query_map(ok(authorization_url(slack(), {}, app(), {"users:read", "chat:write"}, "s", "", kRedirect)));
    CHECK(q.count("scope") == 0);
    CHECK(q["user_scope"] == "users%3Aread%2Cchat%3Awrite");
    CHECK(q.count("code_challenge") == 0);
    CHECK(q.count("code_challenge_method") == 0);
  }
  SUBCASE("Slack: default scopes when none are asked for") {
    auto q = query_map(ok(authorization_url(slack(), {}, app(), {}, "s", "", kRedirect)));
    CHECK(q["user_scope"] == "users%3Aread");
  }
  SUBCASE("no scopes at all: no scope parameter") {
    Provider p = github();
    p.default_scopes.clear();
    auto q = query_map(ok(authorization_url(p, {}, app(), {}, "s", "c", kRedirect)));
    CHECK(q.count("scope") == 0);
  }
}

TEST_CASE("authorization_params follow the OAuth parameters, encoded") {
  Provider p = github();
  p.authorization_params = {{"access_type", "offline"}, {"prompt", "consent select_account"}};
  const auto [base, query] = split(ok(authorization_url(p, {}, app(), {}, "s", "c", kRedirect)));
  REQUIRE(query.size() == 9);
  CHECK(query[7] == std::pair<std::string, std::string>{"access_type", "offline"});
  CHECK(query[8] == std::pair<std::string, std::string>{"prompt", "consent%20select_account"});
}

TEST_CASE("every value is percent-encoded, keeping only RFC 3986 unreserved characters") {
  const std::string redirect = "https://app.example/cb?next=/a b&x=%2F#frag";
  auto q = query_map(ok(authorization_url(github(), {}, app(), {"a+b"}, "s&t=u", "c", redirect)));
  CHECK(q["redirect_uri"] == "https%3A%2F%2Fapp.example%2Fcb%3Fnext%3D%2Fa%20b%26x%3D%252F%23frag");
  CHECK(q["state"] == "s%26t%3Du");
  CHECK(q["scope"] == "a%2Bb");
}

TEST_CASE("a templated host takes the connection's validated parameter") {
  ParamValues params{{"subdomain", "acme-support"}};
  const std::string url = ok(authorization_url(zendesk(), params, app(), {}, "s", "", kRedirect));
  CHECK(split(url).first == "https://acme-support.zendesk.com/oauth/authorizations/new");
  CHECK(query_map(url)["scope"] == "read%20write");

  SUBCASE("a value outside its pattern is bad_request and never quoted") {
    ParamValues evil{{"subdomain", "evil.com/x"}};
    auto result = authorization_url(zendesk(), evil, app(), {}, "s", "", kRedirect);
    REQUIRE(std::holds_alternative<errors::Error>(result));
    CHECK(std::get<errors::Error>(result).code == errors::Code::bad_request);
    CHECK(std::get<errors::Error>(result).message.find("evil.com") == std::string::npos);
  }
  SUBCASE("a missing value is bad_request") {
    auto result = authorization_url(zendesk(), {}, app(), {}, "s", "", kRedirect);
    REQUIRE(std::holds_alternative<errors::Error>(result));
    CHECK(std::get<errors::Error>(result).code == errors::Code::bad_request);
  }
}

TEST_CASE("a query already on the authorization URL is kept") {
  Provider p = github();
  p.authorization_url = "https://login.example/authorize?tenant=common";
  const std::string url = ok(authorization_url(p, {}, app(), {}, "s", "c", kRedirect));
  CHECK(url.starts_with("https://login.example/authorize?tenant=common&response_type=code&"));
}

TEST_CASE("a PKCE provider refuses to build a URL without a challenge — others ignore one") {
  auto result = authorization_url(github(), {}, app(), {}, "s", "", kRedirect);
  REQUIRE(std::holds_alternative<errors::Error>(result));
  CHECK(std::get<errors::Error>(result).code == errors::Code::internal);

  auto q = query_map(ok(authorization_url(slack(), {}, app(), {}, "s", "ignored", kRedirect)));
  CHECK(q.count("code_challenge") == 0);
}

TEST_CASE("issuer_matches: RFC 9207's iss must equal the configured issuer exactly") {
  Provider p = github();
  CHECK(issuer_matches(p, {}, std::nullopt));
  CHECK(issuer_matches(p, {}, "https://anything.example"));

  p.issuer = "https://accounts.google.com";
  CHECK(issuer_matches(p, {}, "https://accounts.google.com"));
  CHECK_FALSE(issuer_matches(p, {}, std::nullopt));
  CHECK_FALSE(issuer_matches(p, {}, "https://accounts.google.com/"));
  CHECK_FALSE(issuer_matches(p, {}, "https://evil.example"));

  Provider z = zendesk();
  z.issuer = "https://{subdomain}.zendesk.com";
  CHECK(issuer_matches(z, {{"subdomain", "acme"}}, "https://acme.zendesk.com"));
  CHECK_FALSE(issuer_matches(z, {{"subdomain", "acme"}}, "https://other.zendesk.com"));
  CHECK_FALSE(issuer_matches(z, {}, "https://acme.zendesk.com"));
}

}  // namespace
}  // namespace tollgate::oauth
