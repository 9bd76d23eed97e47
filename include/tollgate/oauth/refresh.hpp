#pragma once
// The refresh coordinator (SPEC §5 "Refresh"): brings an auth config's access
// token up to date, with one token request per auth config at a time in this
// process however many workers ask at once — and, through the store's refresh
// lock, across every instance that shares the store — and stores a rotated
// refresh token before anyone gets the new access token. Before the token
// request it leaves an in-flight marker on the auth config, so that a process
// that dies with the answer unstored is noticed and its possibly rotated
// refresh token never sent again (README "Crash windows of a refresh").
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/errors/error.hpp"
#include "tollgate/oauth/connection_cache.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::store {
class Store;
}
namespace tollgate::crypto {
class Keyring;
}
namespace tollgate::upstream {
class UpstreamClients;
}

namespace tollgate::oauth {

struct RefreshResult {
  // The auth config as stored after the refresh (or as found, when none was needed).
  std::optional<store::AuthConfig> config;
  // Set on failure (then `config` may hold the record as it now is). Never holds a secret.
  std::optional<errors::Error> error;
  // This call's flight sent a token request that succeeded (and its tokens are stored).
  bool token_request_made = false;
};

struct RefreshOptions {
  // The refresh lock lives this long unless renewed (renewed every third of it
  // while the token request runs), so a dead holder's lock is gone by then.
  std::chrono::milliseconds lock_ttl{10000};
  // How long a refresh waits for another instance's lock before it answers refresh_failed.
  std::chrono::milliseconds lock_wait{60000};
  // After a failed refresh, refreshes that are not forced answer refresh_failed
  // at once for this long instead of asking the provider again.
  std::chrono::milliseconds cooldown{30000};
  // Tests only (TOLLGATE_TEST_REFRESH_PAUSE): the flight stops this long at
  // `pause_at` ("after_lock", "before_request", "after_answer", "after_write")
  // after logging it, so a test can kill the process in that window.
  std::string pause_at;
  std::chrono::milliseconds pause_for{0};
};

class RefreshCoordinator {
 public:
  // Keeps references: all must outlive the coordinator, and the coordinator
  // every refresh() it started. `cache`, when given, learns the version of every
  // record a refresh ends with (so no older copy of a rotated token is served).
  RefreshCoordinator(store::Store& store, const crypto::Keyring& keyring, upstream::UpstreamClients& clients,
                     ConnectionCache* cache = nullptr, RefreshOptions options = {});
  ~RefreshCoordinator();
  RefreshCoordinator(const RefreshCoordinator&) = delete;
  RefreshCoordinator& operator=(const RefreshCoordinator&) = delete;

  // Refreshes auth config `id` of `tenant_id` (another tenant's id: auth_config_not_found).
  // force=false refreshes only when the access token is missing or expires within
  // cfg->relay.refresh_margin; force=true always. Calls for the same auth config that
  // overlap — from any thread or io_context — share one flight (one token request, one
  // result), a forced call never settling for a flight that decided no refresh was
  // needed. Each caller resumes on its own executor. The flight runs to its end even
  // when the caller that started it goes away, so a rotated token is always stored.
  boost::asio::awaitable<RefreshResult> refresh(std::string tenant_id, std::string id, bool force,
                                               std::shared_ptr<const config::Config> cfg);

  // The provider refused the access token of version `rejected_version` of the
  // auth config (an upstream 401): refreshes unless the stored token is already
  // another one — so a hundred calls refused with one token make one token
  // request, and a call that comes after the refresh makes none.
  boost::asio::awaitable<RefreshResult> refresh_rejected(std::string tenant_id, std::string id,
                                                         std::uint64_t rejected_version,
                                                         std::shared_ptr<const config::Config> cfg);

  // Token requests attempted so far, retries included (tests, metrics).
  std::uint64_t token_requests() const;

 private:
  boost::asio::awaitable<RefreshResult> join(std::string tenant_id, std::string id, bool force,
                                             std::uint64_t rejected, std::shared_ptr<const config::Config> cfg);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::oauth
