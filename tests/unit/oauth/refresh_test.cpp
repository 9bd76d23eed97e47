// The refresh coordinator (SPEC §5 "Refresh") against a real SQLite store and a
// scripted token endpoint: single flight across threads, what is stored and when,
// which failures are retried, and what marks an auth config needs_reauth.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include "script_server.hpp"
#include "temp_dir.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/crypto/random.hpp"
#include "tollgate/oauth/refresh.hpp"
#include "tollgate/store/sqlite.hpp"
#include "tollgate/store/store.hpp"
#include "tollgate/upstream/clients.hpp"

namespace tollgate::oauth {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using test::reply;
using test::ScriptServer;
using test::stall;
using test::Step;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Distinctive values, so that a leak into an error message is easy to spot.
const std::string kOldAccess = "AT_OLD_3b1f0c";
const std::string kOldRefresh = "RT_OLD_9d27aa";
const std::string kNewAccess = "AT_NEW_51e8d4";
const std::string kNewRefresh = "RT_NEW_c04b7e";
const std::string kManagedSecret = "MGD_SECRET_6a90f2";
const std::string kClientSecret = "CC_SECRET_e7d311";

const std::string kTenant = "tnt_refresh_a";
const std::string kOtherTenant = "tnt_refresh_b";

store::Millis now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string http(std::string_view status_line, std::string_view body, std::string_view extra = "") {
  std::string out = std::string(status_line) + "\r\nContent-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n";
  out += body;
  return out;
}

std::string ok_json(std::string_view body) { return http("HTTP/1.1 200 OK", body); }

std::string rotated_tokens() {
  return ok_json(R"({"access_token":")" + kNewAccess + R"(","refresh_token":")" + kNewRefresh +
                 R"(","token_type":"Bearer","expires_in":3600,"scope":"read write"})");
}

std::string invalid_grant() {
  // The provider echoes the refresh token: it must not reach an error message.
  return http("HTTP/1.1 400 Bad Request",
              R"({"error":"invalid_grant","error_description":"refresh token )" + kOldRefresh + R"( is revoked"})");
}

std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The value of form field `name` in `body`, or nullopt.
std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  std::size_t start = 0;
  while (start <= body.size()) {
    const auto end = std::min(body.find('&', start), body.size());
    const auto pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    start = end + 1;
  }
  return std::nullopt;
}

// A token endpoint whose n-th connection plays the n-th script (the last one for
// every connection after that): one request is read and recorded, then the script
// runs and the connection is closed.
class SequenceServer {
 public:
  explicit SequenceServer(std::vector<std::vector<Step>> scripts) : scripts_(std::move(scripts)) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = acceptor.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(std::move(acceptor)), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SequenceServer() {
    io_.stop();
    thread_.join();
  }
  SequenceServer(const SequenceServer&) = delete;
  SequenceServer& operator=(const SequenceServer&) = delete;

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<test::Received> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
    for (std::size_t n = 0;; ++n) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) co_return;
      const auto& script = scripts_[std::min(n, scripts_.size() - 1)];
      asio::co_spawn(io_, serve(std::move(socket), script), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket, std::vector<Step> script) {
    std::string data;
    auto [ec, head] = co_await asio::async_read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n", kNoThrow);
    if (ec) co_return;
    test::Received received;
    std::size_t length = 0;
    std::size_t line_start = data.find("\r\n") + 2;
    const std::string request_line = data.substr(0, line_start - 2);
    received.method = request_line.substr(0, request_line.find(' '));
    const auto target_start = request_line.find(' ') + 1;
    received.target = request_line.substr(target_start, request_line.rfind(' ') - target_start);
    while (line_start < head - 2) {
      const auto line_end = data.find("\r\n", line_start);
      const std::string line = data.substr(line_start, line_end - line_start);
      const auto colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      received.headers.emplace_back(line.substr(0, colon), value);
      line_start = line_end + 2;
    }
    if (auto cl = received.header("Content-Length"); !cl.empty()) length = std::stoul(cl);
    if (data.size() < head + length) {
      auto [body_ec, n] = co_await asio::async_read(socket, asio::dynamic_buffer(data),
                                                    asio::transfer_exactly(head + length - data.size()), kNoThrow);
      if (body_ec) co_return;
    }
    received.body = data.substr(head, length);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(received));
    }
    for (const auto& step : script) {
      if (step.kind == Step::Kind::send) {
        auto [write_ec, n] = co_await asio::async_write(socket, asio::buffer(step.bytes), kNoThrow);
        if (write_ec) co_return;
      } else {
        asio::steady_timer timer(io_, step.duration);
        co_await timer.async_wait(kNoThrow);
      }
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }

  std::vector<std::vector<Step>> scripts_;
  mutable std::mutex mutex_;
  std::vector<test::Received> requests_;
  std::uint16_t port_ = 0;
  asio::io_context io_{1};
  std::thread thread_;
};

