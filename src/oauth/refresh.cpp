// Single flight: every caller, the first included, is a waiter of the flight for
// its (tenant, auth config); the first one also spawns the flight on its own
// executor. The flight is a detached coroutine rather than the first caller's own
// frame, so that a caller that goes away (its client disconnected, its deadline
// passed) cannot abandon a token request whose answer carries a rotated refresh
// token: the flight always gets to store it. Waiters keep their io_context alive
// with a work guard and are resumed by a post to their own executor.
#include "tollgate/oauth/refresh.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tollgate/crypto/keyring.hpp"
#include "tollgate/oauth/apps.hpp"
#include "tollgate/oauth/grants.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/store/store.hpp"
#include "tollgate/upstream/clients.hpp"

namespace tollgate::oauth {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using errors::Code;
using std::chrono::milliseconds;

// SPEC §5: a token endpoint that could not be reached, or answered 429 or 5xx, is
// retried with backoff: three attempts in all, 250 ms then 500 ms apart, longer when
// the provider's Retry-After asks for it (up to 5 s).
constexpr int kGrantAttempts = 3;
constexpr milliseconds kFirstGrantBackoff{250};
constexpr milliseconds kMaxRetryAfter{5000};
// Writing the result back: store failures are retried with backoff (50, 100, 200 …
// ms), compare-and-set conflicts at once on a fresh read.
constexpr int kStoreAttempts = 6;
constexpr milliseconds kFirstStoreBackoff{50};

const std::string kActive = "active";
const std::string kNeedsReauth = "needs_reauth";
const std::string kRevoked = "revoked";

store::Millis now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

RefreshResult failure(Code code, std::string message, std::optional<store::AuthConfig> config = std::nullopt) {
  RefreshResult result;
  result.config = std::move(config);
  result.error = errors::Error{code, std::move(message)};
  return result;
}

RefreshResult found(store::AuthConfig config, bool token_request_made) {
  RefreshResult result;
  result.config = std::move(config);
  result.token_request_made = token_request_made;
  return result;
}

RefreshResult not_found(const std::string& id) {
  return failure(Code::auth_config_not_found, "no auth config " + id);
}

RefreshResult store_down(std::optional<store::AuthConfig> config = std::nullopt) {
  return failure(Code::store_unavailable, "the store is unavailable; retry shortly", std::move(config));
}

RefreshResult reauth(store::AuthConfig config) {
  std::string message = "auth config " + config.id + " is " + config.status + "; the end user must connect again";
  return failure(Code::reauth_required, std::move(message), std::move(config));
}

// The refresh did not happen; the auth config is left as it is (still active).
RefreshResult refresh_failed(const store::AuthConfig& config, const std::string& why) {
  return failure(Code::refresh_failed, "refreshing auth config " + config.id + " failed: " + why, config);
}

RefreshResult refused(store::AuthConfig config) {
  std::string message = "the provider refused the refresh token of auth config " + config.id +
                        " (invalid_grant); the end user must connect again";
  return failure(Code::reauth_required, std::move(message), std::move(config));
}

bool stopped(const std::string& status) { return status == kNeedsReauth || status == kRevoked; }

// SPEC §5: a token that expires within relay.refresh_margin is refreshed; one with
// no known expiry is not (only a forced refresh, e.g. after a 401, renews it).
bool needs_refresh(const store::AuthConfig& ac, const config::Config& cfg) {
  if (ac.access_token_sealed.empty()) return true;
  if (!ac.expires_at) return false;
  return *ac.expires_at - now_ms() <= cfg.relay.refresh_margin.count();
}

// Another writer (a reconnect, another instance's refresh) stored other tokens.
bool tokens_changed(const store::AuthConfig& before, const store::AuthConfig& now) {
  return before.refresh_token_sealed != now.refresh_token_sealed ||
         before.access_token_sealed != now.access_token_sealed;
}

// Whether another attempt is safe (SPEC §5): never after an answer was lost once the
// request had left, whatever the grant layer says, since the provider may have
// rotated the refresh token already.
bool may_retry(const GrantError& error) {
  const bool answer_lost = error.request_sent && error.http_status == 0;
  return error.retryable && !answer_lost;
}

milliseconds grant_backoff(int failed_attempts, const GrantError& error) {
  milliseconds delay = kFirstGrantBackoff * (1 << (failed_attempts - 1));
  if (error.retry_after) {
    const auto asked = std::min<milliseconds>(std::chrono::duration_cast<milliseconds>(*error.retry_after),
                                              kMaxRetryAfter);
    delay = std::max(delay, asked);
  }
  return delay;
}

std::string grant_failure_text(const GrantError& error) {
  std::string text = error.message;
  if (error.request_sent && error.http_status == 0)
    text += " (not retried: the provider may already have acted on the request)";
  return text;
}

// Metrics: one per token request of a flight (its leader's), never per waiter.
void record_grant(const std::string& provider, const GrantResult& outcome) {
  if (std::holds_alternative<TokenSet>(outcome)) return ops::record_refresh(provider);
  const auto& e = std::get<GrantError>(outcome);
  std::string_view reason = e.code == "invalid_grant"             ? "invalid_grant"
                            : !e.request_sent                     ? "unreachable"
                            : e.http_status == 0                  ? "lost"
                                                                  : "rejected";
  ops::record_refresh_failure(provider, reason);
}

// What the token request is made with.
struct GrantInput {
  bool refresh_grant = true;   // false: client credentials
  AppCredentials app;
  crypto::Secret refresh_token;  // refresh grant only
};

// A caller waiting for a flight's result, whatever its completion handler type.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Resumes the caller on its own executor with `result`.
  virtual void complete(RefreshResult result) = 0;
};

