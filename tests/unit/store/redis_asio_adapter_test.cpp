// RedisAsioAdapter's state machine, driven the way hiredis drives it (through
// its hook functions) on a socketpair: no Redis server.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "tollgate/store/redis_asio_adapter.hpp"

using tollgate::store::RedisAsioAdapter;
using namespace std::chrono_literals;

namespace {

// Two connected, non-blocking sockets: `ours` is watched, `peer` plays the server.
struct SocketPair {
  SocketPair() {
    std::array<int, 2> fds{};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()) == 0);
    ours = fds[0];
    peer = fds[1];
  }
  ~SocketPair() {
    ::close(ours);
    ::close(peer);
  }
  void send_byte() const { REQUIRE(::write(peer, "x", 1) == 1); }
  int drain() const {
    std::array<char, 64> buf{};
    int n = 0;
    while (::read(ours, buf.data(), buf.size()) > 0) ++n;
    return n;
  }
  int ours = -1;
  int peer = -1;
};

// Runs handlers until `done` or nothing is left to run (bounded, never a sleep).
template <typename F>
void run_until(boost::asio::io_context& io, F done) {
  io.restart();
  while (!done() && io.run_one_for(5s) > 0) {
  }
}

struct Counts {
  int readable = 0;
  int writable = 0;
  int cleanup = 0;
};

}  // namespace

TEST_CASE("adding read twice arms one wait, and each readiness calls readable once") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] {
    ++counts.readable;
    sockets.drain();
  };
  auto adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);

  RedisAsioAdapter::add_read(adapter.get());
  RedisAsioAdapter::add_read(adapter.get());
  CHECK(adapter->read_wanted());
  CHECK(adapter->read_waiting());
  CHECK(adapter->waits_armed() == 1);
  CHECK_FALSE(adapter->write_waiting());

  sockets.send_byte();
  run_until(io, [&] { return counts.readable == 1; });
  CHECK(counts.readable == 1);
  // Still wanted, so armed again: one wait, never two.
  CHECK(adapter->read_waiting());
  CHECK(adapter->waits_armed() == 2);

  sockets.send_byte();
  run_until(io, [&] { return counts.readable == 2; });
  CHECK(counts.readable == 2);
  CHECK(adapter->waits_armed() == 3);
  RedisAsioAdapter::cleanup(adapter.get());
  io.restart();
  io.run();
}

TEST_CASE("del_read leaves the armed wait to finish without calling back, and no wait follows it") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] { ++counts.readable; };
  auto adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);

  RedisAsioAdapter::add_read(adapter.get());
  RedisAsioAdapter::del_read(adapter.get());
  RedisAsioAdapter::del_read(adapter.get());
  CHECK_FALSE(adapter->read_wanted());
  CHECK(adapter->read_waiting());  // in flight until the socket is readable

  sockets.send_byte();
  io.run();  // returns once nothing is armed
  CHECK(counts.readable == 0);
  CHECK_FALSE(adapter->read_waiting());
  CHECK(adapter->waits_armed() == 1);
}

TEST_CASE("add, del, add while a wait is in flight reuses it instead of arming a second") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  // The handler stops reading after one call, as hiredis does when it has nothing more to read.
  std::shared_ptr<RedisAsioAdapter> adapter;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] {
    ++counts.readable;
    sockets.drain();
    RedisAsioAdapter::del_read(adapter.get());
  };
  adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);

  RedisAsioAdapter::add_read(adapter.get());
  RedisAsioAdapter::del_read(adapter.get());
  RedisAsioAdapter::add_read(adapter.get());
  CHECK(adapter->waits_armed() == 1);

  sockets.send_byte();
  io.run();
  CHECK(counts.readable == 1);  // one readiness, one call: there was only one wait
  CHECK(adapter->waits_armed() == 1);
  CHECK_FALSE(adapter->read_waiting());
}

TEST_CASE("a wanted write is served until the handler says it has written everything") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  std::shared_ptr<RedisAsioAdapter> adapter;
  RedisAsioAdapter::Handlers handlers;
  handlers.writable = [&] {
    // Like redisAsyncHandleWrite: add_write while output remains, then del_write.
    if (++counts.writable < 3) {
      RedisAsioAdapter::add_write(adapter.get());
    } else {
      RedisAsioAdapter::del_write(adapter.get());
    }
  };
  adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);

  for (int i = 0; i < 5; ++i) RedisAsioAdapter::add_write(adapter.get());
  CHECK(adapter->waits_armed() == 1);
  CHECK(adapter->write_waiting());
  CHECK_FALSE(adapter->read_waiting());

  io.run();  // the socket is writable at once; returns when the handler stops asking
  CHECK(counts.writable == 3);
  CHECK(adapter->waits_armed() == 3);  // one per readiness, each armed after the last one ended
  CHECK_FALSE(adapter->write_waiting());
  CHECK_FALSE(adapter->write_wanted());
  CHECK(counts.readable == 0);
}

