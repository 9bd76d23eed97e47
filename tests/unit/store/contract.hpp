#pragma once
// The Store contract: what every backend must do, written once and run
// unchanged against each. A backend's test file defines a Backend type — default
// constructible, with `std::unique_ptr<Store> open()` returning a fresh, empty
// store that lives as long as the Backend object — names it with
// TYPE_TO_STRING_AS, includes this file and writes TOLLGATE_STORE_CONTRACT(Backend);
// A new contract check goes here, with its line in TOLLGATE_STORE_CONTRACT, and
// so runs against every backend.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "run_sync.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::store::contract {

// A backend's store and an io_context for the test's coroutines. The store goes
// first, so nothing it still holds can point at a dead io_context.
template <typename Backend>
struct Fixture {
  boost::asio::io_context ctx;
  Backend backend;
  std::unique_ptr<Store> store = backend.open();

  template <typename T>
  T run(boost::asio::awaitable<T> task) {
    return test::run_sync(ctx, std::move(task));
  }
};

inline Tenant full_tenant(std::string id, Millis created_at) {
  Tenant t;
  t.id = std::move(id);
  t.name = "Acme \"Ünïcode\" \\ tab\t and newline\n";
  t.allowed_redirect_origins = {"https://app.example.com", "http://localhost:3000"};
  t.quotas.monthly_calls = std::numeric_limits<std::uint64_t>::max();
  t.quotas.rate_per_second = 0.1;
  t.quotas.burst = 20;
  t.created_at = created_at;
  t.updated_at = created_at + 7;
  return t;
}

inline Tenant bare_tenant(std::string id, Millis created_at) {
  Tenant t;
  t.id = std::move(id);
  t.name = "bare";
  t.created_at = created_at;
  t.updated_at = created_at;
  return t;
}

inline ApiKey sample_key(std::string id, std::string tenant_id, Millis created_at) {
  ApiKey k;
  k.hash = "hash-of-" + id;
  k.id = std::move(id);
  k.tenant_id = std::move(tenant_id);
  k.prefix = "tg_live_AbC";
  k.created_at = created_at;
  return k;
}

inline ProviderSetting setting(std::string tenant_id, std::string provider) {
  ProviderSetting s;
  s.tenant_id = std::move(tenant_id);
  s.provider = std::move(provider);
  return s;
}

template <typename T>
std::vector<std::string> ids_of(const std::vector<T>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.id);
  return ids;
}

// Every page of a list, following cursors; checks each page's size on the way.
template <typename Backend, typename List>
std::vector<std::string> walk_pages(Fixture<Backend>& f, std::size_t limit, const std::vector<std::size_t>& sizes,
                                    List list) {
  std::vector<std::string> seen;
  std::string cursor;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    CAPTURE(i);
    auto page = f.run(list(cursor, limit));
    REQUIRE(page.ok());
    CHECK(page->items.size() == sizes[i]);
    for (auto& id : ids_of(page->items)) seen.push_back(id);
    cursor = page->next_cursor;
    if (i + 1 < sizes.size()) {
      REQUIRE_FALSE(cursor.empty());
    } else {
      CHECK(cursor.empty());
    }
  }
  return seen;
}

// Appends `origin` to the tenant's list the way a handler does: read, change,
// compare-and-set, and start over on conflict.
inline boost::asio::awaitable<void> append_origin(Store& store, std::string id, std::string origin,
                                                  std::atomic<int>& conflicts, std::atomic<int>& failures) {
  for (;;) {
    auto current = co_await store.get_tenant(id);
    if (!current) {
      ++failures;
      co_return;
    }
    Tenant next = std::move(current).value();
    next.allowed_redirect_origins.push_back(origin);
    auto written = co_await store.update_tenant(std::move(next));
    if (written) co_return;
    if (!written.is(Errc::conflict)) {
      ++failures;
      co_return;
    }
    ++conflicts;
  }
}

