// The quota gate against real stores: monthly quotas from the store's counts
// and local admissions, tenant overrides, token buckets leased in blocks.
#include <doctest/doctest.h>

#include <chrono>

#include "redis_process.hpp"
#include "temp_dir.hpp"
#include "tollgate/metering/days.hpp"
#include "tollgate/metering/quota.hpp"
#include "tollgate/store/redis.hpp"
#include "tollgate/store/sqlite.hpp"
#include "unit/store/run_sync.hpp"

using namespace tollgate;
using metering::Admission;
using metering::QuotaGate;

namespace {

store::Millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

config::Quota quota(std::uint64_t monthly, double rate = 0, std::uint64_t burst = 0) {
  config::Quota q;
  q.monthly_calls = monthly;
  q.rate_per_second = rate;
  q.burst = burst;
  return q;
}

struct World {
  test::TempDir dir;
  std::unique_ptr<store::Store> store = store::open_sqlite(dir / "t.db");
  boost::asio::io_context ctx;

  // As the relay asks: the plain decision first, the coroutine when that needs the store.
  Admission admit(QuotaGate& gate, const std::string& tenant, config::Quota q, store::Millis at = now_ms()) {
    if (auto known = gate.try_admit(tenant, q, at)) return *known;
    return test::run_sync(ctx, gate.admit(tenant, q, at));
  }
  void add_calls(const std::string& tenant, std::uint64_t calls, std::uint64_t seq, store::Millis at = now_ms()) {
    store::UsageBatch b;
    b.shard = "test-shard";
    b.seq = seq;
    store::UsageRow r;
    r.tenant_id = tenant;
    r.provider = "github";
    r.mode = "managed";
    r.day = metering::day_of(at);
    r.counts.calls = calls;
    b.rows.push_back(r);
    REQUIRE(test::run_sync(ctx, store->apply_usage_batch(b)).ok());
  }
  void create_tenant(const std::string& id, store::QuotaOverride overrides) {
    store::Tenant t;
    t.id = id;
    t.quotas = overrides;
    REQUIRE(test::run_sync(ctx, store->create_tenant(t)).ok());
  }
};

void after_flush(World& w, QuotaGate& gate) {
  auto task = [](QuotaGate& g) -> boost::asio::awaitable<int> {
    co_await g.after_flush();
    co_return 0;
  };
  test::run_sync(w.ctx, task(gate));
}

int admitted(World& w, QuotaGate& gate, const std::string& tenant, config::Quota q, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += w.admit(gate, tenant, q).admitted();
  return n;
}

}  // namespace

TEST_CASE("the effective quota takes each override that is set and the default for the rest") {
  store::QuotaOverride o;
  o.burst = 7;
  const auto q = metering::effective_quota(quota(100, 2.5, 0), o);
  CHECK(q.monthly_calls == 100);
  CHECK(q.rate_per_second == 2.5);
  CHECK(q.burst == 7);
  o.monthly_calls = 0;  // an override of 0 means unlimited for that tenant
  CHECK(metering::effective_quota(quota(100), o).monthly_calls == 0);
  CHECK(metering::bucket_capacity(quota(0, 2.5, 0)) == 3);
  CHECK(metering::bucket_capacity(quota(0, 0.2, 0)) == 1);
  CHECK(metering::bucket_capacity(quota(0, 10, 40)) == 40);
  CHECK(metering::lease_block(40) == 5);
  CHECK(metering::lease_block(3) == 1);
  CHECK(metering::lease_block(1'000'000) == 1000);
}

