// What only the Redis backend does: its key layout, pipelining, timeouts and
// reconnects, resends after a dropped connection, idempotent writes, AUTH and
// SELECT from the URL, persistence and durability. Each test has its own
// throwaway redis-server on loopback.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "process.hpp"
#include "redis_process.hpp"
#include "run_sync.hpp"
#include "tollgate/store/redis.hpp"

using namespace tollgate::store;
using namespace std::chrono_literals;
using tollgate::test::eventually;
using tollgate::test::RedisProcess;
using tollgate::test::run_sync;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<RedisStore> open_store(const std::string& url, std::chrono::milliseconds timeout = 2000ms,
                                       std::string prefix = "tollgate:") {
  RedisOptions options;
  options.url = url;
  options.command_timeout = timeout;
  options.key_prefix = std::move(prefix);
  return open_redis(options);
}

Tenant tenant(std::string id, Millis created_at = 1000) {
  Tenant t;
  t.id = std::move(id);
  t.name = "Acme";
  t.allowed_redirect_origins = {"https://app.example.com"};
  t.created_at = created_at;
  t.updated_at = created_at;
  return t;
}

ApiKey api_key(std::string id, std::string tenant_id) {
  ApiKey k;
  k.hash = "hash-of-" + id;
  k.id = std::move(id);
  k.tenant_id = std::move(tenant_id);
  k.prefix = "tg_live_Ab";
  k.created_at = 2000;
  return k;
}

SetupSession session(std::string id, std::string tenant_id, std::string state_hash = "") {
  SetupSession s;
  s.id = std::move(id);
  s.tenant_id = std::move(tenant_id);
  s.provider = "github";
  s.auth_method = "oauth";
  s.status = "pending";
  s.mode = "managed";
  s.state_hash = std::move(state_hash);
  s.expires_at = 5000;
  s.created_at = 1234;
  s.updated_at = 1234;
  return s;
}

AuthConfig auth_config(std::string id, std::string tenant_id) {
  AuthConfig c;
  c.id = std::move(id);
  c.tenant_id = std::move(tenant_id);
  c.provider = "github";
  c.status = "active";
  c.mode = "managed";
  c.access_token_sealed = std::string("\0sealed", 7);
  c.created_at = 1300;
  c.updated_at = 1300;
  return c;
}

// A field of INFO's text, e.g. info_field(server, "stats", "total_commands_processed").
std::optional<std::int64_t> info_field(const RedisProcess& server, const std::string& section, const std::string& name) {
  const std::string info = server.command("INFO " + section);
  const auto at = info.find(name + ":");
  if (at == std::string::npos) return std::nullopt;
  return std::stoll(info.substr(at + name.size() + 1));
}