template <typename Handler>
class WaiterFor final : public Waiter {
 public:
  WaiterFor(Handler handler, asio::any_io_executor home)
      : handler_(std::move(handler)), work_(asio::make_work_guard(home)) {}

  void complete(RefreshResult result) override {
    auto executor = work_.get_executor();
    asio::post(executor, [handler = std::move(handler_), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
    work_.reset();
  }

 private:
  Handler handler_;
  // The caller's io_context must not run out of work while its coroutine waits on
  // a flight that another io_context runs.
  asio::executor_work_guard<asio::any_io_executor> work_;
};

using FlightKey = std::pair<std::string, std::string>;  // tenant id, auth config id

struct Flight {
  FlightKey key;
  // Guarded by Impl::mutex:
  bool forced = false;    // some waiter asked for a refresh even of a fresh token
  std::uint64_t rejected = 0;  // the newest version whose token a waiter saw refused (0: none)
  bool finished = false;  // the result went out; the flight is no longer joinable
  std::vector<std::unique_ptr<Waiter>> waiters;
};

}  // namespace

struct RefreshCoordinator::Impl {
  store::Store& store;
  const crypto::Keyring& keyring;
  upstream::UpstreamClients& clients;
  std::atomic<std::uint64_t> requests{0};

  std::mutex mutex;
  std::map<FlightKey, std::shared_ptr<Flight>> flights;  // the running ones

  ConnectionCache* cache = nullptr;  // told of every record a flight ends with

  Impl(store::Store& s, const crypto::Keyring& k, upstream::UpstreamClients& c, ConnectionCache* cc)
      : store(s), keyring(k), clients(c), cache(cc) {}

  // ---- single flight ----

  template <typename Handler>
  void join(Handler handler, asio::any_io_executor executor, std::string tenant_id, std::string id, bool force,
            std::uint64_t rejected, std::shared_ptr<const config::Config> cfg) {
    std::shared_ptr<Flight> started;
    {
      std::lock_guard lock(mutex);
      auto& flight = flights[FlightKey{tenant_id, id}];
      if (!flight) {
        flight = std::make_shared<Flight>();
        flight->key = FlightKey{tenant_id, id};
        started = flight;
      }
      if (force) flight->forced = true;
      flight->rejected = std::max(flight->rejected, rejected);
      flight->waiters.push_back(std::make_unique<WaiterFor<Handler>>(std::move(handler), executor));
    }
    if (started)
      asio::co_spawn(executor, fly(std::move(started), std::move(tenant_id), std::move(id), std::move(cfg)),
                     asio::detached);
  }

  // Ends the flight (once) and hands its waiters over; the caller completes them.
  std::vector<std::unique_ptr<Waiter>> settle_locked(Flight& flight) {
    flight.finished = true;
    auto it = flights.find(flight.key);
    if (it != flights.end() && it->second.get() == &flight) flights.erase(it);
    return std::move(flight.waiters);
  }

  static void complete_all(std::vector<std::unique_ptr<Waiter>> waiters, const RefreshResult& result) {
    for (auto& waiter : waiters) waiter->complete(result);
  }

