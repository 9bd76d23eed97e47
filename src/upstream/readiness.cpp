#include "tollgate/upstream/readiness.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/error.hpp>
#include <boost/version.hpp>

#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#include <boost/asio/detail/epoll_reactor.hpp>
#define TOLLGATE_EPOLL_READINESS 1
#endif

namespace tollgate::upstream {

using Socket = boost::asio::ip::tcp::socket;

#if TOLLGATE_EPOLL_READINESS
// The reactor state read and set here is private to Asio. An explicit
// instantiation may name private members ([temp.spec.general]/6), so each one is
// handed out through a friend function of such an instantiation — no cast into
// Asio's layout. What the members mean was read in Boost 1.81's
// epoll_reactor.ipp: try_speculative_[read_op] is cleared by a read that found
// EOF and set again by every EPOLLIN, EPOLLHUP or EPOLLERR; when it is clear,
// start_op queues a read without trying it and without an epoll_ctl; a queued
// read is performed when the event comes and, as the first operation completed
// for that event, its handler runs there and then, before the next epoll_wait.
// A Boost that moves them fails to compile here; one that keeps them must be
// read again before this check is raised.
static_assert(BOOST_VERSION / 100 == 1081, "start_read relies on Boost 1.81's epoll_reactor: read it again");

namespace {

namespace detail = boost::asio::detail;
using State = detail::epoll_reactor::descriptor_state;
using Reactor = detail::epoll_reactor;

template <auto Member, typename Tag>
struct Expose {
  friend constexpr auto member(Tag) noexcept { return Member; }
};

struct SocketImpl {
  friend constexpr auto member(SocketImpl) noexcept;
};
struct TrySpeculative {
  friend constexpr auto member(TrySpeculative) noexcept;
};
struct DescriptorMutex {
  friend constexpr auto member(DescriptorMutex) noexcept;
};
struct OpQueues {
  friend constexpr auto member(OpQueues) noexcept;
};

template struct Expose<&boost::asio::basic_socket<boost::asio::ip::tcp, Socket::executor_type>::impl_, SocketImpl>;
template struct Expose<&State::try_speculative_, TrySpeculative>;
template struct Expose<&State::mutex_, DescriptorMutex>;
template struct Expose<&State::op_queue_, OpQueues>;

State* state_of(Socket& socket) noexcept { return (socket.*member(SocketImpl{})).get_implementation().reactor_data_; }

}  // namespace

void note_drained(Socket& socket) noexcept {
  State* state = state_of(socket);
  if (!state) return;
  detail::conditionally_enabled_mutex::scoped_lock lock(state->*member(DescriptorMutex{}));
  (state->*member(TrySpeculative{}))[Reactor::read_op] = false;
}

ReadStart start_read(Socket& socket, boost::asio::mutable_buffer space) noexcept {
  State* state = state_of(socket);
  if (!state || space.size() == 0) return {};
  bool may_have_data = true;
  bool alone = false;
  {
    detail::conditionally_enabled_mutex::scoped_lock lock(state->*member(DescriptorMutex{}));
    may_have_data = (state->*member(TrySpeculative{}))[Reactor::read_op];
    const auto& queues = state->*member(OpQueues{});
    alone = queues[Reactor::read_op].empty() && queues[Reactor::write_op].empty() &&
            queues[Reactor::except_op].empty();
  }
  // Another operation on the socket could complete in the same event as the
  // read and push the read's handler behind the next epoll_wait: no note then.
  if (!alone) return {};
  if (!may_have_data) return {std::nullopt, true};
  const ssize_t n = ::recv(socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
  if (n > 0) {
    if (static_cast<std::size_t>(n) < space.size()) note_drained(socket);
    return {std::pair{boost::system::error_code{}, static_cast<std::size_t>(n)}, false};
  }
  if (n == 0) return {std::pair{boost::system::error_code(boost::asio::error::eof), std::size_t{0}}, false};
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    note_drained(socket);
    return {std::nullopt, true};
  }
  if (errno == EINTR) return {};
  return {std::pair{boost::system::error_code(errno, boost::system::system_category()), std::size_t{0}}, false};
}
#else
void note_drained(Socket&) noexcept {}
ReadStart start_read(Socket&, boost::asio::mutable_buffer) noexcept { return {}; }
#endif

}  // namespace tollgate::upstream
