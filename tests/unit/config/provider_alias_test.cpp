// `alias: target` entries inherit every key they do not set, merged at the
// YAML level: maps key by key, lists replaced.
#include <doctest/doctest.h>

#include "load_support.hpp"

namespace tollgate::config {
namespace {

using test::check_at;
using test::ConfigDir;
using test::environment;

const std::string kGoogle =
    "google:\n"                                                               // 1
    "  display_name: Google\n"                                                // 2
    "  authorization_url: https://accounts.google.com/o/oauth2/v2/auth\n"     // 3
    "  token_url: https://oauth2.googleapis.com/token\n"                      // 4
    "  issuer: https://accounts.google.com\n"                                 // 5
    "  authorization_params: {access_type: offline, prompt: consent}\n"       // 6
    "  default_scopes: [openid, email]\n"                                     // 7
    "  api:\n"                                                                // 8
    "    base_url: https://www.googleapis.com\n"                              // 9
    "    headers: {X-Goog-Api-Client: tollgate, X-Goog-User-Project: p1}\n"   // 10
    "  managed:\n"                                                            // 11
    "    service_config_key: google\n"                                        // 12
    "    client_id: ${GOOGLE_CLIENT_ID:-}\n"                                  // 13
    "    client_secret: ${GOOGLE_CLIENT_SECRET:-}\n";                         // 14

LoadResult load_catalog(const ConfigDir& dir, const std::string& yaml, const EnvLookup& env = environment()) {
  dir.dir.write("providers.yaml", yaml);
  return dir.load("", env);
}

std::vector<Diagnostic> errors_of(const LoadResult& result) {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : result.diagnostics) {
    if (d.severity == Diagnostic::Severity::error) out.push_back(d);
  }
  return out;
}

TEST_CASE("an alias inherits what it does not set and keeps what it does") {
  ConfigDir dir;
  const auto result = load_catalog(dir, kGoogle +
                                            "google-calendar:\n"
                                            "  alias: google\n"
                                            "  api:\n"
                                            "    base_url: https://www.googleapis.com/calendar/v3\n",
                                   environment({{"GOOGLE_CLIENT_ID", "id"}, {"GOOGLE_CLIENT_SECRET", "secret"}}));
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.diagnostics.empty());
  const Provider& google = result.config->providers.at("google");
  const Provider& calendar = result.config->providers.at("google-calendar");
  CHECK(calendar.key == "google-calendar");
  CHECK(calendar.alias == "google");
  CHECK(google.alias.empty());
  CHECK(calendar.display_name == "Google");
  CHECK(calendar.token_url == google.token_url);
  CHECK(calendar.authorization_url == google.authorization_url);
  CHECK(calendar.issuer == "https://accounts.google.com");
  CHECK(calendar.authorization_params == google.authorization_params);
  CHECK(calendar.default_scopes == google.default_scopes);
  CHECK(calendar.api.base_url == "https://www.googleapis.com/calendar/v3");
  CHECK(calendar.api.headers == google.api.headers);
  REQUIRE(calendar.managed.has_value());
  CHECK(calendar.managed->service_config_key == "google");
  CHECK(calendar.managed->enabled);
  REQUIRE(calendar.managed_service_config_key() != nullptr);
  CHECK(*calendar.managed_service_config_key() == "google");
}

