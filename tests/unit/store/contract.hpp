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
#include <map>
#include <optional>
#include <tuple>
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

// A string literal's bytes, NULs included (not the terminating one).
template <std::size_t N>
std::string raw_bytes(const char (&text)[N]) {
  return std::string(text, N - 1);
}

// A setup session with every field set: binary sealed bytes with a NUL, JSON
// metadata, text that needs escaping.
inline SetupSession full_session(std::string id, std::string tenant_id, Millis created_at) {
  SetupSession s;
  s.state_hash = "state-of-" + id;
  s.id = std::move(id);
  s.tenant_id = std::move(tenant_id);
  s.provider = "github";
  s.auth_method = "oauth";
  s.status = "pending";
  s.mode = "your-own";
  s.external_user_id = "user \"42\" Ünïcode";
  s.scopes = {"repo", "read:user"};
  s.redirect_url = "https://app.example.com/done?x=1&y=2";
  s.connection_params = {{"subdomain", "acme"}, {"région", "eu\n1"}};
  s.metadata_json = R"({"plan":"pro","tags":["a","b"],"n":1.5})";
  s.auth_config_id = "pac_reconnect";
  s.error_code = "access_denied";
  s.error_message = "the user said \"no\"\n";
  s.connect_token_hash = "connect-hash";
  s.connect_token_sealed = raw_bytes("\x01\x05kid-1\x00" "token\xff");
  s.browser_hash = "browser-hash";
  s.pkce_verifier_sealed = raw_bytes("\x01\x05kid-1\x00" "nonce\xff\xfe" "verifier\x00");
  s.expires_at = created_at + 600'000;
  s.created_at = created_at;
  s.updated_at = created_at + 3;
  return s;
}

// A setup session with only what every session has: no state yet, nothing optional.
inline SetupSession bare_session(std::string id, std::string tenant_id, Millis created_at) {
  SetupSession s;
  s.id = std::move(id);
  s.tenant_id = std::move(tenant_id);
  s.provider = "github";
  s.auth_method = "api_key";
  s.status = "pending";
  s.mode = "managed";
  s.expires_at = created_at + 600'000;
  s.created_at = created_at;
  s.updated_at = created_at;
  return s;
}

// An auth config with every field set, optional times included.
inline AuthConfig full_auth(std::string id, std::string tenant_id, Millis created_at) {
  AuthConfig c;
  c.id = std::move(id);
  c.tenant_id = std::move(tenant_id);
  c.provider = "github";
  c.external_user_id = "user \"42\" Ünïcode";
  c.status = "active";
  c.mode = "your-own";
  c.app = "your-own:client-123";
  c.scopes_granted = {"repo", "read:user"};
  c.connection_params = {{"subdomain", "acme"}, {"région", "eu\t1"}};
  c.metadata_json = R"({"plan":"pro","nested":{"k":[1,null,true]}})";
  c.access_token_sealed = raw_bytes("\x01\x05kid-1\x00" "access\xff");
  c.refresh_token_sealed = raw_bytes("\x00" "refresh\x00\x80");
  c.api_key_sealed = raw_bytes("\x01" "api\x00" "key");
  c.client_id = "client-123";
  c.client_secret_sealed = raw_bytes("sec\x00" "ret\xff");
  c.expires_at = created_at + 3'600'000;
  c.last_refreshed_at = created_at + 10;
  c.refresh_owner = "rlk_owner";
  c.refresh_started_at = created_at + 11;
  c.last_refresh_error = "the token endpoint answered 503";
  c.last_refresh_failed_at = created_at + 12;
  c.last_used_at = created_at + 20;
  c.created_at = created_at;
  c.updated_at = created_at + 30;
  return c;
}

// An auth config with nothing optional: no secrets, no times.
inline AuthConfig bare_auth(std::string id, std::string tenant_id, Millis created_at) {
  AuthConfig c;
  c.id = std::move(id);
  c.tenant_id = std::move(tenant_id);
  c.provider = "github";
  c.status = "active";
  c.mode = "managed";
  c.created_at = created_at;
  c.updated_at = created_at;
  return c;
}

// List filters by position: status, provider, external user ("" matches all).
inline SetupSessionFilter session_filter(std::string status = "", std::string provider = "", std::string user = "") {
  SetupSessionFilter out;
  out.status = std::move(status);
  out.provider = std::move(provider);
  out.external_user_id = std::move(user);
  return out;
}
inline AuthConfigFilter auth_filter(std::string status = "", std::string provider = "", std::string user = "") {
  AuthConfigFilter out;
  out.status = std::move(status);
  out.provider = std::move(provider);
  out.external_user_id = std::move(user);
  return out;
}

// The page sizes of a list of `count` items read `limit` at a time ({0}: one empty page).
inline std::vector<std::size_t> page_sizes(std::size_t count, std::size_t limit) {
  std::vector<std::size_t> sizes;
  for (std::size_t left = count; left > 0; left -= std::min(left, limit)) sizes.push_back(std::min(left, limit));
  if (sizes.empty()) sizes.push_back(0);
  return sizes;
}