// A loopback port on which nothing listens (connections are refused).
std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// Runs `task` on `io` in this thread until it finishes.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  auto done = asio::co_spawn(
      io, [&out, task = std::move(task)]() mutable -> asio::awaitable<void> { out.emplace(co_await std::move(task)); },
      asio::use_future);
  io.restart();
  io.run();
  done.get();
  return std::move(*out);
}

// An io_context served by a thread of its own, for calls that overlap the test's.
class Worker {
 public:
  Worker() : work_(asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
  ~Worker() {
    work_.reset();
    thread_.join();
  }
  std::future<RefreshResult> start(asio::awaitable<RefreshResult> task) {
    return asio::co_spawn(io, std::move(task), asio::use_future);
  }
  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

template <typename Predicate>
void wait_until(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
}

struct Rig {
  test::TempDir dir;
  std::unique_ptr<store::Store> store = store::open_sqlite(dir / "tollgate.db");
  crypto::Keyring keyring;
  std::shared_ptr<config::Config> cfg = std::make_shared<config::Config>();
  asio::io_context io;  // this thread's; declared before what may hold its executor
  upstream::UpstreamClients clients;
  RefreshCoordinator coordinator{*store, keyring, clients};

  explicit Rig(const std::string& token_url) {
    keyring.add("k1", crypto::Secret(crypto::random_bytes(crypto::kKeyBytes)));
    cfg->relay.upstream_timeouts.connect = 2s;
    cfg->relay.upstream_timeouts.first_byte = 3s;
    cfg->relay.upstream_timeouts.idle = 3s;

    config::Provider acme;
    acme.key = "acme";
    acme.authorization_url = "https://acme.example/authorize";
    acme.token_url = token_url;
    acme.managed = config::ManagedApp{"acme", crypto::Secret("acme-client"), crypto::Secret(kManagedSecret), true};
    cfg->providers["acme"] = acme;

    config::Provider machine;
    machine.key = "machine";
    machine.auth_mode = config::AuthMode::oauth2_client_credentials;
    machine.token_url = token_url;
    machine.token_endpoint_auth = config::TokenEndpointAuth::client_secret_basic;
    cfg->providers["machine"] = machine;

    config::Provider keyed;
    keyed.key = "keyed";
    keyed.auth_mode = config::AuthMode::api_key;
    cfg->providers["keyed"] = keyed;

    for (const auto& id : {kTenant, kOtherTenant}) {
      store::Tenant tenant;
      tenant.id = id;
      tenant.name = id;
      tenant.created_at = tenant.updated_at = now_ms();
      REQUIRE(run(io, store->create_tenant(tenant)).ok());
    }
  }

  std::string seal(const std::string& id, const char* field, const std::string& value) {
    return keyring.seal(value, {kTenant, id, field});
  }
  std::string unseal(const store::AuthConfig& ac, const char* field) {
    auto value = keyring.unseal(field == std::string_view("access_token") ? ac.access_token_sealed
                                                                          : ac.refresh_token_sealed,
                                {ac.tenant_id, ac.id, field});
    REQUIRE(value);
    return value.value->reveal();
  }

  // An active managed oauth2 connection holding kOldAccess / kOldRefresh.
  store::AuthConfig oauth_connection(std::optional<store::Millis> expires_at = now_ms() + 3600 * 1000) {
    store::AuthConfig ac;
    ac.id = crypto::random_id("pac");
    ac.tenant_id = kTenant;
    ac.provider = "acme";
    ac.external_user_id = "alice";
    ac.status = "active";
    ac.mode = "managed";
    ac.app = "managed:acme";
    ac.scopes_granted = {"read"};
    ac.metadata_json = R"({"team":"blue"})";
    ac.access_token_sealed = seal(ac.id, "access_token", kOldAccess);
    ac.refresh_token_sealed = seal(ac.id, "refresh_token", kOldRefresh);
    ac.expires_at = expires_at;
    ac.created_at = ac.updated_at = now_ms();
    auto created = run(io, store->create_auth_config(ac));
    REQUIRE(created.ok());
    return created.value();
  }

  store::AuthConfig stored(const std::string& id) {
    auto read = run(io, store->get_auth_config(id));
    REQUIRE(read.ok());
    return read.value();
  }

  store::AuthConfig update(store::AuthConfig ac) {
    auto written = run(io, store->update_auth_config(std::move(ac)));
    REQUIRE(written.ok());
    return written.value();
  }

  RefreshResult refresh(const std::string& id, bool force = true, const std::string& tenant = kTenant) {
    return run(io, coordinator.refresh(tenant, id, force, cfg));
  }
};

// No secret of the rig in the error message.
void check_no_secrets(const RefreshResult& result) {
  if (!result.error) return;
  for (const auto& secret : {kOldAccess, kOldRefresh, kNewAccess, kNewRefresh, kManagedSecret, kClientSecret})
    CHECK_MESSAGE(result.error->message.find(secret) == std::string::npos, "a secret in: " << result.error->message);
}

void check_error(const RefreshResult& result, errors::Code code) {
  REQUIRE(result.error.has_value());
  CHECK(errors::name(result.error->code) == errors::name(code));
  CHECK_FALSE(result.token_request_made);
  check_no_secrets(result);
}

// refresh(), counting the calls that resumed on a thread other than `home`'s.
asio::awaitable<RefreshResult> refresh_at_home(RefreshCoordinator& coordinator, asio::io_context& home,
                                               std::string id, std::shared_ptr<const config::Config> cfg,
                                               std::atomic<int>& strays) {
  RefreshResult result = co_await coordinator.refresh(kTenant, std::move(id), true, std::move(cfg));
  if (!home.get_executor().running_in_this_thread()) ++strays;
  co_return result;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("refresh: 50 concurrent forced refreshes from 4 threads share one token request") {
  ScriptServer server({stall(500ms), reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(std::make_unique<Worker>());
  std::vector<std::future<RefreshResult>> results;
  std::atomic<int> strays{0};
  for (int i = 0; i < 50; ++i) {
    auto& worker = *workers[i % 4];
    results.push_back(worker.start(refresh_at_home(rig.coordinator, worker.io, ac.id, rig.cfg, strays)));
  }

  for (auto& future : results) {
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    const RefreshResult result = future.get();
    REQUIRE_FALSE(result.error.has_value());
    REQUIRE(result.config.has_value());
    CHECK(result.token_request_made);
    CHECK(rig.unseal(*result.config, "access_token") == kNewAccess);
    CHECK(rig.unseal(*result.config, "refresh_token") == kNewRefresh);
  }
  CHECK(strays == 0);  // each caller resumed on its own io_context's thread
  CHECK(server.requests().size() == 1);
  CHECK(rig.coordinator.token_requests() == 1);
  const auto stored = rig.stored(ac.id);
  CHECK(rig.unseal(stored, "refresh_token") == kNewRefresh);
  CHECK(rig.unseal(stored, "access_token") == kNewAccess);
  CHECK(stored.version == ac.version + 2);  // the in-flight marker, then the tokens
  CHECK(stored.refresh_owner.empty());
  workers.clear();

  // The flight is over: the next refresh makes a request of its own.
  const auto later = rig.refresh(ac.id);
  CHECK_FALSE(later.error.has_value());
  CHECK(later.token_request_made);
  CHECK(server.requests().size() == 2);
}

TEST_CASE("refresh: the refresh request uses the issuing app and the stored refresh token") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto result = rig.refresh(ac.id);
  REQUIRE_FALSE(result.error.has_value());
  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/token");
  CHECK(form_field(requests[0].body, "grant_type") == "refresh_token");
  CHECK(form_field(requests[0].body, "refresh_token") == kOldRefresh);
  CHECK(form_field(requests[0].body, "client_id") == "acme-client");
  CHECK(form_field(requests[0].body, "client_secret") == kManagedSecret);
}

TEST_CASE("refresh: a non-forced refresh of a fresh token makes no request") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection(now_ms() + 3600 * 1000);  // margin: 5 min
  const auto result = rig.refresh(ac.id, false);
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(result.config.has_value());
  CHECK(*result.config == ac);
  CHECK_FALSE(result.token_request_made);
  CHECK(server.connections() == 0);
  CHECK(rig.coordinator.token_requests() == 0);

  SUBCASE("nor of a token without a known expiry") {
    const auto forever = rig.oauth_connection(std::nullopt);
    const auto again = rig.refresh(forever.id, false);
    CHECK_FALSE(again.error.has_value());
    CHECK_FALSE(again.token_request_made);
    CHECK(server.connections() == 0);
  }
}

TEST_CASE("refresh: a non-forced refresh of a token expiring within the margin makes one") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection(now_ms() + 60 * 1000);  // within the 5 min margin
  const auto result = rig.refresh(ac.id, false);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.token_request_made);
  CHECK(server.requests().size() == 1);
  CHECK(rig.unseal(*result.config, "access_token") == kNewAccess);
}

TEST_CASE("refresh: a forced call joining a flight that found the token fresh still gets a refresh") {
  ScriptServer server({stall(100ms), reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  auto lazy = asio::co_spawn(rig.io, rig.coordinator.refresh(kTenant, ac.id, false, rig.cfg), asio::use_future);
  auto forced = asio::co_spawn(rig.io, rig.coordinator.refresh(kTenant, ac.id, true, rig.cfg), asio::use_future);
  rig.io.restart();
  rig.io.run();
  const auto forced_result = forced.get();
  REQUIRE_FALSE(forced_result.error.has_value());
  CHECK(forced_result.token_request_made);
  CHECK(rig.unseal(*forced_result.config, "access_token") == kNewAccess);
  CHECK(server.requests().size() == 1);
  CHECK_FALSE(lazy.get().error.has_value());
}

TEST_CASE("refresh: a token response without refresh_token keeps the old one") {
  ScriptServer server({reply(ok_json(R"({"access_token":")" + kNewAccess + R"(","expires_in":3600})"))});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto before = now_ms();
  const auto result = rig.refresh(ac.id);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.token_request_made);
  const auto stored = rig.stored(ac.id);
  CHECK(rig.unseal(stored, "refresh_token") == kOldRefresh);
  CHECK(rig.unseal(stored, "access_token") == kNewAccess);
  REQUIRE(stored.expires_at.has_value());
  CHECK(*stored.expires_at >= before + 3600 * 1000);
  CHECK(*stored.expires_at <= now_ms() + 3600 * 1000);
  REQUIRE(stored.last_refreshed_at.has_value());
  CHECK(*stored.last_refreshed_at >= before);
  CHECK(stored.scopes_granted == std::vector<std::string>{"read"});  // the response names none
  CHECK(stored.status == "active");
  CHECK(*result.config == stored);
}

TEST_CASE("refresh: a rotated refresh token is stored before the new access token is returned") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  auto& store = *rig.store;
  auto& coordinator = rig.coordinator;
  auto cfg = rig.cfg;
  const std::string id = ac.id;
  // Read the store in the same coroutine, right when refresh() hands the result back.
  auto [result, stored] = run(
      rig.io, [&]() -> asio::awaitable<std::pair<RefreshResult, store::Result<store::AuthConfig>>> {
        RefreshResult refreshed = co_await coordinator.refresh(kTenant, id, true, cfg);
        auto read = co_await store.get_auth_config(id);
        co_return std::make_pair(std::move(refreshed), std::move(read));
      }());
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(stored.ok());
  CHECK(rig.unseal(stored.value(), "refresh_token") == kNewRefresh);
  CHECK(rig.unseal(stored.value(), "access_token") == kNewAccess);
  CHECK(stored.value().scopes_granted == std::vector<std::string>{"read", "write"});
  CHECK(*result.config == stored.value());
}

TEST_CASE("refresh: a metadata update during the refresh is kept and the rotated token still stored") {
  ScriptServer server({stall(500ms), reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  Worker worker;
  auto pending = worker.start(rig.coordinator.refresh(kTenant, ac.id, true, rig.cfg));
  wait_until([&] { return server.requests().size() == 1; });
  auto changed = rig.stored(ac.id);
  changed.metadata_json = R"({"team":"red"})";
  rig.update(changed);

  REQUIRE(pending.wait_for(10s) == std::future_status::ready);
  const auto result = pending.get();
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.token_request_made);
  const auto stored = rig.stored(ac.id);
  CHECK(stored.metadata_json == R"({"team":"red"})");
  CHECK(rig.unseal(stored, "refresh_token") == kNewRefresh);
  CHECK(rig.unseal(stored, "access_token") == kNewAccess);
  CHECK(stored.version == ac.version + 3);  // the metadata, the in-flight marker, the tokens
}

TEST_CASE("refresh: invalid_grant marks the auth config needs_reauth and answers reauth_required") {
  ScriptServer server({reply(invalid_grant())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::reauth_required);
  CHECK(errors::status(result.error->code) == 424);
  CHECK(server.requests().size() == 1);  // not retried
  const auto stored = rig.stored(ac.id);
  CHECK(stored.status == "needs_reauth");
  REQUIRE(result.config.has_value());
  CHECK(result.config->status == "needs_reauth");

  // From now on, no request at all.
  const auto again = rig.refresh(ac.id);
  check_error(again, errors::Code::reauth_required);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("refresh: invalid_grant after another instance rotated the refresh token answers the newer record") {
  ScriptServer server({stall(500ms), reply(invalid_grant())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  Worker worker;
  auto pending = worker.start(rig.coordinator.refresh(kTenant, ac.id, true, rig.cfg));
  // The leader has read the record and sent its request; "another instance" now rotates.
  wait_until([&] { return server.requests().size() == 1; });
  auto other = rig.stored(ac.id);
  other.access_token_sealed = rig.seal(ac.id, "access_token", "AT_OTHER_instance");
  other.refresh_token_sealed = rig.seal(ac.id, "refresh_token", "RT_OTHER_instance");
  other.last_refreshed_at = now_ms();
  const auto written = rig.update(other);

  REQUIRE(pending.wait_for(10s) == std::future_status::ready);
  const auto result = pending.get();
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(result.config.has_value());
  CHECK(*result.config == written);
  CHECK(rig.unseal(*result.config, "access_token") == "AT_OTHER_instance");
  CHECK_FALSE(result.token_request_made);
  const auto stored = rig.stored(ac.id);
  CHECK(stored.status == "active");
  CHECK(stored == written);
}

TEST_CASE("refresh: a connection revoked during the refresh is not brought back") {
  ScriptServer server({stall(500ms), reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  Worker worker;
  auto pending = worker.start(rig.coordinator.refresh(kTenant, ac.id, true, rig.cfg));
  wait_until([&] { return server.requests().size() == 1; });
  auto revoked = rig.stored(ac.id);
  revoked.status = "revoked";
  revoked.access_token_sealed.clear();
  revoked.refresh_token_sealed.clear();
  const auto written = rig.update(revoked);

  REQUIRE(pending.wait_for(10s) == std::future_status::ready);
  const auto result = pending.get();
  check_error(result, errors::Code::reauth_required);
  CHECK(rig.stored(ac.id) == written);
}

TEST_CASE("refresh: a 500 is retried and the second answer is used") {
  SequenceServer server({{reply(http("HTTP/1.1 500 Internal Server Error", R"({"oops":")" + kOldRefresh + "\"}"))},
                         {reply(rotated_tokens())}});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto start = std::chrono::steady_clock::now();
  const auto result = rig.refresh(ac.id);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.token_request_made);
  CHECK(server.requests().size() == 2);
  CHECK(rig.coordinator.token_requests() == 2);
  CHECK(seconds_since(start) >= 0.24);  // 250 ms backoff
  CHECK(rig.unseal(rig.stored(ac.id), "refresh_token") == kNewRefresh);
}

TEST_CASE("refresh: a 429's Retry-After is honoured before the retry") {
  SequenceServer server({{reply(http("HTTP/1.1 429 Too Many Requests", "{}", "Retry-After: 1\r\n"))},
                         {reply(rotated_tokens())}});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto start = std::chrono::steady_clock::now();
  const auto result = rig.refresh(ac.id);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(server.requests().size() == 2);
  CHECK(seconds_since(start) >= 0.95);
}

// A refresh that failed without settling anything: the auth config keeps its
// status and tokens, no marker is left, and the failure is on record (the cooldown).
void check_failure_recorded(const store::AuthConfig& stored, const store::AuthConfig& before) {
  CHECK(stored.status == before.status);
  CHECK(stored.access_token_sealed == before.access_token_sealed);
  CHECK(stored.refresh_token_sealed == before.refresh_token_sealed);
  CHECK(stored.refresh_owner.empty());
  CHECK_FALSE(stored.last_refresh_error.empty());
  CHECK(stored.last_refresh_failed_at.has_value());
}

TEST_CASE("refresh: three 503s answer refresh_failed and leave the auth config active") {
  SequenceServer server({{reply(http("HTTP/1.1 503 Service Unavailable", "{}"))}});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::refresh_failed);
  CHECK(errors::status(result.error->code) == 502);
  CHECK(server.requests().size() == 3);
  check_failure_recorded(rig.stored(ac.id), ac);
}

TEST_CASE("refresh: an unreachable token endpoint is tried 3 times, then refresh_failed, still active") {
  Rig rig("http://127.0.0.1:" + std::to_string(closed_port()) + "/token");
  const auto ac = rig.oauth_connection();
  const auto start = std::chrono::steady_clock::now();
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::refresh_failed);
  CHECK(rig.coordinator.token_requests() == 3);
  CHECK(seconds_since(start) >= 0.74);  // 250 ms + 500 ms
  const auto stored = rig.stored(ac.id);
  CHECK(stored.status == "active");
  check_failure_recorded(stored, ac);
  REQUIRE(result.config.has_value());
  CHECK(*result.config == stored);
}

TEST_CASE("refresh: an answer lost after the request was sent is never retried") {
  ScriptServer server({});  // reads the request, then closes without a word
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::refresh_failed);
  CHECK(server.requests().size() == 1);
  CHECK(server.connections() == 1);
  CHECK(rig.coordinator.token_requests() == 1);
  check_failure_recorded(rig.stored(ac.id), ac);
}

TEST_CASE("refresh: another OAuth error is not retried and leaves the auth config active") {
  ScriptServer server({reply(http("HTTP/1.1 401 Unauthorized", R"({"error":"invalid_client"})"))});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::refresh_failed);
  CHECK(result.error->message.find("invalid_client") != std::string::npos);
  CHECK(server.requests().size() == 1);
  check_failure_recorded(rig.stored(ac.id), ac);
}

TEST_CASE("refresh: a needs_reauth or revoked auth config answers reauth_required without a request") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  for (const char* status : {"needs_reauth", "revoked"}) {
    auto ac = rig.oauth_connection();
    ac.status = status;
    ac = rig.update(ac);
    const auto result = rig.refresh(ac.id);
    check_error(result, errors::Code::reauth_required);
    REQUIRE(result.config.has_value());
    CHECK(*result.config == ac);
    CHECK(rig.refresh(ac.id, false).error.has_value());
  }
  CHECK(server.connections() == 0);
}

TEST_CASE("refresh: another tenant's auth config, or an unknown id, is auth_config_not_found") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  const auto other = rig.refresh(ac.id, true, kOtherTenant);
  check_error(other, errors::Code::auth_config_not_found);
  CHECK_FALSE(other.config.has_value());
  check_error(rig.refresh("pac_nothing_here"), errors::Code::auth_config_not_found);
  CHECK(server.connections() == 0);
  CHECK(rig.stored(ac.id) == ac);
}