  void finish(Flight& flight, const RefreshResult& result) {
    std::vector<std::unique_ptr<Waiter>> waiters;
    {
      std::lock_guard lock(mutex);
      if (flight.finished) return;
      waiters = settle_locked(flight);
    }
    complete_all(std::move(waiters), result);
  }

  // Answers "nothing to do" unless a forced call joined, or one whose token — the
  // one stored now — was refused; decided under the lock, so that no such call
  // can join a flight that will not refresh.
  bool finish_unless_forced(Flight& flight, const RefreshResult& result) {
    std::vector<std::unique_ptr<Waiter>> waiters;
    {
      std::lock_guard lock(mutex);
      if (flight.forced || flight.finished) return false;
      if (result.config && flight.rejected >= result.config->version) return false;
      waiters = settle_locked(flight);
    }
    complete_all(std::move(waiters), result);
    return true;
  }

  // Waiters never wait forever: if the flight's frame dies without an answer (its
  // io_context was destroyed), they get an error.
  struct FlightEnd {
    Impl& impl;
    std::shared_ptr<Flight> flight;
    ~FlightEnd() {
      impl.finish(*flight, failure(Code::internal, "the refresh was abandoned (the relay is shutting down)"));
    }
  };

  awaitable<void> fly(std::shared_ptr<Flight> flight, std::string tenant_id, std::string id,
                      std::shared_ptr<const config::Config> cfg) {
    FlightEnd end{*this, flight};
    RefreshResult result;
    try {
      result = co_await lead(*flight, tenant_id, id, *cfg);
    } catch (const std::exception&) {
      // No detail: an exception's text is not known to be free of secrets.
      result = failure(Code::internal, "refreshing auth config " + id + " failed unexpectedly");
    }
    if (cache && result.config) cache->invalidate(result.config->id, result.config->version);
    finish(*flight, result);
  }

  // ---- the flight ----

  awaitable<RefreshResult> lead(Flight& flight, const std::string& tenant_id, const std::string& id,
                                const config::Config& cfg) {
    auto read = co_await store.get_auth_config(id);
    if (!read) co_return read.is(store::Errc::not_found) ? not_found(id) : store_down();
    store::AuthConfig ac = std::move(read).value();
    if (ac.tenant_id != tenant_id) co_return not_found(id);
    if (stopped(ac.status)) co_return reauth(std::move(ac));

    const auto provider_it = cfg.providers.find(ac.provider);
    if (provider_it == cfg.providers.end())
      co_return refresh_failed(ac, "provider " + ac.provider + " is not in the provider catalog");
    const config::Provider& provider = provider_it->second;
    if (provider.auth_mode == config::AuthMode::api_key || provider.auth_mode == config::AuthMode::basic) {
      co_return failure(Code::bad_request,
                        "auth config " + id + " holds an API key (provider " + provider.key +
                            "); there is no token to refresh",
                        std::move(ac));
    }

    if (!needs_refresh(ac, cfg)) {
      RefreshResult as_found = found(ac, false);
      if (finish_unless_forced(flight, as_found)) co_return as_found;
    }

    auto input = co_await grant_input(ac, provider, cfg);
    if (auto* stop = std::get_if<RefreshResult>(&input)) co_return std::move(*stop);
    const auto& grant = std::get<GrantInput>(input);

    upstream::Client* client = nullptr;
    std::string no_client;
    const auto executor = co_await asio::this_coro::executor;
    try {
      client = &clients.get(executor, upstream_options(cfg));
    } catch (const std::exception& e) {
      // relay.ca_file could not be loaded; the message names the file, nothing secret.
      no_client = std::string("the upstream client could not be made: ") + e.what();
    }
    if (!client) co_return refresh_failed(ac, no_client);

    GrantResult outcome = co_await request_tokens(*client, provider, ac, grant);
    record_grant(provider.key, outcome);
    if (auto* tokens = std::get_if<TokenSet>(&outcome)) co_return co_await store_tokens(std::move(ac), *tokens);
    const auto& error = std::get<GrantError>(outcome);
    if (grant.refresh_grant && error.code == "invalid_grant") co_return co_await refresh_token_refused(std::move(ac));
    co_return refresh_failed(ac, grant_failure_text(error));
  }