// Creates `count` tenants and reads each back, checking after every step that
// the coroutine was resumed on the thread that runs its own io_context.
inline boost::asio::awaitable<void> create_and_read(Store& store, std::string prefix, int count,
                                                    std::thread::id home, std::atomic<int>& failures) {
  for (int i = 0; i < count; ++i) {
    const std::string id = prefix + std::to_string(i);
    auto created = co_await store.create_tenant(bare_tenant(id, 1000 + i));
    if (!created || std::this_thread::get_id() != home) ++failures;
    auto read = co_await store.get_tenant(id);
    if (!read || read->id != id || std::this_thread::get_id() != home) ++failures;
  }
}

}  // namespace tollgate::store::contract

// ---- tenants ---------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("a created tenant reads back with every field, at version 1", Backend,
                          store_tenant_round_trip) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  for (Tenant t : {contract::full_tenant("tnt_full", 1'700'000'000'123), contract::bare_tenant("tnt_bare", 5)}) {
    CAPTURE(t.id);
    t.version = 42;  // the store sets it
    auto created = f.run(f.store->create_tenant(t));
    REQUIRE(created.ok());
    t.version = 1;
    CHECK(created.value() == t);
    auto read = f.run(f.store->get_tenant(t.id));
    REQUIRE(read.ok());
    CHECK(read.value() == t);
  }
}

TEST_CASE_TEMPLATE_DEFINE("getting a tenant that does not exist is not_found", Backend, store_tenant_missing) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  auto read = f.run(f.store->get_tenant("tnt_nobody"));
  CHECK(read.is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("creating a tenant whose id exists is a conflict and keeps the first", Backend,
                          store_tenant_duplicate) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 10))).ok());
  auto again = contract::full_tenant("tnt_a", 20);
  auto second = f.run(f.store->create_tenant(again));
  CHECK(second.is(Errc::conflict));
  auto read = f.run(f.store->get_tenant("tnt_a"));
  REQUIRE(read.ok());
  CHECK(read->name == "bare");
  CHECK(read->created_at == 10);
  CHECK(read->version == 1);
}

TEST_CASE_TEMPLATE_DEFINE("an update at the current version writes every field and bumps the version", Backend,
                          store_tenant_update) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  auto created = f.run(f.store->create_tenant(contract::bare_tenant("tnt_u", 100)));
  REQUIRE(created.ok());

  Tenant changed = contract::full_tenant("tnt_u", 100);
  changed.name = "renamed";
  changed.updated_at = 900;
  changed.version = created->version;
  auto updated = f.run(f.store->update_tenant(changed));
  REQUIRE(updated.ok());
  changed.version = 2;
  CHECK(updated.value() == changed);
  auto read = f.run(f.store->get_tenant("tnt_u"));
  REQUIRE(read.ok());
  CHECK(read.value() == changed);

  // Overrides can be cleared again.
  Tenant cleared = read.value();
  cleared.quotas = {};
  cleared.allowed_redirect_origins.clear();
  auto again = f.run(f.store->update_tenant(cleared));
  REQUIRE(again.ok());
  CHECK(again->version == 3);
  auto reread = f.run(f.store->get_tenant("tnt_u"));
  REQUIRE(reread.ok());
  CHECK(reread->quotas == QuotaOverride{});
  CHECK(reread->allowed_redirect_origins.empty());
}

TEST_CASE_TEMPLATE_DEFINE("an update cannot move a tenant's created_at, which orders lists", Backend,
                          store_tenant_update_keeps_created_at) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  auto created = f.run(f.store->create_tenant(contract::bare_tenant("tnt_c", 100)));
  REQUIRE(created.ok());
  Tenant moved = created.value();
  moved.created_at = 999;
  auto updated = f.run(f.store->update_tenant(moved));
  REQUIRE(updated.ok());
  CHECK(updated->created_at == 100);
  CHECK(f.run(f.store->get_tenant("tnt_c"))->created_at == 100);
}

TEST_CASE_TEMPLATE_DEFINE("an update at a stale version is a conflict and changes nothing", Backend,
                          store_tenant_stale_update) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  auto created = f.run(f.store->create_tenant(contract::bare_tenant("tnt_s", 100)));
  REQUIRE(created.ok());
  Tenant first = created.value();
  first.name = "first writer";
  REQUIRE(f.run(f.store->update_tenant(first)).ok());

  Tenant second = created.value();  // still at version 1
  second.name = "second writer";
  auto stale = f.run(f.store->update_tenant(second));
  CHECK(stale.is(Errc::conflict));
  second.version = 7;  // ahead of the store is as wrong as behind it
  CHECK(f.run(f.store->update_tenant(second)).is(Errc::conflict));

  auto read = f.run(f.store->get_tenant("tnt_s"));
  REQUIRE(read.ok());
  CHECK(read->name == "first writer");
  CHECK(read->version == 2);
}

