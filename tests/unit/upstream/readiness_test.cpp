#include <doctest/doctest.h>

#include <array>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "tollgate/upstream/readiness.hpp"

// start_read and note_drained tell Asio's reactor that a socket's receive queue
// is empty, so the next read waits for epoll instead of trying first. What must
// never happen is a read that waits for bytes already there: each case below
// puts bytes on the wire at one of the moments where that could go wrong and
// needs them read (a wrong note shows as the io_context running out of time).

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// A connected pair on loopback: `ours` is read through start_read, `peer` writes.
struct Pair {
  asio::io_context io;
  tcp::socket ours{io}, peer{io};
  Pair() {
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(ours);
  }
  void send(std::string_view bytes) { asio::write(peer, asio::buffer(bytes.data(), bytes.size())); }
  // Until the kernel has `n` bytes queued for `ours` (loopback delivers at once, but not by contract).
  void queued(std::size_t n) {
    for (int i = 0; i < 10000 && ours.available() < n; ++i) std::this_thread::yield();
    REQUIRE(ours.available() >= n);
  }
};

// One read as the server's session does it: start_read, else the wait (noted
// after a short read when start_read says so). Runs the io_context for at most 5 s.
std::string read_once(Pair& p, bool* waited = nullptr) {
  std::array<char, 64> buf{};
  const auto space = asio::buffer(buf);
  auto start = tollgate::upstream::start_read(p.ours, space);
  if (waited) *waited = !start.done;
  if (!start.done) {
    bool finished = false;
    p.ours.async_read_some(space, [&](boost::system::error_code ec, std::size_t n) {
      start.waited(p.ours, space.size(), ec, n);
      finished = true;
    });
    p.io.restart();
    p.io.run_for(5s);
    REQUIRE_MESSAGE(finished, "the read waited for bytes that were already there");
  }
  if (start.done->first == asio::error::eof) return "<eof>";
  REQUIRE_FALSE(start.done->first);
  return std::string(buf.data(), start.done->second);
}

// A byte read at once: the read comes back short, so the socket is noted as drained.
void drain(Pair& p) {
  p.send("x");
  p.queued(1);
  REQUIRE(read_once(p) == "x");
}

}  // namespace

TEST_CASE("readiness: bytes already queued are read at once") {
  Pair p;
  p.send("first");
  p.queued(5);
  bool waited = true;
  CHECK(read_once(p, &waited) == "first");
  CHECK_FALSE(waited);  // tried at once: the reactor had not ruled data out
}

TEST_CASE("readiness: after a short read the next read waits, and bytes that arrive before the wait wake it") {
  Pair p;
  drain(p);
  p.send("late");
  p.queued(4);  // queued while nothing waited: epoll holds the event for the wait to come
  bool waited = false;
  CHECK(read_once(p, &waited) == "late");
  CHECK(waited);  // not tried first: had the note not been made, the bytes would have been read at once
}

TEST_CASE("readiness: an event the reactor took while nothing waited makes the next read try at once") {
  Pair p;
  drain(p);
  p.send("taken");
  p.queued(5);
  // An epoll_wait with no read waiting: the event is used up, the bytes stay.
  // The reactor remembers it (the note is cleared), so the read does not wait.
  {
    auto busy = asio::make_work_guard(p.io);  // else poll() returns before the reactor runs
    p.io.restart();
    p.io.poll();
  }
  bool waited = true;
  CHECK(read_once(p, &waited) == "taken");
  CHECK_FALSE(waited);
}

TEST_CASE("readiness: a close after the note ends the wait with EOF") {
  Pair p;
  drain(p);
  p.peer.shutdown(tcp::socket::shutdown_send);
  CHECK(read_once(p) == "<eof>");
}

TEST_CASE("readiness: a read that fills the buffer is not noted, so the rest is read at once") {
  Pair p;
  const std::string big(100, 'b');  // more than read_once's 64 bytes
  p.send(big);
  p.queued(big.size());
  CHECK(read_once(p) == big.substr(0, 64));
  bool waited = true;
  CHECK(read_once(p, &waited) == big.substr(64));
  CHECK_FALSE(waited);
}

TEST_CASE("readiness: with a write waiting on the same socket nothing is noted") {
  Pair p;
  // Fill both socket buffers: the peer reads nothing, so the write waits.
  const std::string chunk(64 << 20, 'w');  // more than loopback's buffers grow to
  bool written = false;
  asio::async_write(p.ours, asio::buffer(chunk), [&](boost::system::error_code, std::size_t) { written = true; });
  p.io.poll();
  REQUIRE_FALSE(written);
  std::array<char, 8> spare{};
  auto start = tollgate::upstream::start_read(p.ours, asio::buffer(spare));
  CHECK_FALSE(start.done);
  CHECK_FALSE(start.note_after_wait);  // the read's handler could run after the next epoll_wait
  // Drain the write so the io_context ends cleanly.
  std::string sink(chunk.size(), '\0');
  std::thread reader([&] { asio::read(p.peer, asio::buffer(sink)); });
  p.io.restart();
  p.io.run_for(5s);
  reader.join();
  CHECK(written);
}
