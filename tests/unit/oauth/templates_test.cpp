// Per-connection parameters: values are checked against their pattern before
// they reach a URL or header, so none can steer a request to another host.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tollgate/config/load.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::oauth {
namespace {

using config::AuthMode;
using config::Provider;
using errors::Code;

const std::filesystem::path kSource = TOLLGATE_SOURCE_DIR;

Provider zendesk() {
  Provider p;
  p.key = "zendesk";
  p.connection_params["subdomain"] = {"^[a-z0-9][a-z0-9-]{0,62}$", "your Zendesk subdomain"};
  p.authorization_url = "https://{subdomain}.zendesk.com/oauth/authorizations/new";
  p.api.base_url = "https://{subdomain}.zendesk.com/api/v2";
  return p;
}

Provider salesforce() {
  Provider p;
  p.key = "salesforce";
  p.token_response.connection_params["instance_url"] = {
      "instance_url", "^https://[a-z0-9-]+(\\.[a-z0-9-]+)*\\.(salesforce|force)\\.com$", ""};
  p.api.base_url = "{instance_url}";
  return p;
}

std::string ok(const std::variant<std::string, errors::Error>& result) {
  if (const auto* error = std::get_if<errors::Error>(&result)) FAIL("unexpected error: " << error->message);
  return std::get<std::string>(result);
}

errors::Error failed(const std::variant<std::string, errors::Error>& result) {
  REQUIRE(std::holds_alternative<errors::Error>(result));
  return std::get<errors::Error>(result);
}

// The catalog as shipped, so these tests also pin its patterns.
const std::map<std::string, Provider>& shipped() {
  static const auto result = config::load(kSource / "config/tollgate.yaml", [](std::string_view) {
    return std::optional<std::string>{};
  });
  REQUIRE(result.ok());
  return result.config->providers;
}

TEST_CASE("substitute puts a matching value where its {name} stands") {
  CHECK(ok(substitute("https://{subdomain}.zendesk.com/api/v2", {{"subdomain", "acme"}}, zendesk())) ==
        "https://acme.zendesk.com/api/v2");
  CHECK(ok(substitute("https://{subdomain}.zendesk.com/{subdomain}", {{"subdomain", "a-1"}}, zendesk())) ==
        "https://a-1.zendesk.com/a-1");
  CHECK(ok(substitute("no templates here", {}, zendesk())) == "no templates here");
  CHECK(ok(substitute("", {}, zendesk())).empty());
}

TEST_CASE("a value that would leave the host is refused, and the message never shows it") {
  const Provider p = zendesk();
  const std::vector<std::string> hostile = {
      "evil.com/", "a.b",  "x@y",  "%2e",    "a/b",        "a?b",        "a#b",         "",
      " ",         "a b",  "\t",   "acme\n", "acme\r\nX:", "\xc3\xbc" "nicode", "\xd0\xb0" "cme", "ACME",
      "a:443",     "a\\b", "-acme", std::string(64, 'a'), std::string("a\0b", 3)};
  for (const std::string& value : hostile) {
    INFO("value: [" << value << "]");
    const auto error = failed(substitute("https://{subdomain}.zendesk.com/api/v2", {{"subdomain", value}}, p));
    CHECK(error.code == Code::bad_request);
    CHECK(error.message == "connection parameter subdomain does not match its pattern");
    if (value.size() > 1) CHECK(error.message.find(value) == std::string::npos);
  }
}

TEST_CASE("a missing value is bad_request naming the parameter") {
  const auto error = failed(substitute("https://{subdomain}.zendesk.com", {{"other", "x"}}, zendesk()));
  CHECK(error.code == Code::bad_request);
  CHECK(error.message.find("connection parameter subdomain is missing") != std::string::npos);
}

TEST_CASE("a template naming an undeclared parameter is the catalog's fault: internal") {
  const auto error = failed(substitute("https://{tenant}.example.com", {{"tenant", "acme"}}, zendesk()));
  CHECK(error.code == Code::internal);
  const auto malformed = failed(substitute("https://{Tenant.example.com", {}, zendesk()));
  CHECK(malformed.code == Code::internal);
}

TEST_CASE("salesforce's instance_url accepts Salesforce hosts only") {
  const Provider p = salesforce();
  for (const char* good : {"https://na1.salesforce.com", "https://acme.my.salesforce.com",
                           "https://acme--dev.sandbox.my.salesforce.com", "https://acme.lightning.force.com"}) {
    INFO(good);
    CHECK(ok(expand_url("{instance_url}", {{"instance_url", good}}, p)) == good);
  }
  for (const char* bad : {"https://evil.com/.salesforce.com", "https://x.salesforce.com.evil.com",
                          "http://na1.salesforce.com", "https://na1.salesforce.com/", "https://na1.salesforce.com:8443",
                          "https://user@na1.salesforce.com", "https://evil.com#.salesforce.com",
                          "https://evil.com?.salesforce.com", "https://.salesforce.com", "https://na1.salesforce.com\n"}) {
    INFO(bad);
    const auto error = failed(expand_url("{instance_url}", {{"instance_url", bad}}, p));
    CHECK(error.code == Code::bad_request);
    CHECK(error.message == "connection parameter instance_url does not match its pattern");
    CHECK(error.message.find(bad) == std::string::npos);
  }
}

TEST_CASE("expand_url refuses a result that is not an https URL with a plain host, whatever the pattern allows") {
  Provider lax;
  lax.key = "lax";
  lax.connection_params["host"] = {"^.+$", ""};
  for (const char* value : {"http://evil.example.com", "https://user@evil.example.com", "javascript:alert(1)",
                            "https://evil.example.com#x", "https://a\\b.example.com", "https://", "https://:443"}) {
    INFO(value);
    const auto error = failed(expand_url("{host}", {{"host", value}}, lax));
    CHECK(error.code == Code::bad_request);
    CHECK(error.message.find(value) == std::string::npos);
  }
  CHECK(ok(expand_url("{host}/v1", {{"host", "https://api.example.com"}}, lax)) == "https://api.example.com/v1");
  CHECK(ok(expand_url("{host}/v1", {{"host", "http://127.0.0.1:9000"}}, lax)) == "http://127.0.0.1:9000/v1");
  CHECK(ok(expand_url("{host}", {{"host", "https://[::1]:8443"}}, lax)) == "https://[::1]:8443");
}

TEST_CASE("the shipped zendesk, shopify and salesforce entries build their hosts from checked values") {
  const auto& providers = shipped();
  const Provider& zd = providers.at("zendesk");
  CHECK(ok(expand_url(zd.api.base_url, {{"subdomain", "acme"}}, zd)) == "https://acme.zendesk.com/api/v2");
  CHECK(failed(expand_url(zd.token_url, {{"subdomain", "evil.com/"}}, zd)).code == Code::bad_request);

  const Provider& shop = providers.at("shopify");
  CHECK(ok(expand_url(shop.token_url, {{"shop", "acme-store"}}, shop)) ==
        "https://acme-store.myshopify.com/admin/oauth/access_token");
  for (const char* bad : {"acme.evil.com", "evil.com/x", "-acme", "Acme", "a_b", ""}) {
    INFO(bad);
    CHECK(failed(expand_url(shop.api.base_url, {{"shop", bad}}, shop)).code == Code::bad_request);
  }

  const Provider& sf = providers.at("salesforce");
  CHECK(ok(expand_url(sf.api.base_url, {{"instance_url", "https://na1.salesforce.com"}}, sf)) ==
        "https://na1.salesforce.com");
  CHECK(failed(expand_url(sf.api.base_url, {{"instance_url", "https://x.salesforce.com.evil.com"}}, sf)).code ==
        Code::bad_request);
}

TEST_CASE("validate_connection_params checks every value and refuses names the provider does not declare") {
  const Provider p = zendesk();
  CHECK_FALSE(validate_connection_params(p, {}).has_value());
  CHECK_FALSE(validate_connection_params(p, {{"subdomain", "acme"}}).has_value());

  const auto bad_value = validate_connection_params(p, {{"subdomain", "evil.com/"}});
  REQUIRE(bad_value.has_value());
  CHECK(bad_value->code == Code::bad_request);
  CHECK(bad_value->message == "connection parameter subdomain does not match its pattern");

  const auto unknown = validate_connection_params(p, {{"subdomain", "acme"}, {"region", "eu"}});
  REQUIRE(unknown.has_value());
  CHECK(unknown->code == Code::bad_request);
  CHECK(unknown->message == "region is not a connection parameter of provider zendesk");

  const auto odd = validate_connection_params(p, {{"Evil Name\n", "x"}});
  REQUIRE(odd.has_value());
  CHECK(odd->message.find("Evil") == std::string::npos);

  // A value from the token response may be supplied too (an imported Salesforce connection).
  CHECK_FALSE(validate_connection_params(salesforce(), {{"instance_url", "https://na1.salesforce.com"}}).has_value());
}

TEST_CASE("missing_connection_params lists what a connect page must ask for") {
  Provider p = zendesk();
  p.connection_params["region"] = {"^[a-z]{2}$", ""};
  CHECK(missing_connection_params(p, {}) == std::vector<std::string>{"region", "subdomain"});
  CHECK(missing_connection_params(p, {{"region", "eu"}}) == std::vector<std::string>{"subdomain"});
  CHECK(missing_connection_params(salesforce(), {}).empty());  // captured from the token response, not asked
}

TEST_CASE("a value longer than the limit is refused before the pattern runs") {
  Provider p;
  p.key = "p";
  p.connection_params["id"] = {"^[a-z]+$", ""};
  CHECK_FALSE(check_param(p, "id", std::string(kMaxParamValueBytes, 'a')).has_value());
  const auto error = check_param(p, "id", std::string(kMaxParamValueBytes + 1, 'a'));
  REQUIRE(error.has_value());
  CHECK(error->code == Code::bad_request);
  CHECK(error->message.find("longer than") != std::string::npos);
}

TEST_CASE("join_url puts exactly one slash between base and path") {
  CHECK(join_url("https://api.github.com", "user") == "https://api.github.com/user");
  CHECK(join_url("https://api.github.com", "/user") == "https://api.github.com/user");
  CHECK(join_url("https://x.zendesk.com/api/v2/", "/tickets.json") == "https://x.zendesk.com/api/v2/tickets.json");
  CHECK(join_url("https://a.example.com//", "//b?q=1&r=%2F") == "https://a.example.com/b?q=1&r=%2F");
  CHECK(join_url("https://gitlab.com/api/v4", "projects/a%2Fb/issues") ==
        "https://gitlab.com/api/v4/projects/a%2Fb/issues");
  CHECK(join_url("https://api.example.com", "") == "https://api.example.com/");
  CHECK(join_url("https://api.example.com", "a//b/") == "https://api.example.com/a//b/");
}

TEST_CASE("render_credential puts the stored secret where the mode's placeholder stands") {
  Provider api_key;
  api_key.key = "openai";
  api_key.auth_mode = AuthMode::api_key;
  const crypto::Secret key("sk-test-123");
  auto rendered = render_credential("Bearer {api_key}", key, {}, api_key);
  REQUIRE(std::holds_alternative<crypto::Secret>(rendered));
  CHECK(std::get<crypto::Secret>(rendered).reveal() == "Bearer sk-test-123");

  Provider twilio;
  twilio.key = "twilio";
  twilio.auth_mode = AuthMode::basic;
  twilio.connection_params["account_sid"] = {"^AC[0-9a-f]{4}$", ""};
  rendered = render_credential("{account_sid}", key, {{"account_sid", "AC12ab"}}, twilio);
  REQUIRE(std::holds_alternative<crypto::Secret>(rendered));
  CHECK(std::get<crypto::Secret>(rendered).reveal() == "AC12ab");
  rendered = render_credential("{account_sid}", key, {{"account_sid", "AC12ab.evil"}}, twilio);
  REQUIRE(std::holds_alternative<errors::Error>(rendered));
  CHECK(std::get<errors::Error>(rendered).code == Code::bad_request);

  Provider shopify;
  shopify.key = "shopify";
  rendered = render_credential("{access_token}", crypto::Secret("shpat_1"), {}, shopify);
  REQUIRE(std::holds_alternative<crypto::Secret>(rendered));
  CHECK(std::get<crypto::Secret>(rendered).reveal() == "shpat_1");
  // In an oauth mode {api_key} is not the credential (the loader refuses such a catalog).
  rendered = render_credential("{api_key}", crypto::Secret("shpat_1"), {}, shopify);
  REQUIRE(std::holds_alternative<errors::Error>(rendered));
  CHECK(std::get<errors::Error>(rendered).code == Code::internal);
}

TEST_CASE("a stored secret with a line break is refused, and not shown") {
  Provider p;
  p.key = "openai";
  p.auth_mode = AuthMode::api_key;
  const auto rendered = render_credential("Bearer {api_key}", crypto::Secret("sk\r\nX-Evil: 1"), {}, p);
  REQUIRE(std::holds_alternative<errors::Error>(rendered));
  const auto& error = std::get<errors::Error>(rendered);
  CHECK(error.code == Code::bad_request);
  CHECK(error.message.find("X-Evil") == std::string::npos);
}

TEST_CASE("checking values from several threads at once is safe") {
  const Provider p = zendesk();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const bool good = (i + t) % 2 == 0;
        const auto error = check_param(p, "subdomain", good ? "acme" : "evil.com/");
        if (error.has_value() == good) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong == 0);
}

}  // namespace
}  // namespace tollgate::oauth