TEST_CASE_TEMPLATE_DEFINE("an update of a tenant that does not exist is not_found and creates nothing", Backend,
                          store_tenant_update_missing) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  Tenant ghost = contract::bare_tenant("tnt_ghost", 1);
  ghost.version = 1;
  CHECK(f.run(f.store->update_tenant(ghost)).is(Errc::not_found));
  CHECK(f.run(f.store->get_tenant("tnt_ghost")).is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("tenants list in creation order, then id, page by page with no gaps or repeats", Backend,
                          store_tenant_pages) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  // Created out of order, with ties on created_at broken by id.
  const std::vector<std::pair<std::string, Millis>> records = {
      {"tnt_7", 300}, {"tnt_3", 200}, {"tnt_5", 100}, {"tnt_6", 400},
      {"tnt_1", 200}, {"tnt_4", 500}, {"tnt_2", 400},
  };
  for (const auto& [id, at] : records) REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant(id, at))).ok());
  const std::vector<std::string> expected = {"tnt_5", "tnt_1", "tnt_3", "tnt_7", "tnt_2", "tnt_6", "tnt_4"};

  auto list = [&](const std::string& cursor, std::size_t limit) { return f.store->list_tenants(cursor, limit); };
  CHECK(contract::walk_pages(f, 3, {3, 3, 1}, list) == expected);
  CHECK(contract::walk_pages(f, 7, {7}, list) == expected);
  CHECK(contract::walk_pages(f, 500, {7}, list) == expected);
  CHECK(contract::walk_pages(f, 1, {1, 1, 1, 1, 1, 1, 1}, list) == expected);
}

TEST_CASE_TEMPLATE_DEFINE("an empty store lists no tenants and no cursor", Backend, store_tenant_empty_list) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  auto page = f.run(f.store->list_tenants("", 50));
  REQUIRE(page.ok());
  CHECK(page->items.empty());
  CHECK(page->next_cursor.empty());
}

TEST_CASE_TEMPLATE_DEFINE("a cursor the store did not hand out is bad_cursor", Backend, store_bad_cursor) {
  using namespace tollgate::store;
  using tollgate::crypto::base64url_encode;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_1", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_2", 2))).ok());
  REQUIRE(f.run(f.store->create_api_key(contract::sample_key("key_1", "tnt_1", 1))).ok());
  auto first = f.run(f.store->list_tenants("", 1));
  REQUIRE(first.ok());
  REQUIRE_FALSE(first->next_cursor.empty());

  const std::vector<std::string> bad = {
      "!!!",                             // not base64url
      first->next_cursor + "=",          // padded
      first->next_cursor + "x",          // a character more
      base64url_encode("no colon"),      // no position
      base64url_encode(":tnt_1"),        // no time
      base64url_encode("12:"),           // no id
      base64url_encode("1x:tnt_1"),      // not a number
      base64url_encode("99999999999999999999:tnt_1"),  // out of range
  };
  for (const auto& cursor : bad) {
    CAPTURE(cursor);
    CHECK(f.run(f.store->list_tenants(cursor, 1)).is(Errc::bad_cursor));
    CHECK(f.run(f.store->list_api_keys("tnt_1", cursor, 1)).is(Errc::bad_cursor));
  }
}

// ---- api keys ----------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("a created api key reads back by id and by hash with every field, at version 1", Backend,
                          store_key_round_trip) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_k", 1))).ok());
  ApiKey key = contract::sample_key("key_1", "tnt_k", 1'700'000'000'456);
  key.version = 9;  // the store sets it
  auto created = f.run(f.store->create_api_key(key));
  REQUIRE(created.ok());
  key.version = 1;
  CHECK(created.value() == key);
  auto by_id = f.run(f.store->get_api_key("key_1"));
  REQUIRE(by_id.ok());
  CHECK(by_id.value() == key);
  auto by_hash = f.run(f.store->find_api_key_by_hash(key.hash));
  REQUIRE(by_hash.ok());
  CHECK(by_hash.value() == key);
  CHECK_FALSE(by_hash->revoked_at.has_value());
}

