// `tollgate oauth providers|mode|apps` as a user runs them, against a real `tollgate serve`
// with an inline catalog: github (managed when GH_ID/GH_SECRET are set), gitlab and
// zendesk (never managed; zendesk with a per-connection parameter) and exa (an API-key provider).
#include <doctest/doctest.h>

#include <regex>

#include "process.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {

using Env = std::map<std::string, std::optional<std::string>>;

const std::string kManagedId = "Iv1.managed0client0id";
const std::string kManagedSecret = "managed_app_secret_6c1f0e9d";

const char* const kConfig = R"(admin:
  key_file: admin.key
providers:
  github:
    display_name: GitHub
    authorization_url: https://github.com/login/oauth/authorize
    token_url: https://github.com/login/oauth/access_token
    default_scopes: [read:user, repo]
    api: {base_url: https://api.github.com, headers: {Accept: application/vnd.github+json}}
    managed: {service_config_key: github, client_id: "${GH_ID:-}", client_secret: "${GH_SECRET:-}"}
  gitlab:
    display_name: GitLab
    authorization_url: https://gitlab.com/oauth/authorize
    token_url: https://gitlab.com/oauth/token
    api: {base_url: https://gitlab.com/api/v4}
  zendesk:
    display_name: Zendesk
    connection_params:
      subdomain: {pattern: "^[a-z0-9][a-z0-9-]{0,62}$", description: your Zendesk subdomain}
    authorization_url: https://{subdomain}.zendesk.com/oauth/authorizations/new
    token_url: https://{subdomain}.zendesk.com/oauth/tokens
    api: {base_url: "https://{subdomain}.zendesk.com/api/v2"}
  exa:
    auth_mode: api_key
    api: {base_url: https://api.exa.ai}
    credentials: {header: x-api-key}
)";

// The caller's own TOLLGATE_* variables must not leak into a test.
Env clean_env(Env extra = {}) {
  Env env{{"TOLLGATE_URL", std::nullopt}, {"TOLLGATE_KEY", std::nullopt}, {"TOLLGATE_ADMIN_KEY", std::nullopt}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

Env managed_env(bool managed) {
  if (managed) return clean_env({{"GH_ID", kManagedId}, {"GH_SECRET", kManagedSecret}});
  return clean_env({{"GH_ID", std::nullopt}, {"GH_SECRET", std::nullopt}});
}

// A relay whose admin key file (created by serve on first run) is dir()/admin.key.
struct Relay {
  TollgateProcess tg;

  explicit Relay(bool managed) : tg(kConfig, managed_env(managed)) {
    REQUIRE(eventually([&] { return std::filesystem::exists(tg.dir() / "admin.key"); }));
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(tg.port()); }

  // `tollgate ARGS… --url URL --config CONFIG`: the admin key comes from the config's
  // admin.key_file unless ARGS hold --key.
  RunResult cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv;
    argv.reserve(args.size() + 5);
    argv.emplace_back(TOLLGATE_BIN);
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--url", url(), "--config", tg.config_path().string()});
    return run(argv, clean_env());
  }
};

std::string capture(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : "";
}

bool has(const std::string& text, const std::string& pattern) { return std::regex_search(text, std::regex(pattern)); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string create_tenant(const Relay& relay, const std::string& name) {
  auto r = relay.cli({"tenants", "create", name});
  REQUIRE(r.status == 0);
  auto id = capture(r.out, R"(^id +(tnt_\S+))");
  REQUIRE(!id.empty());
  return id;
}

std::string create_key(const Relay& relay, const std::string& tenant) {
  auto r = relay.cli({"keys", "create", tenant});
  REQUIRE(r.status == 0);
  auto key = capture(r.out, R"(\nkey +(tg_live_\S+))");
  REQUIRE(!key.empty());
  return key;
}

const std::string kHeader = R"(^KEY +NAME +AUTH +MANAGED +MODE\n)";

}  // namespace

TEST_CASE("cli providers: list with its filters, and get, when the managed app is configured") {
  Relay relay(true);
  auto tenant = create_tenant(relay, "acme");

  auto table = relay.cli({"oauth", "providers", "list", "--tenant", tenant});
  CHECK(table.status == 0);
  CHECK(table.err == "");
  CHECK(has(table.out, kHeader));
  CHECK(has(table.out, R"(\ngithub +GitHub +oauth2 +github +managed\n)"));
  CHECK(has(table.out, R"(\ngitlab +GitLab +oauth2 +- +your-own\n)"));
  CHECK(has(table.out, R"(\nexa +\S+ +api_key +- +\S+\n)"));

  auto json = relay.cli({"oauth", "providers", "list", "--tenant", tenant, "--json"});
  CHECK(json.status == 0);
  CHECK(json.out.rfind("{\n  \"data\": [", 0) == 0);
  CHECK(contains(json.out, "\"managed_service_config_key\": \"github\""));
  CHECK(contains(json.out, "\"managed_service_config_key\": null"));
  CHECK(contains(json.out, "\"next_cursor\": null"));
  CHECK_FALSE(contains(json.out, kManagedId));
  CHECK_FALSE(contains(json.out, kManagedSecret));

  auto one = relay.cli({"oauth", "providers", "list", "--provider-key", "github", "--tenant", tenant});
  CHECK(one.status == 0);
  CHECK(has(one.out, kHeader + R"(github +GitHub +oauth2 +github +managed\n$)"));

  auto managed = relay.cli({"oauth", "providers", "list", "--supports-managed", "--tenant", tenant});
  CHECK(managed.status == 0);
  CHECK(has(managed.out, kHeader + R"(github +GitHub +oauth2 +github +managed\n$)"));

  auto managed_json = relay.cli({"oauth", "providers", "list", "--supports-managed", "--json", "--tenant", tenant});
  CHECK(managed_json.status == 0);
  CHECK(contains(managed_json.out, "\"key\": \"github\""));
  CHECK_FALSE(contains(managed_json.out, "\"key\": \"gitlab\""));
  CHECK_FALSE(contains(managed_json.out, "\"key\": \"exa\""));

  auto both = relay.cli({"oauth", "providers", "list", "--provider-key", "github", "--supports-managed", "--tenant", tenant});
  CHECK(both.status == 0);
  CHECK(has(both.out, kHeader + R"(github +GitHub +oauth2 +github +managed\n$)"));
  auto none = relay.cli({"oauth", "providers", "list", "--provider-key", "exa", "--supports-managed", "--tenant", tenant});
  CHECK(none.status == 0);
  CHECK(none.out == "KEY  NAME  AUTH  MANAGED  MODE\n");

  auto github = relay.cli({"oauth", "providers", "get", "github", "--tenant", tenant});
  CHECK(github.status == 0);
  CHECK(github.err == "");
  CHECK(has(github.out, R"(^key +github\n)"));
  CHECK(has(github.out, R"(\ndisplay_name +GitHub\n)"));
  CHECK(has(github.out, R"(\nauth_mode +oauth2\n)"));
  CHECK(has(github.out, R"(\ndefault_scopes +read:user, repo\n)"));
  CHECK(has(github.out, R"(\napi\.base_url +https://api\.github\.com\n)"));
  CHECK(has(github.out, R"(\napi\.headers\.Accept +application/vnd\.github\+json\n)"));
  CHECK(has(github.out, R"(\nscope_separator +" "\n)"));  // quoted: a bare space would look like nothing
  CHECK(has(github.out, R"(\nconnection_params +-\n)"));
  CHECK(has(github.out, R"(\nmanaged_service_config_key +github\n)"));
  CHECK(has(github.out, R"(\nmode +managed\n)"));
  CHECK(has(github.out, R"(\nyour_own_app\.configured +false\n)"));
  CHECK_FALSE(contains(github.out, kManagedId));
  CHECK_FALSE(contains(github.out, kManagedSecret));

  auto exa = relay.cli({"oauth", "providers", "get", "exa", "--tenant", tenant});
  CHECK(exa.status == 0);
  CHECK(has(exa.out, R"(\nauth_mode +api_key\n)"));
  CHECK(has(exa.out, R"(\nmanaged_service_config_key +-\n)"));
  CHECK(has(exa.out, R"(\ncredentials\.header +x-api-key\n)"));

  // A per-connection parameter flattens to one line per field, under its name.
  auto zendesk = relay.cli({"oauth", "providers", "get", "zendesk", "--tenant", tenant});
  CHECK(zendesk.status == 0);
  CHECK(has(zendesk.out, R"(\nconnection_params\.subdomain\.pattern +\^\[a-z0-9\]\[a-z0-9-\]\{0,62\}\$\n)"));
  CHECK(has(zendesk.out, R"(\nconnection_params\.subdomain\.description +your Zendesk subdomain\n)"));
  CHECK(has(zendesk.out, R"(\nconnection_params\.subdomain\.source +setup\n)"));
  CHECK(has(zendesk.out, R"(\napi\.base_url +https://\{subdomain\}\.zendesk\.com/api/v2\n)"));
  auto zendesk_json = relay.cli({"oauth", "providers", "get", "zendesk", "--tenant", tenant, "--json"});
  CHECK(contains(zendesk_json.out, "\"name\": \"subdomain\""));  // --json is the REST answer as it is

  // The admin key without --tenant reads the catalog with each provider's default mode.
  auto defaults = relay.cli({"oauth", "providers", "list"});
  CHECK(defaults.status == 0);
  CHECK(has(defaults.out, R"(\ngithub +GitHub +oauth2 +github +managed\n)"));

  auto gitlab = relay.cli({"oauth", "providers", "get", "gitlab", "--tenant", tenant, "--json"});
  CHECK(gitlab.status == 0);
  CHECK(contains(gitlab.out, "\"key\": \"gitlab\""));
  CHECK(contains(gitlab.out, "\"managed_service_config_key\": null"));

  auto unknown = relay.cli({"oauth", "providers", "get", "nosuch", "--tenant", tenant});
  CHECK(unknown.status == 1);
  CHECK(unknown.out == "");
  CHECK(has(unknown.err, R"(^tollgate: provider_not_found: [^\n]+ \(request req_\w+\)\n$)"));

  relay.tg.stop();
  CHECK_FALSE(contains(relay.tg.logs(), kManagedSecret));
}

TEST_CASE("cli providers: without the managed app's credentials, managed mode is unavailable") {
  Relay relay(false);
  auto tenant = create_tenant(relay, "acme");

  auto managed = relay.cli({"oauth", "providers", "list", "--supports-managed", "--tenant", tenant});
  CHECK(managed.status == 0);
  CHECK(managed.out == "KEY  NAME  AUTH  MANAGED  MODE\n");

  auto table = relay.cli({"oauth", "providers", "list", "--tenant", tenant});
  CHECK(has(table.out, R"(\ngithub +GitHub +oauth2 +- +your-own\n)"));

  auto github = relay.cli({"oauth", "providers", "get", "github", "--tenant", tenant});
  CHECK(github.status == 0);
  CHECK(has(github.out, R"(\nmanaged_service_config_key +-\n)"));
  auto github_json = relay.cli({"oauth", "providers", "get", "github", "--tenant", tenant, "--json"});
  CHECK(contains(github_json.out, "\"managed_service_config_key\": null"));

  auto mode = relay.cli({"oauth", "mode", "github", "--tenant", tenant});
  CHECK(mode.status == 0);
  CHECK(mode.out == "github  your-own\n");

  auto refused = relay.cli({"oauth", "mode", "github", "--set", "managed", "--tenant", tenant});
  CHECK(refused.status == 1);
  CHECK(refused.out == "");
  CHECK(has(refused.err, R"(^tollgate: conflict: [^\n]+ \(request req_\w+\)\n$)"));

  auto after = relay.cli({"oauth", "mode", "github", "--tenant", tenant});
  CHECK(after.out == "github  your-own\n");
}

TEST_CASE("cli providers: mode per tenant, with the admin key and --tenant or with the tenant's own key") {
  Relay relay(true);
  auto a = create_tenant(relay, "acme");
  auto b = create_tenant(relay, "globex");
  auto key_a = create_key(relay, a);

  auto initial = relay.cli({"oauth", "mode", "github", "--tenant", a});
  CHECK(initial.status == 0);
  CHECK(initial.err == "");
  CHECK(initial.out == "github  managed\n");

  auto set = relay.cli({"oauth", "mode", "github", "--set", "your-own", "--tenant", a});
  CHECK(set.status == 0);
  CHECK(set.out == "github  your-own\n");

  auto own_key = relay.cli({"oauth", "mode", "github", "--key", key_a});
  CHECK(own_key.status == 0);
  CHECK(own_key.out == "github  your-own\n");
  auto other = relay.cli({"oauth", "mode", "github", "--tenant", b});
  CHECK(other.out == "github  managed\n");

  auto back = relay.cli({"oauth", "mode", "github", "--set", "managed", "--key", key_a, "--json"});
  CHECK(back.status == 0);
  CHECK(contains(back.out, "\"provider\": \"github\""));
  CHECK(contains(back.out, "\"mode\": \"managed\""));
  CHECK(relay.cli({"oauth", "mode", "github", "--tenant", a}).out == "github  managed\n");

  CHECK(relay.cli({"oauth", "mode", "github", "--set", "your-own", "--key", key_a}).status == 0);
  auto list_a = relay.cli({"oauth", "providers", "list", "--key", key_a});
  CHECK(list_a.status == 0);
  CHECK(has(list_a.out, R"(\ngithub +GitHub +oauth2 +github +your-own\n)"));
  auto list_b = relay.cli({"oauth", "providers", "list", "--tenant", b});
  CHECK(has(list_b.out, R"(\ngithub +GitHub +oauth2 +github +managed\n)"));
  auto get_a = relay.cli({"oauth", "providers", "get", "github", "--key", key_a});
  CHECK(has(get_a.out, R"(\nmode +your-own\n)"));

  // A mode belongs to a tenant: the admin key must name one, and is told how.
  auto no_tenant = relay.cli({"oauth", "mode", "github"});
  CHECK(no_tenant.status == 1);
  CHECK(no_tenant.out == "");
  CHECK(has(no_tenant.err, R"(^tollgate: bad_request: [^\n]+; pass --tenant TENANT\n$)"));

  auto unknown = relay.cli({"oauth", "mode", "nosuch", "--tenant", a});
  CHECK(unknown.status == 1);
  CHECK(unknown.err.rfind("tollgate: provider_not_found: ", 0) == 0);
}

TEST_CASE("cli providers: apps set stores a tenant's own app — its secret is in no output and no log") {
  Relay relay(true);
  auto a = create_tenant(relay, "acme");
  auto b = create_tenant(relay, "globex");
  auto key_a = create_key(relay, a);
  TempDir files;
  const std::string secret = "yo_app_secret_4b1d2e3f9a8c";
  auto secret_file = files.write("github.secret", secret + "\n");
  std::string seen;  // every byte the CLI printed

  auto set = relay.cli({"oauth", "apps", "set", "github", "--client-id", "my-app-id", "--client-secret-file",
                        secret_file.string(), "--tenant", a});
  seen += set.out + set.err;
  CHECK(set.status == 0);
  CHECK(set.err == "");
  CHECK(has(set.out, R"(^provider +github\nclient_id +my-app-id\nclient_secret_set +true\n$)"));

  auto get = relay.cli({"oauth", "providers", "get", "github", "--tenant", a});
  seen += get.out + get.err;
  CHECK(has(get.out, R"(\nyour_own_app\.configured +true\n)"));
  CHECK(has(get.out, R"(\nyour_own_app\.client_id +my-app-id\n)"));
  auto get_json = relay.cli({"oauth", "providers", "get", "github", "--key", key_a, "--json"});
  seen += get_json.out + get_json.err;
  CHECK(contains(get_json.out, "\"client_id\": \"my-app-id\""));
  auto get_b = relay.cli({"oauth", "providers", "get", "github", "--tenant", b});
  CHECK(has(get_b.out, R"(\nyour_own_app\.configured +false\n)"));
  CHECK(has(get_b.out, R"(\nyour_own_app\.client_id +-\n)"));

  // With the tenant's own key, and --json: the REST answer, which has no secret either.
  auto gitlab = relay.cli({"oauth", "apps", "set", "gitlab", "--client-id", "gl-app", "--client-secret-file",
                           secret_file.string(), "--key", key_a, "--json"});
  seen += gitlab.out + gitlab.err;
  CHECK(gitlab.status == 0);
  CHECK(contains(gitlab.out, "\"provider\": \"gitlab\""));
  CHECK(contains(gitlab.out, "\"client_id\": \"gl-app\""));
  CHECK(contains(gitlab.out, "\"client_secret_set\": true"));

  // Setting it again replaces the app.
  auto replaced = relay.cli({"oauth", "apps", "set", "github", "--client-id", "my-app-id-2", "--client-secret-file",
                             secret_file.string(), "--key", key_a});
  seen += replaced.out + replaced.err;
  CHECK(replaced.status == 0);
  auto get_again = relay.cli({"oauth", "providers", "get", "github", "--tenant", a});
  CHECK(has(get_again.out, R"(\nyour_own_app\.client_id +my-app-id-2\n)"));

  // An API-key provider has no OAuth app: the relay's 400, on one line, without the secret.
  auto exa = relay.cli({"oauth", "apps", "set", "exa", "--client-id", "x", "--client-secret-file",
                        secret_file.string(), "--tenant", a});
  seen += exa.out + exa.err;
  CHECK(exa.status == 1);
  CHECK(exa.out == "");
  CHECK(has(exa.err, R"(^tollgate: bad_request: [^\n]+\n$)"));

  auto unknown = relay.cli({"oauth", "apps", "set", "nosuch", "--client-id", "x", "--client-secret-file",
                            secret_file.string(), "--tenant", a});
  seen += unknown.out + unknown.err;
  CHECK(unknown.status == 1);
  CHECK(unknown.err.rfind("tollgate: provider_not_found: ", 0) == 0);

  auto missing = relay.cli({"oauth", "apps", "set", "github", "--client-id", "x", "--client-secret-file",
                            (files / "absent").string(), "--tenant", a});
  CHECK(missing.status == 2);
  CHECK(missing.err == "tollgate oauth apps set: cannot read --client-secret-file " + (files / "absent").string() +
                           ": no such file or directory\n");

  CHECK_FALSE(contains(seen, secret));
  relay.tg.stop();
  CHECK_FALSE(contains(relay.tg.logs(), secret));
  CHECK_FALSE(contains(relay.tg.logs(), kManagedSecret));
}
