// The timing decorator. Each operation forwards to the wrapped store inside
// `timed`, which starts the clock when the caller awaits (awaitables are lazy).
#include "tollgate/store/instrumented.hpp"

#include <chrono>

#include "tollgate/ops/instruments.hpp"

namespace tollgate::store {
namespace {

template <typename T>
Task<T> timed(std::string_view operation, Task<T> task) {
  const auto started = std::chrono::steady_clock::now();
  auto result = co_await std::move(task);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string_view failure;
  if (result.is(Errc::unavailable) || result.is(Errc::corrupt)) failure = to_string(result.error().code);
  ops::record_store_operation(operation, seconds, failure);
  co_return result;
}

class InstrumentedStore final : public Store {
 public:
  explicit InstrumentedStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Task<Unit> ping() override { return timed("ping", inner_->ping()); }

  Task<Tenant> create_tenant(Tenant t) override { return timed("create_tenant", inner_->create_tenant(std::move(t))); }
  Task<Tenant> get_tenant(std::string id) override { return timed("get_tenant", inner_->get_tenant(std::move(id))); }
  Task<Page<Tenant>> list_tenants(std::string cursor, std::size_t limit) override {
    return timed("list_tenants", inner_->list_tenants(std::move(cursor), limit));
  }
  Task<Tenant> update_tenant(Tenant t) override { return timed("update_tenant", inner_->update_tenant(std::move(t))); }

  Task<ApiKey> create_api_key(ApiKey k) override { return timed("create_api_key", inner_->create_api_key(std::move(k))); }
  Task<ApiKey> get_api_key(std::string id) override { return timed("get_api_key", inner_->get_api_key(std::move(id))); }
  Task<ApiKey> find_api_key_by_hash(std::string hash) override {
    return timed("find_api_key_by_hash", inner_->find_api_key_by_hash(std::move(hash)));
  }
  Task<Page<ApiKey>> list_api_keys(std::string tenant_id, std::string cursor, std::size_t limit) override {
    return timed("list_api_keys", inner_->list_api_keys(std::move(tenant_id), std::move(cursor), limit));
  }
  Task<ApiKey> revoke_api_key(std::string id, Millis at) override {
    return timed("revoke_api_key", inner_->revoke_api_key(std::move(id), at));
  }

  Task<ProviderSetting> get_provider_setting(std::string tenant_id, std::string provider) override {
    return timed("get_provider_setting", inner_->get_provider_setting(std::move(tenant_id), std::move(provider)));
  }
  Task<std::vector<ProviderSetting>> list_provider_settings(std::string tenant_id) override {
    return timed("list_provider_settings", inner_->list_provider_settings(std::move(tenant_id)));
  }
  Task<ProviderSetting> put_provider_setting(ProviderSetting s) override {
    return timed("put_provider_setting", inner_->put_provider_setting(std::move(s)));
  }

  Task<SetupSession> create_setup_session(SetupSession s) override {
    return timed("create_setup_session", inner_->create_setup_session(std::move(s)));
  }
  Task<SetupSession> get_setup_session(std::string id) override {
    return timed("get_setup_session", inner_->get_setup_session(std::move(id)));
  }
  Task<SetupSession> find_setup_session_by_state(std::string state_hash) override {
    return timed("find_setup_session_by_state", inner_->find_setup_session_by_state(std::move(state_hash)));
  }
  Task<SetupSession> update_setup_session(SetupSession s) override {
    return timed("update_setup_session", inner_->update_setup_session(std::move(s)));
  }
  Task<Page<SetupSession>> list_setup_sessions(std::string tenant_id, SetupSessionFilter filter, std::string cursor,
                                               std::size_t limit) override {
    return timed("list_setup_sessions",
                 inner_->list_setup_sessions(std::move(tenant_id), std::move(filter), std::move(cursor), limit));
  }
  Task<std::vector<SetupSession>> list_expired_setup_sessions(Millis now, std::size_t limit) override {
    return timed("list_expired_setup_sessions", inner_->list_expired_setup_sessions(now, limit));
  }

  Task<AuthConfig> create_auth_config(AuthConfig c) override {
    return timed("create_auth_config", inner_->create_auth_config(std::move(c)));
  }
  Task<AuthConfig> get_auth_config(std::string id) override {
    return timed("get_auth_config", inner_->get_auth_config(std::move(id)));
  }
  Task<AuthConfig> update_auth_config(AuthConfig c) override {
    return timed("update_auth_config", inner_->update_auth_config(std::move(c)));
  }
  Task<Page<AuthConfig>> list_auth_configs(std::string tenant_id, AuthConfigFilter filter, std::string cursor,
                                           std::size_t limit) override {
    return timed("list_auth_configs",
                 inner_->list_auth_configs(std::move(tenant_id), std::move(filter), std::move(cursor), limit));
  }

  // ---- metering ----
  Task<bool> apply_usage_batch(UsageBatch batch) override {
    return timed("apply_usage_batch", inner_->apply_usage_batch(std::move(batch)));
  }
  Task<std::vector<UsageRow>> query_usage(UsageFilter filter, Day from_day, Day to_day) override {
    return timed("query_usage", inner_->query_usage(std::move(filter), from_day, to_day));
  }
  Task<RateGrant> take_rate_tokens(std::string tenant_id, double rate_per_second, std::uint64_t capacity,
                                   std::uint64_t want) override {
    return timed("take_rate_tokens",
                 inner_->take_rate_tokens(std::move(tenant_id), rate_per_second, capacity, want));
  }

  // ---- cross-instance refresh and change feed ----
  Task<bool> acquire_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                  std::chrono::milliseconds ttl) override {
    return timed("acquire_refresh_lock", inner_->acquire_refresh_lock(std::move(tenant_id), std::move(auth_config_id),
                                                                      std::move(owner), ttl));
  }
  Task<bool> renew_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner,
                                std::chrono::milliseconds ttl) override {
    return timed("renew_refresh_lock", inner_->renew_refresh_lock(std::move(tenant_id), std::move(auth_config_id),
                                                                  std::move(owner), ttl));
  }
  Task<bool> release_refresh_lock(std::string tenant_id, std::string auth_config_id, std::string owner) override {
    return timed("release_refresh_lock",
                 inner_->release_refresh_lock(std::move(tenant_id), std::move(auth_config_id), std::move(owner)));
  }
  void watch_changes(ChangeHandler handler) override { inner_->watch_changes(std::move(handler)); }

  // ---- counts by status ----
  Task<StatusCounts> count_setup_sessions_by_status() override {
    return timed("count_setup_sessions_by_status", inner_->count_setup_sessions_by_status());
  }
  Task<StatusCounts> count_auth_configs_by_status() override {
    return timed("count_auth_configs_by_status", inner_->count_auth_configs_by_status());
  }

 private:
  std::unique_ptr<Store> inner_;
};

}  // namespace

std::unique_ptr<Store> instrument(std::unique_ptr<Store> inner) {
  return std::make_unique<InstrumentedStore>(std::move(inner));
}

}  // namespace tollgate::store
