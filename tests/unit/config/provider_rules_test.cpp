// One test per rule a catalog entry must follow, each pinning the line,
// column and key path of its diagnostic in the providers file.
#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::environment;
using test::single_error;

// Lines 1-4: a complete oauth2 entry `p`; a test appends its own lines from line 5 on.
const std::string kHead =
    "p:\n"
    "  authorization_url: https://auth.example.com/authorize\n"
    "  token_url: https://auth.example.com/token\n"
    "  api: {base_url: https://api.example.com}\n";

LoadResult load_catalog(const ConfigDir& dir, const std::string& yaml, const EnvLookup& env = environment()) {
  dir.dir.write("providers.yaml", yaml);
  return dir.load("", env);
}

Diagnostic catalog_error(const ConfigDir& dir, const std::string& yaml, const EnvLookup& env = environment()) {
  return single_error(load_catalog(dir, yaml, env));
}

const Diagnostic* first_warning(const LoadResult& result) {
  for (const Diagnostic& d : result.diagnostics) {
    if (d.severity == Diagnostic::Severity::warning) return &d;
  }
  return nullptr;
}

TEST_CASE("an unknown key in an entry is an error at the key, listing the accepted keys") {
  ConfigDir dir;
  const auto d = catalog_error(dir, kHead + "  tokn_url: https://auth.example.com/token\n");
  check_at(d, 5, 3, "p.tokn_url", "unknown key \"tokn_url\" (expected one of: display_name, alias, docs_url, auth_mode,");
}

TEST_CASE("an unknown key in a nested block is an error at the key") {
  ConfigDir dir;
  const auto d = catalog_error(dir, kHead + "  token_response: {acces_token_path: token}\n");
  check_at(d, 5, 20, "p.token_response.acces_token_path", "unknown key \"acces_token_path\"");
}

TEST_CASE("an unknown auth_mode is an error at the value listing the modes") {
  ConfigDir dir;
  const auto d = catalog_error(dir, kHead + "  auth_mode: oauth3\n");
  check_at(d, 5, 14, "p.auth_mode", "expected one of: oauth2, oauth2_client_credentials, api_key, basic");
}

TEST_CASE("unknown token_endpoint_auth and token_body_format values are errors at the value") {
  ConfigDir dir;
  SUBCASE("token_endpoint_auth") {
    const auto d = catalog_error(dir, kHead + "  token_endpoint_auth: private_key_jwt\n");
    check_at(d, 5, 24, "p.token_endpoint_auth", "expected one of: client_secret_post, client_secret_basic");
  }
  SUBCASE("token_body_format") {
    const auto d = catalog_error(dir, kHead + "  token_body_format: xml\n");
    check_at(d, 5, 22, "p.token_body_format", "expected one of: form, json");
  }
}

TEST_CASE("oauth2 needs token_url, reported at the entry's key") {
  ConfigDir dir;
  const auto d = catalog_error(dir,
                               "p:\n"
                               "  authorization_url: https://auth.example.com/authorize\n"
                               "  api: {base_url: https://api.example.com}\n");
  check_at(d, 1, 1, "p.token_url", "auth_mode oauth2 needs token_url");
}

TEST_CASE("oauth2 needs authorization_url — an empty one is reported where it is written") {
  ConfigDir dir;
  const auto d = catalog_error(dir,
                               "p:\n"
                               "  authorization_url: \"${AUTH_URL:-}\"\n"
                               "  token_url: https://auth.example.com/token\n"
                               "  api: {base_url: https://api.example.com}\n");
  check_at(d, 2, 22, "p.authorization_url", "auth_mode oauth2 needs authorization_url");
}

TEST_CASE("a refused URL is not reported a second time as missing") {
  ConfigDir dir;
  const auto d = catalog_error(dir,
                               "p:\n"
                               "  authorization_url: https://auth.example.com/authorize\n"
                               "  token_url: [https://auth.example.com/token]\n"
                               "  api: {base_url: https://api.example.com}\n");
  check_at(d, 3, 14, "p.token_url", "expected a string, got a list");
}