// Our store's connection as CLIENT LIST shows it ("" when there is none).
std::string our_client(const RedisProcess& server) {
  const std::string list = server.command("CLIENT LIST");
  const auto at = list.find("name=tollgate-store ");
  if (at == std::string::npos) return "";
  const auto start = list.rfind("id=", at);
  const auto end = list.find('\n', at);
  return list.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string client_id(const std::string& client_line) {
  const auto end = client_line.find(' ');
  return client_line.substr(3, end - 3);
}

// Runs one store operation on a thread and io_context of its own, so the test
// can meddle with the server meanwhile.
template <typename T>
class Background {
 public:
  explicit Background(boost::asio::awaitable<T> task)
      : thread_([this, task = std::move(task)]() mutable {
          boost::asio::io_context ctx;
          result_.emplace(run_sync(ctx, std::move(task)));
          done_ = true;
        }) {}
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  T get() {
    thread_.join();
    return std::move(*result_);
  }

 private:
  std::optional<T> result_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

boost::asio::awaitable<void> read_one(Store& store, std::string id, std::atomic<int>& answered) {
  auto read = co_await store.get_tenant(std::move(id));
  if (read.is(Errc::not_found)) ++answered;
}

}  // namespace

// ---- layout --------------------------------------------------------------------

TEST_CASE("records and indexes live under the documented keys, with one hash tag per tenant") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_x", 1234))).ok());
  REQUIRE(run_sync(ctx, store->create_api_key(api_key("key_1", "tnt_x"))).ok());

  const std::string body = server.command("HGET tollgate:{tnt_x}:tenant body");
  CHECK(body.find(R"("id":"tnt_x")") != std::string::npos);
  CHECK(body.find(R"("version":1)") != std::string::npos);
  CHECK(server.command("HGET tollgate:{tnt_x}:tenant version") == "$1\r\n1\r\n");
  CHECK(server.command("HGET tollgate:{tnt_x}:tenant created_at") == "$4\r\n1234\r\n");
  CHECK(server.command("ZRANGE tollgate:{idx}:tenants 0 -1").find("09223372036854777042:tnt_x") != std::string::npos);
  CHECK(server.command("HGET tollgate:{tnt_x}:key:key_1 body").find(R"("hash":"hash-of-key_1")") != std::string::npos);
  CHECK(server.command("ZRANGE tollgate:{tnt_x}:keys 0 -1").find(":key_1") != std::string::npos);
  CHECK(server.command("GET tollgate:{idx}:key_id:key_1") == "$5\r\ntnt_x\r\n");
  CHECK(server.command("GET tollgate:{idx}:key_hash:hash-of-key_1") == "$11\r\ntnt_x key_1\r\n");
  CHECK(server.command("DBSIZE") == ":6\r\n");
}

TEST_CASE("setup sessions and auth configs live under the documented keys, and the session indexes follow updates") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_x", 1))).ok());
  auto created = run_sync(ctx, store->create_setup_session(session("pss_1", "tnt_x", "st-1")));
  REQUIRE(created.ok());
  REQUIRE(run_sync(ctx, store->create_auth_config(auth_config("pac_1", "tnt_x"))).ok());

  CHECK(server.command("HGET tollgate:{tnt_x}:session:pss_1 body").find(R"("id":"pss_1")") != std::string::npos);
  CHECK(server.command("HGET tollgate:{tnt_x}:session:pss_1 version") == "$1\r\n1\r\n");
  CHECK(server.command("HGET tollgate:{tnt_x}:session:pss_1 created_at") == "$4\r\n1234\r\n");
  CHECK(server.command("HGET tollgate:{tnt_x}:session:pss_1 state_hash") == "$4\r\nst-1\r\n");
  CHECK(server.command("ZRANGE tollgate:{tnt_x}:sessions 0 -1").find("09223372036854777042:pss_1") != std::string::npos);
  CHECK(server.command("GET tollgate:{idx}:session_id:pss_1") == "$5\r\ntnt_x\r\n");
  CHECK(server.command("GET tollgate:{idx}:session_state:st-1") == "$11\r\ntnt_x pss_1\r\n");
  CHECK(server.command("ZSCORE tollgate:{idx}:pending_sessions pss_1") == "$4\r\n5000\r\n");
  const std::string auth_body = server.command("HGET tollgate:{tnt_x}:auth:pac_1 body");
  CHECK(auth_body.find(R"("id":"pac_1")") != std::string::npos);
  CHECK(auth_body.find(R"("access_token_sealed":"AHNlYWxlZA==")") != std::string::npos);  // base64 of the bytes
  CHECK(server.command("ZRANGE tollgate:{tnt_x}:auths 0 -1").find(":pac_1") != std::string::npos);
  CHECK(server.command("GET tollgate:{idx}:auth_id:pac_1") == "$5\r\ntnt_x\r\n");
  // tenant, tenants, session, sessions, session_id, session_state, pending_sessions, auth, auths, auth_id,
  // and the change counter (the auth config's creation was published)
  CHECK(server.command("GET tollgate:{idx}:changes") == "$1\r\n1\r\n");
  CHECK(server.command("DBSIZE") == ":11\r\n");

  // A new state and a new expiry: the mapping moves, the score follows.
  SetupSession next = created.value();
  next.state_hash = "st-2";
  next.expires_at = 7000;
  auto v2 = run_sync(ctx, store->update_setup_session(next));
  REQUIRE(v2.ok());
  CHECK(server.command("EXISTS tollgate:{idx}:session_state:st-1") == ":0\r\n");
  CHECK(server.command("GET tollgate:{idx}:session_state:st-2") == "$11\r\ntnt_x pss_1\r\n");
  CHECK(server.command("HGET tollgate:{tnt_x}:session:pss_1 state_hash") == "$4\r\nst-2\r\n");
  CHECK(server.command("ZSCORE tollgate:{idx}:pending_sessions pss_1") == "$4\r\n7000\r\n");

  // No longer pending and no state: out of both.
  next = v2.value();
  next.state_hash.clear();
  next.status = "completed";
  REQUIRE(run_sync(ctx, store->update_setup_session(next)).ok());
  CHECK(server.command("EXISTS tollgate:{idx}:session_state:st-2") == ":0\r\n");
  CHECK(server.command("ZSCORE tollgate:{idx}:pending_sessions pss_1") == "$-1\r\n");
  CHECK(server.command("HGET tollgate:{tnt_x}:session:pss_1 state_hash") == "$0\r\n\r\n");
  CHECK(server.command("DBSIZE") == ":9\r\n");

  // A session created without a state, and not pending, touches neither index.
  SetupSession quiet = session("pss_2", "tnt_x");
  quiet.status = "archived";
  REQUIRE(run_sync(ctx, store->create_setup_session(quiet)).ok());
  CHECK(server.command("KEYS tollgate:{idx}:session_state:*") == "*0\r\n");
  CHECK(server.command("EXISTS tollgate:{idx}:pending_sessions") == ":0\r\n");
}

