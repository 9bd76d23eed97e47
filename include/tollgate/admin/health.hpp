#pragma once
// GET /healthz (the process answers) and GET /readyz (it can serve: a config
// is loaded and the store answers).
#include "tollgate/http/router.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::admin {

void add_health_routes(http::Router& router, store::Store& store);

}  // namespace tollgate::admin
