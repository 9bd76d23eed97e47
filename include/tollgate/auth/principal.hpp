#pragma once
// Who is calling: the operator (admin key) or a tenant (one of its API keys).
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>

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
class Authenticator {
 public:
  Authenticator(store::Store& store, crypto::Secret admin_key);
  boost::asio::awaitable<AuthResult> authenticate(std::string_view authorization_header);

 private:
  store::Store& store_;
  std::string admin_key_hash_;
};

// The tenant a request acts for. A tenant key acts for its own tenant (a
// Tollgate-Tenant header naming another tenant is forbidden); the admin key
// names the tenant with Tollgate-Tenant (bad_request when missing).
std::variant<std::string, errors::Error> acting_tenant(const Principal& who, std::string_view tenant_header);

}  // namespace tollgate::auth