TEST_CASE("the key prefix keeps stores apart on one server") {
  RedisProcess server;
  auto one = open_store(server.url(), 2000ms, "one:");
  auto two = open_store(server.url(), 2000ms, "two:");
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, one->create_tenant(tenant("tnt_a"))).ok());
  CHECK(run_sync(ctx, two->get_tenant("tnt_a")).is(Errc::not_found));
  REQUIRE(run_sync(ctx, two->create_tenant(tenant("tnt_a", 5))).ok());  // no conflict: another store
  CHECK(run_sync(ctx, one->get_tenant("tnt_a"))->created_at == 1000);
  CHECK(server.command("EXISTS one:{tnt_a}:tenant") == ":1\r\n");
  CHECK(server.command("EXISTS two:{idx}:tenants") == ":1\r\n");
}

TEST_CASE("a negative created_at still lists in order") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_b", 10))).ok());
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_a", -10))).ok());
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_c", 0))).ok());
  auto page = run_sync(ctx, store->list_tenants("", 10));
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 3);
  CHECK(page->items[0].id == "tnt_a");
  CHECK(page->items[1].id == "tnt_c");
  CHECK(page->items[2].id == "tnt_b");
}

// ---- idempotent writes ------------------------------------------------------------

TEST_CASE("creating the same record twice succeeds, as a resent create must — a different one is a conflict") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  Tenant t = tenant("tnt_twice");
  REQUIRE(run_sync(ctx, store->create_tenant(t)).ok());
  t.version = 7;  // ignored: the store sets it
  auto again = run_sync(ctx, store->create_tenant(t));
  REQUIRE(again.ok());
  CHECK(again->version == 1);
  t.name = "someone else";
  CHECK(run_sync(ctx, store->create_tenant(t)).is(Errc::conflict));

  const ApiKey k = api_key("key_twice", "tnt_twice");
  REQUIRE(run_sync(ctx, store->create_api_key(k)).ok());
  CHECK(run_sync(ctx, store->create_api_key(k)).ok());
  CHECK(server.command("ZCARD tollgate:{tnt_twice}:keys") == ":1\r\n");
}

