#include <boost/asio/use_awaitable.hpp>

#include "tollgate/auth/principal.hpp"
#include "tollgate/crypto/hash.hpp"

namespace tollgate::auth {

using errors::Code;

Authenticator::Authenticator(store::Store& store, crypto::Secret admin_key)
    : store_(store), admin_key_hash_(crypto::hash_key(admin_key.reveal())) {}

boost::asio::awaitable<AuthResult> Authenticator::authenticate(std::string_view header) {
  static constexpr std::string_view kBearer = "Bearer ";
  const errors::Error denied{Code::unauthenticated,
                             "a valid API key is required: send Authorization: Bearer <key>"};
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) co_return denied;
  auto key = header.substr(kBearer.size());
  // Hashing first makes both comparisons constant-time in the key's contents.
  auto hash = crypto::hash_key(key);
  if (crypto::constant_time_equal(hash, admin_key_hash_)) co_return Principal{Principal::Kind::admin, {}, {}};
  auto found = co_await store_.find_api_key_by_hash(hash);
  if (!found) {
    if (found.is(store::Errc::not_found)) co_return denied;
    co_return errors::Error{Code::store_unavailable, "the store cannot be reached to check the API key"};
  }
  if (found->revoked_at) co_return denied;
  co_return Principal{Principal::Kind::tenant, found->tenant_id, found->id};
}

std::variant<std::string, errors::Error> acting_tenant(const Principal& who, std::string_view tenant_header) {
  if (!who.is_admin()) {
    if (!tenant_header.empty() && tenant_header != who.tenant_id)
      return errors::Error{Code::forbidden, "a tenant key acts only for its own tenant; drop Tollgate-Tenant"};
    return who.tenant_id;
  }
  if (tenant_header.empty())
    return errors::Error{Code::bad_request, "the admin key must name the tenant with the Tollgate-Tenant header"};
  return std::string(tenant_header);
}

}  // namespace tollgate::auth
