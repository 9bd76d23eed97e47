// The meter end to end against real stores: threads record, the flusher moves
// batches, a restart replays, a store outage keeps batches until it is back.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "redis_process.hpp"
#include "temp_dir.hpp"
#include "tollgate/metering/days.hpp"
#include "tollgate/metering/journal.hpp"
#include "tollgate/metering/meter.hpp"
#include "tollgate/store/redis.hpp"
#include "tollgate/store/sqlite.hpp"
#include "unit/store/run_sync.hpp"

using namespace tollgate;
using metering::CallRecord;
using metering::Meter;
using metering::MeterOptions;

namespace {

MeterOptions options_in(const std::filesystem::path& dir, std::chrono::milliseconds interval = std::chrono::hours(1)) {
  MeterOptions o;
  o.journal_dir = dir;
  o.flush_interval = interval;
  o.instance_id = "test";
  return o;
}

CallRecord call(std::string_view tenant, std::string_view provider, std::string_view auth, unsigned status = 200) {
  CallRecord c;
  c.tenant_id = tenant;
  c.provider = provider;
  c.auth_config_id = auth;
  c.mode = "managed";
  c.method = "GET";
  c.status = status;
  c.request_bytes = 3;
  c.response_bytes = 40;
  c.time = std::chrono::system_clock::now();
  return c;
}

store::UsageCounts totals(store::Store& s, store::UsageFilter filter = {}) {
  boost::asio::io_context ctx;
  auto rows = test::run_sync(ctx, s.query_usage(filter, 0, 1'000'000));
  REQUIRE(rows.ok());
  store::UsageCounts sum;
  for (const auto& r : rows.value()) sum += r.counts;
  return sum;
}

std::size_t journal_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.path().extension() == ".journal";
  return n;
}

}  // namespace

TEST_CASE("calls recorded from many threads reach the store exactly once, with errors, refreshes and bytes") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "db" / "t.db");
  Meter meter(*store, options_in(dir / "journal"));
  constexpr int kThreads = 4;
  constexpr int kCalls = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&meter, t] {
      for (int i = 0; i < kCalls; ++i) {
        auto c = call(i % 2 ? "tnt_a" : "tnt_b", t % 2 ? "github" : "slack", i % 3 ? "pac_1" : "",
                      i % 10 == 0 ? 502 : (i % 10 == 1 ? 0 : 200));
        c.refreshed = i % 7 == 0;
        meter.record(c);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(meter.flush_now());
  const auto sum = totals(*store);
  CHECK(sum.calls == kThreads * kCalls);
  CHECK(sum.errors == kThreads * (kCalls / 10) * 2);
  CHECK(sum.refreshes == kThreads * ((kCalls + 6) / 7));
  CHECK(sum.request_bytes == kThreads * kCalls * 3);
  CHECK(sum.response_bytes == kThreads * kCalls * 40);
  CHECK(totals(*store, {"tnt_a", "", ""}).calls == kThreads * kCalls / 2);
  CHECK(meter.stats().shards == kThreads);
  CHECK(meter.flush_now());  // nothing new: nothing changes
  CHECK(totals(*store).calls == kThreads * kCalls);
}

TEST_CASE("response bytes added after the head are counted without counting the call again") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  Meter meter(*store, options_in(dir / "journal"));
  auto c = call("tnt_a", "github", "pac_1");
  c.response_bytes = 0;
  meter.record(c);
  meter.add_response_bytes(c, 12'345);
  CHECK(meter.flush_now());
  const auto sum = totals(*store);
  CHECK(sum.calls == 1);
  CHECK(sum.response_bytes == 12'345);
}

TEST_CASE("the flush moves auth configs' last_used_at to the latest recorded call") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  boost::asio::io_context ctx;
  store::Tenant t;
  t.id = "tnt_a";
  REQUIRE(test::run_sync(ctx, store->create_tenant(t)).ok());
  store::AuthConfig a;
  a.id = "pac_1";
  a.tenant_id = "tnt_a";
  a.status = "active";
  REQUIRE(test::run_sync(ctx, store->create_auth_config(a)).ok());
  Meter meter(*store, options_in(dir / "journal"));
  auto c = call("tnt_a", "github", "pac_1");
  c.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000));
  meter.record(c);
  c.time += std::chrono::seconds(5);
  meter.record(c);
  CHECK(meter.flush_now());
  auto read = test::run_sync(ctx, store->get_auth_config("pac_1"));
  REQUIRE(read.ok());
  CHECK(read->last_used_at == std::optional<store::Millis>(1'700'000'005'000));
  CHECK(read->version == 1);
}

TEST_CASE("a shard that fills up is replaced, drained and deleted, and no call is lost") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  auto options = options_in(dir / "journal");
  options.slots_per_shard = 8;
  Meter meter(*store, options);
  std::vector<std::string> tenants;
  for (int i = 0; i < 50; ++i) tenants.push_back("tnt_" + std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    for (const auto& t : tenants) meter.record(call(t, "github", ""));
  }
  CHECK(journal_files(dir / "journal") > 1);
  CHECK(meter.flush_now());
  CHECK(totals(*store).calls == 150);
  CHECK(meter.stats().dropped == 0);
  CHECK(journal_files(dir / "journal") == 1);  // only the thread's current shard is left
}