// The ids a filtered list of `tenant_id` must answer: the matching records in (created_at, id) order.
template <typename T, typename Filter>
std::vector<std::string> expected_ids(const std::vector<T>& records, const std::string& tenant_id,
                                      const Filter& filter) {
  std::vector<T> hits;
  for (const auto& r : records) {
    if (r.tenant_id != tenant_id) continue;
    if (!filter.status.empty() && r.status != filter.status) continue;
    if (!filter.provider.empty() && r.provider != filter.provider) continue;
    if (!filter.external_user_id.empty() && r.external_user_id != filter.external_user_id) continue;
    hits.push_back(r);
  }
  std::sort(hits.begin(), hits.end(), [](const T& a, const T& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return ids_of(hits);
}

// Walks `list` for `filter` at several page sizes and checks each walk gives
// exactly what expected_ids says, with no gaps or repeats.
template <typename Backend, typename T, typename Filter, typename List>
void check_filtered_list(Fixture<Backend>& f, const std::vector<T>& records, const std::string& tenant_id,
                         const Filter& filter, List list) {
  CAPTURE(tenant_id);
  CAPTURE(filter.status);
  CAPTURE(filter.provider);
  CAPTURE(filter.external_user_id);
  const auto expected = expected_ids(records, tenant_id, filter);
  auto one_list = [&](const std::string& cursor, std::size_t limit) { return list(tenant_id, filter, cursor, limit); };
  for (std::size_t limit : {std::size_t{3}, std::size_t{1}, std::size_t{500}}) {
    CAPTURE(limit);
    const auto seen = walk_pages(f, limit, page_sizes(expected.size(), limit), one_list);
    CHECK(seen == expected);
    const std::set<std::string> distinct(seen.begin(), seen.end());
    CHECK(distinct.size() == seen.size());
  }
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

// Moves the session's state to `state_hash` the way a handler does: read,
// change, compare-and-set, and start over on conflict.
inline boost::asio::awaitable<void> move_state(Store& store, std::string id, std::string state_hash,
                                               std::atomic<int>& conflicts, std::atomic<int>& failures) {
  for (;;) {
    auto current = co_await store.get_setup_session(id);
    if (!current) {
      ++failures;
      co_return;
    }
    SetupSession next = std::move(current).value();
    next.state_hash = state_hash;
    next.scopes.push_back(state_hash);
    auto written = co_await store.update_setup_session(std::move(next));
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

// ---- setup sessions --------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("a created setup session reads back whole by id and by state, at version 1", Backend,
                          store_session_round_trip) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_s", 1))).ok());
  for (SetupSession s : {contract::full_session("pss_full", "tnt_s", 1'700'000'000'123),
                         contract::bare_session("pss_bare", "tnt_s", 5)}) {
    CAPTURE(s.id);
    s.version = 42;  // the store sets it
    auto created = f.run(f.store->create_setup_session(s));
    REQUIRE(created.ok());
    s.version = 1;
    CHECK(created.value() == s);
    auto read = f.run(f.store->get_setup_session(s.id));
    REQUIRE(read.ok());
    CHECK(read.value() == s);
    if (!s.state_hash.empty()) {
      auto by_state = f.run(f.store->find_setup_session_by_state(s.state_hash));
      REQUIRE(by_state.ok());
      CHECK(by_state.value() == s);
    }
  }
  auto full = f.run(f.store->get_setup_session("pss_full"));
  REQUIRE(full.ok());
  CHECK(full->pkce_verifier_sealed.size() == 24);
  CHECK(full->pkce_verifier_sealed == contract::full_session("pss_full", "tnt_s", 1).pkce_verifier_sealed);
  CHECK(full->connect_token_sealed.size() == 14);
  CHECK(full->connection_params.size() == 2);
  // A session without a state is not found by the empty one.
  CHECK(f.run(f.store->find_setup_session_by_state("")).is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("a setup session that does not exist is not_found by id and by state", Backend,
                          store_session_missing) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->get_setup_session("pss_nobody")).is(Errc::not_found));
  CHECK(f.run(f.store->find_setup_session_by_state("no-such-state")).is(Errc::not_found));
  CHECK(f.run(f.store->find_setup_session_by_state("")).is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("a setup session whose id or state exists is a conflict and keeps the first", Backend,
                          store_session_duplicate) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  const SetupSession first = contract::full_session("pss_1", "tnt_a", 10);
  REQUIRE(f.run(f.store->create_setup_session(first)).ok());

  SetupSession same_id = contract::bare_session("pss_1", "tnt_a", 20);
  CHECK(f.run(f.store->create_setup_session(same_id)).is(Errc::conflict));
  same_id.tenant_id = "tnt_b";  // ids are unique across tenants
  CHECK(f.run(f.store->create_setup_session(same_id)).is(Errc::conflict));
  SetupSession same_state = contract::bare_session("pss_2", "tnt_b", 20);
  same_state.state_hash = first.state_hash;
  CHECK(f.run(f.store->create_setup_session(same_state)).is(Errc::conflict));

  CHECK(f.run(f.store->get_setup_session("pss_2")).is(Errc::not_found));
  auto read = f.run(f.store->get_setup_session("pss_1"));
  REQUIRE(read.ok());
  CHECK(read->tenant_id == "tnt_a");
  CHECK(read->created_at == 10);
  CHECK(read->version == 1);
  auto by_state = f.run(f.store->find_setup_session_by_state(first.state_hash));
  REQUIRE(by_state.ok());
  CHECK(by_state->id == "pss_1");
  auto b_list = f.run(f.store->list_setup_sessions("tnt_b", {}, "", 50));
  REQUIRE(b_list.ok());
  CHECK(b_list->items.empty());
  // Several sessions without a state are fine.
  REQUIRE(f.run(f.store->create_setup_session(contract::bare_session("pss_3", "tnt_a", 30))).ok());
  REQUIRE(f.run(f.store->create_setup_session(contract::bare_session("pss_4", "tnt_a", 40))).ok());
}

TEST_CASE_TEMPLATE_DEFINE("a setup session for a tenant that does not exist is not_found and not stored", Backend,
                          store_session_orphan) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  SetupSession s = contract::full_session("pss_1", "tnt_nobody", 10);
  CHECK(f.run(f.store->create_setup_session(s)).is(Errc::not_found));
  CHECK(f.run(f.store->get_setup_session("pss_1")).is(Errc::not_found));
  CHECK(f.run(f.store->find_setup_session_by_state(s.state_hash)).is(Errc::not_found));
  auto expired = f.run(f.store->list_expired_setup_sessions(s.expires_at + 1, 10));
  REQUIRE(expired.ok());
  CHECK(expired->empty());
  auto listed = f.run(f.store->list_setup_sessions("tnt_nobody", {}, "", 10));
  REQUIRE(listed.ok());
  CHECK(listed->items.empty());
}

TEST_CASE_TEMPLATE_DEFINE("setup session updates are compare-and-set, write every field and keep created_at",
                          Backend, store_session_update) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  auto created = f.run(f.store->create_setup_session(contract::bare_session("pss_u", "tnt_a", 100)));
  REQUIRE(created.ok());

  // Every field changes (created_at too, which the store keeps).
  SetupSession changed = contract::full_session("pss_u", "tnt_a", 100);
  changed.provider = "slack";
  changed.status = "completed";
  changed.auth_config_id = "pac_result";
  changed.external_user_id = "someone else";
  changed.expires_at = 123'456;
  changed.updated_at = 900;
  changed.created_at = 999;
  changed.version = created->version;
  auto updated = f.run(f.store->update_setup_session(changed));
  REQUIRE(updated.ok());
  changed.version = 2;
  changed.created_at = 100;
  CHECK(updated.value() == changed);
  auto read = f.run(f.store->get_setup_session("pss_u"));
  REQUIRE(read.ok());
  CHECK(read.value() == changed);

  // Fields can be cleared again.
  SetupSession cleared = contract::bare_session("pss_u", "tnt_a", 100);
  cleared.version = 2;
  auto again = f.run(f.store->update_setup_session(cleared));
  REQUIRE(again.ok());
  CHECK(again->version == 3);
  auto reread = f.run(f.store->get_setup_session("pss_u"));
  REQUIRE(reread.ok());
  cleared.version = 3;
  CHECK(reread.value() == cleared);

  // Stale and ahead versions conflict and change nothing.
  SetupSession stale = reread.value();
  stale.status = "failed";
  stale.version = 2;
  CHECK(f.run(f.store->update_setup_session(stale)).is(Errc::conflict));
  stale.version = 9;
  CHECK(f.run(f.store->update_setup_session(stale)).is(Errc::conflict));
  auto after = f.run(f.store->get_setup_session("pss_u"));
  REQUIRE(after.ok());
  CHECK(after.value() == cleared);

  // A session that does not exist, or that another tenant's record names, is not_found.
  SetupSession ghost = contract::bare_session("pss_ghost", "tnt_a", 1);
  ghost.version = 1;
  CHECK(f.run(f.store->update_setup_session(ghost)).is(Errc::not_found));
  CHECK(f.run(f.store->get_setup_session("pss_ghost")).is(Errc::not_found));
  SetupSession moved = after.value();
  moved.tenant_id = "tnt_b";
  CHECK(f.run(f.store->update_setup_session(moved)).is(Errc::not_found));
  auto unchanged = f.run(f.store->get_setup_session("pss_u"));
  REQUIRE(unchanged.ok());
  CHECK(unchanged.value() == cleared);
}

TEST_CASE_TEMPLATE_DEFINE("the state lookup follows a session's state_hash through updates", Backend,
                          store_session_state_moves) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  auto one = f.run(f.store->create_setup_session(contract::bare_session("pss_1", "tnt_a", 10)));
  REQUIRE(one.ok());
  SetupSession other = contract::bare_session("pss_2", "tnt_b", 20);
  other.state_hash = "st-other";
  REQUIRE(f.run(f.store->create_setup_session(other)).ok());

  // None → a state: found by it.
  SetupSession next = one.value();
  next.state_hash = "st-1";
  auto v2 = f.run(f.store->update_setup_session(next));
  REQUIRE(v2.ok());
  auto found = f.run(f.store->find_setup_session_by_state("st-1"));
  REQUIRE(found.ok());
  CHECK(found.value() == v2.value());

  // A new state: the old one no longer finds it.
  next = v2.value();
  next.state_hash = "st-1b";
  auto v3 = f.run(f.store->update_setup_session(next));
  REQUIRE(v3.ok());
  CHECK(f.run(f.store->find_setup_session_by_state("st-1")).is(Errc::not_found));
  found = f.run(f.store->find_setup_session_by_state("st-1b"));
  REQUIRE(found.ok());
  CHECK(found->version == 3);

  // An update that keeps the state keeps it found.
  next = v3.value();
  next.browser_hash = "cookie";
  auto v4 = f.run(f.store->update_setup_session(next));
  REQUIRE(v4.ok());
  found = f.run(f.store->find_setup_session_by_state("st-1b"));
  REQUIRE(found.ok());
  CHECK(found.value() == v4.value());

  // Another session's state is a conflict and changes nothing.
  next = v4.value();
  next.state_hash = "st-other";
  CHECK(f.run(f.store->update_setup_session(next)).is(Errc::conflict));
  found = f.run(f.store->find_setup_session_by_state("st-other"));
  REQUIRE(found.ok());
  CHECK(found->id == "pss_2");
  found = f.run(f.store->find_setup_session_by_state("st-1b"));
  REQUIRE(found.ok());
  CHECK(found.value() == v4.value());

  // Cleared: found by neither; and the old state is free for another session.
  next = v4.value();
  next.state_hash.clear();
  next.status = "completed";
  auto v5 = f.run(f.store->update_setup_session(next));
  REQUIRE(v5.ok());
  CHECK(f.run(f.store->find_setup_session_by_state("st-1b")).is(Errc::not_found));
  CHECK(f.run(f.store->find_setup_session_by_state("")).is(Errc::not_found));
  SetupSession reuse = contract::bare_session("pss_3", "tnt_a", 30);
  reuse.state_hash = "st-1b";
  REQUIRE(f.run(f.store->create_setup_session(reuse)).ok());
  found = f.run(f.store->find_setup_session_by_state("st-1b"));
  REQUIRE(found.ok());
  CHECK(found->id == "pss_3");
  auto read = f.run(f.store->get_setup_session("pss_1"));
  REQUIRE(read.ok());
  CHECK(read.value() == v5.value());
}