TEST_CASE("read and write are armed independently, one wait each") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  std::shared_ptr<RedisAsioAdapter> adapter;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] {
    ++counts.readable;
    sockets.drain();
    RedisAsioAdapter::del_read(adapter.get());
  };
  handlers.writable = [&] {
    ++counts.writable;
    RedisAsioAdapter::del_write(adapter.get());
  };
  adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);
  for (int i = 0; i < 3; ++i) {
    RedisAsioAdapter::add_read(adapter.get());
    RedisAsioAdapter::add_write(adapter.get());
  }
  CHECK(adapter->waits_armed() == 2);
  CHECK(adapter->read_waiting());
  CHECK(adapter->write_waiting());

  sockets.send_byte();
  io.run();
  CHECK(counts.readable == 1);
  CHECK(counts.writable == 1);
}

TEST_CASE("cleanup cancels the armed waits, makes later hooks no-ops and leaves the descriptor open") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] { ++counts.readable; };
  handlers.writable = [&] { ++counts.writable; };
  handlers.cleanup = [&] { ++counts.cleanup; };
  auto adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);

  RedisAsioAdapter::add_read(adapter.get());
  RedisAsioAdapter::add_write(adapter.get());  // the socket is writable: this would fire on the next run
  sockets.send_byte();                          // and so would this
  REQUIRE(adapter->waits_armed() == 2);

  RedisAsioAdapter::cleanup(adapter.get());
  CHECK(counts.cleanup == 1);
  CHECK(adapter->cleaned_up());
  CHECK_FALSE(adapter->read_wanted());
  CHECK_FALSE(adapter->write_wanted());

  // Hooks after cleanup (hiredis may still call some) do nothing.
  RedisAsioAdapter::add_read(adapter.get());
  RedisAsioAdapter::add_write(adapter.get());
  RedisAsioAdapter::del_read(adapter.get());
  RedisAsioAdapter::cleanup(adapter.get());
  CHECK(counts.cleanup == 1);
  CHECK(adapter->waits_armed() == 2);

  io.run();  // the cancelled waits end; nothing is called back
  CHECK(counts.readable == 0);
  CHECK(counts.writable == 0);
  CHECK_FALSE(adapter->read_waiting());
  CHECK_FALSE(adapter->write_waiting());

  // hiredis owns the descriptor: it is still open and usable.
  CHECK(::fcntl(sockets.ours, F_GETFD) != -1);
  CHECK(sockets.drain() == 1);
}

TEST_CASE("cleanup from inside a readiness handler stops re-arming at once") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  std::shared_ptr<RedisAsioAdapter> adapter;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] {
    // As when redisAsyncHandleRead meets EOF: it wants to read on, then tears down.
    ++counts.readable;
    RedisAsioAdapter::add_read(adapter.get());
    RedisAsioAdapter::cleanup(adapter.get());
  };
  handlers.cleanup = [&] { ++counts.cleanup; };
  adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);

  RedisAsioAdapter::add_read(adapter.get());
  sockets.send_byte();
  io.run();
  // The wait its add_read armed was cancelled by the cleanup and called nothing back.
  CHECK(counts.readable == 1);
  CHECK(counts.cleanup == 1);
  CHECK(adapter->waits_armed() == 2);
  CHECK_FALSE(adapter->read_waiting());
  CHECK(sockets.drain() == 1);  // the byte was never read: the handler did not run again
}

TEST_CASE("an adapter destroyed with waits armed cancels them and never calls back") {
  boost::asio::io_context io;
  SocketPair sockets;
  Counts counts;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [&] { ++counts.readable; };
  handlers.writable = [&] { ++counts.writable; };
  handlers.cleanup = [&] { ++counts.cleanup; };
  auto adapter = RedisAsioAdapter::create(io, sockets.ours, handlers);
  RedisAsioAdapter::add_read(adapter.get());
  RedisAsioAdapter::add_write(adapter.get());
  sockets.send_byte();
  adapter.reset();
  io.run();
  CHECK(counts.readable == 0);
  CHECK(counts.writable == 0);
  CHECK(counts.cleanup == 0);  // cleanup is hiredis' to call
  CHECK(::fcntl(sockets.ours, F_GETFD) != -1);
}
