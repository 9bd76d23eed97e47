// Where the catalog comes from and what an entry reads into. The rules an
// entry must follow are in provider_rules_test.cpp, aliases in
// provider_alias_test.cpp, the shipped catalog in provider_catalog_test.cpp.
#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::single_error;

// The least an oauth2 entry needs, on one line.
constexpr std::string_view kMinimal =
    "{authorization_url: https://auth.example.com/authorize, token_url: https://auth.example.com/token, "
    "api: {base_url: https://api.example.com}}";

std::string entry(std::string_view key, std::string_view extra = "") {
  std::string yaml(kMinimal);
  if (!extra.empty()) yaml.insert(yaml.size() - 1, std::string(", ") + std::string(extra));
  return std::string(key) + ": " + yaml + "\n";
}

TEST_CASE("the providers file beside the config is loaded by default") {
  ConfigDir dir;
  dir.dir.write("providers.yaml", entry("github", "display_name: GitHub") +
                                      "exa:\n"
                                      "  display_name: Exa\n"
                                      "  auth_mode: api_key\n"
                                      "  credentials: {header: x-api-key}\n"
                                      "  api: {base_url: https://api.exa.ai}\n");
  const auto result = dir.load("logging: {level: info}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.diagnostics.empty());
  CHECK(result.config->providers_file == dir.dir / "providers.yaml");
  REQUIRE(result.config->providers.size() == 2);
  CHECK(result.config->providers.at("github").display_name == "GitHub");
  CHECK(result.config->providers.at("exa").display_name == "Exa");
  CHECK(result.config->providers.at("exa").auth_mode == AuthMode::api_key);
}

TEST_CASE("an entry with only what oauth2 needs takes every SPEC default") {
  ConfigDir dir;
  dir.dir.write("providers.yaml", entry("acme"));
  const auto result = dir.load("");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  Provider expected;
  expected.key = "acme";
  expected.display_name = "acme";  // the key when not given
  expected.authorization_url = "https://auth.example.com/authorize";
  expected.token_url = "https://auth.example.com/token";
  expected.api.base_url = "https://api.example.com";
  expected.credentials = {"Authorization", "Bearer {access_token}", "", "", ""};
  const Provider& p = result.config->providers.at("acme");
  CHECK(p == expected);
  CHECK(p.auth_mode == AuthMode::oauth2);
  CHECK(p.token_endpoint_auth == TokenEndpointAuth::client_secret_post);
  CHECK(p.token_body_format == TokenBodyFormat::form);
  CHECK(p.pkce);
  CHECK(p.scope_param == "scope");
  CHECK(p.scope_separator == " ");
  CHECK(p.default_scopes.empty());
  CHECK(p.token_response.access_token_path == "access_token");
  CHECK(p.token_response.refresh_token_path == "refresh_token");
  CHECK(p.token_response.expires_in_path == "expires_in");
  CHECK(p.token_response.scope_path == "scope");
  CHECK_FALSE(p.token_response.expires_in_default.has_value());
  CHECK(p.api.refresh_on_status == std::vector<int>{401});
  CHECK(p.effective_refresh_url() == p.token_url);
  CHECK(p.managed_service_config_key() == nullptr);
  CHECK_FALSE(p.has_deployment_credentials());
}

TEST_CASE("every key of a full entry is read into the struct") {
  ConfigDir dir;
  dir.dir.write("providers.yaml",
                "acme:\n"
                "  display_name: Acme\n"
                "  docs_url: https://docs.acme.test/oauth?lang=en#start\n"
                "  auth_mode: oauth2\n"
                "  authorization_url: https://{tenant}.acme.test/authorize\n"
                "  token_url: https://{tenant}.acme.test/token\n"
                "  refresh_url: https://{tenant}.acme.test/refresh\n"
                "  revocation_url: https://{tenant}.acme.test/revoke\n"
                "  token_endpoint_auth: client_secret_basic\n"
                "  token_body_format: json\n"
                "  token_headers: {X-Client: tollgate}\n"
                "  pkce: false\n"
                "  scope_param: user_scope\n"
                "  scope_separator: \",\"\n"
                "  default_scopes: [read, \"write:all\"]\n"
                "  authorization_params: {access_type: offline, prompt: consent}\n"
                "  token_params: {audience: api}\n"
                "  refresh_params: {audience: api}\n"
                "  token_response:\n"
                "    access_token_path: authed_user.access_token\n"
                "    refresh_token_path: authed_user.refresh_token\n"
                "    expires_in_path: authed_user.expires_in\n"
                "    scope_path: authed_user.scope\n"
                "    expires_in_default: 3600\n"
                "    connection_params:\n"
                "      region: {path: data.region, pattern: \"^[a-z]{2}[0-9]$\", description: the region}\n"
                "  issuer: https://{tenant}.acme.test\n"
                "  api:\n"
                "    base_url: https://{region}.api.acme.test/v1\n"
                "    headers: {Acme-Version: \"2024-01-01\", Acme-Tenant: \"{tenant}\"}\n"
                "    refresh_on_status: [401, 403]\n"
                "  credentials: {header: X-Acme-Token}\n"
                "  verification: {method: GET, path: /v1/me}\n"
                "  managed:\n"
                "    service_config_key: acme-app\n"
                "    client_id: ${ACME_ID:-}\n"
                "    client_secret: ${ACME_SECRET:-}\n"
                "  connection_params:\n"
                "    tenant: {pattern: \"^[a-z0-9]+$\", description: your tenant}\n");
  const auto result = dir.load("", test::environment({{"ACME_ID", "id-1"}, {"ACME_SECRET", "secret-1"}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.diagnostics.empty());
  const Provider& p = result.config->providers.at("acme");
  CHECK(p.display_name == "Acme");
  CHECK(p.docs_url == "https://docs.acme.test/oauth?lang=en#start");
  CHECK(p.authorization_url == "https://{tenant}.acme.test/authorize");
  CHECK(p.token_url == "https://{tenant}.acme.test/token");
  CHECK(p.effective_refresh_url() == "https://{tenant}.acme.test/refresh");
  CHECK(p.revocation_url == "https://{tenant}.acme.test/revoke");
  CHECK(p.token_endpoint_auth == TokenEndpointAuth::client_secret_basic);
  CHECK(p.token_body_format == TokenBodyFormat::json);
  CHECK(p.token_headers == StringMap{{"X-Client", "tollgate"}});
  CHECK_FALSE(p.pkce);
  CHECK(p.scope_param == "user_scope");
  CHECK(p.scope_separator == ",");
  CHECK(p.default_scopes == std::vector<std::string>{"read", "write:all"});
  CHECK(p.authorization_params == StringMap{{"access_type", "offline"}, {"prompt", "consent"}});
  CHECK(p.token_params == StringMap{{"audience", "api"}});
  CHECK(p.refresh_params == StringMap{{"audience", "api"}});
  CHECK(p.token_response.access_token_path == "authed_user.access_token");
  CHECK(p.token_response.refresh_token_path == "authed_user.refresh_token");
  CHECK(p.token_response.expires_in_path == "authed_user.expires_in");
  CHECK(p.token_response.scope_path == "authed_user.scope");
  CHECK(p.token_response.expires_in_default == std::chrono::seconds(3600));
  CHECK(p.token_response.connection_params ==
        std::map<std::string, ResponseParam>{{"region", {"data.region", "^[a-z]{2}[0-9]$", "the region"}}});
  CHECK(p.issuer == "https://{tenant}.acme.test");
  CHECK(p.api.base_url == "https://{region}.api.acme.test/v1");
  CHECK(p.api.headers == StringMap{{"Acme-Tenant", "{tenant}"}, {"Acme-Version", "2024-01-01"}});
  CHECK(p.api.refresh_on_status == std::vector<int>{401, 403});
  CHECK(p.credentials == Credentials{"X-Acme-Token", "{access_token}", "", "", ""});
  REQUIRE(p.verification.has_value());
  CHECK(*p.verification == Verification{"GET", "/v1/me"});
  REQUIRE(p.managed.has_value());
  CHECK(p.managed->service_config_key == "acme-app");
  CHECK(p.managed->client_id.reveal() == "id-1");
  CHECK(p.managed->client_secret.reveal() == "secret-1");
  CHECK(p.managed->enabled);
  REQUIRE(p.managed_service_config_key() != nullptr);
  CHECK(*p.managed_service_config_key() == "acme-app");
  CHECK(p.connection_params == std::map<std::string, ConnectionParam>{{"tenant", {"^[a-z0-9]+$", "your tenant"}}});
}

TEST_CASE("api_key and basic entries put the credential where credentials says") {
  ConfigDir dir;
  dir.dir.write("providers.yaml",
                "openai:\n"
                "  auth_mode: api_key\n"
                "  credentials: {header: Authorization, format: \"Bearer {api_key}\"}\n"
                "  verification: {path: /v1/models}\n"
                "  api: {base_url: https://api.openai.com}\n"
                "exa:\n"
                "  auth_mode: api_key\n"
                "  credentials: {header: x-api-key}\n"
                "  api: {base_url: https://api.exa.ai}\n"
                "  deployment_credentials: {api_key: \"${EXA_API_KEY:-}\"}\n"
                "serp:\n"
                "  auth_mode: api_key\n"
                "  credentials: {query: api_key}\n"
                "  api: {base_url: https://serpapi.com}\n"
                "stripe:\n"
                "  auth_mode: basic\n"
                "  credentials: {username: \"{api_key}\", password: \"\"}\n"
                "  api: {base_url: https://api.stripe.com}\n");
  const auto result = dir.load("", test::environment({{"EXA_API_KEY", "exa-key"}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.diagnostics.empty());
  const auto& providers = result.config->providers;
  CHECK(providers.at("openai").credentials == Credentials{"Authorization", "Bearer {api_key}", "", "", ""});
  CHECK(providers.at("openai").verification == Verification{"GET", "/v1/models"});
  CHECK(providers.at("exa").credentials == Credentials{"x-api-key", "{api_key}", "", "", ""});
  CHECK(providers.at("exa").has_deployment_credentials());
  CHECK(providers.at("exa").deployment_credentials->api_key.reveal() == "exa-key");
  CHECK(providers.at("serp").credentials == Credentials{"", "{api_key}", "api_key", "", ""});
  CHECK(providers.at("stripe").credentials == Credentials{"", "", "", "{api_key}", ""});
}

TEST_CASE("an empty providers map is a valid catalog") {
  ConfigDir dir;
  const auto result = dir.load("providers_file: ./providers.yaml\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->providers.empty());
}

TEST_CASE("a missing providers file is an error naming the file") {
  ConfigDir dir;
  SUBCASE("named by providers_file") {
    const auto d = single_error(dir.load("logging: {level: info}\n"
                                         "providers_file: catalog/providers.yaml\n"));
    check_at(d, 2, 17, "providers_file", "the providers file " + (dir.dir / "catalog/providers.yaml").string() +
                                             " does not exist");
  }
  SUBCASE("the default, reported where the config starts") {
    std::filesystem::remove(dir.dir / "providers.yaml");
    const auto d = single_error(dir.load("logging: {level: info}\n"));
    check_at(d, 1, 1, "providers_file", (dir.dir / "providers.yaml").string() + " does not exist");
  }
}

TEST_CASE("a problem inside the providers file names that file, its line and a path from its root") {
  ConfigDir dir;
  const auto catalog = dir.dir.write("catalog.yaml", "github:\n"
                                                     "  authorization_url: https://github.com/login/oauth/authorize\n"
                                                     "  token_url: https://github.com/login/oauth/access_token\n"
                                                     "  colour: blue\n"
                                                     "  api: {base_url: https://api.github.com}\n" +
                                                         entry("slack", "display_name: [Slack]"));
  const auto result = dir.load("providers_file: catalog.yaml\n");
  INFO(test::dump(result));
  REQUIRE(result.diagnostics.size() == 2);
  CHECK_FALSE(result.ok());
  CHECK(result.diagnostics[0].file == catalog.string());
  check_at(result.diagnostics[0], 4, 3, "github.colour", "unknown key \"colour\" (expected one of: display_name, alias,");
  CHECK(result.diagnostics[1].file == catalog.string());
  check_at(result.diagnostics[1], 6, 163, "slack.display_name", "expected a string, got a list");
}

TEST_CASE("a YAML syntax error in the providers file is reported in that file") {
  ConfigDir dir;
  const auto catalog = dir.dir.write("providers.yaml", "github: {display_name: GitHub\n");
  const auto d = single_error(dir.load("{}\n"));
  CHECK(d.file == catalog.string());
  CHECK(d.key_path.empty());
  CHECK(d.line > 0);
  CHECK(d.message.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("a providers file that is not a map is an error") {
  ConfigDir dir;
  dir.dir.write("providers.yaml", "- github\n");
  const auto d = single_error(dir.load("{}\n"));
  check_at(d, 1, 1, "", "expected a map of key: value pairs, got a list");
}

TEST_CASE("inline providers use the providers. key path and clear providers_file") {
  ConfigDir dir;
  SUBCASE("valid") {
    const auto result = dir.load("providers:\n  " + entry("github", "display_name: GitHub"));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    CHECK(result.config->providers_file.empty());
    CHECK(result.config->providers.at("github").display_name == "GitHub");
  }
  SUBCASE("an unknown key") {
    const auto d = single_error(dir.load("providers:\n"
                                         "  github:\n"
                                         "    tokn_url: https://x\n"
                                         "    authorization_url: https://github.com/login/oauth/authorize\n"
                                         "    token_url: https://github.com/login/oauth/access_token\n"
                                         "    api: {base_url: https://api.github.com}\n"));
    check_at(d, 3, 5, "providers.github.tokn_url", "unknown key \"tokn_url\"");
  }
  SUBCASE("a rule across keys") {
    const auto d = single_error(dir.load("providers:\n"
                                         "  github:\n"
                                         "    authorization_url: https://github.com/login/oauth/authorize\n"
                                         "    api: {base_url: https://api.github.com}\n"));
    check_at(d, 2, 3, "providers.github.token_url", "auth_mode oauth2 needs token_url");
  }
}

TEST_CASE("providers_file and an inline providers map together are an error at providers") {
  ConfigDir dir;
  const auto d = single_error(dir.load("providers_file: providers.yaml\n"
                                       "providers: {}\n"));
  check_at(d, 2, 1, "providers", "set either providers_file or an inline providers: map, not both");
}

TEST_CASE("a provider key outside ^[a-z0-9][a-z0-9_-]*$ is an error at the key") {
  ConfigDir dir;
  for (const char* key : {"GitHub", "-x", "_x", "a.b", "\"a b\""}) {
    INFO(key);
    const auto d = single_error(dir.load(std::string("providers:\n  ") + entry(key)));
    check_at(d, 2, 3, std::string("providers.") + (key[0] == '"' ? "a b" : key), "^[a-z0-9][a-z0-9_-]*$");
  }
  const auto result = dir.load("providers:\n  " + entry("google-calendar") + "  " + entry("x_1") + "  " + entry("0x"));
  INFO(test::dump(result));
  CHECK(result.ok());
}

TEST_CASE("a price for a provider the catalog lacks is a warning at the price's key") {
  ConfigDir dir;
  dir.dir.write("providers.yaml", entry("github"));
  const auto result = dir.load("billing:\n"
                               "  prices:\n"
                               "    default: \"0.10\"\n"
                               "    github: \"0.05\"\n"
                               "    gitlab: \"0.07\"\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  const Diagnostic& d = result.diagnostics[0];
  CHECK(d.severity == Diagnostic::Severity::warning);
  check_at(d, 5, 5, "billing.prices.gitlab", "no provider \"gitlab\" in the catalog, so this price is never charged");
  CHECK(result.config->billing.prices.at("gitlab") == "0.07");
}

TEST_CASE("prices are not checked against an empty catalog") {
  ConfigDir dir;
  const auto result = dir.load("billing: {prices: {github: \"0.05\"}}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.diagnostics.empty());
}

}  // namespace
}  // namespace tollgate::config