TEST_CASE_TEMPLATE_DEFINE("setup sessions list one tenant's, filtered, in creation order, page by page", Backend,
                          store_session_list) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  struct Row {
    const char* id;
    Millis at;
    const char* status;
    const char* provider;
    const char* user;
  };
  // Seven that match {pending, github, u1}, created out of order with ties on
  // created_at, among others that miss by one field each.
  const std::vector<Row> rows = {
      {"pss_m7", 300, "pending", "github", "u1"},   {"pss_c1", 150, "completed", "github", "u1"},
      {"pss_m3", 200, "pending", "github", "u1"},   {"pss_p1", 210, "pending", "slack", "u1"},
      {"pss_m5", 100, "pending", "github", "u1"},   {"pss_x1", 120, "pending", "github", "u2"},
      {"pss_m6", 400, "pending", "github", "u1"},   {"pss_c2", 250, "completed", "github", "u1"},
      {"pss_m1", 200, "pending", "github", "u1"},   {"pss_p2", 350, "pending", "slack", "u1"},
      {"pss_m4", 500, "pending", "github", "u1"},   {"pss_x2", 410, "pending", "github", "u2"},
      {"pss_m2", 400, "pending", "github", "u1"},   {"pss_c3", 450, "failed", "slack", "u2"},
  };
  std::vector<SetupSession> records;
  for (const Row& row : rows) {
    for (const std::string tenant : {"tnt_a", "tnt_b"}) {
      const std::string id = tenant == "tnt_a" ? std::string(row.id) : std::string(row.id) + "_b";
      SetupSession s = contract::bare_session(id, tenant, row.at);
      s.status = row.status;
      s.provider = row.provider;
      s.external_user_id = row.user;
      s.state_hash = "state-" + id;
      auto created = f.run(f.store->create_setup_session(s));
      REQUIRE(created.ok());
      records.push_back(created.value());
    }
  }
  auto list = [&](const std::string& tenant_id, const SetupSessionFilter& filter, const std::string& cursor,
                  std::size_t limit) { return f.store->list_setup_sessions(tenant_id, filter, cursor, limit); };

  const SetupSessionFilter all_three = contract::session_filter("pending", "github", "u1");
  CHECK(contract::expected_ids(records, "tnt_a", all_three) ==
        std::vector<std::string>{"pss_m5", "pss_m1", "pss_m3", "pss_m7", "pss_m2", "pss_m6", "pss_m4"});
  CHECK(contract::walk_pages(f, 3, {3, 3, 1}, [&](const std::string& cursor, std::size_t limit) {
          return list("tnt_a", all_three, cursor, limit);
        }) == contract::expected_ids(records, "tnt_a", all_three));

  const std::vector<SetupSessionFilter> filters = {
      {},
      all_three,
      contract::session_filter("pending"),
      contract::session_filter("completed"),
      contract::session_filter("", "github"),
      contract::session_filter("", "slack"),
      contract::session_filter("", "", "u1"),
      contract::session_filter("", "", "u2"),
      contract::session_filter("pending", "github"),
      contract::session_filter("pending", "", "u2"),
      contract::session_filter("", "slack", "u1"),
      contract::session_filter("expired"),
      contract::session_filter("", "nobody"),
  };
  for (const auto& filter : filters) {
    contract::check_filtered_list(f, records, "tnt_a", filter, list);
    contract::check_filtered_list(f, records, "tnt_b", filter, list);
  }
  contract::check_filtered_list(f, records, "tnt_nobody", SetupSessionFilter{}, list);

  // Items are whole records.
  auto page = f.run(f.store->list_setup_sessions("tnt_a", all_three, "", 1));
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0] == *std::find_if(records.begin(), records.end(),
                                        [](const SetupSession& s) { return s.id == "pss_m5"; }));

  // A status change moves a session between filters.
  SetupSession done = page->items[0];
  done.status = "completed";
  REQUIRE(f.run(f.store->update_setup_session(done)).ok());
  for (auto& r : records) {
    if (r.id == "pss_m5") r.status = "completed";
  }
  contract::check_filtered_list(f, records, "tnt_a", all_three, list);
  contract::check_filtered_list(f, records, "tnt_a", contract::session_filter("completed"), list);

  CHECK(f.run(f.store->list_setup_sessions("tnt_a", all_three, "!!!", 3)).is(Errc::bad_cursor));
}