TEST_CASE("oauth2_client_credentials needs token_url but no authorization_url") {
  ConfigDir dir;
  SUBCASE("complete") {
    const auto result = load_catalog(dir,
                                     "p:\n"
                                     "  auth_mode: oauth2_client_credentials\n"
                                     "  token_url: https://auth.example.com/token\n"
                                     "  api: {base_url: https://api.example.com}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->providers.at("p").auth_mode == AuthMode::oauth2_client_credentials);
  }
  SUBCASE("without token_url") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: oauth2_client_credentials\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 1, 1, "p.token_url", "auth_mode oauth2_client_credentials needs token_url");
  }
}

TEST_CASE("every provider needs api.base_url") {
  ConfigDir dir;
  SUBCASE("no api block") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: x-api-key}\n");
    check_at(d, 1, 1, "p.api.base_url", "every provider needs api.base_url");
  }
  SUBCASE("an api block without base_url") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: x-api-key}\n"
                                 "  api: {headers: {A: b}}\n");
    check_at(d, 4, 8, "p.api", "every provider needs api.base_url");
  }
}

TEST_CASE("URLs must be absolute https, with http only for a loopback host") {
  ConfigDir dir;
  SUBCASE("http to a public host") {
    const auto d = catalog_error(dir, kHead + "  revocation_url: http://auth.example.com/revoke\n");
    check_at(d, 5, 19, "p.revocation_url", "must be https:// (http:// is allowed only for a loopback host");
  }
  SUBCASE("a relative URL") {
    const auto d = catalog_error(dir, kHead + "  revocation_url: /revoke\n");
    check_at(d, 5, 19, "p.revocation_url", "expected an absolute https:// URL");
  }
  SUBCASE("another scheme") {
    const auto d = catalog_error(dir, kHead + "  revocation_url: ftp://auth.example.com/revoke\n");
    check_at(d, 5, 19, "p.revocation_url", "expected an absolute https:// URL");
  }
  SUBCASE("a query") {
    const auto d = catalog_error(dir, kHead + "  revocation_url: https://auth.example.com/revoke?x=1\n");
    check_at(d, 5, 19, "p.revocation_url", "must not have a query");
  }
  SUBCASE("user info") {
    const auto d = catalog_error(dir, kHead + "  revocation_url: https://user@auth.example.com/revoke\n");
    check_at(d, 5, 19, "p.revocation_url", "must not carry user info");
  }
  SUBCASE("a bad port") {
    const auto d = catalog_error(dir, kHead + "  revocation_url: https://auth.example.com:0/revoke\n");
    check_at(d, 5, 19, "p.revocation_url", "port that is not a number from 1 to 65535");
  }
  SUBCASE("in the api block") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  authorization_url: https://auth.example.com/authorize\n"
                                 "  token_url: https://auth.example.com/token\n"
                                 "  api: {base_url: http://api.example.com}\n");
    check_at(d, 4, 19, "p.api.base_url", "must be https://");
  }
  SUBCASE("loopback hosts may use http, as test providers do") {
    const auto result = load_catalog(dir,
                                     "p:\n"
                                     "  authorization_url: http://127.0.0.1:9000/authorize\n"
                                     "  token_url: http://localhost:9000/token\n"
                                     "  revocation_url: http://[::1]:9000/revoke\n"
                                     "  issuer: http://127.0.0.1:9000\n"
                                     "  api: {base_url: \"http://127.0.0.1:9001/\"}\n");
    INFO(test::dump(result));
    CHECK(result.ok());
    CHECK(result.diagnostics.empty());
  }
}