TEST_CASE("an update applied once answers success when resent, and changes nothing more") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  auto created = run_sync(ctx, store->create_tenant(tenant("tnt_u")));
  REQUIRE(created.ok());
  Tenant change = created.value();
  change.name = "renamed";
  auto first = run_sync(ctx, store->update_tenant(change));
  REQUIRE(first.ok());
  CHECK(first->version == 2);
  auto resent = run_sync(ctx, store->update_tenant(change));  // still at version 1, same body
  REQUIRE(resent.ok());
  CHECK(resent.value() == first.value());
  CHECK(run_sync(ctx, store->get_tenant("tnt_u"))->version == 2);

  change.name = "a different change";  // at version 1 with another body: a real conflict
  CHECK(run_sync(ctx, store->update_tenant(change)).is(Errc::conflict));
}

TEST_CASE("resent creates and updates of setup sessions and auth configs succeed and change nothing more") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_r"))).ok());

  SetupSession s = session("pss_r", "tnt_r", "st-r");
  REQUIRE(run_sync(ctx, store->create_setup_session(s)).ok());
  s.version = 7;  // ignored: the store sets it
  auto again = run_sync(ctx, store->create_setup_session(s));
  REQUIRE(again.ok());
  CHECK(again->version == 1);
  CHECK(server.command("ZCARD tollgate:{tnt_r}:sessions") == ":1\r\n");
  CHECK(server.command("ZCARD tollgate:{idx}:pending_sessions") == ":1\r\n");
  s.redirect_url = "https://elsewhere.example";
  CHECK(run_sync(ctx, store->create_setup_session(s)).is(Errc::conflict));

  SetupSession change = again.value();
  change.state_hash = "st-r2";
  change.status = "completed";
  auto first = run_sync(ctx, store->update_setup_session(change));
  REQUIRE(first.ok());
  CHECK(first->version == 2);
  auto resent = run_sync(ctx, store->update_setup_session(change));  // still at version 1, same body
  REQUIRE(resent.ok());
  CHECK(resent.value() == first.value());
  CHECK(run_sync(ctx, store->get_setup_session("pss_r"))->version == 2);
  CHECK(server.command("GET tollgate:{idx}:session_state:st-r2") == "$11\r\ntnt_r pss_r\r\n");
  CHECK(server.command("EXISTS tollgate:{idx}:session_state:st-r") == ":0\r\n");
  change.error_code = "different";  // at version 1 with another body: a real conflict
  CHECK(run_sync(ctx, store->update_setup_session(change)).is(Errc::conflict));

  const AuthConfig c = auth_config("pac_r", "tnt_r");
  auto created = run_sync(ctx, store->create_auth_config(c));
  REQUIRE(created.ok());
  CHECK(run_sync(ctx, store->create_auth_config(c)).ok());
  CHECK(server.command("ZCARD tollgate:{tnt_r}:auths") == ":1\r\n");
  AuthConfig refreshed = created.value();
  refreshed.last_refreshed_at = 99;
  auto applied = run_sync(ctx, store->update_auth_config(refreshed));
  REQUIRE(applied.ok());
  auto resent_auth = run_sync(ctx, store->update_auth_config(refreshed));
  REQUIRE(resent_auth.ok());
  CHECK(resent_auth.value() == applied.value());
  CHECK(run_sync(ctx, store->get_auth_config("pac_r"))->version == 2);
}

