// The journal shard: counting, batches made pending before they are sent,
// commit, and what a SIGKILLed writer leaves behind.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.hpp"
#include "tollgate/metering/journal.hpp"

using namespace tollgate;
using metering::JournalShard;
using metering::UsageKeyView;

namespace {

store::UsageCounts one_call(std::uint64_t request_bytes = 10, std::uint64_t response_bytes = 100) {
  store::UsageCounts c;
  c.calls = 1;
  c.request_bytes = request_bytes;
  c.response_bytes = response_bytes;
  return c;
}

std::uint64_t batch_calls(const store::UsageBatch& b) {
  std::uint64_t n = 0;
  for (const auto& r : b.rows) n += r.counts.calls;
  return n;
}

}  // namespace

TEST_CASE("a shard counts per tenant, provider, auth config, mode and day and keeps them in its file") {
  test::TempDir dir;
  const auto path = dir / "a.journal";
  std::string id;
  {
    auto shard = JournalShard::create(path, 64);
    id = shard->id();
    CHECK(id.size() == 32);
    CHECK(shard->add({"tnt_a", "github", "pac_1", "managed", 100}, one_call(), 5));
    CHECK(shard->add({"tnt_a", "github", "pac_1", "managed", 100}, one_call(), 9));
    CHECK(shard->add({"tnt_a", "github", "pac_1", "managed", 101}, one_call(), 7));
    CHECK(shard->add({"tnt_a", "github", "", "managed", 100}, one_call(), 7));
    CHECK(shard->add({"tnt_b", "github", "pac_1", "your-own", 100}, one_call(), 7));
    // Keys that only differ in where the separators fall are different keys.
    CHECK(shard->add({"tnt_ab", "c", "", "managed", 100}, one_call(), 7));
    CHECK(shard->add({"tnt_a", "bc", "", "managed", 100}, one_call(), 7));
  }
  auto again = JournalShard::adopt(path);
  REQUIRE(again);
  CHECK(again->id() == id);
  CHECK(again->retired());
  CHECK(again->recorded_total().calls == 7);
  auto batch = again->next_batch();
  REQUIRE(batch);
  CHECK(batch->shard == id);
  CHECK(batch->seq == 1);
  CHECK(batch->rows.size() == 6);
  for (const auto& r : batch->rows) {
    if (r.tenant_id == "tnt_a" && r.provider == "github" && r.auth_config_id == "pac_1" && r.day == 100) {
      CHECK(r.counts.calls == 2);
      CHECK(r.counts.request_bytes == 20);
      CHECK(r.counts.response_bytes == 200);
    }
  }
  // last_used per auth config: the latest use across its rows; none for deployment credentials.
  bool saw = false;
  for (const auto& u : batch->last_used) {
    CHECK_FALSE(u.auth_config_id.empty());
    if (u.tenant_id == "tnt_a" && u.auth_config_id == "pac_1") {
      CHECK(u.at == 9);
      saw = true;
    }
  }
  CHECK(saw);
}

// The writer tries the slot of its previous call first: alternating keys must
// still land in their own slots, with their own last use.
TEST_CASE("calls alternating between keys each count in their own slot") {
  test::TempDir dir;
  auto shard = JournalShard::create(dir / "alt.journal", 64);
  const UsageKeyView a{"tnt_a", "github", "pac_1", "managed", 100};
  const UsageKeyView b{"tnt_a", "github", "pac_2", "managed", 100};
  for (int i = 0; i < 5; ++i) {
    CHECK(shard->add(a, one_call(), 10 + i));
    CHECK(shard->add(a, one_call(), 10 + i));
    CHECK(shard->add(b, one_call(), 20 + i));
  }
  auto batch = shard->next_batch();
  REQUIRE(batch);
  REQUIRE(batch->rows.size() == 2);
  for (const auto& r : batch->rows) CHECK(r.counts.calls == (r.auth_config_id == "pac_1" ? 10u : 5u));
  for (const auto& u : batch->last_used) CHECK(u.at == (u.auth_config_id == "pac_1" ? 14 : 24));
}

TEST_CASE("a pending batch is rebuilt unchanged until committed, and the next one carries only what came after") {
  test::TempDir dir;
  auto shard = JournalShard::create(dir / "b.journal", 64);
  const UsageKeyView key{"tnt_a", "github", "pac_1", "managed", 3};
  for (int i = 0; i < 5; ++i) REQUIRE(shard->add(key, one_call(), i));
  auto first = shard->next_batch();
  REQUIRE(first);
  CHECK(first->seq == 1);
  CHECK(batch_calls(*first) == 5);
  // Calls recorded while the batch is in flight do not change it.
  for (int i = 0; i < 3; ++i) REQUIRE(shard->add(key, one_call(), 10));
  auto resent = shard->next_batch();
  REQUIRE(resent);
  CHECK(resent->seq == 1);
  CHECK(resent->rows == first->rows);
  CHECK_FALSE(shard->drained());
  shard->commit(7);  // not the pending seq: ignored
  CHECK(shard->next_batch()->seq == 1);
  shard->commit(1);
  auto second = shard->next_batch();
  REQUIRE(second);
  CHECK(second->seq == 2);
  CHECK(batch_calls(*second) == 3);
  shard->commit(2);
  CHECK(shard->drained());
  CHECK_FALSE(shard->next_batch());
}