  // The app and secret the token request is made with, or why there is none.
  awaitable<std::variant<GrantInput, RefreshResult>> grant_input(const store::AuthConfig& ac,
                                                                 const config::Provider& provider,
                                                                 const config::Config& cfg) {
    GrantInput input;
    if (provider.auth_mode == config::AuthMode::oauth2_client_credentials) {
      // The connection's own client: a new token needs no refresh token.
      if (ac.client_id.empty()) co_return refresh_failed(ac, "the connection has no client_id");
      input.refresh_grant = false;
      input.app.client_id = crypto::Secret(ac.client_id);
      input.app.label = "connection";
      if (!ac.client_secret_sealed.empty()) {
        auto secret = keyring.unseal(ac.client_secret_sealed, {ac.tenant_id, ac.id, "client_secret"});
        if (!secret) {
          co_return failure(Code::internal,
                            "the stored client secret of auth config " + ac.id +
                                " does not decrypt (" + std::string(crypto::to_string(secret.error)) + ")",
                            ac);
        }
        input.app.client_secret = std::move(*secret.value);
      }
      co_return input;
    }

    // A connection without a refresh token cannot refresh; nothing says the end user
    // must reconnect yet (the access token may still work), so it stays active.
    if (ac.refresh_token_sealed.empty()) {
      co_return refresh_failed(ac,
                               "it has no refresh token (the provider did not issue one); "
                               "connect again when its access token stops working");
    }
    auto refresh_token = keyring.unseal(ac.refresh_token_sealed, {ac.tenant_id, ac.id, "refresh_token"});
    if (!refresh_token) {
      co_return failure(Code::internal,
                        "the stored refresh token of auth config " + ac.id + " does not decrypt (" +
                            std::string(crypto::to_string(refresh_token.error)) + ")",
                        ac);
    }
    input.refresh_token = std::move(*refresh_token.value);

    auto app = co_await issuing_app(store, keyring, cfg, provider, ac);
    if (auto* error = std::get_if<errors::Error>(&app)) {
      if (error->code == Code::store_unavailable) co_return store_down(ac);
      co_return refresh_failed(ac, "the app that issued its tokens cannot be used: " + error->message);
    }
    input.app = std::get<AppCredentials>(std::move(app));
    co_return input;
  }