TEST_CASE("a state index entry that is malformed or disagrees with its session reads as corrupt") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_c"))).ok());
  REQUIRE(run_sync(ctx, store->create_setup_session(session("pss_c", "tnt_c", "st-c"))).ok());
  server.command("SET tollgate:{idx}:session_state:st-stale \"tnt_c pss_c\"");
  server.command("SET tollgate:{idx}:session_state:st-gone \"tnt_c pss_gone\"");
  server.command("SET tollgate:{idx}:session_state:st-bad nospace");
  CHECK(run_sync(ctx, store->find_setup_session_by_state("st-stale")).is(Errc::corrupt));
  CHECK(run_sync(ctx, store->find_setup_session_by_state("st-gone")).is(Errc::corrupt));
  CHECK(run_sync(ctx, store->find_setup_session_by_state("st-bad")).is(Errc::corrupt));
  CHECK(run_sync(ctx, store->find_setup_session_by_state("st-c")).ok());
}

TEST_CASE("concurrent revokes keep one time and write once") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_r"))).ok());
  REQUIRE(run_sync(ctx, store->create_api_key(api_key("key_r", "tnt_r"))).ok());
  std::vector<std::unique_ptr<Background<Result<ApiKey>>>> revokes;
  for (int i = 0; i < 8; ++i) {
    revokes.push_back(std::make_unique<Background<Result<ApiKey>>>(store->revoke_api_key("key_r", 5000 + i)));
  }
  std::optional<Millis> first;
  for (auto& r : revokes) {
    auto key = r->get();
    REQUIRE(key.ok());
    REQUIRE(key->revoked_at.has_value());
    if (!first) first = key->revoked_at;
    CHECK(key->revoked_at == first);
    CHECK(key->version == 2);
  }
  CHECK(run_sync(ctx, store->get_api_key("key_r"))->revoked_at == first);
}

// ---- what is stored, and errors ------------------------------------------------------

TEST_CASE("a record that does not decode, or a key of the wrong type, reads as corrupt") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  server.command("HSET tollgate:{tnt_bad}:tenant body not-json version 1 created_at 1");
  server.command("SET tollgate:{tnt_str}:tenant just-a-string");
  CHECK(run_sync(ctx, store->get_tenant("tnt_bad")).is(Errc::corrupt));
  CHECK(run_sync(ctx, store->get_tenant("tnt_str")).is(Errc::corrupt));

  server.command("ZADD tollgate:{idx}:tenants 0 09223372036854775808:tnt_gone");
  CHECK(run_sync(ctx, store->list_tenants("", 10)).is(Errc::corrupt));
}

TEST_CASE("messages never carry a key hash") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  auto missing = run_sync(ctx, store->find_api_key_by_hash("0123456789abcdef-secret-hash"));
  REQUIRE(missing.is(Errc::not_found));
  CHECK(missing.error().message.find("0123456789abcdef") == std::string::npos);

  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_h"))).ok());
  ApiKey k = api_key("key_1", "tnt_h");
  k.hash = "fedcba9876543210-secret-hash";
  REQUIRE(run_sync(ctx, store->create_api_key(k)).ok());
  k.id = "key_2";
  auto dup = run_sync(ctx, store->create_api_key(k));
  REQUIRE(dup.is(Errc::conflict));
  CHECK(dup.error().message.find("fedcba9876543210") == std::string::npos);
}

TEST_CASE("scripts are sent again in full after the server forgets them") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_1"))).ok());
  REQUIRE(server.command("SCRIPT FLUSH") == "+OK\r\n");
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_2"))).ok());
  auto t = run_sync(ctx, store->get_tenant("tnt_2"));
  REQUIRE(t.ok());
  REQUIRE(run_sync(ctx, store->update_tenant(t.value())).ok());
}

// ---- the URL ----------------------------------------------------------------------------