TEST_CASE("a shard refuses a new key when three quarters are taken and says when it is half full") {
  test::TempDir dir;
  auto shard = JournalShard::create(dir / "c.journal", 8);
  int added = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string tenant = "tnt_" + std::to_string(i);
    if (shard->add({tenant, "github", "", "managed", 1}, one_call(), 1)) ++added;
    if (i == 3) CHECK(shard->nearly_full());
  }
  CHECK(added == 6);
  CHECK(shard->add({"tnt_0", "github", "", "managed", 1}, one_call(), 1));  // an existing key still counts
  const std::string long_id(300, 'x');
  CHECK_FALSE(shard->add({long_id, "github", "", "managed", 1}, one_call(), 1));
}

TEST_CASE("a file that is not a journal is refused, and a journal locked by a live owner is left alone") {
  test::TempDir dir;
  dir.write("junk.journal", std::string(5000, 'j'));
  CHECK_THROWS_AS(JournalShard::adopt(dir / "junk.journal"), std::runtime_error);
  auto live = JournalShard::create(dir / "live.journal", 8);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Another process: the owner's flock keeps it out.
    _exit(JournalShard::adopt(dir / "live.journal") == nullptr ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("every call recorded before a SIGKILL is in the journal, and at most the one in flight more") {
  test::TempDir dir;
  const auto path = dir / "killed.journal";
  // The child publishes how many add() calls have returned, in memory shared with the parent.
  auto* returned = static_cast<std::atomic<std::uint64_t>*>(
      mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  REQUIRE(returned != MAP_FAILED);
  new (returned) std::atomic<std::uint64_t>(0);
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto shard = JournalShard::create(path, 4096);
    const char go = 'g';
    if (write(ready[1], &go, 1) != 1) _exit(2);
    const std::array<const char*, 5> tenants = {"tnt_a", "tnt_b", "tnt_c", "tnt_d", "tnt_e"};
    const std::array<const char*, 3> providers = {"github", "slack", "exa"};
    for (std::uint64_t i = 0;; ++i) {
      store::UsageCounts c;
      c.calls = 1;
      if (!shard->add({tenants[i % 5], providers[i % 3], i % 2 ? "pac_x" : "", "managed", static_cast<store::Day>(i % 7)},
                      c, 1)) {
        _exit(3);
      }
      returned->store(i + 1, std::memory_order_release);
    }
  }
  char got = 0;
  REQUIRE(read(ready[0], &got, 1) == 1);
  // Let it run well past ten thousand calls, then kill it mid-stream.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (returned->load() < 20'000 && std::chrono::steady_clock::now() < deadline) sched_yield();
  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  const std::uint64_t answered = returned->load();
  CHECK(answered >= 20'000);
  auto shard = JournalShard::adopt(path);
  REQUIRE(shard);
  const std::uint64_t counted = shard->recorded_total().calls;
  CHECK(counted >= answered);
  CHECK(counted <= answered + 1);
  close(ready[0]);
  close(ready[1]);
  munmap(returned, sizeof(std::atomic<std::uint64_t>));
}

TEST_CASE("a shard being created is never taken by a process scanning the directory for leftovers") {
  // A second instance starting on a shared journal_dir adopts every *.journal
  // it can lock. A shard must appear under that name already locked and whole:
  // otherwise the scan can lock it first (its creator then fails and drops the
  // call it was about to record) or find it half-made.
  test::TempDir dir;
  std::atomic<bool> done{false};
  std::atomic<int> half_made{0};
  std::thread scanner([&] {
    while (!done.load()) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(dir.path(), ec)) {
        if (e.path().extension() != ".journal") continue;
        try {
          JournalShard::adopt(e.path());  // a live creator's shard: nullptr; a removed one: throws "cannot open"
        } catch (const std::exception& error) {
          const std::string what = error.what();
          if (what.find("cannot open") == std::string::npos) ++half_made;
        }
      }
    }
  });
  int failed = 0;
  std::vector<std::unique_ptr<JournalShard>> live;
  for (int i = 0; i < 4000; ++i) {
    try {
      live.push_back(JournalShard::create(dir / ("s" + std::to_string(i) + ".journal"), 1));
    } catch (const std::exception&) {
      ++failed;
    }
    if (live.size() > 64) {  // removed while still locked, so the scanner cannot take it either
      std::filesystem::remove(live.front()->path());
      live.erase(live.begin());
    }
  }
  done = true;
  scanner.join();
  CHECK(failed == 0);
  CHECK(half_made.load() == 0);
  std::size_t left = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++left;
  CHECK(left == live.size());  // no temporary names left behind
}
