// Tenants and API keys over REST against a real `tollgate serve` (SPEC §4).
#include <doctest/doctest.h>

#include <algorithm>
#include <regex>

#include "raw_http.hpp"
#include "temp_dir.hpp"
#include "tollgate_process.hpp"

using namespace tollgate::test;

namespace {

const std::string kAdmin = "tg_admin_test_0123456789abcdef";

struct Api {
  TollgateProcess tg{"admin:\n  key_file: admin.key\n", {{"TOLLGATE_ADMIN_KEY", kAdmin}}};

  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                    const std::string& key = kAdmin,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return http_request(tg.port(), method, target, headers, body);
  }
};

// The first "name": "value" string in a JSON text.
std::string field(const std::string& json, const std::string& name) {
  std::smatch m;
  std::regex re("\"" + name + "\":\"([^\"]*)\"");
  return std::regex_search(json, m, re) ? m[1].str() : "";
}

void check_error(const HttpResponse& r, int status, std::string_view code) {
  CHECK(r.status == status);
  CHECK(r.header("Tollgate-Error") == code);
  CHECK(r.body.find("\"code\":\"" + std::string(code) + "\"") != std::string::npos);
}

}  // namespace

TEST_CASE("the admin key creates, reads, lists and patches tenants") {
  Api api;
  auto created = api.call("POST", "/v1/tenants", R"({"name":"Acme","allowed_redirect_origins":["https://app.acme.test"]})");
  REQUIRE(created.status == 201);
  auto id = field(created.body, "id");
  CHECK(id.rfind("tnt_", 0) == 0);
  CHECK(created.body.find(R"("allowed_redirect_origins":["https://app.acme.test"])") != std::string::npos);
  CHECK(std::regex_search(created.body, std::regex(R"("created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")")));

  auto got = api.call("GET", "/v1/tenants/" + id);
  CHECK(got.status == 200);
  CHECK(field(got.body, "name") == "Acme");

  auto patched = api.call("PATCH", "/v1/tenants/" + id, R"({"name":"Acme Corp","quotas":{"monthly_calls":1000}})");
  CHECK(patched.status == 200);
  CHECK(field(patched.body, "name") == "Acme Corp");
  CHECK(patched.body.find(R"("monthly_calls":1000)") != std::string::npos);
  CHECK(patched.body.find(R"("allowed_redirect_origins":["https://app.acme.test"])") != std::string::npos);

  auto list = api.call("GET", "/v1/tenants");
  CHECK(list.status == 200);
  CHECK(list.body.find(id) != std::string::npos);
  CHECK(list.body.find(R"("next_cursor":null)") != std::string::npos);
}

TEST_CASE("tenant lists paginate with limit and cursor, without gaps or repeats") {
  Api api;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(field(api.call("POST", "/v1/tenants", "{\"name\":\"t" + std::to_string(i) + "\"}").body, "id"));
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = api.call("GET", "/v1/tenants?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    std::smatch m;
    std::string body = r.body;
    std::regex id_re("\"id\":\"(tnt_[a-z0-9]+)\"");
    for (std::sregex_iterator it(body.begin(), body.end(), id_re), end; it != end; ++it) seen.push_back((*it)[1]);
    cursor = field(body, "next_cursor");
    if (cursor.empty()) break;
  }
  // Creation order is kept to the millisecond (then by id), so compare as sets.
  CHECK(seen.size() == ids.size());
  std::sort(seen.begin(), seen.end());
  std::sort(ids.begin(), ids.end());
  CHECK(seen == ids);
  check_error(api.call("GET", "/v1/tenants?limit=0"), 400, "bad_request");
  check_error(api.call("GET", "/v1/tenants?limit=501"), 400, "bad_request");
  check_error(api.call("GET", "/v1/tenants?cursor=bm90LWEtY3Vyc29y"), 400, "bad_request");
}

TEST_CASE("malformed bodies answer 400 bad_request and write nothing") {
  Api api;
  check_error(api.call("POST", "/v1/tenants", "{not json"), 400, "bad_request");
  check_error(api.call("POST", "/v1/tenants", "[1,2]"), 400, "bad_request");
  check_error(api.call("POST", "/v1/tenants", R"({"name":42})"), 400, "bad_request");
  check_error(api.call("POST", "/v1/tenants", R"({"name":"x","colour":"red"})"), 400, "bad_request");
  check_error(api.call("POST", "/v1/tenants", R"({})"), 400, "bad_request");
  check_error(api.call("POST", "/v1/tenants", R"({"name":"x","allowed_redirect_origins":["https://a.test/path"]})"),
              400, "bad_request");
  check_error(api.call("POST", "/v1/tenants", R"({"name":"x","quotas":{"monthly_calls":-1}})"), 400, "bad_request");
  auto list = api.call("GET", "/v1/tenants");
  CHECK(list.body == R"({"data":[],"next_cursor":null})");
}

TEST_CASE("an oversized body answers 413 payload_too_large") {
  TollgateProcess tg("admin:\n  key_file: admin.key\nserver:\n  listen: 127.0.0.1:0\n  limits: {max_body_bytes: 1KiB}\n",
                     {{"TOLLGATE_ADMIN_KEY", kAdmin}});
  auto r = http_request(tg.port(), "POST", "/v1/tenants", {{"Authorization", "Bearer " + kAdmin}},
                        "{\"name\":\"" + std::string(2000, 'a') + "\"}");
  check_error(r, 413, "payload_too_large");
}

TEST_CASE("missing, unknown and revoked keys answer 401 unauthenticated") {
  Api api;
  check_error(api.call("GET", "/v1/tenants", {}, ""), 401, "unauthenticated");
  check_error(api.call("GET", "/v1/tenants", {}, "tg_live_nonsense"), 401, "unauthenticated");
  check_error(http_request(api.tg.port(), "GET", "/v1/tenants", {{"Authorization", "Basic abc"}}), 401,
              "unauthenticated");
}

TEST_CASE("an API key is shown exactly once, stored as a hash, and refused at once when revoked") {
  Api api;
  auto tenant = field(api.call("POST", "/v1/tenants", R"({"name":"Acme"})").body, "id");
  auto created = api.call("POST", "/v1/tenants/" + tenant + "/api-keys", "{}");
  REQUIRE(created.status == 201);
  CHECK(created.header("Cache-Control") == "no-store");
  auto key = field(created.body, "key");
  auto key_id = field(created.body, "id");
  REQUIRE(key.rfind("tg_live_", 0) == 0);
  CHECK(key_id.rfind("key_", 0) == 0);

  // The tenant key reads its own tenant.
  auto own = api.call("GET", "/v1/tenants/" + tenant, {}, key);
  CHECK(own.status == 200);

  auto list = api.call("GET", "/v1/tenants/" + tenant + "/api-keys");
  CHECK(list.status == 200);
  CHECK(list.body.find(key_id) != std::string::npos);
  CHECK(list.body.find(key) == std::string::npos);
  CHECK(list.body.find("\"key\"") == std::string::npos);

  auto revoked = api.call("DELETE", "/v1/api-keys/" + key_id);
  CHECK(revoked.status == 200);
  CHECK(field(revoked.body, "status") == "revoked");
  check_error(api.call("GET", "/v1/tenants/" + tenant, {}, key), 401, "unauthenticated");

  // Neither the log nor the database holds the key.
  api.tg.stop();
  CHECK(api.tg.logs().find(key) == std::string::npos);
  auto db = read_file(api.tg.dir() / "data/tollgate.db") + read_file(api.tg.dir() / "data/tollgate.db-wal");
  REQUIRE(db.find(key_id) != std::string::npos);  // the record is there…
  CHECK(db.find(key) == std::string::npos);       // …the key is not
}

TEST_CASE("a tenant key sees only its own tenant: another tenant's ids answer 404") {
  Api api;
  auto a = field(api.call("POST", "/v1/tenants", R"({"name":"A"})").body, "id");
  auto b = field(api.call("POST", "/v1/tenants", R"({"name":"B"})").body, "id");
  auto key_a = field(api.call("POST", "/v1/tenants/" + a + "/api-keys", "{}").body, "key");
  auto key_b_id = field(api.call("POST", "/v1/tenants/" + b + "/api-keys", "{}").body, "id");
  check_error(api.call("GET", "/v1/tenants/" + b, {}, key_a), 404, "not_found");
  check_error(api.call("GET", "/v1/tenants/" + b + "/api-keys", {}, key_a), 404, "not_found");
  check_error(api.call("DELETE", "/v1/api-keys/" + key_b_id, {}, key_a), 404, "not_found");
  check_error(api.call("GET", "/v1/tenants", {}, key_a), 403, "forbidden");
  check_error(api.call("POST", "/v1/tenants", R"({"name":"C"})", key_a), 403, "forbidden");
  // B's key still works: A's attempt changed nothing.
  auto keys_b = api.call("GET", "/v1/tenants/" + b + "/api-keys");
  CHECK(field(keys_b.body, "status") == "active");
}

TEST_CASE("unknown ids answer 404 not_found") {
  Api api;
  check_error(api.call("GET", "/v1/tenants/tnt_doesnotexist"), 404, "not_found");
  check_error(api.call("PATCH", "/v1/tenants/tnt_doesnotexist", R"({"name":"x"})"), 404, "not_found");
  check_error(api.call("POST", "/v1/tenants/tnt_doesnotexist/api-keys", "{}"), 404, "not_found");
  check_error(api.call("DELETE", "/v1/api-keys/key_doesnotexist"), 404, "not_found");
}
