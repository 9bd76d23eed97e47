// Metering and quotas on the relay's path (SPEC §6): one usage event per
// forwarded call, none for calls tollgate refuses itself; 402 and 429.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "relay_world.hpp"

namespace tollgate::test {
namespace {

using namespace relay_world;
using namespace std::chrono_literals;
namespace json = boost::json;

const std::string kFastFlush =
    "metering: {flush_interval: 100ms, journal_dir: data/journal}\n";

// The tenant's usage this month grouped by provider, as {provider: {calls, errors}}.
std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> usage_by_provider(World& w) {
  auto r = http_request(w.tg->port(), "GET", "/v1/usage?group_by=provider", {{"Authorization", "Bearer " + w.key}});
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> out;
  if (r.status != 200) {
    MESSAGE(r.status << " " << r.body);
    return out;
  }
  const auto body = json::parse(r.body);
  for (const auto& row : body.at("rows").as_array())
    out[std::string(row.at("provider").as_string())] = {row.at("calls").to_number<std::uint64_t>(),
                                                        row.at("errors").to_number<std::uint64_t>()};
  return out;
}

TEST_CASE("relay metering: each forwarded call is one usage event, and calls tollgate refuses are none") {
  World w(kFastFlush);
  w.plain.on([](const PeerRequest& r) {
    if (r.target.find("/fail") != std::string::npos) return Reply::json(500, "{}");
    if (r.target.find("/reset") != std::string::npos) return Reply::reset();
    return Reply::json(200, R"({"ok":true})");
  });
  for (int i = 0; i < 30; ++i) CHECK(w.call("GET", "/v1/proxy/keyed/ok", {{"Tollgate-Auth-Config", w.keyed_pac}}).status == 200);
  for (int i = 0; i < 10; ++i) CHECK(w.call("GET", "/v1/proxy/deploy/fail").status == 500);
  for (int i = 0; i < 3; ++i) CHECK(w.call("POST", "/v1/proxy/deploy/reset", {}, "x").status == 502);
  // Refused by tollgate itself: not calls.
  CHECK(w.call("GET", "/v1/proxy/deploy/a/../b").status == 400);
  CHECK(w.call("GET", "/v1/proxy/keyed/ok", {{"Tollgate-Auth-Config", "pac_nope"}}).status == 404);
  CHECK(http_request(w.tg->port(), "GET", "/v1/proxy/deploy/ok").status == 401);
  const std::pair<std::uint64_t, std::uint64_t> keyed{30, 0}, deploy{13, 13};
  bool exact = eventually([&] {
    auto u = usage_by_provider(w);
    return u["keyed"] == keyed && u["deploy"] == deploy;
  });
  CHECK(exact);
  auto u = usage_by_provider(w);
  CHECK(u.size() == 2);
  CHECK(u["keyed"].first == 30);
  CHECK(u["deploy"].first == 13);
  // last_used_at comes from the flush.
  auto ac = http_request(w.tg->port(), "GET", "/v1/auth-configs/" + w.keyed_pac, {{"Authorization", "Bearer " + w.key}});
  CHECK(field(ac.body, "last_used_at") != "");
}

TEST_CASE("relay quotas: a used-up monthly quota is 402 and a rate limit is 429 with Retry-After") {
  World w(kFastFlush);
  auto patched = w.admin("PATCH", "/v1/tenants/" + w.tenant, R"({"quotas":{"monthly_calls":5}})");
  REQUIRE_MESSAGE(patched.status == 200, patched.body);
  int ok = 0;
  for (int i = 0; i < 5; ++i) ok += w.call("GET", "/v1/proxy/deploy/x").status == 200;
  CHECK(ok == 5);
  auto over = w.call("GET", "/v1/proxy/deploy/x");
  CHECK(over.status == 402);
  CHECK(over.header("tollgate-error") == "quota_exceeded");

  auto other = w.admin("PATCH", "/v1/tenants/" + w.other_tenant, R"({"quotas":{"rate_per_second":0.5,"burst":2}})");
  REQUIRE_MESSAGE(other.status == 200, other.body);
  auto call_other = [&] {
    return http_request(w.tg->port(), "GET", "/v1/proxy/deploy/y", {{"Authorization", "Bearer " + w.other_key}});
  };
  CHECK(call_other().status == 200);
  CHECK(call_other().status == 200);
  auto limited = call_other();
  CHECK(limited.status == 429);
  CHECK(limited.header("tollgate-error") == "rate_limited");
  CHECK(std::stoi(limited.header("retry-after")) >= 1);
  REQUIRE(w.plain.wait_for_requests(7));
  CHECK(w.plain.requests().size() == 7);
}

}  // namespace
}  // namespace tollgate::test

namespace tollgate::test {
namespace {

using namespace relay_world;

// One sample of /metrics, by its full series text (`name{labels}`); -1 when absent.
double metric(World& w, const std::string& series) {
  auto r = http_request(w.tg->port(), "GET", "/metrics");
  auto at = r.body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r.body.substr(at + series.size() + 2));
}

TEST_CASE("relay metrics: upstream latency per provider, pool connections and the metering journal") {
  World w(kFastFlush);
  for (int i = 0; i < 7; ++i) CHECK(w.call("GET", "/v1/proxy/deploy/ok").status == 200);
  CHECK(metric(w, R"(tollgate_upstream_request_duration_seconds_count{provider="deploy"})") == 7);
  // Each worker keeps its connection for the next call.
  CHECK(metric(w, R"(tollgate_upstream_pool_connections{state="idle"})") >= 1);
  CHECK(metric(w, R"(tollgate_upstream_pool_connections{state="active"})") == 0);
  CHECK(metric(w, "tollgate_metering_journal_bytes") > 0);
  CHECK(eventually([&] { return metric(w, "tollgate_metering_pending_batches") == 0; }));
}

}  // namespace
}  // namespace tollgate::test