TEST_CASE_TEMPLATE_DEFINE("expired setup sessions are the pending ones past expiry, of every tenant, oldest first",
                          Backend, store_session_expired) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  constexpr Millis kNow = 10'000;
  struct Row {
    const char* id;
    const char* tenant;
    const char* status;
    Millis expires_at;
  };
  const std::vector<Row> rows = {
      {"pss_p1", "tnt_a", "pending", 9'000},    {"pss_p2", "tnt_a", "pending", 5'000},
      {"pss_p3", "tnt_b", "pending", 7'000},    {"pss_p4", "tnt_b", "pending", 9'999},
      {"pss_p5", "tnt_a", "pending", kNow},     {"pss_p6", "tnt_a", "pending", 20'000},
      {"pss_p7", "tnt_b", "pending", 7'000},    {"pss_c1", "tnt_a", "completed", 1'000},
      {"pss_f1", "tnt_b", "failed", 1'000},     {"pss_e1", "tnt_a", "expired", 1'000},
      {"pss_a1", "tnt_b", "archived", 1'000},
  };
  Millis at = 0;
  for (const Row& row : rows) {
    SetupSession s = contract::full_session(row.id, row.tenant, ++at);
    s.status = row.status;
    s.expires_at = row.expires_at;
    REQUIRE(f.run(f.store->create_setup_session(s)).ok());
  }
  auto expired = [&](Millis now, std::size_t limit) {
    auto list = f.run(f.store->list_expired_setup_sessions(now, limit));
    REQUIRE(list.ok());
    return contract::ids_of(list.value());
  };
  using Ids = std::vector<std::string>;
  CHECK(expired(kNow, 100) == Ids{"pss_p2", "pss_p3", "pss_p7", "pss_p1", "pss_p4"});
  CHECK(expired(kNow, 2) == Ids{"pss_p2", "pss_p3"});
  CHECK(expired(kNow, 1) == Ids{"pss_p2"});
  CHECK(expired(kNow, 0).empty());
  CHECK(expired(5'000, 100).empty());
  CHECK(expired(5'001, 100) == Ids{"pss_p2"});

  // Whole records.
  auto whole = f.run(f.store->list_expired_setup_sessions(kNow, 1));
  REQUIRE(whole.ok());
  REQUIRE(whole->size() == 1);
  auto read = f.run(f.store->get_setup_session("pss_p2"));
  REQUIRE(read.ok());
  CHECK(whole->front() == read.value());

  // The sweep marks one expired, another completes, a third is given more time.
  SetupSession swept = read.value();
  swept.status = "expired";
  REQUIRE(f.run(f.store->update_setup_session(swept)).ok());
  auto p3 = f.run(f.store->get_setup_session("pss_p3"));
  REQUIRE(p3.ok());
  SetupSession completed = p3.value();
  completed.status = "completed";
  REQUIRE(f.run(f.store->update_setup_session(completed)).ok());
  auto p1 = f.run(f.store->get_setup_session("pss_p1"));
  REQUIRE(p1.ok());
  SetupSession extended = p1.value();
  extended.expires_at = 30'000;
  REQUIRE(f.run(f.store->update_setup_session(extended)).ok());
  CHECK(expired(kNow, 100) == Ids{"pss_p7", "pss_p4"});
  CHECK(expired(30'001, 100) == Ids{"pss_p7", "pss_p4", "pss_p5", "pss_p6", "pss_p1"});

  // Back to pending (no handler does this, but the store follows the record).
  auto c1 = f.run(f.store->get_setup_session("pss_c1"));
  REQUIRE(c1.ok());
  SetupSession reopened = c1.value();
  reopened.status = "pending";
  REQUIRE(f.run(f.store->update_setup_session(reopened)).ok());
  CHECK(expired(kNow, 100) == Ids{"pss_c1", "pss_p7", "pss_p4"});
}

TEST_CASE_TEMPLATE_DEFINE("concurrent updates of a session's state lose none and leave only the last state findable",
                          Backend, store_session_concurrent_state) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_setup_session(contract::full_session("pss_busy", "tnt_a", 10))).ok());

  constexpr int kWriters = 30;
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < kWriters; ++i) {
    boost::asio::co_spawn(f.ctx,
                          contract::move_state(*f.store, "pss_busy", "st-" + std::to_string(i), conflicts, failures),
                          boost::asio::detached);
  }
  f.ctx.restart();
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) runners.emplace_back([&] { f.ctx.run(); });
  for (auto& t : runners) t.join();

  CHECK(failures == 0);
  auto read = f.run(f.store->get_setup_session("pss_busy"));
  REQUIRE(read.ok());
  CHECK(read->version == 1 + kWriters);
  CHECK(read->scopes.size() == 2 + kWriters);  // full_session's two, and one per writer
  CHECK(read->state_hash == read->scopes.back());
  int findable = 0;
  for (int i = 0; i < kWriters; ++i) {
    const std::string state = "st-" + std::to_string(i);
    auto found = f.run(f.store->find_setup_session_by_state(state));
    if (found.ok()) {
      ++findable;
      CHECK(state == read->state_hash);
      CHECK(found.value() == read.value());
    } else {
      CHECK(found.is(Errc::not_found));
    }
  }
  CHECK(findable == 1);
  CHECK(f.run(f.store->find_setup_session_by_state("state-of-pss_busy")).is(Errc::not_found));
  WARN_MESSAGE(conflicts > 0, "the writers never collided, so compare-and-set went untested");
}

// ---- auth configs -------------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("a created auth config reads back whole, secrets and optional times included, at version 1",
                          Backend, store_auth_round_trip) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  for (AuthConfig c : {contract::full_auth("pac_full", "tnt_a", 1'700'000'000'123),
                       contract::bare_auth("pac_bare", "tnt_a", 5)}) {
    CAPTURE(c.id);
    c.version = 42;  // the store sets it
    auto created = f.run(f.store->create_auth_config(c));
    REQUIRE(created.ok());
    c.version = 1;
    CHECK(created.value() == c);
    auto read = f.run(f.store->get_auth_config(c.id));
    REQUIRE(read.ok());
    CHECK(read.value() == c);
  }
  auto full = f.run(f.store->get_auth_config("pac_full"));
  REQUIRE(full.ok());
  CHECK(full->access_token_sealed.size() == 15);
  CHECK(full->refresh_token_sealed.front() == '\0');
  CHECK(full->expires_at.has_value());
  auto bare = f.run(f.store->get_auth_config("pac_bare"));
  REQUIRE(bare.ok());
  CHECK_FALSE(bare->expires_at.has_value());
  CHECK_FALSE(bare->last_refreshed_at.has_value());
  CHECK_FALSE(bare->last_used_at.has_value());
  CHECK(bare->access_token_sealed.empty());
}

