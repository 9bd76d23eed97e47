#include <doctest/doctest.h>

#include <boost/asio/awaitable.hpp>

#include "tollgate/http/router.hpp"

using tollgate::http::Exchange;
using tollgate::http::Router;
using Kind = Router::Match::Kind;

namespace {
boost::asio::awaitable<void> noop(Exchange&) { co_return; }
}  // namespace

TEST_CASE("the router matches literal, parameter and rest segments") {
  Router r;
  r.add("GET", "/v1/tenants", noop);
  r.add("POST", "/v1/tenants", noop);
  r.add("GET", "/v1/tenants/{id}", noop);
  r.add("*", "/v1/proxy/{provider}/{path*}", noop);

  auto m = r.match("GET", "/v1/tenants/tnt_1");
  REQUIRE(m.kind == Kind::found);
  REQUIRE(m.params.size() == 1);
  CHECK(m.params[0].second == "tnt_1");

  m = r.match("PATCH", "/v1/proxy/gitlab/api/v4/projects/a%2Fb/issues");
  REQUIRE(m.kind == Kind::found);
  CHECK(m.params[0].second == "gitlab");
  CHECK(m.params[1].second == "api/v4/projects/a%2Fb/issues");  // never decoded

  m = r.match("GET", "/v1/proxy/github");
  REQUIRE(m.kind == Kind::found);
  CHECK(m.params[1].second == "");

  CHECK(r.match("GET", "/v1/tenants/").kind == Kind::not_found);
  CHECK(r.match("GET", "/v1/tenants/a/b").kind == Kind::not_found);
  CHECK(r.match("GET", "/v1/other").kind == Kind::not_found);

  m = r.match("DELETE", "/v1/tenants");
  CHECK(m.kind == Kind::method_not_allowed);
  CHECK(m.allow == "GET, POST");
}
