#include "tollgate/store/redis_asio_adapter.hpp"

#include <hiredis/async.h>

#include <array>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace tollgate::store {

namespace asio = boost::asio;

struct RedisAsioAdapter::Core : std::enable_shared_from_this<Core> {
  enum Direction { read = 0, write = 1 };
  struct State {
    bool wanted = false;   // what hiredis asked for last
    bool waiting = false;  // an async_wait is armed
  };

  Core(asio::io_context& io, int fd, Handlers h) : descriptor(io, fd), handlers(std::move(h)) {}

  void want(Direction d) {
    if (closed) return;
    states[d].wanted = true;
    arm(d);
  }

  // A wait already armed is left to finish: it finds the direction unwanted and
  // does nothing, or wanted again and serves it, so it never needs a twin.
  void unwant(Direction d) {
    if (closed) return;
    states[d].wanted = false;
  }

  void arm(Direction d) {
    State& s = states[d];
    if (closed || !s.wanted || s.waiting) return;
    s.waiting = true;
    ++armed;
    descriptor.async_wait(d == read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
                          [self = shared_from_this(), d](const boost::system::error_code& ec) { self->ready(d, ec); });
  }

  void ready(Direction d, const boost::system::error_code& ec) {
    states[d].waiting = false;
    if (closed || ec == asio::error::operation_aborted || !states[d].wanted) return;
    // Any other error (the socket failed) is readiness too: hiredis' read or
    // write then meets the error and tears the context down.
    (d == read ? handlers.readable : handlers.writable)();
    arm(d);  // still wanted, not cleaned up by the handler, and not re-armed by a hook it called
  }

  void close() {
    if (closed) return;
    closed = true;
    states[read].wanted = states[write].wanted = false;
    // release() cancels the armed waits (they end with operation_aborted) and
    // takes the fd out of the reactor without closing it: hiredis closes it,
    // and the next connection may get the same number.
    boost::system::error_code ignored;
    descriptor.cancel(ignored);
    (void)descriptor.release();
  }

  asio::posix::stream_descriptor descriptor;
  Handlers handlers;
  std::array<State, 2> states{};
  bool closed = false;
  std::uint64_t armed = 0;
};

std::shared_ptr<RedisAsioAdapter> RedisAsioAdapter::create(asio::io_context& io, int fd, Handlers handlers) {
  return std::shared_ptr<RedisAsioAdapter>(new RedisAsioAdapter(std::make_shared<Core>(io, fd, std::move(handlers))));
}

RedisAsioAdapter::RedisAsioAdapter(std::shared_ptr<Core> core) : core_(std::move(core)) {}

RedisAsioAdapter::~RedisAsioAdapter() { core_->close(); }

void RedisAsioAdapter::install(redisAsyncContext* ac) {
  ac->ev.data = this;
  ac->ev.addRead = &RedisAsioAdapter::add_read;
  ac->ev.delRead = &RedisAsioAdapter::del_read;
  ac->ev.addWrite = &RedisAsioAdapter::add_write;
  ac->ev.delWrite = &RedisAsioAdapter::del_write;
  ac->ev.cleanup = &RedisAsioAdapter::cleanup;
}

void RedisAsioAdapter::add_read(void* adapter) { static_cast<RedisAsioAdapter*>(adapter)->core_->want(Core::read); }
void RedisAsioAdapter::del_read(void* adapter) { static_cast<RedisAsioAdapter*>(adapter)->core_->unwant(Core::read); }
void RedisAsioAdapter::add_write(void* adapter) { static_cast<RedisAsioAdapter*>(adapter)->core_->want(Core::write); }
void RedisAsioAdapter::del_write(void* adapter) {
  static_cast<RedisAsioAdapter*>(adapter)->core_->unwant(Core::write);
}

void RedisAsioAdapter::cleanup(void* adapter) {
  Core& core = *static_cast<RedisAsioAdapter*>(adapter)->core_;
  if (core.closed) return;  // hiredis may call it more than once
  core.close();
  if (core.handlers.cleanup) core.handlers.cleanup();
}

bool RedisAsioAdapter::read_wanted() const { return core_->states[Core::read].wanted; }
bool RedisAsioAdapter::write_wanted() const { return core_->states[Core::write].wanted; }
bool RedisAsioAdapter::read_waiting() const { return core_->states[Core::read].waiting; }
bool RedisAsioAdapter::write_waiting() const { return core_->states[Core::write].waiting; }
std::uint64_t RedisAsioAdapter::waits_armed() const { return core_->armed; }
bool RedisAsioAdapter::cleaned_up() const { return core_->closed; }

}  // namespace tollgate::store
