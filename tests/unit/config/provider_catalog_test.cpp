// The shipped catalog, config/providers.yaml (SPEC §3 "Provider catalog").
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

const std::filesystem::path kSource = TOLLGATE_SOURCE_DIR;

// Loads the shipped catalog alone, beside a config that only names it.
LoadResult load_shipped(const EnvLookup& env = test::environment()) {
  test::ConfigDir dir;
  return dir.load("providers_file: " + (kSource / "config/providers.yaml").string() + "\n", env);
}

const std::vector<std::string> kRequired = {
    "github",  "gitlab", "slack",   "google",   "google-calendar", "google-drive", "gmail",    "microsoft",
    "outlook", "notion", "linear",  "hubspot",  "salesforce",      "asana",        "atlassian", "jira",
    "dropbox", "zoom",   "discord", "figma",    "airtable",        "todoist",      "spotify",   "x",
    "zendesk", "shopify", "exa",    "openai",   "anthropic",       "stripe"};

bool is_oauth(const Provider& p) {
  return p.auth_mode == AuthMode::oauth2 || p.auth_mode == AuthMode::oauth2_client_credentials;
}

TEST_CASE("the shipped catalog has every provider SPEC names and loads with no errors") {
  const auto result = load_shipped();
  INFO(test::dump(result));
  REQUIRE(result.ok());
  const auto& providers = result.config->providers;
  for (const std::string& key : kRequired) {
    INFO(key);
    CHECK(providers.count(key) == 1);
  }
  CHECK(std::count_if(providers.begin(), providers.end(),
                      [](const auto& entry) { return entry.second.auth_mode == AuthMode::basic; }) >= 1);
}

TEST_CASE("with no environment every managed app and deployment key is disabled with one warning each") {
  const auto result = load_shipped();
  INFO(test::dump(result));
  REQUIRE(result.ok());
  std::set<std::string> warned;
  for (const Diagnostic& d : result.diagnostics) {
    INFO(d.format());
    CHECK(d.severity == Diagnostic::Severity::warning);
    CHECK(d.line > 0);
    const bool managed = d.message.starts_with("managed app disabled: client_id and client_secret are empty");
    const bool deployment = d.message.starts_with("deployment credentials disabled: api_key is empty");
    CHECK((managed || deployment));
    CHECK(warned.insert(d.key_path).second);
  }
  std::set<std::string> expected;
  for (const auto& [key, p] : result.config->providers) {
    if (p.managed) CHECK_FALSE(p.managed->enabled);
    if (p.managed && p.alias.empty()) expected.insert(key + ".managed");
    if (p.deployment_credentials && p.alias.empty()) expected.insert(key + ".deployment_credentials");
    CHECK(p.managed_service_config_key() == nullptr);
  }
  CHECK(warned == expected);
  CHECK(warned.count("github.managed") == 1);
  CHECK(warned.count("exa.deployment_credentials") == 1);
  CHECK(warned.count("google-calendar.managed") == 0);  // google's app, warned on google
}

