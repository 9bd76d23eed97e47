#pragma once
// GET /healthz (the process answers) and GET /readyz (it can serve: config
// loaded; later issues add the store).
#include "tollgate/http/router.hpp"

namespace tollgate::admin {

void add_health_routes(http::Router& router);

}  // namespace tollgate::admin
