// `tollgate serve`: load the config, bind, serve until SIGTERM/SIGINT, reload on SIGHUP.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "serve.hpp"
#include "tollgate/admin/api.hpp"
#include "tollgate/admin/health.hpp"
#include "tollgate/admin/ops.hpp"
#include "tollgate/auth/admin_key.hpp"
#include "tollgate/auth/principal.hpp"
#include "tollgate/connect/connect.hpp"
#include "tollgate/relay/relay.hpp"
#include "tollgate/upstream/clients.hpp"
#include "tollgate/config/live.hpp"
#include "tollgate/config/load.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/http/server.hpp"
#include "tollgate/metering/meter.hpp"
#include "tollgate/metering/quota.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/ops/log.hpp"
#include "tollgate/ops/metrics.hpp"
#include "tollgate/store/instrumented.hpp"
#include "tollgate/store/redis.hpp"
#include "tollgate/store/sqlite.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cctype>
#include <mutex>
#include <thread>

namespace tollgate::cli {
namespace {

void apply_logging(const config::Logging& logging) {
  ops::configure_logging(static_cast<ops::Level>(logging.level),
                         logging.format == config::LogFormat::json ? ops::Format::json : ops::Format::text);
}

// The master keys: inline `secrets.keys`, or the keys file (created with one
// fresh key on first run).
crypto::Keyring open_keyring(const config::Secrets& secrets) {
  if (!secrets.keys.empty()) {
    crypto::Keyring ring;
    for (const auto& k : secrets.keys) {
      auto raw = crypto::base64_decode(k.value.reveal());
      if (!raw) throw std::runtime_error("secrets.keys: key " + k.id + " is not base64");
      ring.add(k.id, crypto::Secret(std::move(*raw)));
    }
    if (!secrets.primary.empty()) ring.set_primary(secrets.primary);
    return ring;
  }
  if (std::filesystem::exists(secrets.keys_file)) return crypto::Keyring::load_file(secrets.keys_file);
  auto ring = crypto::Keyring::create_file(secrets.keys_file);
  ops::log_info("created the master keys file", {{"keys_file", secrets.keys_file.string()}});
  return ring;
}

// Runs one store task to completion on a private io_context (start-up only,
// before the workers run).
template <typename T>
std::optional<store::Result<T>> run_now(store::Task<T> task) {
  boost::asio::io_context ctx;
  std::optional<store::Result<T>> out;
  boost::asio::co_spawn(
      ctx, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(task)); }, boost::asio::detached);
  ctx.run();
  return out;
}