TEST_CASE("no diagnostic repeats a value, even one from the environment") {
  ConfigDir dir;
  const auto env = environment({{"TOKEN_URL", "http://s3cr3t.example.com/token"}, {"PATTERN", "s3cr3t[a-z]+"}});
  const auto result = load_catalog(dir,
                                   "p:\n"
                                   "  authorization_url: https://auth.example.com/authorize\n"
                                   "  token_url: ${TOKEN_URL}\n"
                                   "  api: {base_url: \"https://{tenant}.example.com\"}\n"
                                   "  connection_params:\n"
                                   "    tenant: {pattern: \"${PATTERN}\"}\n",
                                   env);
  INFO(test::dump(result));
  REQUIRE(result.diagnostics.size() == 2);
  check_at(result.diagnostics[0], 3, 14, "p.token_url", "must be https://");
  check_at(result.diagnostics[1], 6, 23, "p.connection_params.tenant.pattern", "must be anchored");
  CHECK(test::dump(result).find("s3cr3t") == std::string::npos);
}

TEST_CASE("a template must name a declared connection parameter") {
  ConfigDir dir;
  SUBCASE("in api.base_url") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  authorization_url: https://auth.example.com/authorize\n"
                                 "  token_url: https://auth.example.com/token\n"
                                 "  api: {base_url: \"https://{tenant}.example.com/v1\"}\n");
    check_at(d, 4, 19, "p.api.base_url", "{tenant} names no declared connection parameter");
  }
  SUBCASE("in token_url, declared under another name") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  connection_params:\n"
                                 "    subdomain: {pattern: \"^[a-z]+$\"}\n"
                                 "  authorization_url: https://{subdomain}.example.com/authorize\n"
                                 "  token_url: https://{subdomian}.example.com/token\n"
                                 "  api: {base_url: \"https://{subdomain}.example.com\"}\n");
    check_at(d, 5, 14, "p.token_url", "{subdomian} names no declared connection parameter");
  }
  SUBCASE("in an api header value") {
    const auto h = catalog_error(dir,
                                 "p:\n"
                                 "  authorization_url: https://auth.example.com/authorize\n"
                                 "  token_url: https://auth.example.com/token\n"
                                 "  api:\n"
                                 "    base_url: https://api.example.com\n"
                                 "    headers: {X-Org: \"{org}\"}\n");
    check_at(h, 6, 22, "p.api.headers.X-Org", "{org} names no declared connection parameter");
  }
  SUBCASE("a value from the token response is declared too") {
    const auto result = load_catalog(dir,
                                     "p:\n"
                                     "  authorization_url: https://auth.example.com/authorize\n"
                                     "  token_url: https://auth.example.com/token\n"
                                     "  token_response:\n"
                                     "    connection_params:\n"
                                     "      instance_url: {path: instance_url, pattern: \"^https://[a-z]+\\\\.example\\\\.com$\"}\n"
                                     "  api: {base_url: \"{instance_url}/services\"}\n");
    INFO(test::dump(result));
    CHECK(result.ok());
  }
}

TEST_CASE("{api_key} and {access_token} belong to credentials only") {
  ConfigDir dir;
  const auto d = catalog_error(dir,
                               "p:\n"
                               "  auth_mode: api_key\n"
                               "  credentials: {query: key}\n"
                               "  api: {base_url: \"https://api.example.com/{api_key}\"}\n");
  check_at(d, 4, 19, "p.api.base_url", "{api_key} is reserved for credentials");
}

TEST_CASE("a brace that does not make a {name} template is an error") {
  ConfigDir dir;
  SUBCASE("in a URL") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  authorization_url: https://auth.example.com/authorize\n"
                                 "  token_url: https://auth.example.com/{Tenant}/token\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 14, "p.token_url", "has a { or } that is not part of a {name} template");
  }
  SUBCASE("in a header value") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  authorization_url: https://auth.example.com/authorize\n"
                                 "  token_url: https://auth.example.com/token\n"
                                 "  api:\n"
                                 "    base_url: https://api.example.com\n"
                                 "    headers: {X-Json: \"{a\"}\n");
    check_at(d, 6, 23, "p.api.headers.X-Json", "has a { or } that is not part of a {name} template");
  }
}

