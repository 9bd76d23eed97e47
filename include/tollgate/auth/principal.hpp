#pragma once
// Who is calling: the operator (admin key) or a tenant (one of its API keys).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>

#include "tollgate/crypto/hash.hpp"
#include "tollgate/crypto/secret.hpp"
#include "tollgate/errors/error.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::auth {

struct Principal {
  enum class Kind { admin, tenant } kind = Kind::tenant;
  std::string tenant_id;  // for a tenant key
  std::string key_id;     // for a tenant key
  bool is_admin() const noexcept { return kind == Kind::admin; }
};

using AuthResult = std::variant<Principal, errors::Error>;

// Checks `Authorization: Bearer <key>` against the admin key and the stored
// tenant key hashes. A missing, malformed, unknown or revoked key answers
// unauthenticated (one message for all, so the answer does not tell which);
// a store that cannot be reached answers store_unavailable.
//
// Valid tenant keys are cached by hash for `ttl`, so the relay's hot path makes
// no store round trip, and a cached key keeps working while the store is down
// (SPEC §5 "Store outage"). Revoking a key drops it at once (forget_key): in
// this process by the admin route, in the others through the store's change
// feed (serve wires it), with expire_all when changes may have been missed.
class Authenticator {
 public:
  Authenticator(store::Store& store, crypto::Secret admin_key,
                std::chrono::milliseconds ttl = std::chrono::seconds(30));
  ~Authenticator();
  // `memo`, when given, remembers the key's hash for the connection it came on.
  boost::asio::awaitable<AuthResult> authenticate(std::string_view authorization_header,
                                                  crypto::KeyHashMemo* memo = nullptr);
  // authenticate's answer when it needs no store: a malformed header, the
  // admin key, or a tenant key in the cache; nullopt when the store must be
  // asked. A plain function: the hot path's known key enters no coroutine.
  std::optional<AuthResult> known(std::string_view authorization_header, crypto::KeyHashMemo* memo = nullptr);
  // The key was revoked: it is refused from now on.
  void forget_key(std::string_view key_id);
  // Changes may have been missed: every cached key is checked with the store
  // again (and still used while the store cannot answer).
  void expire_all();

 private:
  struct Cache;
  // The answer for a key's hash without the store: the admin, or a cached key.
  std::optional<AuthResult> known_by_hash(const std::string& hash);
  store::Store& store_;
  std::string admin_key_hash_;
  std::unique_ptr<Cache> cache_;
};

// The tenant a request acts for. A tenant key acts for its own tenant (a
// Tollgate-Tenant header naming another tenant is forbidden); the admin key
// names the tenant with Tollgate-Tenant (bad_request when missing).
std::variant<std::string, errors::Error> acting_tenant(const Principal& who, std::string_view tenant_header);

}  // namespace tollgate::auth