TEST_CASE_TEMPLATE_DEFINE("auth configs: missing is not_found, a duplicate id a conflict, no tenant not_found",
                          Backend, store_auth_create_rules) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->get_auth_config("pac_nobody")).is(Errc::not_found));
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  REQUIRE(f.run(f.store->create_auth_config(contract::bare_auth("pac_1", "tnt_a", 10))).ok());

  CHECK(f.run(f.store->create_auth_config(contract::full_auth("pac_1", "tnt_a", 20))).is(Errc::conflict));
  CHECK(f.run(f.store->create_auth_config(contract::full_auth("pac_1", "tnt_b", 20))).is(Errc::conflict));
  auto read = f.run(f.store->get_auth_config("pac_1"));
  REQUIRE(read.ok());
  CHECK(read.value() == [] {
    AuthConfig c = contract::bare_auth("pac_1", "tnt_a", 10);
    c.version = 1;
    return c;
  }());
  auto b_list = f.run(f.store->list_auth_configs("tnt_b", {}, "", 50));
  REQUIRE(b_list.ok());
  CHECK(b_list->items.empty());

  CHECK(f.run(f.store->create_auth_config(contract::full_auth("pac_2", "tnt_nobody", 20))).is(Errc::not_found));
  CHECK(f.run(f.store->get_auth_config("pac_2")).is(Errc::not_found));
  auto orphans = f.run(f.store->list_auth_configs("tnt_nobody", {}, "", 50));
  REQUIRE(orphans.ok());
  CHECK(orphans->items.empty());
}

TEST_CASE_TEMPLATE_DEFINE("a refresh lock has one owner at a time, expires unless renewed and is released only by its owner",
                          Backend, store_refresh_lock) {
  using namespace tollgate::store;
  using namespace std::chrono_literals;
  contract::Fixture<Backend> f;
  auto acquire = [&](const std::string& owner, std::chrono::milliseconds ttl) {
    auto r = f.run(f.store->acquire_refresh_lock("tnt_a", "pac_l", owner, ttl));
    REQUIRE(r.ok());
    return r.value();
  };
  CHECK(acquire("one", 10s));
  CHECK(acquire("one", 10s));  // a resend by its owner still holds it
  CHECK_FALSE(acquire("two", 10s));
  // Another auth config, or the same id of another tenant, is another lock.
  CHECK(f.run(f.store->acquire_refresh_lock("tnt_a", "pac_other", "two", 10s)).value());
  CHECK(f.run(f.store->acquire_refresh_lock("tnt_b", "pac_l", "two", 10s)).value());
  CHECK_FALSE(f.run(f.store->renew_refresh_lock("tnt_a", "pac_l", "two", 10s)).value());
  CHECK_FALSE(f.run(f.store->release_refresh_lock("tnt_a", "pac_l", "two")).value());  // never another's
  CHECK_FALSE(acquire("two", 10s));
  CHECK(f.run(f.store->release_refresh_lock("tnt_a", "pac_l", "one")).value());
  CHECK(acquire("two", 10s));
  CHECK(f.run(f.store->release_refresh_lock("tnt_a", "pac_l", "two")).value());

  // A lock that is not renewed expires; one that is renewed does not.
  CHECK(acquire("short", 150ms));
  CHECK(acquire("renewed", 150ms) == false);
  std::this_thread::sleep_for(250ms);
  CHECK(acquire("renewed", 300ms));
  CHECK_FALSE(f.run(f.store->renew_refresh_lock("tnt_a", "pac_l", "short", 10s)).value());
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(100ms);
    CHECK(f.run(f.store->renew_refresh_lock("tnt_a", "pac_l", "renewed", 300ms)).value());
  }
  CHECK_FALSE(acquire("late", 10s));
}

TEST_CASE_TEMPLATE_DEFINE("auth config updates are compare-and-set, write every field and keep created_at", Backend,
                          store_auth_update) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  auto created = f.run(f.store->create_auth_config(contract::bare_auth("pac_u", "tnt_a", 100)));
  REQUIRE(created.ok());

  AuthConfig changed = contract::full_auth("pac_u", "tnt_a", 100);
  changed.status = "needs_reauth";
  changed.provider = "slack";
  changed.external_user_id = "u9";
  changed.created_at = 999;
  changed.version = 1;
  auto updated = f.run(f.store->update_auth_config(changed));
  REQUIRE(updated.ok());
  changed.version = 2;
  changed.created_at = 100;
  CHECK(updated.value() == changed);
  auto read = f.run(f.store->get_auth_config("pac_u"));
  REQUIRE(read.ok());
  CHECK(read.value() == changed);

  // Secrets erased and times unset (a revoke).
  AuthConfig revoked = read.value();
  revoked.status = "revoked";
  revoked.access_token_sealed.clear();
  revoked.refresh_token_sealed.clear();
  revoked.api_key_sealed.clear();
  revoked.client_secret_sealed.clear();
  revoked.expires_at.reset();
  revoked.last_refreshed_at.reset();
  revoked.last_used_at.reset();
  auto v3 = f.run(f.store->update_auth_config(revoked));
  REQUIRE(v3.ok());
  CHECK(v3->version == 3);
  auto reread = f.run(f.store->get_auth_config("pac_u"));
  REQUIRE(reread.ok());
  revoked.version = 3;
  CHECK(reread.value() == revoked);

  // Stale and ahead versions conflict and change nothing.
  AuthConfig stale = changed;  // at version 2
  stale.status = "active";
  CHECK(f.run(f.store->update_auth_config(stale)).is(Errc::conflict));
  stale.version = 4;
  CHECK(f.run(f.store->update_auth_config(stale)).is(Errc::conflict));
  auto after = f.run(f.store->get_auth_config("pac_u"));
  REQUIRE(after.ok());
  CHECK(after.value() == revoked);

  // Missing, and another tenant's id, are not_found and create nothing.
  AuthConfig ghost = contract::bare_auth("pac_ghost", "tnt_a", 1);
  ghost.version = 1;
  CHECK(f.run(f.store->update_auth_config(ghost)).is(Errc::not_found));
  CHECK(f.run(f.store->get_auth_config("pac_ghost")).is(Errc::not_found));
  AuthConfig moved = after.value();
  moved.tenant_id = "tnt_b";
  CHECK(f.run(f.store->update_auth_config(moved)).is(Errc::not_found));
  auto unchanged = f.run(f.store->get_auth_config("pac_u"));
  REQUIRE(unchanged.ok());
  CHECK(unchanged.value() == revoked);
}