TEST_CASE("a connection parameter's pattern must compile and be anchored") {
  ConfigDir dir;
  const std::string head = "p:\n"
                           "  authorization_url: https://{t}.example.com/authorize\n"
                           "  token_url: https://{t}.example.com/token\n"
                           "  api: {base_url: \"https://{t}.example.com\"}\n"
                           "  connection_params:\n";
  SUBCASE("a pattern that does not compile") {
    const auto d = catalog_error(dir, head + "    t: {pattern: \"^[a-z$\"}\n");
    check_at(d, 6, 18, "p.connection_params.t.pattern", "does not compile as an ECMAScript regular expression");
  }
  for (const char* pattern : {"[a-z]+", "^[a-z]+", "[a-z]+$", "^[a-z]+\\\\$", "^", "$"}) {
    SUBCASE("unanchored") {
      INFO(pattern);
      const auto d = catalog_error(dir, head + "    t: {pattern: \"" + pattern + "\"}\n");
      check_at(d, 6, 18, "p.connection_params.t.pattern", "a pattern must be anchored: start with ^ and end with $");
    }
  }
  SUBCASE("no pattern at all") {
    const auto d = catalog_error(dir, head + "    t: {description: the tenant}\n");
    check_at(d, 6, 5, "p.connection_params.t.pattern", "required: the anchored pattern");
  }
  SUBCASE("anchored, with an escaped backslash before the $") {
    const auto result = load_catalog(dir, head + "    t: {pattern: \"^[a-z\\\\\\\\]+$\"}\n");
    INFO(test::dump(result));
    CHECK(result.ok());
  }
}

TEST_CASE("a token_response connection parameter needs a path") {
  ConfigDir dir;
  const auto d = catalog_error(dir, kHead +
                                        "  token_response:\n"
                                        "    connection_params:\n"
                                        "      instance_url: {pattern: \"^https://[a-z]+$\"}\n");
  check_at(d, 7, 7, "p.token_response.connection_params.instance_url.path", "required: where the value is");
}

TEST_CASE("connection parameter names are identifiers, declared once, and not reserved") {
  ConfigDir dir;
  SUBCASE("a bad name") {
    const auto d = catalog_error(dir, kHead + "  connection_params: {Sub-Domain: {pattern: \"^a$\"}}\n");
    check_at(d, 5, 23, "p.connection_params.Sub-Domain", "a connection parameter name is lower-case letters");
  }
  SUBCASE("a reserved name") {
    const auto d = catalog_error(dir, kHead + "  connection_params: {api_key: {pattern: \"^a$\"}}\n");
    check_at(d, 5, 23, "p.connection_params.api_key", "is reserved for the credential itself");
  }
  SUBCASE("declared in both places") {
    const auto d = catalog_error(dir, kHead +
                                          "  connection_params: {region: {pattern: \"^[a-z]+$\"}}\n"
                                          "  token_response:\n"
                                          "    connection_params: {region: {path: region, pattern: \"^[a-z]+$\"}}\n");
    check_at(d, 7, 25, "p.token_response.connection_params.region", "is already declared at line 5");
  }
}

TEST_CASE("alias must name an existing provider that is not itself an alias") {
  ConfigDir dir;
  SUBCASE("a missing provider") {
    const auto d = catalog_error(dir, kHead +
                                          "q:\n"
                                          "  alias: nope\n");
    check_at(d, 6, 10, "q.alias", "names no provider in this catalog");
  }
  SUBCASE("an alias of an alias") {
    const auto d = catalog_error(dir, kHead +
                                          "q: {alias: p}\n"
                                          "r:\n"
                                          "  alias: q\n");
    check_at(d, 7, 10, "r.alias", "names a provider that is itself an alias");
  }
  SUBCASE("a cycle is an alias of an alias at every step") {
    const auto result = load_catalog(dir, "a: {alias: b}\nb: {alias: a}\n");
    INFO(test::dump(result));
    REQUIRE(result.diagnostics.size() == 2);
    check_at(result.diagnostics[0], 1, 12, "a.alias", "itself an alias");
    check_at(result.diagnostics[1], 2, 12, "b.alias", "itself an alias");
  }
  SUBCASE("itself") {
    const auto d = catalog_error(dir, "a: {alias: a}\n");
    check_at(d, 1, 12, "a.alias", "a provider cannot be an alias of itself");
  }
  SUBCASE("the entry's own keys are still checked") {
    const auto result = load_catalog(dir, "q: {alias: nope, colour: red}\n");
    INFO(test::dump(result));
    REQUIRE(result.diagnostics.size() == 2);
    check_at(result.diagnostics[0], 1, 12, "q.alias", "names no provider");
    check_at(result.diagnostics[1], 1, 18, "q.colour", "unknown key");
  }
}

