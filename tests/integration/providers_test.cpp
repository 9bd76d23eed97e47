// The provider catalog over REST (SPEC §4 /v1/providers…) against a real serve.
#include <doctest/doctest.h>

#include <regex>

#include "raw_http.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {

const std::string kAdmin = "tg_admin_providers_test_0123456789";
const std::string kCatalog = R"(
providers:
  github:
    display_name: GitHub
    authorization_url: https://github.com/login/oauth/authorize
    token_url: https://github.com/login/oauth/access_token
    default_scopes: [read:user]
    api: {base_url: https://api.github.com, headers: {Accept: application/vnd.github+json}}
    managed: {service_config_key: github, client_id: "${GH_ID:-}", client_secret: "${GH_SECRET:-}"}
  zendesk:
    connection_params:
      subdomain: {pattern: "^[a-z0-9][a-z0-9-]{0,62}$", description: your Zendesk subdomain}
    authorization_url: https://{subdomain}.zendesk.com/oauth/authorizations/new
    token_url: https://{subdomain}.zendesk.com/oauth/tokens
    api: {base_url: "https://{subdomain}.zendesk.com/api/v2"}
  exa:
    auth_mode: api_key
    api: {base_url: https://api.exa.ai}
    credentials: {header: x-api-key}
    deployment_credentials: {api_key: "${EXA_KEY:-}"}
)";

struct Fixture {
  TollgateProcess tg{kCatalog, {{"TOLLGATE_ADMIN_KEY", kAdmin}, {"GH_ID", "gh-client-id-MARKER"},
                                {"GH_SECRET", "gh-managed-secret-MARKER"}, {"EXA_KEY", "exa-deployment-key-MARKER"}}};
  std::string tenant, key;

  Fixture() {
    tenant = field(call("POST", "/v1/tenants", R"({"name":"Acme"})").body, "id");
    key = field(call("POST", "/v1/tenants/" + tenant + "/api-keys", "{}").body, "key");
  }

  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                    std::string auth = kAdmin, std::string tenant_header = "") {
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + auth}};
    if (!tenant_header.empty()) headers.emplace_back("Tollgate-Tenant", tenant_header);
    return http_request(tg.port(), method, target, headers, body);
  }

  static std::string field(const std::string& json, const std::string& name) {
    std::smatch m;
    return std::regex_search(json, m, std::regex("\"" + name + "\":\"([^\"]*)\"")) ? m[1].str() : "";
  }
};

}  // namespace

TEST_CASE("providers: the catalog lists without secrets, with managed_service_config_key and the caller's mode") {
  Fixture f;
  auto list = f.call("GET", "/v1/providers", {}, f.key);
  REQUIRE(list.status == 200);
  CHECK(list.body.find(R"("key":"github")") != std::string::npos);
  CHECK(list.body.find(R"("managed_service_config_key":"github")") != std::string::npos);
  CHECK(list.body.find("MARKER") == std::string::npos);  // no managed client id/secret, no deployment key
  auto exa = f.call("GET", "/v1/providers/exa", {}, f.key);
  CHECK(exa.body.find(R"("deployment_credentials":true)") != std::string::npos);
  CHECK(exa.body.find(R"("mode":"managed")") != std::string::npos);
  auto zendesk = f.call("GET", "/v1/providers/zendesk", {}, f.key);
  CHECK(zendesk.body.find(R"("managed_service_config_key":null)") != std::string::npos);
  CHECK(zendesk.body.find(R"("mode":"your-own")") != std::string::npos);
  CHECK(zendesk.body.find(R"("name":"subdomain")") != std::string::npos);
  auto filtered = f.call("GET", "/v1/providers?supports_managed=true", {}, f.key);
  CHECK(filtered.body.find(R"("key":"zendesk")") == std::string::npos);
  CHECK(filtered.body.find(R"("key":"github")") != std::string::npos);
  auto unknown = f.call("GET", "/v1/providers/nope", {}, f.key);
  CHECK(unknown.status == 404);
  CHECK(unknown.header("Tollgate-Error") == "provider_not_found");
}