std::unique_ptr<store::Store> open_store(const config::Store& cfg) {
  if (cfg.kind == config::StoreKind::sqlite) return store::open_sqlite(cfg.sqlite.path);
  store::RedisOptions options;
  options.url = cfg.redis.url;
  options.sentinels = cfg.redis.sentinels;
  options.master_name = cfg.redis.master_name;
  options.command_timeout = cfg.redis.command_timeout;
  auto redis = store::open_redis(options);
  // A Redis that is down at start is not fatal: serve starts, /readyz stays
  // red and requests that need the store answer 503 until it is back.
  auto warning = run_now(redis->persistence_warning());
  if (!warning || !*warning)
    ops::log_warn("the Redis store does not answer yet; serving anyway and retrying in the background",
                  {{"error", warning && !*warning ? warning->error().message : "no answer"}});
  else if (!warning->value().empty())
    ops::log_warn("redis persistence: " + warning->value(), {});
  return redis;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

// A thread of its own for periodic jobs, stopped before the store goes away.
class Housekeeping {
 public:
  Housekeeping(store::Store& store, admin::StoreStatusGauges& gauges, std::chrono::seconds gauge_interval)
      : store_(store) {
    boost::asio::co_spawn(ctx_, run(), boost::asio::detached);
    boost::asio::co_spawn(ctx_, refresh_gauges(gauges, gauge_interval), boost::asio::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~Housekeeping() {
    ctx_.stop();
    thread_.join();
  }

 private:
  boost::asio::awaitable<void> run() {
    boost::asio::steady_timer timer(ctx_);
    for (;;) {
      timer.expires_after(std::chrono::seconds(5));
      co_await timer.async_wait(boost::asio::use_awaitable);
      auto changed = co_await connect::sweep_expired_sessions(store_);
      if (changed) ops::log_info("expired setup sessions", {{"count", changed}});
    }
  }
  // Setup sessions and auth configs by status for /metrics: a count over the
  // store, so every few seconds here rather than on each scrape.
  boost::asio::awaitable<void> refresh_gauges(admin::StoreStatusGauges& gauges, std::chrono::seconds interval) {
    boost::asio::steady_timer timer(ctx_);
    for (;;) {
      co_await gauges.refresh(store_);
      timer.expires_after(interval);
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
  }
  store::Store& store_;
  boost::asio::io_context ctx_;
  std::thread thread_;
};

// Routes the store's change feed (writes made by any instance) to this
// process's caches. The store's thread calls it; it is cut off, under its
// lock, before the caches are destroyed.
class ChangeRouter {
 public:
  ChangeRouter(oauth::ConnectionCache& connections, auth::Authenticator& keys)
      : state_(std::make_shared<State>(&connections, &keys)) {}
  ~ChangeRouter() {
    std::lock_guard lock(state_->mutex);
    state_->connections = nullptr;
    state_->keys = nullptr;
  }
  ChangeRouter(const ChangeRouter&) = delete;
  ChangeRouter& operator=(const ChangeRouter&) = delete;

  store::ChangeHandler handler() const {
    return [state = state_](const store::Change& change) {
      std::lock_guard lock(state->mutex);
      if (!state->connections) return;
      switch (change.kind) {
        case store::Change::Kind::auth_config:
          state->connections->invalidate(change.id, change.version);
          if (change.lookups) state->connections->forget_users();
          break;
        case store::Change::Kind::api_key: state->keys->forget_key(change.id); break;
        case store::Change::Kind::resync:
          state->connections->expire_all();
          state->keys->expire_all();
          break;
      }
    };
  }

 private:
  struct State {
    State(oauth::ConnectionCache* c, auth::Authenticator* k) : connections(c), keys(k) {}
    std::mutex mutex;
    oauth::ConnectionCache* connections;
    auth::Authenticator* keys;
  };
  std::shared_ptr<State> state_;
};

// TOLLGATE_TEST_REFRESH_PAUSE=<point> (tests only): refreshes stop at that
// point for two minutes, so a test can kill the process there.
oauth::RefreshOptions refresh_options() {
  oauth::RefreshOptions options;
  if (const char* point = std::getenv("TOLLGATE_TEST_REFRESH_PAUSE"); point && *point) {
    options.pause_at = point;
    options.pause_for = std::chrono::minutes(2);
  }
  return options;
}

// Names this process's journal shard files: host and pid, so two processes
// (or a restart) never write to the same file.
std::string instance_id() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::string id;
  for (char c : std::string(host.data())) id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  if (id.empty()) id = "tollgate";
  return id + "-" + std::to_string(::getpid());
}

void print_diagnostics(const config::LoadResult& result, std::ostream& out) {
  for (const auto& d : result.diagnostics) out << d.format() << '\n';
}

void reload(config::LiveConfig& live, const std::filesystem::path& file) {
  auto result = config::load(file);
  for (const auto& d : result.diagnostics)
    ops::log(d.severity == config::Diagnostic::Severity::error ? ops::Level::error : ops::Level::warn,
             "config reload: " + d.format());
  if (!result.ok()) {
    ops::log_error("config reload refused: the new config does not validate; the old one keeps serving",
                   {{"config", file.string()}});
    return;
  }
  auto blockers = config::reload_blockers(*live.get(), *result.config);
  if (!blockers.empty()) {
    for (const auto& b : blockers)
      ops::log_error("config reload refused; the old config keeps serving", {{"reason", b}});
    return;
  }
  live.publish(result.config);
  apply_logging(result.config->logging);
  ops::log_info("config reloaded", {{"config", file.string()}});
}

}  // namespace

int serve(const std::filesystem::path& config_file) {
  auto result = config::load(config_file);
  print_diagnostics(result, std::cerr);
  if (!result.ok()) {
    std::cerr << "tollgate: " << config_file.string() << " has errors; fix them (see `tollgate check-config`)\n";
    return 1;
  }
  const auto& cfg = *result.config;
  apply_logging(cfg.logging);

  // Block the signals in every thread (workers inherit the mask); the main
  // thread takes them synchronously with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  crypto::Keyring keyring;
  auth::AdminKey admin_key;
  std::unique_ptr<store::Store> store;
  try {
    keyring = open_keyring(cfg.secrets);
    admin_key = auth::load_or_create_admin_key(cfg.admin.key_file, env("TOLLGATE_ADMIN_KEY"));
    if (admin_key.created) ops::log_info("created the admin key file", {{"admin_key_file", admin_key.source}});
    // Every store call is timed for /metrics (tollgate_store_*).
    store = store::instrument(open_store(cfg.store));
  } catch (const std::exception& e) {
    std::cerr << "tollgate: " << e.what() << '\n';
    return 1;
  }
  auth::Authenticator authenticator(*store, admin_key.key);
  admin::Services services{*store, authenticator, keyring};

  auto live = std::make_shared<config::LiveConfig>(result.config);
  auto router = std::make_shared<http::Router>();
  admin::add_health_routes(*router, *store);
  ops::declare_tollgate_metrics();
  admin::add_metrics_route(*router);
  admin::add_dashboard_routes(*router, admin::DashboardOptions{authenticator, admin_key.key});
  admin::add_tenant_routes(*router, services);
  admin::add_provider_routes(*router, services);
  admin::add_auth_config_routes(*router, services);
  admin::add_usage_routes(*router, services);
  upstream::UpstreamClients upstream_clients;
  // Auth configs with their credentials, in memory for the relay's hot path;
  // every writer in this process (refreshes, revocations, reconnects) updates it.
  oauth::ConnectionCache connection_cache;
  oauth::RefreshCoordinator refresh_coordinator(*store, keyring, upstream_clients, &connection_cache,
                                                refresh_options());
  // Other instances' writes reach these caches within a second (Redis); with
  // SQLite this process is the only writer and the feed stays silent.
  ChangeRouter change_router(connection_cache, authenticator);
  store->watch_changes(change_router.handler());
  connect::ConnectServices connect_services{services, upstream_clients, refresh_coordinator, connection_cache};
  connect::add_connect_routes(*router, connect_services);
  // Housekeeping off the workers: the setup-session sweep (reads also expire
  // overdue sessions; the sweep makes lists agree).
  admin::StoreStatusGauges status_gauges(ops::Registry::global());
  // SQLite counts with one indexed query; Redis walks every tenant's lists, so less often.
  Housekeeping housekeeping(*store, status_gauges,
                            cfg.store.kind == config::StoreKind::sqlite ? std::chrono::seconds(5) : std::chrono::seconds(30));

  // Metering (SPEC §6): the journal replays what an earlier run left; the
  // quota gate reads the store's counts after each flush. The relay records
  // into `meter` and asks `quota_gate` before forwarding.
  metering::QuotaGate quota_gate(*store);  // before the meter, whose flusher calls it
  std::unique_ptr<metering::Meter> meter;
  try {
    metering::MeterOptions meter_options;
    meter_options.enabled = cfg.metering.enabled;
    meter_options.flush_interval = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.metering.flush_interval);
    meter_options.journal_dir = cfg.metering.journal_dir;
    meter_options.instance_id = instance_id();
    meter = std::make_unique<metering::Meter>(*store, meter_options);
  } catch (const std::exception& e) {
    std::cerr << "tollgate: " << e.what() << '\n';
    return 1;
  }
  quota_gate.count_flushed_with([&meter](std::string_view tenant) { return meter->flushed_calls(tenant); });
  meter->observe_flushes([&quota_gate] { quota_gate.before_flush(); },
                         [&quota_gate] { return quota_gate.after_flush(); });
  relay::RelayServices relay_services{services,          upstream_clients, refresh_coordinator, connection_cache,
                                      *meter,            quota_gate};
  relay::add_relay_routes(*router, relay_services);

  http::Server server(live, router);
  auto connections_gauge = ops::Registry::global().register_gauge_callback(
      ops::metric::http_connections, [&server](ops::GaugeSink& sink) { sink.set({}, static_cast<double>(server.connections())); });
  auto pool_gauge = ops::Registry::global().register_gauge_callback(
      ops::metric::upstream_connections, [&upstream_clients](ops::GaugeSink& sink) {
        auto stats = upstream_clients.pool_stats();
        sink.set({"idle"}, static_cast<double>(stats.idle));
        sink.set({"active"}, static_cast<double>(stats.active));
      });
  auto waiting_gauge = ops::Registry::global().register_gauge_callback(
      ops::metric::metering_pending_batches,
      [&meter](ops::GaugeSink& sink) { sink.set({}, static_cast<double>(meter->stats().waiting_shards)); });
  auto journal_gauge = ops::Registry::global().register_gauge_callback(
      ops::metric::metering_journal_bytes,
      [&meter](ops::GaugeSink& sink) { sink.set({}, static_cast<double>(meter->stats().journal_bytes)); });
  std::uint16_t port = 0;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    std::cerr << "tollgate: cannot listen on " << cfg.server.listen.host << ':' << cfg.server.listen.port << ": "
              << e.what() << '\n';
    return 1;
  }
  std::string host = cfg.server.listen.host.find(':') != std::string::npos ? "[" + cfg.server.listen.host + "]"
                                                                         : cfg.server.listen.host;
  ops::log_info("listening", {{"address", host + ":" + std::to_string(port)},
                              {"public_url", cfg.server.public_url},
                              {"workers", server.workers()},
                              {"config", cfg.file.string()},
                              {"store", cfg.store.kind == config::StoreKind::sqlite ? "sqlite" : "redis"},
                              {"database", cfg.store.kind == config::StoreKind::sqlite ? cfg.store.sqlite.path.string()
                                                                                       : "(redis)"},
                              {"keys_file", cfg.secrets.keys.empty() ? cfg.secrets.keys_file.string() : "(inline)"},
                              {"admin_key", admin_key.source},
                              {"master_keys", keyring.size()}});

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(*live, cfg.file);
      continue;
    }
    auto grace = live->get()->server.timeouts.shutdown_grace;
    ops::log_info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                    {"open_connections", server.connections()},
                                    {"grace_ms", grace.count()}});
    server.shutdown(grace);
    upstream_clients.close_all();  // while the workers' io_contexts, which own the pooled sockets, still exist
    const bool flushed = meter->stop();
    if (!flushed) ops::log_warn("metering: some usage is still in the journal; the next start replays it", {});
    ops::log_info("stopped", {{"open_connections", server.connections()}, {"usage_flushed", flushed}});
    return 0;
  }
}

}  // namespace tollgate::cli