TEST_CASE_TEMPLATE_DEFINE("an api key that does not exist is not_found by id and by hash", Backend,
                          store_key_missing) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->get_api_key("key_nobody")).is(Errc::not_found));
  CHECK(f.run(f.store->find_api_key_by_hash("no-such-hash")).is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("an api key whose id or hash exists is a conflict and keeps the first", Backend,
                          store_key_duplicate) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_k", 1))).ok());
  const ApiKey first = contract::sample_key("key_1", "tnt_k", 10);
  REQUIRE(f.run(f.store->create_api_key(first)).ok());

  ApiKey same_id = contract::sample_key("key_1", "tnt_k", 20);
  same_id.hash = "another-hash";
  CHECK(f.run(f.store->create_api_key(same_id)).is(Errc::conflict));
  ApiKey same_hash = contract::sample_key("key_2", "tnt_k", 20);
  same_hash.hash = first.hash;
  CHECK(f.run(f.store->create_api_key(same_hash)).is(Errc::conflict));

  CHECK(f.run(f.store->get_api_key("key_2")).is(Errc::not_found));
  CHECK(f.run(f.store->find_api_key_by_hash("another-hash")).is(Errc::not_found));
  auto read = f.run(f.store->find_api_key_by_hash(first.hash));
  REQUIRE(read.ok());
  CHECK(read->id == "key_1");
  CHECK(read->created_at == 10);
}

TEST_CASE_TEMPLATE_DEFINE("an api key for a tenant that does not exist is not_found and not stored", Backend,
                          store_key_orphan) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->create_api_key(contract::sample_key("key_1", "tnt_nobody", 1))).is(Errc::not_found));
  CHECK(f.run(f.store->get_api_key("key_1")).is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("api keys list only the tenant's own, in creation order, page by page", Backend,
                          store_key_pages) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  // Interleaved with another tenant's keys, created out of order.
  const std::vector<std::pair<std::string, Millis>> mine = {
      {"key_a6", 60}, {"key_a2", 20}, {"key_a4", 40}, {"key_a1", 10}, {"key_a5", 50}, {"key_a3", 30},
  };
  for (const auto& [id, at] : mine) {
    REQUIRE(f.run(f.store->create_api_key(contract::sample_key(id, "tnt_a", at))).ok());
    REQUIRE(f.run(f.store->create_api_key(contract::sample_key("key_b" + id, "tnt_b", at))).ok());
  }
  const std::vector<std::string> expected = {"key_a1", "key_a2", "key_a3", "key_a4", "key_a5", "key_a6"};

  auto list_a = [&](const std::string& cursor, std::size_t limit) {
    return f.store->list_api_keys("tnt_a", cursor, limit);
  };
  CHECK(contract::walk_pages(f, 3, {3, 3}, list_a) == expected);
  CHECK(contract::walk_pages(f, 4, {4, 2}, list_a) == expected);
  CHECK(contract::walk_pages(f, 6, {6}, list_a) == expected);

  auto list_b = [&](const std::string& cursor, std::size_t limit) {
    return f.store->list_api_keys("tnt_b", cursor, limit);
  };
  const auto theirs = contract::walk_pages(f, 50, {6}, list_b);
  CHECK(std::all_of(theirs.begin(), theirs.end(), [](const std::string& id) { return id.starts_with("key_bkey_a"); }));

  auto nobody = f.run(f.store->list_api_keys("tnt_nobody", "", 50));
  REQUIRE(nobody.ok());
  CHECK(nobody->items.empty());
  CHECK(nobody->next_cursor.empty());
}

