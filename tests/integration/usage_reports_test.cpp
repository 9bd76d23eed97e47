// GET /v1/usage, GET /v1/billing/report and their CLI verbs against a real
// `tollgate serve`, over usage written into its SQLite database through the
// Store API before it starts (the relay that records calls comes later).
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <regex>

#include "process.hpp"
#include "raw_http.hpp"
#include "temp_dir.hpp"
#include "tollgate/store/sqlite.hpp"
#include "tollgate_process.hpp"
#include "unit/store/run_sync.hpp"

using namespace tollgate;
using namespace tollgate::test;

namespace {

using Env = std::map<std::string, std::optional<std::string>>;

Env clean_env() {
  return {{"TOLLGATE_URL", std::nullopt}, {"TOLLGATE_KEY", std::nullopt}, {"TOLLGATE_ADMIN_KEY", std::nullopt}};
}

constexpr store::Day kFeb1 = 20'485;  // 2026-02-01

store::UsageRow row(std::string tenant, std::string provider, std::string auth, std::string mode, store::Day day,
                    std::uint64_t calls) {
  store::UsageRow r;
  r.tenant_id = std::move(tenant);
  r.provider = std::move(provider);
  r.auth_config_id = std::move(auth);
  r.mode = std::move(mode);
  r.day = day;
  r.counts = {calls, calls / 10, 1, calls * 100, calls * 1000};
  return r;
}

// A database with two tenants and known February traffic, written and closed before serve opens it.
void seed(const std::filesystem::path& db) {
  boost::asio::io_context ctx;
  auto store = store::open_sqlite(db);
  for (const char* id : {"tnt_acme", "tnt_other"}) {
    store::Tenant t;
    t.id = id;
    t.name = id;
    t.created_at = 1;
    t.updated_at = 1;
    REQUIRE(run_sync(ctx, store->create_tenant(t)).ok());
  }
  store::UsageBatch batch;
  batch.shard = "seed";
  batch.seq = 1;
  batch.rows = {
      row("tnt_acme", "github", "pac_1", "managed", kFeb1, 1000),
      row("tnt_acme", "github", "pac_1", "managed", kFeb1 + 1, 12'350),
      row("tnt_acme", "github", "pac_2", "your-own", kFeb1 + 1, 500),
      row("tnt_acme", "exa", "", "managed", kFeb1 + 27, 2500),
      row("tnt_other", "slack", "pac_9", "managed", kFeb1 + 3, 70),
      row("tnt_acme", "github", "pac_1", "managed", kFeb1 + 28, 99'999),  // March 1st
  };
  REQUIRE(run_sync(ctx, store->apply_usage_batch(batch)).ok());
}

struct Relay {
  TempDir pre;
  std::filesystem::path db = pre / "tollgate.db";
  bool seeded = (seed(db), true);
  TollgateProcess tg{"admin:\n  key_file: admin.key\nstore:\n  kind: sqlite\n  sqlite: {path: " + db.string() +
                         "}\nbilling:\n  currency: USD\n  billable_modes: [managed]\n  prices: {default: \"0.10\", "
                         "github: \"0.05\"}\n",
                     clean_env()};

  Relay() { REQUIRE(eventually([&] { return std::filesystem::exists(tg.dir() / "admin.key"); })); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(tg.port()); }
  std::string admin_key() const {
    auto key = read_file(tg.dir() / "admin.key");
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    return key;
  }
  RunResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), TOLLGATE_BIN);
    args.insert(args.end(), {"--url", url(), "--config", tg.config_path().string()});
    return run(args, clean_env());
  }
  HttpResponse get(const std::string& target, const std::string& key) const {
    return http_request(tg.port(), "GET", target, {{"Authorization", "Bearer " + key}});
  }
  std::string tenant_key(const std::string& tenant) const {
    auto r = cli({"keys", "create", tenant});
    REQUIRE(r.status == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, std::regex(R"(\nkey +(tg_live_\S+))")));
    return m[1].str();
  }
};

}  // namespace