TEST_CASE("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET enable github's managed app and silence its warning") {
  const auto result = load_shipped(
      test::environment({{"GITHUB_CLIENT_ID", "Iv1.0123456789abcdef"}, {"GITHUB_CLIENT_SECRET", "shh-secret"}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  const Provider& github = result.config->providers.at("github");
  REQUIRE(github.managed.has_value());
  CHECK(github.managed->enabled);
  CHECK(github.managed->client_id.reveal() == "Iv1.0123456789abcdef");
  REQUIRE(github.managed_service_config_key() != nullptr);
  CHECK(*github.managed_service_config_key() == "github");
  for (const Diagnostic& d : result.diagnostics) CHECK(d.key_path != "github.managed");
  CHECK(test::dump(result).find("shh-secret") == std::string::npos);
  CHECK_FALSE(result.config->providers.at("gitlab").managed->enabled);
}

TEST_CASE("every shipped oauth provider has a managed block read from <NAME>_CLIENT_ID/_SECRET, and docs") {
  const auto result = load_shipped();
  REQUIRE(result.ok());
  for (const auto& [key, p] : result.config->providers) {
    INFO(key);
    CHECK(p.docs_url.starts_with("https://"));
    CHECK_FALSE(p.display_name.empty());
    CHECK(p.api.base_url.size() > 0);
    if (is_oauth(p)) {
      REQUIRE(p.managed.has_value());
      CHECK_FALSE(p.managed->service_config_key.empty());
    } else {
      CHECK_FALSE(p.managed.has_value());
    }
  }
  // Every variable named follows the <KEY>_CLIENT_ID convention of SPEC §3.
  const std::string text = tollgate::test::read_file(kSource / "config/providers.yaml");
  for (const auto& [key, p] : result.config->providers) {
    if (!p.managed || !p.alias.empty()) continue;
    std::string stem;
    for (char c : key) stem += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    INFO(key);
    CHECK(text.find("client_id: ${" + stem + "_CLIENT_ID:-}") != std::string::npos);
    CHECK(text.find("client_secret: ${" + stem + "_CLIENT_SECRET:-}") != std::string::npos);
  }
}

TEST_CASE("the Google aliases share google's endpoints and managed app but not its base URL") {
  const auto result = load_shipped();
  REQUIRE(result.ok());
  const auto& providers = result.config->providers;
  const Provider& google = providers.at("google");
  CHECK(google.issuer == "https://accounts.google.com");
  CHECK(google.revocation_url == "https://oauth2.googleapis.com/revoke");
  CHECK(google.authorization_params == StringMap{{"access_type", "offline"}, {"prompt", "consent"}});
  for (const char* key : {"google-calendar", "google-drive", "gmail"}) {
    INFO(key);
    const Provider& alias = providers.at(key);
    CHECK(alias.alias == "google");
    CHECK(alias.token_url == google.token_url);
    CHECK(alias.authorization_url == google.authorization_url);
    CHECK(alias.authorization_params == google.authorization_params);
    CHECK(alias.managed->service_config_key == "google");
    CHECK(alias.api.base_url != google.api.base_url);
  }
  CHECK(providers.at("outlook").alias == "microsoft");
  CHECK(providers.at("jira").alias == "atlassian");
}

TEST_CASE("shipped entries carry each provider's particular rules") {
  const auto result = load_shipped();
  REQUIRE(result.ok());
  const auto& providers = result.config->providers;

  const Provider& slack = providers.at("slack");
  CHECK(slack.token_url == "https://slack.com/api/oauth.v2.access");
  CHECK(slack.scope_param == "user_scope");
  CHECK(slack.token_response.access_token_path == "authed_user.access_token");

  const Provider& microsoft = providers.at("microsoft");
  CHECK(microsoft.authorization_url.find("/common/") != std::string::npos);
  CHECK(std::count(microsoft.default_scopes.begin(), microsoft.default_scopes.end(), "offline_access") == 1);

  const Provider& notion = providers.at("notion");
  CHECK(notion.token_endpoint_auth == TokenEndpointAuth::client_secret_basic);
  CHECK(notion.token_body_format == TokenBodyFormat::json);
  CHECK(notion.api.headers.count("Notion-Version") == 1);

  const Provider& salesforce = providers.at("salesforce");
  CHECK(salesforce.api.base_url == "{instance_url}");
  REQUIRE(salesforce.token_response.connection_params.count("instance_url") == 1);
  CHECK(salesforce.token_response.connection_params.at("instance_url").path == "instance_url");

  CHECK(providers.at("atlassian").authorization_params.at("audience") == "api.atlassian.com");
  CHECK(providers.at("dropbox").authorization_params.at("token_access_type") == "offline");
  CHECK(providers.at("airtable").pkce);
  CHECK(providers.at("x").pkce);
  CHECK(providers.at("x").token_endpoint_auth == TokenEndpointAuth::client_secret_basic);

  const Provider& zendesk = providers.at("zendesk");
  CHECK(zendesk.connection_params.count("subdomain") == 1);
  CHECK(zendesk.api.base_url == "https://{subdomain}.zendesk.com/api/v2");

  const Provider& shopify = providers.at("shopify");
  CHECK(shopify.connection_params.at("shop").pattern == "^[a-z0-9][a-z0-9-]*$");
  CHECK(shopify.token_url == "https://{shop}.myshopify.com/admin/oauth/access_token");

  const Provider& exa = providers.at("exa");
  CHECK(exa.auth_mode == AuthMode::api_key);
  CHECK(exa.credentials.header == "x-api-key");
  CHECK(exa.deployment_credentials.has_value());

  const Provider& openai = providers.at("openai");
  CHECK(openai.credentials.format == "Bearer {api_key}");
  CHECK(openai.verification == Verification{"GET", "/v1/models"});

  CHECK(providers.at("anthropic").api.headers.count("anthropic-version") == 1);

  const Provider& stripe = providers.at("stripe");
  CHECK(stripe.auth_mode == AuthMode::basic);
  CHECK(stripe.credentials.username == "{api_key}");
  CHECK(stripe.credentials.password.empty());
}

TEST_CASE("with EXA_API_KEY set, exa calls need no auth config") {
  const auto result = load_shipped(test::environment({{"EXA_API_KEY", "exa-operator-key"}}));
  REQUIRE(result.ok());
  CHECK(result.config->providers.at("exa").has_deployment_credentials());
  for (const Diagnostic& d : result.diagnostics) CHECK(d.key_path != "exa.deployment_credentials");
}

}  // namespace
}  // namespace tollgate::config