TEST_CASE_TEMPLATE_DEFINE("revoking a key sets revoked_at once and a second revoke keeps the first time", Backend,
                          store_key_revoke) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_k", 1))).ok());
  const ApiKey key = contract::sample_key("key_1", "tnt_k", 10);
  REQUIRE(f.run(f.store->create_api_key(key)).ok());

  auto revoked = f.run(f.store->revoke_api_key("key_1", 5000));
  REQUIRE(revoked.ok());
  CHECK(revoked->revoked_at == Millis{5000});
  CHECK(revoked->version == 2);
  CHECK(revoked->hash == key.hash);
  CHECK(revoked->created_at == 10);

  auto again = f.run(f.store->revoke_api_key("key_1", 6000));
  REQUIRE(again.ok());
  CHECK(again->revoked_at == Millis{5000});
  CHECK(again->version == 2);  // nothing changed, so nothing was written

  auto by_hash = f.run(f.store->find_api_key_by_hash(key.hash));  // revoked keys are found too
  REQUIRE(by_hash.ok());
  CHECK(by_hash.value() == revoked.value());
  auto listed = f.run(f.store->list_api_keys("tnt_k", "", 10));
  REQUIRE(listed.ok());
  REQUIRE(listed->items.size() == 1);
  CHECK(listed->items[0] == revoked.value());
}

TEST_CASE_TEMPLATE_DEFINE("revoking a key that does not exist is not_found", Backend, store_key_revoke_missing) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->revoke_api_key("key_nobody", 1)).is(Errc::not_found));
}

// ---- the store as a whole ------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("ping answers ok", Backend, store_ping) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->ping()).ok());
}

TEST_CASE_TEMPLATE_DEFINE("50 coroutines appending with compare-and-set retries lose no update", Backend,
                          store_cas_no_lost_update) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_busy", 1))).ok());

  constexpr int kWriters = 50;
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < kWriters; ++i) {
    boost::asio::co_spawn(
        f.ctx, contract::append_origin(*f.store, "tnt_busy", "https://w" + std::to_string(i) + ".example", conflicts,
                                       failures),
        boost::asio::detached);
  }
  // Several threads on one io_context: resumptions race each other too.
  f.ctx.restart();
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) runners.emplace_back([&] { f.ctx.run(); });
  for (auto& t : runners) t.join();

  CHECK(failures == 0);
  auto read = f.run(f.store->get_tenant("tnt_busy"));
  REQUIRE(read.ok());
  CHECK(read->allowed_redirect_origins.size() == kWriters);
  const std::set<std::string> distinct(read->allowed_redirect_origins.begin(), read->allowed_redirect_origins.end());
  CHECK(distinct.size() == kWriters);
  CHECK(read->version == 1 + kWriters);
  WARN_MESSAGE(conflicts > 0, "the writers never collided, so compare-and-set went untested");
}

TEST_CASE_TEMPLATE_DEFINE("callers on two io_contexts at once are each resumed on their own thread", Backend,
                          store_two_contexts) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  auto caller = [&](std::string prefix) {
    boost::asio::io_context ctx;
    boost::asio::co_spawn(ctx, contract::create_and_read(*f.store, prefix, kEach, std::this_thread::get_id(), failures),
                          boost::asio::detached);
    ctx.run();
  };
  std::thread one(caller, "tnt_one_");
  std::thread two(caller, "tnt_two_");
  one.join();
  two.join();

  CHECK(failures == 0);
  auto all = f.run(f.store->list_tenants("", 500));
  REQUIRE(all.ok());
  CHECK(all->items.size() == 2 * kEach);
}