TEST_CASE("providers: mode is per tenant, set by the tenant key or by the admin naming the tenant") {
  Fixture f;
  CHECK(Fixture::field(f.call("GET", "/v1/providers/github/mode", {}, f.key).body, "mode") == "managed");
  auto set = f.call("PUT", "/v1/providers/github/mode", R"({"mode":"your-own"})", f.key);
  CHECK(set.status == 200);
  CHECK(Fixture::field(f.call("GET", "/v1/providers/github/mode", {}, f.key).body, "mode") == "your-own");
  // The admin sees the tenant's choice through Tollgate-Tenant, and needs it on a tenant-scoped write.
  CHECK(Fixture::field(f.call("GET", "/v1/providers/github/mode", {}, kAdmin, f.tenant).body, "mode") == "your-own");
  auto no_tenant = f.call("PUT", "/v1/providers/github/mode", R"({"mode":"managed"})");
  CHECK(no_tenant.status == 400);
  auto admin_set = f.call("PUT", "/v1/providers/github/mode", R"({"mode":"managed"})", kAdmin, f.tenant);
  CHECK(admin_set.status == 200);
  // Another tenant is unaffected.
  auto other = Fixture::field(f.call("POST", "/v1/tenants", R"({"name":"Other"})").body, "id");
  auto other_key = Fixture::field(f.call("POST", "/v1/tenants/" + other + "/api-keys", "{}").body, "key");
  CHECK(f.call("PUT", "/v1/providers/github/mode", R"({"mode":"your-own"})", other_key).status == 200);
  CHECK(Fixture::field(f.call("GET", "/v1/providers/github/mode", {}, f.key).body, "mode") == "managed");
  // A tenant key cannot act for another tenant.
  CHECK(f.call("GET", "/v1/providers/github/mode", {}, f.key, other).status == 403);
  // Managed where the operator has no app is a conflict; a bad mode is a bad request.
  auto conflict = f.call("PUT", "/v1/providers/zendesk/mode", R"({"mode":"managed"})", f.key);
  CHECK(conflict.status == 409);
  CHECK(conflict.header("Tollgate-Error") == "conflict");
  CHECK(f.call("PUT", "/v1/providers/github/mode", R"({"mode":"sometimes"})", f.key).status == 400);
}

TEST_CASE("providers: a your-own app's secret is write-only, sealed in the store and never logged") {
  Fixture f;
  const std::string secret = "your-own-client-secret-MARKER-7f3a";
  auto put = f.call("PUT", "/v1/providers/github/app",
                    R"({"client_id":"my-client","client_secret":")" + secret + R"("})", f.key);
  REQUIRE(put.status == 200);
  CHECK(put.body.find(secret) == std::string::npos);
  CHECK(put.body.find(R"("client_secret_set":true)") != std::string::npos);
  auto got = f.call("GET", "/v1/providers/github", {}, f.key);
  CHECK(got.body.find(R"("your_own_app":{"configured":true,"client_id":"my-client"})") != std::string::npos);
  CHECK(got.body.find(secret) == std::string::npos);
  CHECK(f.call("PUT", "/v1/providers/exa/app", R"({"client_id":"a","client_secret":"b"})", f.key).status == 400);
  CHECK(f.call("PUT", "/v1/providers/github/app", R"({"client_id":"a"})", f.key).status == 400);
  f.tg.stop();
  CHECK(f.tg.logs().find(secret) == std::string::npos);
  auto db = read_file(f.tg.dir() / "data/tollgate.db") + read_file(f.tg.dir() / "data/tollgate.db-wal");
  REQUIRE(db.find("my-client") != std::string::npos);  // the record is there…
  CHECK(db.find(secret) == std::string::npos);         // …the secret only sealed
}