TEST_CASE("refresh: a connection without a refresh token answers refresh_failed and stays active") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  auto ac = rig.oauth_connection();
  ac.refresh_token_sealed.clear();
  ac = rig.update(ac);
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::refresh_failed);
  CHECK(result.error->message.find("no refresh token") != std::string::npos);
  CHECK(server.connections() == 0);
  CHECK(rig.stored(ac.id) == ac);
}

TEST_CASE("refresh: an API-key connection has nothing to refresh (bad_request)") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  store::AuthConfig ac;
  ac.id = crypto::random_id("pac");
  ac.tenant_id = kTenant;
  ac.provider = "keyed";
  ac.status = "active";
  ac.mode = "your-own";
  ac.api_key_sealed = rig.seal(ac.id, "api_key", "KEY_123");
  REQUIRE(run(rig.io, rig.store->create_auth_config(ac)).ok());
  check_error(rig.refresh(ac.id), errors::Code::bad_request);
  CHECK(server.connections() == 0);
}

TEST_CASE("refresh: a provider gone from the catalog answers refresh_failed") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection();
  auto cfg = std::make_shared<config::Config>(*rig.cfg);
  cfg->providers.erase("acme");
  rig.cfg = cfg;
  check_error(rig.refresh(ac.id), errors::Code::refresh_failed);
  CHECK(server.connections() == 0);
}