TEST_CASE("api_key needs credentials with a header or a query parameter") {
  ConfigDir dir;
  SUBCASE("no credentials") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 1, 1, "p.credentials", "auth_mode api_key needs credentials.header");
  }
  SUBCASE("credentials without either") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 16, "p.credentials", "auth_mode api_key needs credentials.header");
  }
  SUBCASE("both") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: x-api-key, query: key}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 43, "p.credentials.query", "set credentials.header or credentials.query, not both");
  }
  SUBCASE("a format without {api_key}") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: Authorization, format: Bearer}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 48, "p.credentials.format", "must contain {api_key} where auth_mode api_key puts the credential");
  }
  SUBCASE("a format with the oauth placeholder") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: Authorization, format: \"Bearer {access_token}\"}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 48, "p.credentials.format", "{access_token} is not this auth mode's credential");
  }
  SUBCASE("username belongs to basic") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: x-api-key, username: me}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 46, "p.credentials.username", "username and password are for auth_mode basic");
  }
  SUBCASE("a bad header name") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: \"x api key\"}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 25, "p.credentials.header", "expected an HTTP header name");
  }
}

TEST_CASE("basic needs credentials.username, which or the password uses {api_key}") {
  ConfigDir dir;
  SUBCASE("no username") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: basic\n"
                                 "  credentials: {password: \"{api_key}\"}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 16, "p.credentials", "auth_mode basic needs credentials.username");
  }
  SUBCASE("the key used nowhere") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: basic\n"
                                 "  credentials: {username: me, password: \"\"}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 27, "p.credentials.username", "neither username nor password uses {api_key}");
  }
  SUBCASE("a header belongs to the other modes") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: basic\n"
                                 "  credentials: {username: \"{api_key}\", header: Authorization}\n"
                                 "  api: {base_url: https://api.example.com}\n");
    check_at(d, 3, 48, "p.credentials.header", "auth_mode basic sends username and password");
  }
  SUBCASE("a connection parameter as the user name, the key as the password") {
    const auto result = load_catalog(dir,
                                     "twilio:\n"
                                     "  auth_mode: basic\n"
                                     "  connection_params: {account_sid: {pattern: \"^AC[0-9a-f]{32}$\"}}\n"
                                     "  credentials: {username: \"{account_sid}\", password: \"{api_key}\"}\n"
                                     "  api: {base_url: https://api.twilio.com}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->providers.at("twilio").credentials == Credentials{"", "", "", "{account_sid}", "{api_key}"});
  }
}

