#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "upstream_peer.hpp"
#include "tollgate/upstream/pool.hpp"

using namespace tollgate;
using namespace tollgate::test;
using namespace std::chrono_literals;

namespace {

// Runs `body` (a coroutine using the pool) to its end on a private io_context.
template <typename F>
void run_with_pool(upstream::PoolOptions options, F body) {
  boost::asio::io_context io;
  upstream::Pool pool(io.get_executor(), options);
  std::exception_ptr failure;
  boost::asio::co_spawn(io, body(pool), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

upstream::Url url_of(const UpstreamPeer& peer) {
  return std::get<upstream::Url>(upstream::parse_url(peer.base_url() + "/"));
}

}  // namespace

TEST_CASE("pool: a released connection is reused, one the upstream closed while idle is found and replaced") {
  UpstreamPeer peer;
  run_with_pool({}, [&](upstream::Pool& pool) -> boost::asio::awaitable<void> {
    auto url = url_of(peer);
    {
      auto first = co_await pool.acquire(url);
      REQUIRE(std::holds_alternative<upstream::Lease>(first));
      CHECK_FALSE(std::get<upstream::Lease>(first).reused());
      std::get<upstream::Lease>(first).release();
    }
    CHECK(pool.stats().idle == 1);
    {
      auto second = co_await pool.acquire(url);
      REQUIRE(std::holds_alternative<upstream::Lease>(second));
      CHECK(std::get<upstream::Lease>(second).reused());
      CHECK(pool.stats().active == 1);
      std::get<upstream::Lease>(second).release();
    }
    // The peer counts a connection when its own thread accepts it.
    CHECK(peer.wait_until([](const PeerState& s) { return s.connections == 1; }));
    REQUIRE(peer.close_idle() == 1);
    {
      auto third = co_await pool.acquire(url);
      REQUIRE(std::holds_alternative<upstream::Lease>(third));
      CHECK_FALSE(std::get<upstream::Lease>(third).reused());
    }  // not released: closed
    auto stats = pool.stats();
    CHECK(stats.stale == 1);
    CHECK(stats.opened == 2);
    CHECK(stats.idle == 0);
    CHECK(stats.active == 0);
  });
  CHECK(peer.wait_until([](const PeerState& s) { return s.open_connections == 0; }));
}

TEST_CASE("pool: idle connections are bounded per origin") {
  UpstreamPeer peer;
  upstream::PoolOptions options;
  options.max_idle_per_origin = 2;
  run_with_pool(options, [&](upstream::Pool& pool) -> boost::asio::awaitable<void> {
    auto url = url_of(peer);
    std::vector<upstream::Lease> leases;
    for (int i = 0; i < 4; ++i) {
      auto lease = co_await pool.acquire(url);
      REQUIRE(std::holds_alternative<upstream::Lease>(lease));
      leases.push_back(std::move(std::get<upstream::Lease>(lease)));
    }
    CHECK(pool.stats().active == 4);
    for (auto& lease : leases) lease.release();
    CHECK(pool.stats().idle == 2);
    CHECK(pool.stats().active == 0);
  });
  CHECK(peer.wait_until([](const PeerState& s) { return s.connections == 4; }));
}

TEST_CASE("pool: a refused connection is a connect_failed error") {
  std::uint16_t port = 0;
  { UpstreamPeer gone; port = gone.port(); }
  run_with_pool({}, [&](upstream::Pool& pool) -> boost::asio::awaitable<void> {
    auto url = std::get<upstream::Url>(upstream::parse_url("http://127.0.0.1:" + std::to_string(port) + "/"));
    auto lease = co_await pool.acquire(url);
    REQUIRE(std::holds_alternative<upstream::Error>(lease));
    CHECK(std::get<upstream::Error>(lease).failure == upstream::Failure::connect_failed);
    CHECK_FALSE(std::get<upstream::Error>(lease).request_sent);
  });
}