TEST_CASE("refresh: a client-credentials connection gets a new token with its own client id and secret") {
  ScriptServer server({reply(ok_json(R"({"access_token":")" + kNewAccess + R"(","expires_in":600})"))});
  Rig rig(server.url("/token"));
  store::AuthConfig ac;
  ac.id = crypto::random_id("pac");
  ac.tenant_id = kTenant;
  ac.provider = "machine";
  ac.status = "active";
  ac.mode = "your-own";
  ac.client_id = "cc-client";
  ac.client_secret_sealed = rig.seal(ac.id, "client_secret", kClientSecret);
  auto created = run(rig.io, rig.store->create_auth_config(ac));
  REQUIRE(created.ok());

  SUBCASE("with Basic authentication") {}
  SUBCASE("with client_secret_post") {
    auto cfg = std::make_shared<config::Config>(*rig.cfg);
    cfg->providers["machine"].token_endpoint_auth = config::TokenEndpointAuth::client_secret_post;
    rig.cfg = cfg;
  }
  const bool basic =
      rig.cfg->providers["machine"].token_endpoint_auth == config::TokenEndpointAuth::client_secret_basic;

  const auto result = rig.refresh(ac.id, false);  // no access token yet: refreshed even unforced
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.token_request_made);
  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(form_field(requests[0].body, "grant_type") == "client_credentials");
  CHECK_FALSE(form_field(requests[0].body, "refresh_token").has_value());
  if (basic) {
    CHECK(requests[0].header("Authorization") == "Basic " + crypto::base64_encode("cc-client:" + kClientSecret));
    CHECK_FALSE(form_field(requests[0].body, "client_secret").has_value());
  } else {
    CHECK(requests[0].header("Authorization").empty());
    CHECK(form_field(requests[0].body, "client_id") == "cc-client");
    CHECK(form_field(requests[0].body, "client_secret") == kClientSecret);
  }
  const auto stored = rig.stored(ac.id);
  CHECK(rig.unseal(stored, "access_token") == kNewAccess);
  CHECK(stored.refresh_token_sealed.empty());
  CHECK(stored.client_secret_sealed == created.value().client_secret_sealed);
  REQUIRE(stored.expires_at.has_value());
}

