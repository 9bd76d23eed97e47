#pragma once
// Drives one hiredis async context from an Asio io_context. hiredis says which
// readiness it wants through its event hooks (ev.addRead, delRead, addWrite,
// delWrite, cleanup; ev.data is the adapter); the adapter waits for it with
// async_wait on the context's socket and calls back on readiness.
//
// The core knows nothing of hiredis but a file descriptor and three callbacks, so
// its state machine is tested on a socketpair with no server: per direction a
// "wanted" flag (what hiredis asked for last) and a "waiting" flag (an
// async_wait is armed), so add/del are idempotent and a direction never has two
// waits armed; after cleanup every hook is a no-op and no wait is left armed.
// The descriptor is never closed here: hiredis owns it.
//
// Lifetime: the adapter must outlive the hiredis context it is installed on
// (the owner keeps it until hiredis has called cleanup); waits still armed at
// cleanup keep only the adapter's internals alive and do nothing when they end.
#include <cstdint>
#include <functional>
#include <memory>

struct redisAsyncContext;
namespace boost::asio {
class io_context;
}

namespace tollgate::store {

class RedisAsioAdapter {
 public:
  struct Handlers {
    std::function<void()> readable;  // hiredis: redisAsyncHandleRead
    std::function<void()> writable;  // hiredis: redisAsyncHandleWrite
    std::function<void()> cleanup;   // once, when the context is torn down (the cleanup hook)
  };

  // Watches `fd` on `io`. Each handler runs on `io`'s thread; a readiness handler
  // is called only while its direction is wanted and the adapter is not cleaned up.
  static std::shared_ptr<RedisAsioAdapter> create(boost::asio::io_context& io, int fd, Handlers handlers);
  ~RedisAsioAdapter();  // as cleanup(), without the callback
  RedisAsioAdapter(const RedisAsioAdapter&) = delete;
  RedisAsioAdapter& operator=(const RedisAsioAdapter&) = delete;

  // Sets `ac`'s event hooks to this adapter. Call before
  // redisAsyncSetConnectCallback, which asks for the first write event.
  void install(redisAsyncContext* ac);

  // hiredis' hooks; `adapter` is ev.data, a RedisAsioAdapter*.
  static void add_read(void* adapter);
  static void del_read(void* adapter);
  static void add_write(void* adapter);
  static void del_write(void* adapter);
  static void cleanup(void* adapter);

  // The state, for tests.
  bool read_wanted() const;
  bool write_wanted() const;
  bool read_waiting() const;    // an async_wait for readability is armed
  bool write_waiting() const;   // an async_wait for writability is armed
  std::uint64_t waits_armed() const;  // async_waits started so far, both directions
  bool cleaned_up() const;

 private:
  struct Core;
  explicit RedisAsioAdapter(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace tollgate::store