TEST_CASE("open_redis refuses what can never work, without repeating a password") {
  RedisOptions options;
  const std::vector<std::string> bad = {
      "rediss://:topsecret@127.0.0.1:6379/0",  // TLS: not in hiredis 0.14
      "http://127.0.0.1:6379",
      "redis://",
      "redis://127.0.0.1:6379/zero",
      "redis://127.0.0.1:99999/0",
      "redis://topsecret@127.0.0.1:6379/0",  // user info without a colon
      "redis://127.0.0.1:6379/0?db=1",
  };
  for (const auto& url : bad) {
    CAPTURE(url);
    options.url = url;
    try {
      (void)open_redis(options);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("topsecret") == std::string::npos);
    }
  }
  options.url = "rediss://127.0.0.1:6379/0";
  CHECK_THROWS_WITH_AS((void)open_redis(options), doctest::Contains("TLS"), std::invalid_argument);

  options.url = "redis://127.0.0.1:6379/0";
  options.sentinels = {"127.0.0.1:26379"};
  CHECK_THROWS_AS((void)open_redis(options), std::invalid_argument);  // no master_name
  options.master_name = "m";
  options.sentinels = {"no-port"};
  CHECK_THROWS_AS((void)open_redis(options), std::invalid_argument);
  options.sentinels.clear();
  options.command_timeout = 0ms;
  CHECK_THROWS_AS((void)open_redis(options), std::invalid_argument);
}

TEST_CASE("the URL's password, user and database are used before any command") {
  RedisProcess server;
  REQUIRE(server.command("CONFIG SET requirepass s3cr3t") == "+OK\r\n");
  REQUIRE(server.command("AUTH s3cr3t\r\nACL SETUSER app on >app-pass ~* +@all").find("-") == std::string::npos);
  boost::asio::io_context ctx;
  const std::string at = "127.0.0.1:" + std::to_string(server.port());

  auto store = open_store("redis://:s3cr3t@" + at + "/3");
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_db"))).ok());
  CHECK(server.command("AUTH s3cr3t\r\nSELECT 3\r\nEXISTS tollgate:{tnt_db}:tenant").ends_with(":1\r\n"));
  CHECK(server.command("AUTH s3cr3t\r\nEXISTS tollgate:{tnt_db}:tenant").ends_with(":0\r\n"));

  auto as_user = open_store("redis://app:app-pass@" + at + "/3");
  CHECK(run_sync(ctx, as_user->get_tenant("tnt_db")).ok());

  auto wrong = open_store("redis://:not-the-password@" + at, 300ms);
  auto refused = run_sync(ctx, wrong->ping());
  REQUIRE(refused.is(Errc::unavailable));
  CHECK(refused.error().message.find("AUTH") != std::string::npos);
  CHECK(refused.error().message.find("not-the-password") == std::string::npos);
}

// ---- persistence --------------------------------------------------------------------------

TEST_CASE("persistence_warning speaks up only for a server that keeps nothing") {
  boost::asio::io_context ctx;
  RedisProcess volatile_server;  // --save "" --appendonly no
  auto warning = run_sync(ctx, open_store(volatile_server.url())->persistence_warning());
  REQUIRE(warning.ok());
  CHECK(warning->find("appendonly") != std::string::npos);

  RedisProcess aof({"--appendonly", "yes"});
  CHECK(run_sync(ctx, open_store(aof.url())->persistence_warning()).value().empty());

  RedisProcess rdb({"--save", "3600 1"});
  CHECK(run_sync(ctx, open_store(rdb.url())->persistence_warning()).value().empty());

  RedisProcess no_config({"--rename-command", "CONFIG", ""});  // cannot tell
  CHECK(run_sync(ctx, open_store(no_config.url())->persistence_warning()).value().empty());
}

