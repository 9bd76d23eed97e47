#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "upstream_peer.hpp"
#include "tollgate/upstream/clients.hpp"

using namespace tollgate;
using namespace tollgate::test;

// serve's shutdown order: the workers stop, close_all() drops the pools, and
// only then do the workers' io_contexts go. A pooled socket outliving its
// io_context would be closed through a freed reactor when the clients die.
TEST_CASE("upstream clients: close_all closes every pooled connection while the io_context still exists") {
  UpstreamPeer peer;
  upstream::UpstreamClients clients;  // outlives the io_context, as in serve
  {
    boost::asio::io_context io;
    std::exception_ptr failure;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          auto& pool = clients.pool(io.get_executor(), {});
          auto url = std::get<upstream::Url>(upstream::parse_url(peer.base_url() + "/"));
          for (int i = 0; i < 2; ++i) {
            auto lease = co_await pool.acquire(url, true);
            REQUIRE(std::holds_alternative<upstream::Lease>(lease));
            std::get<upstream::Lease>(lease).release();
          }
        },
        [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
    CHECK(clients.pool_stats().idle == 2);
    REQUIRE(peer.wait_until([](const PeerState& s) { return s.connections == 2; }));

    clients.close_all();
    CHECK(clients.pool_stats().idle == 0);
    CHECK(clients.pool_stats().opened == 0);  // the pools are gone, not just emptied
    CHECK(peer.wait_until([](const PeerState& s) { return s.open_connections == 0; }));
  }
  // A later pool for this thread is a new one (the thread's cached pool is not reused).
  boost::asio::io_context again;
  auto& fresh = clients.pool(again.get_executor(), {});
  CHECK(fresh.stats().opened == 0);
}