TEST_CASE_TEMPLATE_DEFINE("auth configs list one tenant's, filtered, in creation order, page by page", Backend,
                          store_auth_list) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  struct Row {
    const char* id;
    Millis at;
    const char* status;
    const char* provider;
    const char* user;
  };
  const std::vector<Row> rows = {
      {"pac_m7", 300, "active", "github", "u1"},       {"pac_r1", 150, "revoked", "github", "u1"},
      {"pac_m3", 200, "active", "github", "u1"},       {"pac_s1", 210, "active", "slack", "u1"},
      {"pac_m5", 100, "active", "github", "u1"},       {"pac_x1", 120, "active", "github", "u2"},
      {"pac_m6", 400, "active", "github", "u1"},       {"pac_n1", 250, "needs_reauth", "github", "u1"},
      {"pac_m1", 200, "active", "github", "u1"},       {"pac_s2", 350, "active", "slack", "u1"},
      {"pac_m4", 500, "active", "github", "u1"},       {"pac_x2", 410, "active", "github", "u2"},
      {"pac_m2", 400, "active", "github", "u1"},       {"pac_n2", 450, "needs_reauth", "slack", "u2"},
  };
  std::vector<AuthConfig> records;
  for (const Row& row : rows) {
    for (const std::string tenant : {"tnt_a", "tnt_b"}) {
      const std::string id = tenant == "tnt_a" ? std::string(row.id) : std::string(row.id) + "_b";
      AuthConfig c = contract::bare_auth(id, tenant, row.at);
      c.status = row.status;
      c.provider = row.provider;
      c.external_user_id = row.user;
      auto created = f.run(f.store->create_auth_config(c));
      REQUIRE(created.ok());
      records.push_back(created.value());
    }
  }
  auto list = [&](const std::string& tenant_id, const AuthConfigFilter& filter, const std::string& cursor,
                  std::size_t limit) { return f.store->list_auth_configs(tenant_id, filter, cursor, limit); };

  const AuthConfigFilter all_three = contract::auth_filter("active", "github", "u1");
  CHECK(contract::walk_pages(f, 3, {3, 3, 1}, [&](const std::string& cursor, std::size_t limit) {
          return list("tnt_a", all_three, cursor, limit);
        }) == std::vector<std::string>{"pac_m5", "pac_m1", "pac_m3", "pac_m7", "pac_m2", "pac_m6", "pac_m4"});

  const std::vector<AuthConfigFilter> filters = {
      {},
      all_three,
      contract::auth_filter("active"),
      contract::auth_filter("needs_reauth"),
      contract::auth_filter("revoked"),
      contract::auth_filter("", "github"),
      contract::auth_filter("", "slack"),
      contract::auth_filter("", "", "u1"),
      contract::auth_filter("", "", "u2"),
      contract::auth_filter("active", "slack"),
      contract::auth_filter("needs_reauth", "", "u2"),
      contract::auth_filter("", "github", "u2"),
      contract::auth_filter("", "", "nobody"),
  };
  for (const auto& filter : filters) {
    contract::check_filtered_list(f, records, "tnt_a", filter, list);
    contract::check_filtered_list(f, records, "tnt_b", filter, list);
  }
  contract::check_filtered_list(f, records, "tnt_nobody", AuthConfigFilter{}, list);

  auto page = f.run(f.store->list_auth_configs("tnt_a", all_three, "", 1));
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0] ==
        *std::find_if(records.begin(), records.end(), [](const AuthConfig& c) { return c.id == "pac_m5"; }));

  // A revoke moves an auth config between filters.
  AuthConfig revoked = page->items[0];
  revoked.status = "revoked";
  REQUIRE(f.run(f.store->update_auth_config(revoked)).ok());
  for (auto& r : records) {
    if (r.id == "pac_m5") r.status = "revoked";
  }
  contract::check_filtered_list(f, records, "tnt_a", all_three, list);
  contract::check_filtered_list(f, records, "tnt_a", contract::auth_filter("revoked"), list);

  CHECK(f.run(f.store->list_auth_configs("tnt_a", all_three, "!!!", 3)).is(Errc::bad_cursor));
}

TEST_CASE_TEMPLATE_DEFINE("a filter that matches few of many records still pages exactly", Backend,
                          store_sparse_filtered_list) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  // 140 records; the few that match sit at the ends and across where a
  // backend reading in batches (of 64, 100, 128, ...) would cut.
  const std::set<int> matching = {0, 63, 64, 65, 99, 100, 127, 128, 139};
  std::vector<AuthConfig> records;
  for (int i = 0; i < 140; ++i) {
    AuthConfig c = contract::bare_auth("pac_" + std::to_string(1000 + i), "tnt_a", 10 * i);
    c.external_user_id = matching.count(i) ? "needle" : "hay";
    auto created = f.run(f.store->create_auth_config(c));
    REQUIRE(created.ok());
    records.push_back(created.value());
  }
  auto list = [&](const std::string& tenant_id, const AuthConfigFilter& filter, const std::string& cursor,
                  std::size_t limit) { return f.store->list_auth_configs(tenant_id, filter, cursor, limit); };
  contract::check_filtered_list(f, records, "tnt_a", contract::auth_filter("", "", "needle"), list);
  contract::check_filtered_list(f, records, "tnt_a", contract::auth_filter("", "", "hay"), list);
  contract::check_filtered_list(f, records, "tnt_a", contract::auth_filter("", "", "none"), list);
  const AuthConfigFilter needle = contract::auth_filter("", "", "needle");
  CHECK(contract::walk_pages(f, 2, {2, 2, 2, 2, 1}, [&](const std::string& cursor, std::size_t limit) {
          return list("tnt_a", needle, cursor, limit);
        }).size() == matching.size());
}