TEST_CASE("acknowledged writes survive kill -9 and a restart with appendfsync always") {
  RedisProcess server({"--appendonly", "yes", "--appendfsync", "always"});
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "tnt_" + std::to_string(i);
    REQUIRE(run_sync(ctx, store->create_tenant(tenant(id, 100 + i))).ok());
    REQUIRE(run_sync(ctx, store->create_api_key(api_key("key_" + std::to_string(i), id))).ok());
  }
  server.kill();
  server.start();

  // The same store, reconnected by itself.
  CHECK(eventually([&] { return run_sync(ctx, store->ping()).ok(); }, 15s));
  auto page = run_sync(ctx, store->list_tenants("", 100));
  REQUIRE(page.ok());
  CHECK(page->items.size() == 20);
  for (int i = 0; i < 20; ++i) {
    auto key = run_sync(ctx, store->find_api_key_by_hash("hash-of-key_" + std::to_string(i)));
    REQUIRE(key.ok());
    CHECK(key->tenant_id == "tnt_" + std::to_string(i));
  }
  CHECK(run_sync(ctx, store->persistence_warning()).value().empty());
}

// ---- pipelining -------------------------------------------------------------------------------

TEST_CASE("a thousand concurrent operations share a few socket writes") {
  RedisProcess server;
  auto store = open_store(server.url());
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->ping()).ok());  // connected before counting

  constexpr int kOps = 1000;
  const RedisStats before = store->stats();
  const auto processed_before = info_field(server, "stats", "total_commands_processed");
  std::atomic<int> answered{0};
  for (int i = 0; i < kOps; ++i) {
    boost::asio::co_spawn(ctx, read_one(*store, "tnt_" + std::to_string(i), answered), boost::asio::detached);
  }
  ctx.restart();
  ctx.run();
  const RedisStats after = store->stats();
  const auto processed_after = info_field(server, "stats", "total_commands_processed");

  CHECK(answered == kOps);
  CHECK(after.commands - before.commands == kOps);
  REQUIRE(processed_before.has_value());
  REQUIRE(processed_after.has_value());
  CHECK(*processed_after - *processed_before >= kOps);  // the server did see every one
  // Sent one by one, a thousand commands take a thousand round trips, with one
  // command in flight at a time. Pipelined, commands go out while earlier ones
  // are unanswered, and a write carries whatever queued up meanwhile (how much
  // depends on how fast the callers produce them, so that bound is loose).
  const auto writes = after.write_batches - before.write_batches;
  MESSAGE(kOps << " commands in " << writes << " writes, up to " << after.max_in_flight << " in flight");
  CHECK(after.max_in_flight >= 10);
  CHECK(writes >= 1);
  CHECK(writes * 2 <= static_cast<std::uint64_t>(kOps));
}

// ---- outages ------------------------------------------------------------------------------------

TEST_CASE("with Redis down an operation answers unavailable within about the timeout, and recovers without reopening") {
  RedisProcess server;
  constexpr auto kTimeout = 400ms;
  auto store = open_store(server.url(), kTimeout);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_before"))).ok());

  server.stop();
  for (int i = 0; i < 2; ++i) {
    const auto start = Clock::now();
    auto read = run_sync(ctx, store->get_tenant("tnt_before"));
    const auto took = Clock::now() - start;
    CHECK(read.is(Errc::unavailable));
    CHECK(took >= kTimeout / 2);
    CHECK(took < kTimeout * 10);
  }
  CHECK(run_sync(ctx, store->create_tenant(tenant("tnt_during"))).is(Errc::unavailable));
  CHECK(store->stats().timeouts >= 3);

  server.start();
  CHECK(eventually([&] { return run_sync(ctx, store->ping()).ok(); }, 15s));
  CHECK(run_sync(ctx, store->get_tenant("tnt_before")).is(Errc::not_found));  // the server kept nothing
  CHECK(run_sync(ctx, store->create_tenant(tenant("tnt_after"))).ok());
  CHECK(store->stats().connections >= 2);
}

