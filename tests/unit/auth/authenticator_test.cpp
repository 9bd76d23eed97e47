// The tenant-key check against a real SQLite store: what is decided without
// the store (known) and what authenticate asks the store for.
#include <doctest/doctest.h>

#include <variant>

#include "temp_dir.hpp"
#include "tollgate/auth/principal.hpp"
#include "tollgate/crypto/hash.hpp"
#include "tollgate/store/sqlite.hpp"
#include "unit/store/run_sync.hpp"

using namespace tollgate;

namespace {

constexpr std::string_view kAdminKey = "tg_admin_test_0123456789abcdef0123456789";
constexpr std::string_view kTenantKey = "tg_live_test_abcdefghijklmnopqrstuvwxyz012345";

struct World {
  test::TempDir dir;
  std::unique_ptr<store::Store> store = store::open_sqlite(dir / "t.db");
  boost::asio::io_context ctx;
  auth::Authenticator auth{*store, crypto::Secret(std::string(kAdminKey))};

  World() {
    store::Tenant t;
    t.id = "tnt_a";
    REQUIRE(test::run_sync(ctx, store->create_tenant(t)).ok());
    store::ApiKey k;
    k.id = "key_a";
    k.tenant_id = "tnt_a";
    k.hash = crypto::hash_key(kTenantKey);
    k.prefix = "tg_live_test";
    REQUIRE(test::run_sync(ctx, store->create_api_key(k)).ok());
  }
  auth::AuthResult authenticate(std::string_view header, crypto::KeyHashMemo* memo = nullptr) {
    return test::run_sync(ctx, auth.authenticate(header, memo));
  }
};

std::string bearer(std::string_view key) { return "Bearer " + std::string(key); }

}  // namespace

TEST_CASE("known answers a malformed header and the admin key at once, and leaves an unseen tenant key to the store") {
  World w;
  for (std::string_view header : {"", "Bearer ", "Basic abc", "bearer x"}) {
    CAPTURE(header);
    auto known = w.auth.known(header);
    REQUIRE(known);
    REQUIRE(std::holds_alternative<errors::Error>(*known));
    CHECK(std::get<errors::Error>(*known).code == errors::Code::unauthenticated);
  }
  auto admin = w.auth.known(bearer(kAdminKey));
  REQUIRE(admin);
  REQUIRE(std::holds_alternative<auth::Principal>(*admin));
  CHECK(std::get<auth::Principal>(*admin).is_admin());
  CHECK_FALSE(w.auth.known(bearer(kTenantKey)));           // not cached yet: the store decides
  CHECK_FALSE(w.auth.known(bearer("tg_live_unknown_key")));  // nor an unknown key
}

TEST_CASE("once authenticate has read a tenant key from the store, known answers it without the store") {
  World w;
  crypto::KeyHashMemo memo;
  auto first = w.authenticate(bearer(kTenantKey), &memo);
  REQUIRE(std::holds_alternative<auth::Principal>(first));
  CHECK(std::get<auth::Principal>(first).tenant_id == "tnt_a");
  for (auto* m : {&memo, static_cast<crypto::KeyHashMemo*>(nullptr)}) {
    auto known = w.auth.known(bearer(kTenantKey), m);
    REQUIRE(known);
    REQUIRE(std::holds_alternative<auth::Principal>(*known));
    CHECK(std::get<auth::Principal>(*known).tenant_id == "tnt_a");
    CHECK(std::get<auth::Principal>(*known).key_id == "key_a");
  }
  // A revoked key is forgotten: known leaves it to the store again, which refuses it.
  w.auth.forget_key("key_a");
  REQUIRE(test::run_sync(w.ctx, w.store->revoke_api_key("key_a", 1)).ok());
  CHECK_FALSE(w.auth.known(bearer(kTenantKey)));
  auto after = w.authenticate(bearer(kTenantKey));
  REQUIRE(std::holds_alternative<errors::Error>(after));
  CHECK(std::get<errors::Error>(after).code == errors::Code::unauthenticated);
  // An unknown key is refused by the store, and stays unknown to known.
  auto unknown = w.authenticate(bearer("tg_live_unknown_key"));
  REQUIRE(std::holds_alternative<errors::Error>(unknown));
  CHECK_FALSE(w.auth.known(bearer("tg_live_unknown_key")));
}
