#pragma once
// Reads that skip Asio's try-before-wait when it is known to find nothing.
//
// Asio (1.81, epoll) tries every read on a socket at once, before waiting for
// readiness, unless it knows that nothing arrived since a read last found the
// receive queue empty — and it learns that only from a read that returned EOF,
// never from EAGAIN or a short read. On a request/response connection the next
// read is almost always started before the peer's next bytes, so that first try
// is a system call that returns EAGAIN: about 1.5 per relayed call, a quarter of
// the relay's reads (bench/README, "system calls per request").
//
// note_drained(socket) records "nothing to read now" in the reactor's state for
// the socket; the reactor clears it itself when epoll next reports the socket
// readable (EPOLLIN, EPOLLHUP, EPOLLERR), so a read after that is tried at once
// again. It is correct only when called in the same run of the worker as the
// observation it records, with no epoll_wait in between (that wait could have
// taken the one readiness event for bytes that arrived after the observation):
// right after a recv that failed with EAGAIN, or after a read that returned
// fewer bytes than asked for (the kernel hands over everything queued, so the
// queue was empty then) and completed straight from the reactor's event.
#include <cstddef>
#include <optional>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace tollgate::upstream {

void note_drained(boost::asio::ip::tcp::socket& socket) noexcept;

// The first step of a read on a socket that only this coroutine reads and
// writes. Either the read was done here (the reactor could not rule data out,
// so it is tried at once, as Asio would) and `done` holds its result, or the
// caller waits with socket.async_read_some(space) — which then starts no system
// call before the data is there — and hands its result to waited() as soon as
// it resumes, which notes a short read as drained when that is safe.
struct ReadStart {
  std::optional<std::pair<boost::system::error_code, std::size_t>> done;
  bool note_after_wait = false;  // the wait's handler runs straight from the reactor's event

  void waited(boost::asio::ip::tcp::socket& socket, std::size_t space, boost::system::error_code ec,
              std::size_t n) noexcept {
    if (!ec && note_after_wait && n < space) note_drained(socket);
    done.emplace(ec, n);
  }
};
ReadStart start_read(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer space) noexcept;

}  // namespace tollgate::upstream
