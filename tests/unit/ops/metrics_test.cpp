#include <doctest/doctest.h>

#include <stdexcept>
#include <thread>

#include "tollgate/ops/instruments.hpp"
#include "tollgate/ops/metrics.hpp"

using namespace tollgate::ops;

namespace {

const FamilySnapshot* find(const std::vector<FamilySnapshot>& fs, std::string_view name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

const Sample* sample_with(const FamilySnapshot& f, std::string_view label, std::string_view value) {
  for (const auto& s : f.samples)
    if (s.label(label) == value) return &s;
  return nullptr;
}

}  // namespace

TEST_CASE("a counter handle adds to its own series and the text format shows each series") {
  Registry r;
  auto& fam = r.counter("t_requests_total", "Requests.", {{"tenant", 10}, {"class", 10}});
  auto a = fam.with({"tnt_a", "2xx"});
  auto b = fam.with({"tnt_b", "5xx"});
  a.inc();
  a.inc(4);
  b.inc();
  CHECK(a.value() == 5);
  CHECK(fam.with({"tnt_a", "2xx"}).value() == 5);  // the same series again
  CHECK(r.render() ==
        "# HELP t_requests_total Requests.\n"
        "# TYPE t_requests_total counter\n"
        "t_requests_total{tenant=\"tnt_a\",class=\"2xx\"} 5\n"
        "t_requests_total{tenant=\"tnt_b\",class=\"5xx\"} 1\n");
}

TEST_CASE("label values past a label's cap fold into other") {
  Registry r;
  auto& fam = r.counter("t_total", "x", {{"tenant", 2}});
  fam.with({"a"}).inc();
  fam.with({"b"}).inc();
  fam.with({"c"}).inc();
  fam.with({"d"}).inc(2);
  fam.with({"a"}).inc();
  auto snap = r.snapshot();
  const auto& f = *find(snap, "t_total");
  REQUIRE(f.samples.size() == 3);
  CHECK(sample_with(f, "tenant", "a")->value == 2);
  CHECK(sample_with(f, "tenant", "b")->value == 1);
  CHECK(sample_with(f, "tenant", "other")->value == 3);
  CHECK(sample_with(f, "tenant", "c") == nullptr);
}

TEST_CASE("reserved label values are kept past the cap and do not take a place") {
  Registry r;
  auto& fam = r.counter("t_total", "x", {{"tenant", 1, {"none"}}});
  fam.with({"a"}).inc();
  fam.with({"none"}).inc();
  fam.with({"b"}).inc();
  auto snap = r.snapshot();
  const auto& f = *find(snap, "t_total");
  CHECK(sample_with(f, "tenant", "a")->value == 1);
  CHECK(sample_with(f, "tenant", "none")->value == 1);
  CHECK(sample_with(f, "tenant", "other")->value == 1);
}

TEST_CASE("a histogram renders cumulative buckets ending in +Inf with sum and count") {
  Registry r;
  auto& fam = r.histogram("t_seconds", "Latency.", {{"provider", 4}}, {0.1, 1});
  auto h = fam.with({"github"});
  h.observe(0.05);
  h.observe(0.1);  // le: equal to a bound counts in that bucket
  h.observe(0.5);
  h.observe(7);
  CHECK(r.render() ==
        "# HELP t_seconds Latency.\n"
        "# TYPE t_seconds histogram\n"
        "t_seconds_bucket{provider=\"github\",le=\"0.1\"} 2\n"
        "t_seconds_bucket{provider=\"github\",le=\"1\"} 3\n"
        "t_seconds_bucket{provider=\"github\",le=\"+Inf\"} 4\n"
        "t_seconds_sum{provider=\"github\"} 7.65\n"
        "t_seconds_count{provider=\"github\"} 4\n");
}

TEST_CASE("label values and help text are escaped in the text format") {
  Registry r;
  r.counter("t_total", "a \\ b\nc", {{"v", 4}}).with({"q\"uo\\te\nx"}).inc();
  CHECK(r.render() ==
        "# HELP t_total a \\\\ b\\nc\n"
        "# TYPE t_total counter\n"
        "t_total{v=\"q\\\"uo\\\\te\\nx\"} 1\n");
}

TEST_CASE("gauge callbacks run at scrape, samples with equal labels are summed, and unregistering removes them") {
  Registry r;
  r.gauge("t_pool_connections", "Pool.", {"state"});
  int idle_a = 2;
  auto reg_a = r.register_gauge_callback("t_pool_connections", [&](GaugeSink& s) {
    s.set({"idle"}, idle_a);
    s.set({"active"}, 1);
  });
  {
    auto reg_b = r.register_gauge_callback("t_pool_connections", [](GaugeSink& s) { s.set({"idle"}, 3); });
    idle_a = 4;
    auto snap = r.snapshot();
    const auto& f = *find(snap, "t_pool_connections");
    CHECK(sample_with(f, "state", "idle")->value == 7);
    CHECK(sample_with(f, "state", "active")->value == 1);
  }
  auto snap = r.snapshot();
  CHECK(sample_with(*find(snap, "t_pool_connections"), "state", "idle")->value == 4);
  reg_a.reset();
  CHECK(r.render() == "# HELP t_pool_connections Pool.\n# TYPE t_pool_connections gauge\n");
}

TEST_CASE("a gauge callback for an undeclared family is refused") {
  Registry r;
  CHECK_THROWS_AS((void)r.register_gauge_callback("t_nope", [](GaugeSink&) {}), std::invalid_argument);
}

TEST_CASE("declaring a family twice returns it, and a conflicting or invalid declaration throws") {
  Registry r;
  auto& a = r.counter("t_total", "x", {{"l", 3}});
  CHECK(&r.counter("t_total", "x", {{"l", 3}}) == &a);
  CHECK_THROWS_AS(r.counter("t_total", "x", {{"other", 3}}), std::invalid_argument);
  CHECK_THROWS_AS(r.gauge("t_total", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.counter("9bad", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.counter("t_x_total", "x", {{"le", 3}}), std::invalid_argument);
  CHECK_THROWS_AS(r.histogram("t_h", "x", {}, {1, 0.5}), std::invalid_argument);
  CHECK_THROWS_AS(a.with({"one", "two"}), std::invalid_argument);
}

TEST_CASE("increments from many threads at once are all counted") {
  Registry r;
  auto& fam = r.counter("t_total", "x", {{"l", 4}});
  auto& hist = r.histogram("t_seconds", "x", {}, {1});
  constexpr int kThreads = 8, kEach = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto c = fam.with({t % 2 ? "odd" : "even"});
      auto h = hist.with({});
      for (int i = 0; i < kEach; ++i) {
        c.inc();
        h.observe(0.5);
      }
    });
  for (auto& t : threads) t.join();
  auto snap = r.snapshot();
  CHECK(sample_with(*find(snap, "t_total"), "l", "odd")->value == kThreads / 2 * kEach);
  CHECK(sample_with(*find(snap, "t_total"), "l", "even")->value == kThreads / 2 * kEach);
  CHECK(find(snap, "t_seconds")->samples[0].count == kThreads * kEach);
  CHECK(find(snap, "t_seconds")->samples[0].sum == doctest::Approx(0.5 * kThreads * kEach));
}

TEST_CASE("record_request counts by provider status class and tenant and tollgate errors by code") {
  declare_tollgate_metrics();
  auto value = [](std::string_view family, std::vector<std::pair<std::string_view, std::string_view>> labels) {
    for (const auto& f : Registry::global().snapshot()) {
      if (f.name != family) continue;
      for (const auto& s : f.samples) {
        bool all = true;
        for (auto [k, v] : labels) all = all && s.label(k) == v;
        if (all) return f.type == FamilySnapshot::Type::histogram ? static_cast<double>(s.count) : s.value;
      }
    }
    return -1.0;
  };
  CHECK(value(metric::errors, {{"code", "reauth_required"}}) == 0);  // every code is there from the start
  record_request({"tnt_u1", "github", 200, "", 0.02, 100, 2000});
  record_request({"tnt_u1", "github", 200, "", 0.03, 100, 2000});
  record_request({"", "", 404, "not_found", 0.001, 50, 120});
  std::thread([] { record_request({"tnt_u1", "github", 502, "upstream_unreachable", 0.5, 10, 10}); }).join();
  CHECK(value(metric::http_requests, {{"provider", "github"}, {"status_class", "2xx"}, {"tenant", "tnt_u1"}}) == 2);
  CHECK(value(metric::http_requests, {{"provider", "github"}, {"status_class", "5xx"}, {"tenant", "tnt_u1"}}) == 1);
  CHECK(value(metric::http_requests, {{"provider", "none"}, {"status_class", "4xx"}, {"tenant", "none"}}) == 1);
  CHECK(value(metric::http_request_duration, {{"provider", "github"}}) == 3);
  CHECK(value(metric::http_sent_bytes, {{"provider", "github"}}) == 4010);
  CHECK(value(metric::errors, {{"code", "not_found"}}) == 1);
  CHECK(value(metric::errors, {{"code", "upstream_unreachable"}}) == 1);

  record_upstream_latency("github", 0.2);
  record_refresh("github");
  record_refresh_failure("github", "invalid_grant");
  record_store_operation("get_tenant", 0.001, "");
  record_store_operation("get_tenant", 0.002, "unavailable");
  CHECK(value(metric::upstream_duration, {{"provider", "github"}}) == 1);
  CHECK(value(metric::refreshes, {{"provider", "github"}}) == 1);
  CHECK(value(metric::refresh_failures, {{"provider", "github"}, {"reason", "invalid_grant"}}) == 1);
  CHECK(value(metric::store_duration, {{"operation", "get_tenant"}}) == 2);
  CHECK(value(metric::store_errors, {{"operation", "get_tenant"}, {"code", "unavailable"}}) == 1);
  CHECK(value(metric::resident_memory, {}) > 1e6);
  CHECK(value(metric::open_fds, {}) >= 3);
}

TEST_CASE("status classes") {
  CHECK(status_class(101) == "1xx");
  CHECK(status_class(204) == "2xx");
  CHECK(status_class(308) == "3xx");
  CHECK(status_class(424) == "4xx");
  CHECK(status_class(504) == "5xx");
  CHECK(status_class(0) == "none");
}