TEST_CASE("a monthly quota admits exactly its calls, counting what the store already holds for the month") {
  World w;
  QuotaGate gate(*w.store);
  w.add_calls("tnt_a", 3, 1);
  // Last month's calls do not count.
  const auto last_month = (metering::month_of(metering::day_of(now_ms())).first - 1) * 86'400'000;
  w.add_calls("tnt_a", 100, 2, last_month);
  CHECK(admitted(w, gate, "tnt_a", quota(5), 10) == 2);
  auto no = w.admit(gate, "tnt_a", quota(5));
  CHECK(no.verdict == Admission::Verdict::quota_exceeded);
  CHECK(no.retry_after.count() >= 1);
  CHECK(no.retry_after.count() <= 31 * 86'400);
  CHECK(gate.month_calls("tnt_a") == 5);
  // Unlimited tenants and other tenants are not affected.
  CHECK(admitted(w, gate, "tnt_b", quota(0), 50) == 50);
  CHECK(admitted(w, gate, "tnt_c", quota(5), 10) == 5);
}

TEST_CASE("after a flush the gate counts the store's calls plus only the admissions since the mark") {
  World w;
  QuotaGate gate(*w.store);
  CHECK(admitted(w, gate, "tnt_a", quota(10), 4) == 4);
  gate.before_flush();
  w.add_calls("tnt_a", 4, 1);  // the flush moves those four to the store
  CHECK(admitted(w, gate, "tnt_a", quota(10), 2) == 2);  // admitted during the flush
  after_flush(w, gate);
  CHECK(gate.month_calls("tnt_a") == 6);
  CHECK(admitted(w, gate, "tnt_a", quota(10), 10) == 4);
}

TEST_CASE("a tenant's overrides from the store replace the defaults, and a PATCH takes effect after a flush") {
  World w;
  store::QuotaOverride o;
  o.monthly_calls = 2;
  w.create_tenant("tnt_a", o);
  QuotaGate gate(*w.store);
  CHECK(admitted(w, gate, "tnt_a", quota(100), 5) == 2);
  auto t = test::run_sync(w.ctx, w.store->get_tenant("tnt_a"));
  REQUIRE(t.ok());
  t->quotas.monthly_calls = 4;
  REQUIRE(test::run_sync(w.ctx, w.store->update_tenant(t.value())).ok());
  gate.before_flush();
  w.add_calls("tnt_a", 2, 1);  // what the flush moves to the store
  after_flush(w, gate);
  CHECK(admitted(w, gate, "tnt_a", quota(100), 5) == 2);
}

TEST_CASE("the rate limit admits a burst, then answers rate_limited with a Retry-After of whole seconds") {
  World w;
  QuotaGate gate(*w.store);
  const auto q = quota(0, 0.5, 4);
  CHECK(admitted(w, gate, "tnt_a", q, 4) == 4);
  auto no = w.admit(gate, "tnt_a", q);
  CHECK(no.verdict == Admission::Verdict::rate_limited);
  CHECK(no.retry_after.count() >= 1);
  CHECK(no.retry_after.count() <= 2);
  // A rate-limited call does not count against the monthly quota.
  CHECK(gate.month_calls("tnt_a") == 4);
}

TEST_CASE("tokens come back at rate_per_second") {
  World w;
  QuotaGate gate(*w.store);
  const auto q = quota(0, 20, 2);
  CHECK(admitted(w, gate, "tnt_a", q, 5) == 2);
  // 20 per second: a token is back within 50 ms.
  CHECK(test::eventually([&] { return w.admit(gate, "tnt_a", q).admitted(); }, std::chrono::seconds(2)));
}

TEST_CASE("two instances sharing Redis together admit exactly the shared bucket, leasing in blocks") {
  test::RedisProcess redis;
  store::RedisOptions ro;
  ro.url = redis.url();
  auto store_1 = store::open_redis(ro);
  auto store_2 = store::open_redis(ro);
  QuotaGate gate_1(*store_1), gate_2(*store_2);
  boost::asio::io_context ctx;
  // 80 tokens and a trickle of refill (one per 1000 s): blocks of 10.
  const auto q = quota(0, 0.001, 80);
  int admitted_1 = 0, admitted_2 = 0;
  bool open_1 = true, open_2 = true;
  while (open_1 || open_2) {
    if (open_1) {
      const bool ok = test::run_sync(ctx, gate_1.admit("tnt_shared", q, now_ms())).admitted();
      admitted_1 += ok;
      open_1 = ok;
    }
    if (open_2) {
      const bool ok = test::run_sync(ctx, gate_2.admit("tnt_shared", q, now_ms())).admitted();
      admitted_2 += ok;
      open_2 = ok;
    }
  }
  CHECK(admitted_1 + admitted_2 == 80);
  CHECK(admitted_1 >= 30);
  CHECK(admitted_2 >= 30);
  CHECK(store_1->stats().commands + store_2->stats().commands < 40);  // a round trip per block, not per call
}

TEST_CASE("with the meter's flushed counts, a call admitted but not yet in the batch stays counted") {
  World w;
  QuotaGate gate(*w.store);
  std::uint64_t flushed = 0;
  gate.count_flushed_with([&flushed](std::string_view) { return flushed; });
  CHECK(admitted(w, gate, "tnt_a", quota(10), 4) == 4);
  gate.before_flush();
  // The batch carried only three of the four: the fourth was still on its way to the journal.
  w.add_calls("tnt_a", 3, 1);
  flushed = 3;
  after_flush(w, gate);
  CHECK(gate.month_calls("tnt_a") == 4);
  CHECK(admitted(w, gate, "tnt_a", quota(10), 10) == 6);
  // An admitted call that was never forwarded gives its place back.
  gate.release("tnt_a");
  CHECK(gate.month_calls("tnt_a") == 9);
  CHECK(admitted(w, gate, "tnt_a", quota(10), 10) == 1);
}

TEST_CASE("try_admit decides without the store only once the tenant is loaded and while leased tokens last") {
  World w;
  QuotaGate gate(*w.store);
  CHECK_FALSE(gate.try_admit("tnt_a", quota(3), now_ms()));  // overrides not read yet
  CHECK(gate.month_calls("tnt_a") == 0);                      // and nothing reserved
  CHECK(test::run_sync(w.ctx, gate.admit("tnt_a", quota(3), now_ms())).admitted());
  auto second = gate.try_admit("tnt_a", quota(3), now_ms());
  REQUIRE(second);
  CHECK(second->admitted());
  REQUIRE(gate.try_admit("tnt_a", quota(3), now_ms()));
  auto fourth = gate.try_admit("tnt_a", quota(3), now_ms());
  REQUIRE(fourth);
  CHECK(fourth->verdict == Admission::Verdict::quota_exceeded);
  CHECK(gate.month_calls("tnt_a") == 3);
  // Next month counts from zero, decided without the store as well.
  const auto next_month = (metering::month_of(metering::day_of(now_ms())).end) * 86'400'000;
  auto later = gate.try_admit("tnt_a", quota(3), next_month);
  REQUIRE(later);
  CHECK(later->admitted());

  // A rate limit: the leased block is spent without the store, then a new lease is admit's.
  const auto q = quota(0, 0.5, 4);  // capacity 4, leased one token at a time
  CHECK(test::run_sync(w.ctx, gate.admit("tnt_r", q, now_ms())).admitted());
  int known = 0;
  while (auto a = gate.try_admit("tnt_r", q, now_ms())) {
    CHECK(a->admitted());
    if (++known > 10) break;
  }
  CHECK(known < 4);  // the lease ran out before the bucket did: admit leases the rest
  CHECK(gate.month_calls("tnt_r") == static_cast<std::uint64_t>(1 + known));
}
