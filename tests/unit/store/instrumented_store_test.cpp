// The timing decorator: it forwards every operation unchanged (the whole
// contract runs through it) and records durations and store failures.
#include <memory>

#include "contract.hpp"
#include "redis_process.hpp"
#include "temp_dir.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/ops/metrics.hpp"
#include "tollgate/store/instrumented.hpp"
#include "tollgate/store/redis.hpp"
#include "tollgate/store/sqlite.hpp"

namespace {

using namespace std::chrono_literals;
using namespace tollgate;

struct InstrumentedSqliteBackend {
  test::TempDir dir;
  std::unique_ptr<store::Store> open() { return store::instrument(store::open_sqlite(dir / "tollgate.db")); }
};

// The value of a counter, or the count of a histogram series; 0 when absent.
double metric_value(std::string_view family, std::vector<std::pair<std::string_view, std::string_view>> labels) {
  for (const auto& f : ops::Registry::global().snapshot()) {
    if (f.name != family) continue;
    for (const auto& s : f.samples) {
      bool all = true;
      for (auto [k, v] : labels) all = all && s.label(k) == v;
      if (all) return f.type == ops::FamilySnapshot::Type::histogram ? static_cast<double>(s.count) : s.value;
    }
  }
  return 0;
}

}  // namespace

TYPE_TO_STRING_AS("instrumented sqlite", InstrumentedSqliteBackend);
TOLLGATE_STORE_CONTRACT(InstrumentedSqliteBackend);

TEST_CASE("the store decorator times each operation and counts not_found as an answer, not a failure") {
  ops::declare_tollgate_metrics();
  InstrumentedSqliteBackend backend;
  auto s = backend.open();
  boost::asio::io_context ctx;
  const double gets = metric_value(ops::metric::store_duration, {{"operation", "get_tenant"}});
  const double creates = metric_value(ops::metric::store_duration, {{"operation", "create_tenant"}});
  REQUIRE(test::run_sync(ctx, s->create_tenant(store::contract::bare_tenant("tnt_m", 1))).ok());
  REQUIRE(test::run_sync(ctx, s->get_tenant("tnt_m")).ok());
  REQUIRE(test::run_sync(ctx, s->get_tenant("tnt_missing")).is(store::Errc::not_found));
  CHECK(metric_value(ops::metric::store_duration, {{"operation", "get_tenant"}}) == gets + 2);
  CHECK(metric_value(ops::metric::store_duration, {{"operation", "create_tenant"}}) == creates + 1);
  CHECK(metric_value(ops::metric::store_errors, {{"operation", "get_tenant"}}) == 0);
}

TEST_CASE("the store decorator counts a store that does not answer as a store error") {
  ops::declare_tollgate_metrics();
  test::RedisProcess server;
  store::RedisOptions options;
  options.url = server.url();
  options.command_timeout = 300ms;
  auto s = store::instrument(store::open_redis(options));
  boost::asio::io_context ctx;
  REQUIRE(test::run_sync(ctx, s->ping()).ok());
  server.stop();
  const double before = metric_value(ops::metric::store_errors, {{"operation", "ping"}, {"code", "unavailable"}});
  CHECK(test::run_sync(ctx, s->ping()).is(store::Errc::unavailable));
  CHECK(metric_value(ops::metric::store_errors, {{"operation", "ping"}, {"code", "unavailable"}}) == before + 1);
}
