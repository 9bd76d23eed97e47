#pragma once
// tollgate's own REST API (SPEC §4): the routes and what they need.
#include "tollgate/auth/principal.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/http/router.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::admin {

struct Services {
  store::Store& store;
  auth::Authenticator& auth;
  const crypto::Keyring& keyring;  // seals tenants' secrets (SPEC §7)
};

// POST/GET /v1/tenants, GET/PATCH /v1/tenants/{id}, POST/GET
// /v1/tenants/{id}/api-keys, DELETE /v1/api-keys/{id}.
void add_tenant_routes(http::Router& router, Services& services);

// GET /v1/providers[/{key}], GET/PUT /v1/providers/{key}/mode, PUT /v1/providers/{key}/app.
void add_provider_routes(http::Router& router, Services& services);

// GET /v1/auth-configs, GET /v1/auth-configs/{id} (metadata only).
void add_auth_config_routes(http::Router& router, Services& services);

// GET /v1/usage (?tenant=&from=&to=&group_by=&format=json|csv) and GET
// /v1/billing/report (?tenant=&period=YYYY-MM&format=json|csv).
void add_usage_routes(http::Router& router, Services& s);

}  // namespace tollgate::admin