  // The token request, retried per SPEC §5.
  awaitable<GrantResult> request_tokens(upstream::Client& client, const config::Provider& provider,
                                        const store::AuthConfig& ac, const GrantInput& grant) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const std::vector<std::string> same_scopes;  // a refresh asks for the scopes already granted
    for (int attempt = 1;; ++attempt) {
      requests.fetch_add(1, std::memory_order_relaxed);
      GrantResult outcome;
      if (grant.refresh_grant) {
        outcome = co_await oauth::refresh(client, provider, ac.connection_params, grant.app, grant.refresh_token,
                                          same_scopes);
      } else {
        outcome = co_await oauth::client_credentials(client, provider, ac.connection_params, grant.app,
                                                     ac.scopes_granted);
      }
      const auto* error = std::get_if<GrantError>(&outcome);
      if (!error || attempt == kGrantAttempts || !may_retry(*error)) co_return outcome;
      timer.expires_after(grant_backoff(attempt, *error));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  awaitable<void> store_backoff(int failed_attempts) {
    asio::steady_timer timer(co_await asio::this_coro::executor, kFirstStoreBackoff * (1 << (failed_attempts - 1)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  // Stores the new tokens with compare-and-set, re-applying them to a newer version
  // after a conflict (a rotated refresh token must never be dropped). Only then does
  // anyone get the new access token.
  awaitable<RefreshResult> store_tokens(store::AuthConfig ac, const TokenSet& tokens) {
    const auto now = now_ms();
    const std::string access = keyring.seal(tokens.access_token.reveal(), {ac.tenant_id, ac.id, "access_token"});
    std::string rotated;  // empty: the response has no refresh token, keep the stored one
    if (!tokens.refresh_token.empty())
      rotated = keyring.seal(tokens.refresh_token.reveal(), {ac.tenant_id, ac.id, "refresh_token"});
    bool stale = false;
    int store_failures = 0;
    for (int attempt = 0; attempt < kStoreAttempts; ++attempt) {
      if (store_failures > 0 && !stale) co_await store_backoff(store_failures);
      if (stale) {
        auto fresh = co_await store.get_auth_config(ac.id);
        if (!fresh) {
          if (fresh.is(store::Errc::not_found)) co_return not_found(ac.id);
          ++store_failures;
          co_await store_backoff(store_failures);
          continue;
        }
        const std::string tenant_id = ac.tenant_id;
        ac = std::move(fresh).value();
        if (ac.tenant_id != tenant_id) co_return not_found(ac.id);
        // Disconnected meanwhile: writing tokens back would undo the revocation.
        if (ac.status == kRevoked) co_return reauth(std::move(ac));
        stale = false;
      }

      store::AuthConfig next = ac;
      next.access_token_sealed = access;
      if (!rotated.empty()) next.refresh_token_sealed = rotated;  // else keep the stored one
      next.expires_at.reset();
      if (tokens.expires_in)
        next.expires_at = now + std::chrono::duration_cast<milliseconds>(*tokens.expires_in).count();
      if (!tokens.scopes.empty()) next.scopes_granted = tokens.scopes;
      for (const auto& [name, value] : tokens.connection_params) next.connection_params[name] = value;
      next.last_refreshed_at = now;
      next.updated_at = now;
      next.status = kActive;

      auto written = co_await store.update_auth_config(std::move(next));
      if (written) co_return found(std::move(written).value(), true);
      if (written.is(store::Errc::conflict)) {
        stale = true;
      } else if (written.is(store::Errc::not_found)) {
        co_return not_found(ac.id);
      } else {
        ++store_failures;
      }
    }
    co_return failure(Code::store_unavailable,
                      "the new tokens of auth config " + ac.id + " could not be stored; retry shortly", ac);
  }

  // invalid_grant: unless another writer stored other tokens since `read` (then its
  // record is the answer), the refresh token is dead: mark needs_reauth.
  awaitable<RefreshResult> refresh_token_refused(store::AuthConfig read) {
    int store_failures = 0;
    for (int attempt = 0; attempt < kStoreAttempts; ++attempt) {
      auto current = co_await store.get_auth_config(read.id);
      if (!current) {
        if (current.is(store::Errc::not_found)) co_return not_found(read.id);
        ++store_failures;
        co_await store_backoff(store_failures);
        continue;
      }
      store::AuthConfig ac = std::move(current).value();
      if (ac.tenant_id != read.tenant_id) co_return not_found(read.id);
      if (tokens_changed(read, ac)) co_return stopped(ac.status) ? reauth(std::move(ac)) : found(std::move(ac), false);
      if (stopped(ac.status)) co_return reauth(std::move(ac));

      ac.status = kNeedsReauth;
      ac.updated_at = now_ms();
      auto written = co_await store.update_auth_config(ac);
      if (written) co_return refused(std::move(written).value());
      if (written.is(store::Errc::not_found)) co_return not_found(read.id);
      if (!written.is(store::Errc::conflict)) {
        ++store_failures;
        co_await store_backoff(store_failures);
      }
    }
    // The refresh token is dead whether or not the mark could be written.
    co_return refused(std::move(read));
  }
};

RefreshCoordinator::RefreshCoordinator(store::Store& store, const crypto::Keyring& keyring,
                                       upstream::UpstreamClients& clients, ConnectionCache* cache)
    : impl_(std::make_unique<Impl>(store, keyring, clients, cache)) {}

RefreshCoordinator::~RefreshCoordinator() = default;

boost::asio::awaitable<RefreshResult> RefreshCoordinator::refresh(std::string tenant_id, std::string id, bool force,
                                                                   std::shared_ptr<const config::Config> cfg) {
  return join(std::move(tenant_id), std::move(id), force, 0, std::move(cfg));
}

boost::asio::awaitable<RefreshResult> RefreshCoordinator::refresh_rejected(std::string tenant_id, std::string id,
                                                                            std::uint64_t rejected_version,
                                                                            std::shared_ptr<const config::Config> cfg) {
  return join(std::move(tenant_id), std::move(id), false, rejected_version, std::move(cfg));
}

boost::asio::awaitable<RefreshResult> RefreshCoordinator::join(std::string tenant_id, std::string id, bool force,
                                                                std::uint64_t rejected,
                                                                std::shared_ptr<const config::Config> cfg) {
  Impl* impl = impl_.get();
  // The caller's own executor, taken here: the result is posted back to it, so the
  // caller resumes on its own worker's thread whichever worker ran the flight.
  auto home = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(RefreshResult)>(
      [impl, home, rejected](auto handler, std::string tenant, std::string auth_config, bool forced,
                             std::shared_ptr<const config::Config> config) {
        impl->join(std::move(handler), home, std::move(tenant), std::move(auth_config), forced, rejected,
                   std::move(config));
      },
      asio::use_awaitable, std::move(tenant_id), std::move(id), force, std::move(cfg));
}

std::uint64_t RefreshCoordinator::token_requests() const { return impl_->requests.load(std::memory_order_relaxed); }

}  // namespace tollgate::oauth