// ---- metering ----------------------------------------------------------------

namespace tollgate::store::contract {

inline UsageRow usage_row(std::string tenant, std::string provider, std::string auth, std::string mode, Day day,
                          std::uint64_t calls) {
  UsageRow r;
  r.tenant_id = std::move(tenant);
  r.provider = std::move(provider);
  r.auth_config_id = std::move(auth);
  r.mode = std::move(mode);
  r.day = day;
  r.counts.calls = calls;
  r.counts.errors = calls / 3;
  r.counts.refreshes = calls / 5;
  r.counts.request_bytes = calls * 100;
  r.counts.response_bytes = calls * 1000 + (std::uint64_t{1} << 40);  // past 32 bits
  return r;
}

inline UsageBatch usage_batch(std::string shard, std::uint64_t seq, std::vector<UsageRow> rows) {
  UsageBatch b;
  b.shard = std::move(shard);
  b.seq = seq;
  b.rows = std::move(rows);
  return b;
}

// The rows of `batches` summed per finest key, in query order.
inline std::vector<UsageRow> summed(const std::vector<std::vector<UsageRow>>& batches) {
  std::map<std::tuple<Day, std::string, std::string, std::string, std::string>, UsageRow> sums;
  for (const auto& rows : batches) {
    for (const auto& r : rows) {
      auto [it, fresh] = sums.try_emplace({r.day, r.tenant_id, r.provider, r.auth_config_id, r.mode}, r);
      if (!fresh) it->second.counts += r.counts;
    }
  }
  std::vector<UsageRow> out;
  for (auto& [k, v] : sums) out.push_back(v);
  return out;
}

}  // namespace tollgate::store::contract

