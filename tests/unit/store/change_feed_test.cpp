// The Redis change feed's bookkeeping, without a socket.
#include <doctest/doctest.h>

#include "../../../src/store/change_feed.hpp"

namespace tollgate::store::redis {
namespace {

TEST_CASE("a published change is read back: auth config with version and lookups, API key") {
  auto a = parse_change("17 a 5 1 pac_x");
  REQUIRE(a);
  CHECK(a->seq == 17);
  CHECK(a->change.kind == Change::Kind::auth_config);
  CHECK(a->change.id == "pac_x");
  CHECK(a->change.version == 5);
  CHECK(a->change.lookups);
  auto k = parse_change("18 k 2 0 key_y");
  REQUIRE(k);
  CHECK(k->change.kind == Change::Kind::api_key);
  CHECK(k->change.id == "key_y");
  CHECK_FALSE(k->change.lookups);
  CHECK_FALSE(parse_change(""));
  CHECK_FALSE(parse_change("x a 1 0 pac"));
  CHECK_FALSE(parse_change("1 z 1 0 pac"));
  CHECK_FALSE(parse_change("1 a 1 0"));
  CHECK_FALSE(parse_change("1 a 1 2 pac"));
}

TEST_CASE("the change tracker asks for a resync only when a counted change never arrived as a message") {
  ChangeTracker t;
  CHECK_FALSE(t.on_poll(40));  // the baseline
  CHECK_FALSE(t.on_poll(40));
  // A change counted at a poll whose message comes before the next poll: fine.
  CHECK_FALSE(t.on_poll(41));
  t.on_message(41);
  CHECK_FALSE(t.on_poll(41));
  // The message came before the poll even saw the counter move.
  t.on_message(42);
  CHECK_FALSE(t.on_poll(42));
  CHECK_FALSE(t.on_poll(42));
  // Counted, and no message by the next poll: missed.
  CHECK_FALSE(t.on_poll(43));
  CHECK(t.on_poll(43));
  CHECK_FALSE(t.on_poll(43));  // the resync covered it: once only
  // Several missed while the subscription was down: one resync.
  CHECK_FALSE(t.on_poll(47));
  CHECK(t.on_poll(48));
  t.on_message(48);
  CHECK_FALSE(t.on_poll(48));
  // The counter went back (Redis lost its data): resync.
  CHECK(t.on_poll(3));
  CHECK_FALSE(t.on_poll(3));
}

}  // namespace
}  // namespace tollgate::store::redis