TEST_CASE("an alias merges maps key by key and replaces lists") {
  ConfigDir dir;
  const auto result = load_catalog(dir, kGoogle +
                                            "gmail:\n"
                                            "  alias: google\n"
                                            "  display_name: Gmail\n"
                                            "  default_scopes: [https://www.googleapis.com/auth/gmail.readonly]\n"
                                            "  authorization_params: {prompt: select_account}\n"
                                            "  api:\n"
                                            "    base_url: https://gmail.googleapis.com/gmail/v1\n"
                                            "    headers: {X-Goog-User-Project: p2, X-Extra: yes}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  const Provider& gmail = result.config->providers.at("gmail");
  CHECK(gmail.display_name == "Gmail");
  CHECK(gmail.default_scopes == std::vector<std::string>{"https://www.googleapis.com/auth/gmail.readonly"});
  CHECK(gmail.authorization_params == StringMap{{"access_type", "offline"}, {"prompt", "select_account"}});
  CHECK(gmail.api.headers ==
        StringMap{{"X-Extra", "yes"}, {"X-Goog-Api-Client", "tollgate"}, {"X-Goog-User-Project", "p2"}});
  CHECK(gmail.api.refresh_on_status == std::vector<int>{401});
}

TEST_CASE("an alias's display_name defaults to its target's, which defaults to the target's key") {
  ConfigDir dir;
  const auto result = load_catalog(dir,
                                   "base:\n"
                                   "  authorization_url: https://a.example.com/authorize\n"
                                   "  token_url: https://a.example.com/token\n"
                                   "  api: {base_url: https://api.example.com}\n"
                                   "derived: {alias: base}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->providers.at("derived").display_name == "base");
}

TEST_CASE("an alias may come before its target in the file") {
  ConfigDir dir;
  const auto result = load_catalog(dir, "gmail: {alias: google, api: {base_url: https://gmail.googleapis.com}}\n" + kGoogle);
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->providers.at("gmail").token_url == "https://oauth2.googleapis.com/token");
}

TEST_CASE("a shared managed app warns once, on its target") {
  ConfigDir dir;
  const auto result = load_catalog(dir, kGoogle + "google-drive: {alias: google}\ngmail: {alias: google}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  check_at(result.diagnostics[0], 11, 3, "google.managed", "managed app disabled");
  CHECK_FALSE(result.config->providers.at("gmail").managed->enabled);
  CHECK(result.config->providers.at("gmail").managed_service_config_key() == nullptr);
}

TEST_CASE("an alias that overrides part of the managed block keeps the target's credentials") {
  ConfigDir dir;
  const std::string yaml = kGoogle +
                           "gmail:\n"                                 // 15
                           "  alias: google\n"                        // 16
                           "  managed: {service_config_key: gmail}\n";  // 17
  SUBCASE("credentials set") {
    const auto result =
        load_catalog(dir, yaml, environment({{"GOOGLE_CLIENT_ID", "id"}, {"GOOGLE_CLIENT_SECRET", "secret"}}));
    INFO(test::dump(result));
    REQUIRE(result.ok());
    const Provider& gmail = result.config->providers.at("gmail");
    CHECK(gmail.managed->service_config_key == "gmail");
    CHECK(gmail.managed->client_id.reveal() == "id");
    CHECK(gmail.managed->enabled);
  }
  SUBCASE("credentials empty: its own warning, at its own managed key") {
    const auto result = load_catalog(dir, yaml);
    INFO(test::dump(result));
    REQUIRE(result.ok());
    REQUIRE(result.diagnostics.size() == 2);
    check_at(result.diagnostics[0], 11, 3, "google.managed", "managed app disabled");
    check_at(result.diagnostics[1], 17, 3, "gmail.managed",
             "managed app disabled: client_id and client_secret are empty (set them, e.g. via ${GOOGLE_CLIENT_ID} "
             "and ${GOOGLE_CLIENT_SECRET})");
  }
}

TEST_CASE("an alias adds connection parameters its own templates use") {
  ConfigDir dir;
  const auto result = load_catalog(dir,
                                   "atlassian:\n"
                                   "  authorization_url: https://auth.atlassian.com/authorize\n"
                                   "  token_url: https://auth.atlassian.com/oauth/token\n"
                                   "  api: {base_url: https://api.atlassian.com}\n"
                                   "jira:\n"
                                   "  alias: atlassian\n"
                                   "  connection_params: {cloud_id: {pattern: \"^[0-9a-f-]{36}$\"}}\n"
                                   "  api: {base_url: \"https://api.atlassian.com/ex/jira/{cloud_id}\"}\n");
  INFO(test::dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->providers.at("jira").connection_params.count("cloud_id") == 1);
  CHECK(result.config->providers.at("atlassian").connection_params.empty());
}

TEST_CASE("a problem in an inherited value is reported where the target writes it") {
  ConfigDir dir;
  const auto result = load_catalog(dir,
                                   "base:\n"                                                     // 1
                                   "  authorization_url: https://a.example.com/authorize\n"      // 2
                                   "  token_url: https://a.example.com/token\n"                  // 3
                                   "  api:\n"                                                    // 4
                                   "    base_url: https://api.example.com\n"                     // 5
                                   "    refresh_on_status: [401, 700]\n"                         // 6
                                   "derived:\n"                                                  // 7
                                   "  alias: base\n"                                             // 8
                                   "  api: {base_url: https://other.example.com}\n");            // 9
  INFO(test::dump(result));
  const auto errors = errors_of(result);
  REQUIRE(errors.size() == 2);
  check_at(errors[0], 6, 30, "base.api.refresh_on_status[1]", "from 0 to 599");
  check_at(errors[1], 6, 30, "derived.api.refresh_on_status[1]", "from 0 to 599");
}

TEST_CASE("a rule across keys broken by what the alias changes is reported on the alias") {
  ConfigDir dir;
  const auto result = load_catalog(dir, kGoogle +
                                            "google-key:\n"      // 15
                                            "  alias: google\n"  // 16
                                            "  auth_mode: api_key\n");
  INFO(test::dump(result));
  const auto errors = errors_of(result);
  REQUIRE(errors.size() == 2);
  check_at(errors[0], 11, 3, "google-key.managed", "a managed OAuth app needs auth_mode oauth2");
  check_at(errors[1], 15, 1, "google-key.credentials", "auth_mode api_key needs credentials.header");
}

}  // namespace
}  // namespace tollgate::config