TEST_CASE_TEMPLATE_DEFINE("usage batches add up and read back at the finest grain in order", Backend,
                          store_usage_round_trip) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  const std::vector<UsageRow> first = {
      contract::usage_row("tnt_b", "github", "pac_1", "managed", 20'000, 7),
      contract::usage_row("tnt_a", "exa", "", "managed", 20'000, 1),
      contract::usage_row("tnt_a", "github", "pac_2", "your-own", 20'001, 3),
  };
  const std::vector<UsageRow> second = {
      contract::usage_row("tnt_b", "github", "pac_1", "managed", 20'000, 5),
      contract::usage_row("tnt_a", "github", "pac_2", "managed", 20'001, 2),
  };
  auto applied = f.run(f.store->apply_usage_batch(contract::usage_batch("shard-1", 1, first)));
  REQUIRE(applied.ok());
  CHECK(applied.value());
  applied = f.run(f.store->apply_usage_batch(contract::usage_batch("shard-2", 1, second)));
  REQUIRE(applied.ok());
  CHECK(applied.value());
  auto rows = f.run(f.store->query_usage({}, 0, 1'000'000));
  REQUIRE(rows.ok());
  CHECK(rows.value() == contract::summed({first, second}));
  REQUIRE(rows->size() == 4);
  CHECK(rows->front().tenant_id == "tnt_a");  // day 20000: tnt_a before tnt_b
  CHECK(rows->front().auth_config_id.empty());
}

TEST_CASE_TEMPLATE_DEFINE("the same usage batch applied twice counts once, and an older one not at all", Backend,
                          store_usage_idempotent) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  const auto one = contract::usage_batch("shard-x", 1, {contract::usage_row("tnt_a", "github", "pac_1", "managed", 5, 10)});
  const auto two = contract::usage_batch("shard-x", 2, {contract::usage_row("tnt_a", "github", "pac_1", "managed", 5, 4)});
  auto r = f.run(f.store->apply_usage_batch(one));
  REQUIRE(r.ok());
  CHECK(r.value());
  r = f.run(f.store->apply_usage_batch(one));
  REQUIRE(r.ok());
  CHECK_FALSE(r.value());
  r = f.run(f.store->apply_usage_batch(two));
  REQUIRE(r.ok());
  CHECK(r.value());
  r = f.run(f.store->apply_usage_batch(one));  // a late resend of an older batch
  REQUIRE(r.ok());
  CHECK_FALSE(r.value());
  r = f.run(f.store->apply_usage_batch(two));
  REQUIRE(r.ok());
  CHECK_FALSE(r.value());
  // Another shard's seq 1 is its own.
  r = f.run(f.store->apply_usage_batch(contract::usage_batch("shard-y", 1, one.rows)));
  REQUIRE(r.ok());
  CHECK(r.value());
  auto rows = f.run(f.store->query_usage({}, 0, 100));
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().counts.calls == 24);
  CHECK(rows->front().counts == contract::summed({one.rows, two.rows, one.rows}).front().counts);
}

TEST_CASE_TEMPLATE_DEFINE("usage queries filter by tenant, provider and auth config within a half-open day range",
                          Backend, store_usage_filters) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  std::vector<UsageRow> rows;
  for (Day day : {Day{99}, Day{100}, Day{101}, Day{102}}) {
    rows.push_back(contract::usage_row("tnt_a", "github", "pac_1", "managed", day, 1));
    rows.push_back(contract::usage_row("tnt_a", "slack", "pac_2", "managed", day, 2));
    rows.push_back(contract::usage_row("tnt_b", "github", "pac_3", "your-own", day, 3));
  }
  REQUIRE(f.run(f.store->apply_usage_batch(contract::usage_batch("s", 1, rows))).ok());
  auto check = [&](UsageFilter filter, Day from, Day to, std::size_t count, std::uint64_t calls) {
    CAPTURE(filter.tenant_id);
    CAPTURE(filter.provider);
    CAPTURE(filter.auth_config_id);
    CAPTURE(from);
    CAPTURE(to);
    auto got = f.run(f.store->query_usage(filter, from, to));
    REQUIRE(got.ok());
    CHECK(got->size() == count);
    std::uint64_t sum = 0;
    for (const auto& r : got.value()) {
      sum += r.counts.calls;
      CHECK(r.day >= from);
      CHECK(r.day < to);
    }
    CHECK(sum == calls);
  };
  check({}, 100, 102, 6, 12);
  check({"tnt_a", "", ""}, 100, 102, 4, 6);
  check({"tnt_a", "slack", ""}, 0, 1000, 4, 8);
  check({"", "github", ""}, 101, 102, 2, 4);
  check({"", "", "pac_3"}, 99, 103, 4, 12);
  check({"tnt_nobody", "", ""}, 0, 1000, 0, 0);
  check({}, 102, 102, 0, 0);
  check({}, 103, 200, 0, 0);
}

TEST_CASE_TEMPLATE_DEFINE("a usage batch moves last_used_at forward only, leaving the auth config's version alone",
                          Backend, store_usage_last_used) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_auth_config(contract::bare_auth("pac_1", "tnt_a", 10))).ok());
  auto batch = contract::usage_batch("s", 1, {contract::usage_row("tnt_a", "github", "pac_1", "managed", 1, 1)});
  batch.last_used = {{"tnt_a", "pac_1", 5'000}, {"tnt_a", "pac_gone", 5'000}, {"tnt_b", "pac_1", 9'000}};
  REQUIRE(f.run(f.store->apply_usage_batch(batch)).ok());
  auto read = f.run(f.store->get_auth_config("pac_1"));
  REQUIRE(read.ok());
  CHECK(read->last_used_at == std::optional<Millis>(5'000));
  CHECK(read->version == 1);
  // An update written from an older read does not move it back, and does not conflict.
  AuthConfig stale = contract::bare_auth("pac_1", "tnt_a", 10);
  stale.version = 1;
  stale.status = "needs_reauth";
  REQUIRE(f.run(f.store->update_auth_config(stale)).ok());
  auto older = contract::usage_batch("s", 2, {});
  older.last_used = {{"tnt_a", "pac_1", 4'000}};
  REQUIRE(f.run(f.store->apply_usage_batch(older)).ok());
  auto listed = f.run(f.store->list_auth_configs("tnt_a", {}, "", 10));
  REQUIRE(listed.ok());
  REQUIRE(listed->items.size() == 1);
  CHECK(listed->items[0].last_used_at == std::optional<Millis>(5'000));
  CHECK(listed->items[0].status == "needs_reauth");
  CHECK(listed->items[0].version == 2);
  // A missing auth config was not created by the batch.
  CHECK(f.run(f.store->get_auth_config("pac_gone")).is(Errc::not_found));
}

TEST_CASE_TEMPLATE_DEFINE("a tenant's token bucket starts full, grants up to its capacity, then says when to retry",
                          Backend, store_rate_tokens) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  auto g = f.run(f.store->take_rate_tokens("tnt_a", 0.5, 10, 4));
  REQUIRE(g.ok());
  CHECK(g->granted == 4);
  g = f.run(f.store->take_rate_tokens("tnt_a", 0.5, 10, 100));
  REQUIRE(g.ok());
  CHECK(g->granted == 6);
  g = f.run(f.store->take_rate_tokens("tnt_a", 0.5, 10, 1));
  REQUIRE(g.ok());
  CHECK(g->granted == 0);
  CHECK(g->retry_after_ms > 0);
  CHECK(g->retry_after_ms <= 2'000);
  // Each tenant has its own bucket.
  g = f.run(f.store->take_rate_tokens("tnt_b", 0.5, 3, 5));
  REQUIRE(g.ok());
  CHECK(g->granted == 3);
}

TEST_CASE_TEMPLATE_DEFINE("counts by status cover every tenant's setup sessions and auth configs", Backend,
                          store_counts_by_status) {
  using namespace tollgate::store;
  contract::Fixture<Backend> f;
  CHECK(f.run(f.store->count_setup_sessions_by_status()).value().empty());
  CHECK(f.run(f.store->count_auth_configs_by_status()).value().empty());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_a", 1))).ok());
  REQUIRE(f.run(f.store->create_tenant(contract::bare_tenant("tnt_b", 2))).ok());
  const char* session_statuses[] = {"pending", "pending", "completed", "failed", "pending"};
  for (int i = 0; i < 5; ++i) {
    auto s = contract::bare_session("pss_c" + std::to_string(i), i % 2 ? "tnt_a" : "tnt_b", 10 + i);
    s.state_hash = "state-c" + std::to_string(i);
    s.status = session_statuses[i];
    REQUIRE(f.run(f.store->create_setup_session(s)).ok());
  }
  // 503 auth configs of one tenant: more than one page of any backend that walks lists.
  for (int i = 0; i < 503; ++i) {
    auto a = contract::bare_auth("pac_c" + std::to_string(i), i < 500 ? "tnt_a" : "tnt_b", 100 + i);
    a.status = i % 100 == 0 ? "needs_reauth" : "active";
    REQUIRE(f.run(f.store->create_auth_config(a)).ok());
  }
  // An update moves a record from one status to another.
  auto moved = f.run(f.store->get_auth_config("pac_c1")).value();
  moved.status = "revoked";
  REQUIRE(f.run(f.store->update_auth_config(moved)).ok());

  CHECK(f.run(f.store->count_setup_sessions_by_status()).value() ==
        StatusCounts{{"pending", 3}, {"completed", 1}, {"failed", 1}});
  CHECK(f.run(f.store->count_auth_configs_by_status()).value() ==
        StatusCounts{{"active", 496}, {"needs_reauth", 6}, {"revoked", 1}});
}

#define TOLLGATE_STORE_CONTRACT(Backend)                                       \
  TEST_CASE_TEMPLATE_INVOKE(store_counts_by_status, Backend);                  \
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
  TEST_CASE_TEMPLATE_INVOKE(store_two_contexts, Backend);                     \
  TEST_CASE_TEMPLATE_INVOKE(store_session_round_trip, Backend);               \
  TEST_CASE_TEMPLATE_INVOKE(store_session_missing, Backend);                  \
  TEST_CASE_TEMPLATE_INVOKE(store_session_duplicate, Backend);                \
  TEST_CASE_TEMPLATE_INVOKE(store_session_orphan, Backend);                   \
  TEST_CASE_TEMPLATE_INVOKE(store_session_update, Backend);                   \
  TEST_CASE_TEMPLATE_INVOKE(store_session_state_moves, Backend);              \
  TEST_CASE_TEMPLATE_INVOKE(store_session_list, Backend);                     \
  TEST_CASE_TEMPLATE_INVOKE(store_session_expired, Backend);                  \
  TEST_CASE_TEMPLATE_INVOKE(store_session_concurrent_state, Backend);         \
  TEST_CASE_TEMPLATE_INVOKE(store_auth_round_trip, Backend);                  \
  TEST_CASE_TEMPLATE_INVOKE(store_auth_create_rules, Backend);                \
  TEST_CASE_TEMPLATE_INVOKE(store_auth_update, Backend);                      \
  TEST_CASE_TEMPLATE_INVOKE(store_refresh_lock, Backend);                     \
  TEST_CASE_TEMPLATE_INVOKE(store_auth_list, Backend);                        \
  TEST_CASE_TEMPLATE_INVOKE(store_sparse_filtered_list, Backend);              \
  TEST_CASE_TEMPLATE_INVOKE(store_usage_round_trip, Backend);                 \
  TEST_CASE_TEMPLATE_INVOKE(store_usage_idempotent, Backend);                 \
  TEST_CASE_TEMPLATE_INVOKE(store_usage_filters, Backend);                    \
  TEST_CASE_TEMPLATE_INVOKE(store_usage_last_used, Backend);                  \
  TEST_CASE_TEMPLATE_INVOKE(store_rate_tokens, Backend)