TEST_CASE("usage report: admin sees every tenant grouped as asked, in JSON, CSV and a table, over a UTC range") {
  Relay relay;
  auto all = relay.get("/v1/usage?from=2026-02-01&to=2026-03-01&group_by=tenant,provider", relay.admin_key());
  REQUIRE(all.status == 200);
  auto body = boost::json::parse(all.body).as_object();
  CHECK(body.at("from") == "2026-02-01");
  CHECK(body.at("to") == "2026-03-01");
  const auto& rows = body.at("rows").as_array();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].at("tenant") == "tnt_acme");
  CHECK(rows[0].at("provider") == "exa");
  CHECK(rows[1].at("calls").to_number<std::uint64_t>() == 13'850);
  CHECK(rows[2].at("tenant") == "tnt_other");
  CHECK(body.at("totals").at("calls").to_number<std::uint64_t>() == 16'420);

  auto csv = relay.cli({"usage", "report", "--from", "2026-02-01", "--to", "2026-03-01", "--group-by",
                        "day,auth_config", "--format", "csv", "--tenant", "tnt_acme"});
  REQUIRE(csv.status == 0);
  CHECK(csv.out ==
        "day,auth_config,calls,errors,refreshes,request_bytes,response_bytes\r\n"
        "2026-02-01,pac_1,1000,100,1,100000,1000000\r\n"
        "2026-02-02,pac_1,12350,1235,1,1235000,12350000\r\n"
        "2026-02-02,pac_2,500,50,1,50000,500000\r\n"
        "2026-02-28,,2500,250,1,250000,2500000\r\n");

  auto table = relay.cli({"usage", "report", "--from", "2026-03-01", "--to", "2026-03-02"});
  REQUIRE(table.status == 0);
  CHECK(table.out.find("99999") != std::string::npos);
  CHECK(table.out.find("TOTAL") != std::string::npos);

  auto headers = relay.get("/v1/usage?from=2026-02-01&to=2026-03-01&format=csv", relay.admin_key());
  REQUIRE(headers.status == 200);
  CHECK(headers.header("content-type").rfind("text/csv", 0) == 0);
  CHECK(headers.header("content-disposition") == "attachment; filename=\"usage-2026-02-01-2026-03-01.csv\"");
}

TEST_CASE("usage report: a tenant key sees only its own tenant, and bad ranges or keys are 400") {
  Relay relay;
  const auto key = relay.tenant_key("tnt_other");
  auto own = relay.get("/v1/usage?from=2026-02-01&to=2026-04-01&group_by=tenant", key);
  REQUIRE(own.status == 200);
  auto rows = boost::json::parse(own.body).at("rows").as_array();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("tenant") == "tnt_other");
  CHECK(relay.get("/v1/usage?tenant=tnt_acme", key).status == 404);
  CHECK(relay.get("/v1/usage?from=2026-02-30", key).status == 400);
  CHECK(relay.get("/v1/usage?from=2026-03-01&to=2026-02-01", key).status == 400);
  CHECK(relay.get("/v1/usage?from=2024-01-01&to=2026-01-01", key).status == 400);
  CHECK(relay.get("/v1/usage?group_by=mode", key).status == 400);
  CHECK(relay.get("/v1/usage?format=xml", key).status == 400);
  CHECK(relay.get("/v1/usage", "tg_live_nope").status == 401);
}

TEST_CASE("billing report: a tenant's month priced per provider and mode, rounded half-even, with a total") {
  Relay relay;
  auto r = relay.cli({"billing", "report", "--tenant", "tnt_acme", "--period", "2026-02", "--json"});
  REQUIRE(r.status == 0);
  auto report = boost::json::parse(r.out).as_object();
  CHECK(report.at("currency") == "USD");
  const auto& lines = report.at("lines").as_array();
  REQUIRE(lines.size() == 3);
  // exa managed: 2500 × 0.10 / 1000 = 0.25
  CHECK(lines[0].at("provider") == "exa");
  CHECK(lines[0].at("amount") == "0.25");
  // github managed: 13350 × 0.05 / 1000 = 0.6675 → 0.67
  CHECK(lines[1].at("mode") == "managed");
  CHECK(lines[1].at("billable_calls").to_number<std::uint64_t>() == 13'350);
  CHECK(lines[1].at("price_per_1000") == "0.05");
  CHECK(lines[1].at("amount") == "0.67");
  // github your-own: not billable.
  CHECK(lines[2].at("billable_calls").to_number<std::uint64_t>() == 0);
  CHECK(lines[2].at("amount") == "0.00");
  CHECK(report.at("total") == "0.92");

  auto csv = relay.cli({"billing", "report", "--tenant", "tnt_acme", "--period", "2026-02", "--format", "csv"});
  REQUIRE(csv.status == 0);
  CHECK(csv.out.find("tnt_acme,2026-02,USD,total,,16350,15850,,0.92\r\n") != std::string::npos);

  auto table = relay.cli({"billing", "report", "--tenant", "tnt_acme", "--period", "2026-02"});
  REQUIRE(table.status == 0);
  CHECK(table.out.find("TOTAL") != std::string::npos);

  CHECK(relay.get("/v1/billing/report?period=2026-02", relay.admin_key()).status == 400);  // admin: which tenant?
  CHECK(relay.get("/v1/billing/report?tenant=tnt_acme&period=2026-13", relay.admin_key()).status == 400);
  CHECK(relay.get("/v1/billing/report?tenant=tnt_nobody&period=2026-02", relay.admin_key()).status == 404);
  auto missing = relay.cli({"billing", "report", "--tenant", "tnt_acme"});
  CHECK(missing.status == 2);
}