TEST_CASE("refresh: a client-credentials failure names no secret") {
  ScriptServer server({reply(http("HTTP/1.1 401 Unauthorized",
                                  R"({"error":"invalid_client","error_description":"bad secret )" + kClientSecret +
                                      "\"}"))});
  Rig rig(server.url("/token"));
  store::AuthConfig ac;
  ac.id = crypto::random_id("pac");
  ac.tenant_id = kTenant;
  ac.provider = "machine";
  ac.status = "active";
  ac.mode = "your-own";
  ac.client_id = "cc-client";
  ac.client_secret_sealed = rig.seal(ac.id, "client_secret", kClientSecret);
  REQUIRE(run(rig.io, rig.store->create_auth_config(ac)).ok());
  const auto result = rig.refresh(ac.id);
  check_error(result, errors::Code::refresh_failed);
  CHECK(rig.stored(ac.id).status == "active");
}

}  // namespace tollgate::oauth

namespace tollgate::oauth {
namespace {

TEST_CASE("refresh: after a failed refresh, unforced refreshes wait out the cooldown without a request, forced ones do not") {
  SequenceServer server({{reply(http("HTTP/1.1 400 Bad Request", R"({"error":"invalid_client"})"))},
                         {reply(rotated_tokens())}});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection(now_ms() - 1000);  // expired: a refresh is due
  check_error(rig.refresh(ac.id, false), errors::Code::refresh_failed);
  CHECK(server.requests().size() == 1);
  const auto failed = rig.stored(ac.id);
  CHECK(failed.last_refresh_error.find("invalid_client") != std::string::npos);
  REQUIRE(failed.last_refresh_failed_at.has_value());

  const auto cooling = rig.refresh(ac.id, false);
  check_error(cooling, errors::Code::refresh_failed);
  CHECK(cooling.error->message.find("next is tried in") != std::string::npos);
  CHECK(server.requests().size() == 1);  // the provider was left alone

  const auto forced = rig.refresh(ac.id, true);
  REQUIRE_FALSE(forced.error.has_value());
  CHECK(server.requests().size() == 2);
  const auto fine = rig.stored(ac.id);
  CHECK(fine.last_refresh_error.empty());
  CHECK_FALSE(fine.last_refresh_failed_at.has_value());
}

TEST_CASE("refresh: an in-flight marker left by a dead process makes the auth config need re-auth, nothing is sent") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  auto ac = rig.oauth_connection(now_ms() - 1000);
  ac.refresh_owner = "rlk_of_a_process_that_died";
  ac.refresh_started_at = now_ms() - 5000;
  ac = rig.update(ac);
  const auto result = rig.refresh(ac.id, false);
  check_error(result, errors::Code::reauth_required);
  CHECK(result.error->message.find("interrupted") != std::string::npos);
  CHECK(server.connections() == 0);
  const auto stored = rig.stored(ac.id);
  CHECK(stored.status == "needs_reauth");
  CHECK(stored.refresh_owner.empty());
  CHECK(stored.last_refresh_error.find("interrupted") != std::string::npos);
  CHECK(rig.unseal(stored, "refresh_token") == kOldRefresh);
}

TEST_CASE("refresh: a refresh lock held elsewhere is waited for, and its tokens are taken without a request") {
  ScriptServer server({reply(rotated_tokens())});
  Rig rig(server.url("/token"));
  const auto ac = rig.oauth_connection(now_ms() - 1000);
  // "Another instance" holds the lock, then stores new tokens and lets go.
  REQUIRE(run(rig.io, rig.store->acquire_refresh_lock(kTenant, ac.id, "elsewhere", 10s)).value());
  std::thread other([&] {
    asio::io_context io;
    std::this_thread::sleep_for(300ms);
    auto next = ac;
    next.access_token_sealed = rig.seal(ac.id, "access_token", kNewAccess);
    next.refresh_token_sealed = rig.seal(ac.id, "refresh_token", kNewRefresh);
    next.expires_at = now_ms() + 3600 * 1000;
    REQUIRE(run(io, rig.store->update_auth_config(next)).ok());
    REQUIRE(run(io, rig.store->release_refresh_lock(kTenant, ac.id, "elsewhere")).value());
  });
  const auto start = std::chrono::steady_clock::now();
  const auto result = rig.refresh(ac.id, false);
  other.join();
  REQUIRE_FALSE(result.error.has_value());
  CHECK_FALSE(result.token_request_made);
  CHECK(seconds_since(start) >= 0.25);
  CHECK(rig.unseal(*result.config, "access_token") == kNewAccess);
  CHECK(server.connections() == 0);
}

}  // namespace
}  // namespace tollgate::oauth