// Runs the whole contract against `Backend`.
TEST_CASE_TEMPLATE_DEFINE("a provider setting is created at version 1, reads back whole, and lists per tenant", Backend,
                          store_setting_round_trip) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  ProviderSetting s = contract::setting("tnt_a", "github");
  s.mode = "your-own";
  s.client_id = "client-123";
  s.client_secret_sealed = std::string("\x01\x02sealed\x00bytes\xff", 15);  // binary, NUL included
  s.updated_at = 77;
  auto created = f.run(f.store->put_provider_setting(s));
  REQUIRE(created.ok());
  CHECK(created->version == 1);
  auto got = f.run(f.store->get_provider_setting("tnt_a", "github"));
  REQUIRE(got.ok());
  CHECK(got.value() == created.value());
  CHECK(got->client_secret_sealed == s.client_secret_sealed);

  ProviderSetting other = contract::setting("tnt_a", "slack");
  REQUIRE(f.run(f.store->put_provider_setting(other)).ok());
  ProviderSetting b = contract::setting("tnt_b", "github");
  b.mode = "managed";
  REQUIRE(f.run(f.store->put_provider_setting(b)).ok());
  auto listed = f.run(f.store->list_provider_settings("tnt_a"));
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK(listed.value()[0].provider == "github");
  CHECK(listed.value()[1].provider == "slack");
  CHECK_FALSE(listed.value()[1].mode.has_value());
  auto none = f.run(f.store->list_provider_settings("tnt_nobody"));
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE_TEMPLATE_DEFINE("provider settings are compare-and-set: stale versions conflict, missing ones are not_found",
                          Backend, store_setting_cas) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  CHECK(f.run(f.store->get_provider_setting("tnt_a", "github")).is(Errc::not_found));
  ProviderSetting s = contract::setting("tnt_a", "github");
  s.mode = "managed";
  auto v1 = f.run(f.store->put_provider_setting(s));
  REQUIRE(v1.ok());
  // A second create is a conflict.
  ProviderSetting again = contract::setting("tnt_a", "github");
  again.mode = "your-own";
  CHECK(f.run(f.store->put_provider_setting(again)).is(Errc::conflict));
  // An update at the current version applies; at a stale one it conflicts.
  ProviderSetting next = v1.value();
  next.mode = "your-own";
  auto v2 = f.run(f.store->put_provider_setting(next));
  REQUIRE(v2.ok());
  CHECK(v2->version == 2);
  ProviderSetting stale = v1.value();
  stale.client_id = "late";
  CHECK(f.run(f.store->put_provider_setting(stale)).is(Errc::conflict));
  auto got = f.run(f.store->get_provider_setting("tnt_a", "github"));
  REQUIRE(got.ok());
  CHECK(got->mode == std::optional<std::string>("your-own"));
  CHECK(got->client_id.empty());
  // An update of a setting that was never created, and a setting for no tenant.
  ProviderSetting ghost = contract::setting("tnt_a", "slack");
  ghost.version = 3;
  CHECK(f.run(f.store->put_provider_setting(ghost)).is(Errc::not_found));
  ProviderSetting orphan = contract::setting("tnt_nobody", "github");
  CHECK(f.run(f.store->put_provider_setting(orphan)).is(Errc::not_found));
}

#define TOLLGATE_STORE_CONTRACT(Backend)                                       \
  TEST_CASE_TEMPLATE_INVOKE(store_setting_round_trip, Backend);                \
  TEST_CASE_TEMPLATE_INVOKE(store_setting_cas, Backend);                       \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_round_trip, Backend);                 \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_missing, Backend);                    \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_duplicate, Backend);                  \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_update, Backend);                     \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_update_keeps_created_at, Backend);    \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_stale_update, Backend);               \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_update_missing, Backend);             \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_pages, Backend);                      \
  TEST_CASE_TEMPLATE_INVOKE(store_tenant_empty_list, Backend);                 \
  TEST_CASE_TEMPLATE_INVOKE(store_bad_cursor, Backend);                        \
  TEST_CASE_TEMPLATE_INVOKE(store_key_round_trip, Backend);                    \
  TEST_CASE_TEMPLATE_INVOKE(store_key_missing, Backend);                       \
  TEST_CASE_TEMPLATE_INVOKE(store_key_duplicate, Backend);                     \
  TEST_CASE_TEMPLATE_INVOKE(store_key_orphan, Backend);                        \
  TEST_CASE_TEMPLATE_INVOKE(store_key_pages, Backend);                         \
  TEST_CASE_TEMPLATE_INVOKE(store_key_revoke, Backend);                        \
  TEST_CASE_TEMPLATE_INVOKE(store_key_revoke_missing, Backend);                \
  TEST_CASE_TEMPLATE_INVOKE(store_ping, Backend);                              \
  TEST_CASE_TEMPLATE_INVOKE(store_cas_no_lost_update, Backend);                \
  TEST_CASE_TEMPLATE_INVOKE(store_two_contexts, Backend)