TEST_CASE("oauth modes may move the token, with {access_token}") {
  ConfigDir dir;
  SUBCASE("a custom header") {
    const auto result = load_catalog(dir, kHead + "  credentials: {header: X-Shopify-Access-Token}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->providers.at("p").credentials == Credentials{"X-Shopify-Access-Token", "{access_token}", "", "", ""});
  }
  SUBCASE("{api_key} is not an oauth credential") {
    const auto d = catalog_error(dir, kHead + "  credentials: {header: Authorization, format: \"token {api_key}\"}\n");
    check_at(d, 5, 48, "p.credentials.format", "{api_key} is not this auth mode's credential");
  }
}

TEST_CASE("refresh_on_status holds HTTP statuses from 100 to 599") {
  ConfigDir dir;
  const std::string head = "p:\n"
                           "  authorization_url: https://auth.example.com/authorize\n"
                           "  token_url: https://auth.example.com/token\n"
                           "  api:\n"
                           "    base_url: https://api.example.com\n";
  SUBCASE("too high") {
    const auto d = catalog_error(dir, head + "    refresh_on_status: [401, 600]\n");
    check_at(d, 6, 30, "p.api.refresh_on_status[1]", "expected a whole number from 0 to 599");
  }
  SUBCASE("too low") {
    const auto d = catalog_error(dir, head + "    refresh_on_status: [99]\n");
    check_at(d, 6, 25, "p.api.refresh_on_status[0]", "expected an HTTP status from 100 to 599");
  }
  SUBCASE("not a number") {
    const auto d = catalog_error(dir, head + "    refresh_on_status: [unauthorized]\n");
    check_at(d, 6, 25, "p.api.refresh_on_status[0]", "expected a whole number");
  }
  SUBCASE("empty: never refresh on a status") {
    const auto result = load_catalog(dir, head + "    refresh_on_status: []\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->providers.at("p").api.refresh_on_status.empty());
  }
}

TEST_CASE("expires_in_default is a positive number of seconds or null") {
  ConfigDir dir;
  SUBCASE("zero") {
    const auto d = catalog_error(dir, kHead + "  token_response: {expires_in_default: 0}\n");
    check_at(d, 5, 40, "p.token_response.expires_in_default", "1 or more, or null");
  }
  SUBCASE("null") {
    const auto result = load_catalog(dir, kHead + "  token_response: {expires_in_default: null}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK_FALSE(result.config->providers.at("p").token_response.expires_in_default.has_value());
  }
}

TEST_CASE("a token response path is a dotted path") {
  ConfigDir dir;
  const auto d = catalog_error(dir, kHead + "  token_response: {access_token_path: \"authed_user..token\"}\n");
  check_at(d, 5, 39, "p.token_response.access_token_path", "expected a dotted path");
}

TEST_CASE("fixed headers are header names with plain values, and not ones tollgate sets") {
  ConfigDir dir;
  const std::string head = "p:\n"
                           "  authorization_url: https://auth.example.com/authorize\n"
                           "  token_url: https://auth.example.com/token\n"
                           "  api:\n"
                           "    base_url: https://api.example.com\n";
  SUBCASE("a bad name") {
    const auto d = catalog_error(dir, head + "    headers: {\"Bad Header\": x}\n");
    check_at(d, 6, 15, "p.api.headers.Bad Header", "expected an HTTP header name");
  }
  SUBCASE("Host") {
    const auto d = catalog_error(dir, head + "    headers: {host: evil.example.com}\n");
    check_at(d, 6, 15, "p.api.headers.host", "is a header tollgate sets itself");
  }
  SUBCASE("Tollgate-*") {
    const auto d = catalog_error(dir, kHead + "  token_headers: {Tollgate-Tenant: x}\n");
    check_at(d, 5, 19, "p.token_headers.Tollgate-Tenant", "Tollgate-* headers are tollgate's own");
  }
  SUBCASE("the header the credential goes in") {
    const auto d = catalog_error(dir, head + "    headers: {authorization: \"Bearer x\"}\n");
    check_at(d, 6, 30, "p.api.headers.authorization", "is where the credential goes");
  }
}

TEST_CASE("extra OAuth parameters cannot override what tollgate sets") {
  ConfigDir dir;
  SUBCASE("state") {
    const auto d = catalog_error(dir, kHead + "  authorization_params: {state: fixed}\n");
    check_at(d, 5, 26, "p.authorization_params.state", "is a parameter tollgate sets itself");
  }
  SUBCASE("code_verifier") {
    const auto d = catalog_error(dir, kHead + "  token_params: {code_verifier: x}\n");
    check_at(d, 5, 18, "p.token_params.code_verifier", "is a parameter tollgate sets itself");
  }
  SUBCASE("the scope parameter") {
    const auto d = catalog_error(dir, kHead + "  scope_param: user_scope\n  authorization_params: {user_scope: x}\n");
    check_at(d, 6, 38, "p.authorization_params.user_scope", "carries the scopes (scope_param)");
  }
}

TEST_CASE("a scope is an RFC 6749 scope token") {
  ConfigDir dir;
  const auto d = catalog_error(dir, kHead + "  default_scopes: [read, \"write all\"]\n");
  check_at(d, 5, 26, "p.default_scopes[1]", "a scope is visible ASCII without spaces");
}

TEST_CASE("verification needs a path under api.base_url") {
  ConfigDir dir;
  const std::string head = "p:\n"
                           "  auth_mode: api_key\n"
                           "  credentials: {header: x-api-key}\n"
                           "  api: {base_url: https://api.example.com}\n";
  SUBCASE("missing") {
    const auto d = catalog_error(dir, head + "  verification: {method: GET}\n");
    check_at(d, 5, 3, "p.verification.path", "required");
  }
  SUBCASE("relative or with dot segments") {
    for (const char* path : {"v1/models", "/v1/../admin", "/v1/./x", "/a b"}) {
      INFO(path);
      const auto d = catalog_error(dir, head + "  verification: {path: \"" + path + "\"}\n");
      check_at(d, 5, 24, "p.verification.path", "expected a path starting with /");
    }
  }
  SUBCASE("a method outside GET, HEAD and POST") {
    const auto d = catalog_error(dir, head + "  verification: {method: DELETE, path: /v1/models}\n");
    check_at(d, 5, 26, "p.verification.method", "expected one of: GET, HEAD, POST");
  }
}

TEST_CASE("managed needs service_config_key and an oauth mode") {
  ConfigDir dir;
  SUBCASE("no service_config_key") {
    const auto d = catalog_error(dir, kHead + "  managed: {client_id: a, client_secret: b}\n");
    check_at(d, 5, 3, "p.managed.service_config_key", "required");
  }
  SUBCASE("on an api_key provider") {
    const auto d = catalog_error(dir,
                                 "p:\n"
                                 "  auth_mode: api_key\n"
                                 "  credentials: {header: x-api-key}\n"
                                 "  api: {base_url: https://api.example.com}\n"
                                 "  managed: {service_config_key: p, client_id: a, client_secret: b}\n");
    check_at(d, 5, 3, "p.managed", "a managed OAuth app needs auth_mode oauth2 or oauth2_client_credentials");
  }
  SUBCASE("deployment_credentials on an oauth provider") {
    const auto d = catalog_error(dir, kHead + "  deployment_credentials: {api_key: k}\n");
    check_at(d, 5, 3, "p.deployment_credentials", "deployment_credentials are for auth_mode api_key and basic");
  }
}

TEST_CASE("a managed app with an empty client id or secret is disabled with a warning, not an error") {
  ConfigDir dir;
  const std::string yaml = kHead +
                           "  managed:\n"
                           "    service_config_key: p\n"
                           "    client_id: ${P_ID:-}\n"
                           "    client_secret: ${P_SECRET:-}\n";
  SUBCASE("both empty") {
    const auto result = load_catalog(dir, yaml);
    INFO(test::dump(result));
    REQUIRE(result.ok());
    REQUIRE(result.diagnostics.size() == 1);
    const Diagnostic& d = result.diagnostics[0];
    CHECK(d.severity == Diagnostic::Severity::warning);
    check_at(d, 5, 3, "p.managed", "managed app disabled: client_id and client_secret are empty (set them, e.g. via "
                                   "${P_ID} and ${P_SECRET})");
    CHECK(d.format() == (dir.dir / "providers.yaml").string() +
                            ":5:3: warning: p.managed: managed app disabled: client_id and client_secret are empty "
                            "(set them, e.g. via ${P_ID} and ${P_SECRET})");
    const Provider& p = result.config->providers.at("p");
    REQUIRE(p.managed.has_value());
    CHECK_FALSE(p.managed->enabled);
    CHECK(p.managed->service_config_key == "p");
    CHECK(p.managed_service_config_key() == nullptr);
  }
  SUBCASE("only the secret empty; the id is not printed") {
    const auto result = load_catalog(dir, yaml, environment({{"P_ID", "visible-client-id"}}));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    const Diagnostic* d = first_warning(result);
    REQUIRE(d != nullptr);
    check_at(*d, 5, 3, "p.managed", "managed app disabled: client_secret is empty (set it, e.g. via ${P_SECRET})");
    CHECK(test::dump(result).find("visible-client-id") == std::string::npos);
  }
  SUBCASE("both set: enabled, no warning") {
    const auto result = load_catalog(dir, yaml, environment({{"P_ID", "id"}, {"P_SECRET", "secret"}}));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    CHECK(result.config->providers.at("p").managed->enabled);
  }
  SUBCASE("keys left out suggest a variable named after the provider") {
    const auto result = load_catalog(dir, "my-app:\n" + kHead.substr(3) + "  managed: {service_config_key: my-app}\n");
    INFO(test::dump(result));
    REQUIRE(result.ok());
    const Diagnostic* d = first_warning(result);
    REQUIRE(d != nullptr);
    check_at(*d, 5, 3, "my-app.managed",
             "client_id and client_secret are empty (set them, e.g. via ${MY_APP_CLIENT_ID} and "
             "${MY_APP_CLIENT_SECRET})");
  }
}

TEST_CASE("deployment credentials with an empty api_key are disabled with a warning") {
  ConfigDir dir;
  const std::string yaml = "exa:\n"
                           "  auth_mode: api_key\n"
                           "  credentials: {header: x-api-key}\n"
                           "  api: {base_url: https://api.exa.ai}\n"
                           "  deployment_credentials:\n"
                           "    api_key: ${EXA_API_KEY:-}\n";
  SUBCASE("empty") {
    const auto result = load_catalog(dir, yaml);
    INFO(test::dump(result));
    REQUIRE(result.ok());
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].severity == Diagnostic::Severity::warning);
    check_at(result.diagnostics[0], 5, 3, "exa.deployment_credentials",
             "deployment credentials disabled: api_key is empty (set it, e.g. via ${EXA_API_KEY})");
    CHECK_FALSE(result.config->providers.at("exa").has_deployment_credentials());
  }
  SUBCASE("set") {
    const auto result = load_catalog(dir, yaml, environment({{"EXA_API_KEY", "k"}}));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    CHECK(result.config->providers.at("exa").has_deployment_credentials());
  }
}

TEST_CASE("every problem in the catalog is reported at once") {
  ConfigDir dir;
  const auto result = load_catalog(dir,
                                   "a:\n"                                             // 1
                                   "  auth_mode: oauth3\n"                            // 2
                                   "  api: {base_url: http://api.example.com}\n"      // 3
                                   "b:\n"                                             // 4
                                   "  alias: c\n"                                     // 5
                                   "d:\n"                                             // 6
                                   "  auth_mode: api_key\n"                           // 7
                                   "  api: {base_url: https://api.example.com}\n"     // 8
                                   "  connection_params: {x: {pattern: \"[a-z]\"}}\n");  // 9
  INFO(test::dump(result));
  CHECK_FALSE(result.ok());
  REQUIRE(result.diagnostics.size() == 7);
  check_at(result.diagnostics[0], 1, 1, "a.authorization_url", "auth_mode oauth2 needs authorization_url");
  check_at(result.diagnostics[1], 1, 1, "a.token_url", "auth_mode oauth2 needs token_url");
  check_at(result.diagnostics[2], 2, 14, "a.auth_mode", "expected one of");
  check_at(result.diagnostics[3], 3, 19, "a.api.base_url", "must be https://");
  check_at(result.diagnostics[4], 5, 10, "b.alias", "names no provider");
  check_at(result.diagnostics[5], 6, 1, "d.credentials", "auth_mode api_key needs credentials.header");
  check_at(result.diagnostics[6], 9, 36, "d.connection_params.x.pattern", "must be anchored");
}

}  // namespace
}  // namespace tollgate::config