TEST_CASE("a restart replays what a SIGKILLed process recorded and had not flushed, exactly once") {
  test::TempDir dir;
  const auto journal = dir / "journal";
  constexpr int kCalls = 12'000;
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The crashed process: its own database (it never flushes: the interval is an hour).
    auto crashed_store = store::open_sqlite(dir / "crashed.db");
    Meter meter(*crashed_store, options_in(journal));
    for (int i = 0; i < kCalls; ++i) meter.record(call(i % 3 ? "tnt_a" : "tnt_b", i % 2 ? "github" : "exa", ""));
    const char done = 'd';
    if (write(ready[1], &done, 1) != 1) _exit(2);
    for (;;) pause();
  }
  char got = 0;
  REQUIRE(read(ready[0], &got, 1) == 1);
  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  close(ready[0]);
  close(ready[1]);

  auto store = store::open_sqlite(dir / "t.db");
  {
    Meter meter(*store, options_in(journal));
    CHECK(meter.flush_now());
    CHECK(totals(*store).calls == kCalls);
    CHECK(totals(*store, {"tnt_b", "", ""}).calls == kCalls / 3);
  }
  CHECK(journal_files(journal) == 0);
  // A second restart finds nothing left to replay.
  Meter again(*store, options_in(journal));
  CHECK(again.flush_now());
  CHECK(totals(*store).calls == kCalls);
}

TEST_CASE("a batch the store applied before the crash is replayed with its id and counted once") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  const auto journal = dir / "journal";
  std::filesystem::create_directories(journal);
  boost::asio::io_context ctx;
  {
    auto shard = metering::JournalShard::create(journal / "old-w0-abc.journal", 64);
    store::UsageCounts c;
    c.calls = 7;
    REQUIRE(shard->add({"tnt_a", "github", "", "managed", 5}, c, 1));
    auto batch = shard->next_batch();
    REQUIRE(batch);
    auto applied = test::run_sync(ctx, store->apply_usage_batch(*batch));
    REQUIRE(applied.ok());
    CHECK(applied.value());
    // The process dies here: applied, not committed in the journal.
  }
  Meter meter(*store, options_in(journal));
  CHECK(meter.flush_now());
  CHECK(totals(*store).calls == 7);
  CHECK(meter.stats().batches_repeated == 1);
  CHECK(meter.stats().batches_applied == 0);
}

TEST_CASE("while Redis is down a flush keeps its batch in the journal, and the same batch lands once when it is back") {
  test::TempDir dir;
  test::RedisProcess redis({"--appendonly", "yes", "--appendfsync", "always"});
  store::RedisOptions ro;
  ro.url = redis.url();
  ro.command_timeout = std::chrono::milliseconds(300);
  auto store = store::open_redis(ro);
  Meter meter(*store, options_in(dir / "journal"));
  for (int i = 0; i < 100; ++i) meter.record(call("tnt_a", "github", "pac_1"));
  CHECK(meter.flush_now());
  redis.stop();
  for (int i = 0; i < 50; ++i) meter.record(call("tnt_a", "github", "pac_1"));
  CHECK_FALSE(meter.flush_now());
  CHECK(meter.stats().flush_failures >= 1);
  // Many more calls while it is down: the same one shard, the same slots — memory does not grow.
  for (int i = 0; i < 10'000; ++i) meter.record(call("tnt_a", "github", "pac_1"));
  CHECK_FALSE(meter.flush_now());
  CHECK(meter.stats().shards == 1);
  CHECK(journal_files(dir / "journal") == 1);
  redis.start();
  CHECK(test::eventually([&] { return meter.flush_now(); }));
  CHECK(totals(*store).calls == 10'150);
  CHECK(meter.stop());
}

TEST_CASE("stop flushes everything recorded and later calls to flush_now answer false") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  Meter meter(*store, options_in(dir / "journal"));
  for (int i = 0; i < 10; ++i) meter.record(call("tnt_a", "github", ""));
  CHECK(meter.stop());
  CHECK(totals(*store).calls == 10);
  CHECK_FALSE(meter.flush_now());
  CHECK(meter.stop());
}

TEST_CASE("a disabled meter records nothing") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  auto options = options_in(dir / "journal");
  options.enabled = false;
  Meter meter(*store, options);
  meter.record(call("tnt_a", "github", ""));
  CHECK(meter.flush_now());
  CHECK(totals(*store).calls == 0);
}

TEST_CASE("the flusher runs by itself every flush_interval") {
  test::TempDir dir;
  auto store = store::open_sqlite(dir / "t.db");
  Meter meter(*store, options_in(dir / "journal", std::chrono::milliseconds(50)));
  meter.record(call("tnt_a", "github", ""));
  CHECK(test::eventually([&] { return totals(*store).calls == 1; }));
}

TEST_CASE("a shard its creator left half-made under the temporary name is removed at start once old, a fresh one is left") {
  test::TempDir dir;
  const auto journal = dir / "journal";
  std::filesystem::create_directories(journal);
  const auto old_one = journal / ("gone-w0-1.journal" + std::string(metering::JournalShard::kTemporarySuffix));
  const auto new_one = journal / ("busy-w0-2.journal" + std::string(metering::JournalShard::kTemporarySuffix));
  dir.write("journal/" + old_one.filename().string(), "");
  dir.write("journal/" + new_one.filename().string(), "");
  std::filesystem::last_write_time(old_one, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(5));
  auto store = store::open_sqlite(dir / "t.db");
  Meter meter(*store, options_in(journal));
  CHECK_FALSE(std::filesystem::exists(old_one));
  CHECK(std::filesystem::exists(new_one));  // it may be another live instance's, being created
}