TEST_CASE("an operation issued while Redis is down completes when it comes back within the timeout") {
  RedisProcess server;
  auto store = open_store(server.url(), 10s);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->ping()).ok());
  server.stop();
  // Issued at once; Redis takes a while to start again, and the store to notice.
  Background<Result<Tenant>> create(store->create_tenant(tenant("tnt_waits")));
  server.start();
  auto created = create.get();
  CHECK(created.ok());
  CHECK(store->stats().timeouts == 0);
  CHECK(store->stats().connections == 2);
  CHECK(run_sync(ctx, store->get_tenant("tnt_waits")).ok());
}

TEST_CASE("a reply that comes after the timeout is ignored, and the store goes on") {
  RedisProcess server;
  constexpr auto kTimeout = 300ms;
  auto store = open_store(server.url(), kTimeout);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->create_tenant(tenant("tnt_slow"))).ok());

  REQUIRE(server.command("CLIENT PAUSE 1500 ALL") == "+OK\r\n");  // the server holds every command
  const auto start = Clock::now();
  auto late = run_sync(ctx, store->get_tenant("tnt_slow"));
  const auto took = Clock::now() - start;
  CHECK(late.is(Errc::unavailable));
  CHECK(took >= kTimeout / 2);
  CHECK(took < kTimeout * 10);

  CHECK(eventually([&] { return run_sync(ctx, store->get_tenant("tnt_slow")).ok(); }, 15s));
  auto page = run_sync(ctx, store->list_tenants("", 10));
  REQUIRE(page.ok());
  CHECK(page->items.size() == 1);
}

TEST_CASE("a write in flight when the connection drops is sent again once on the next connection") {
  RedisProcess server;
  auto store = open_store(server.url(), 10s);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->ping()).ok());
  const RedisStats before = store->stats();

  // Scripts wait while writes are paused: the create is on the wire, unanswered.
  REQUIRE(server.command("CLIENT PAUSE 20000 WRITE") == "+OK\r\n");
  Background<Result<Tenant>> create(store->create_tenant(tenant("tnt_resent")));
  std::string client;
  REQUIRE(eventually([&] { return (client = our_client(server)).find(" flags=b ") != std::string::npos; }));
  const std::string first_connection = client_id(client);
  REQUIRE(server.command("CLIENT KILL ID " + first_connection) == ":1\r\n");

  // Sent again on a new connection, where it waits for the pause like the first.
  REQUIRE(eventually([&] {
    client = our_client(server);
    return client.find(" flags=b ") != std::string::npos && client_id(client) != first_connection;
  }));
  CHECK_FALSE(create.done());
  REQUIRE(server.command("CLIENT UNPAUSE") == "+OK\r\n");
  auto created = create.get();
  CHECK(created.ok());
  CHECK(store->stats().connections - before.connections == 1);
  CHECK(run_sync(ctx, store->get_tenant("tnt_resent")).ok());
  CHECK(server.command("ZCARD tollgate:{idx}:tenants") == ":1\r\n");
}

TEST_CASE("a write whose connection drops twice answers unavailable and is not applied") {
  RedisProcess server;
  auto store = open_store(server.url(), 10s);
  boost::asio::io_context ctx;
  REQUIRE(run_sync(ctx, store->ping()).ok());

  REQUIRE(server.command("CLIENT PAUSE 20000 WRITE") == "+OK\r\n");
  Background<Result<Tenant>> create(store->create_tenant(tenant("tnt_dropped")));
  std::string seen;
  for (int drop = 0; drop < 2; ++drop) {
    std::string client;
    REQUIRE(eventually([&] {
      client = our_client(server);
      return client.find(" flags=b ") != std::string::npos && client_id(client) != seen;
    }));
    seen = client_id(client);
    REQUIRE(server.command("CLIENT KILL ID " + seen) == ":1\r\n");
  }
  auto created = create.get();
  CHECK(created.is(Errc::unavailable));
  REQUIRE(server.command("CLIENT UNPAUSE") == "+OK\r\n");
  CHECK(eventually([&] { return run_sync(ctx, store->get_tenant("tnt_dropped")).is(Errc::not_found); }));
}
