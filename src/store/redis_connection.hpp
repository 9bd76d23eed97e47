#pragma once
// The Redis store's one connection, on a thread of its own.
//
// Why one connection on a dedicated thread (and not one per worker): the Store
// is a single object shared by every worker, and hiredis pipelines whatever is
// queued on a connection into one write, so all workers' commands share the
// round trips of one socket with no pooling code. The thread owns the hiredis
// context, its timers and its reconnect and Sentinel state outright, so no
// lock guards them and nothing a worker does can end their lives early. A
// caller's coroutine hands its commands over (one post) and is resumed on its
// own executor with the replies, like StoreThread does for SQLite.
//
// What a command can count on:
//  - it answers within its timeout (RedisOptions::command_timeout), or
//    Errc::unavailable: a reply that comes later is ignored;
//  - issued while disconnected, it waits for a reconnect, up to its timeout;
//  - in flight when the connection drops, or answered READONLY/MASTERDOWN (the
//    primary became a replica), it is sent once more on the next connection if
//    its timeout allows, so every write the store sends is safe to repeat;
//  - the connection AUTHs, SELECTs and names itself (CLIENT SETNAME
//    tollgate-store) before any command goes out, and after a disconnect
//    reconnects by itself, backing off from 50 ms to 2 s;
//  - a command in flight that gets no reply in time on a connection that stayed
//    silent all that while takes the connection down with it (a peer gone
//    without a FIN is only found that way); a slow but answering one is kept;
//  - with Sentinels, each (re)connect first asks them in order for the primary,
//    checks ROLE, and a +switch-master for our master (watched on one Sentinel)
//    makes it reconnect at once.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "redis_url.hpp"
#include "redis_value.hpp"
#include "tollgate/store/redis.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::store::redis {

using Replies = std::vector<Value>;

struct ConnectionOptions {
  ServerAddress server;             // with sentinels, only its credentials and db are used
  std::vector<Endpoint> sentinels;  // asked in this order
  std::string master_name;
  std::chrono::milliseconds command_timeout{2000};
};

class Connection {
 public:
  // Returns at once; connecting goes on in the background.
  explicit Connection(ConnectionOptions options);
  // Fails what is still waiting with unavailable, closes, joins the thread.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `commands` back to back (one timeout for them all) and completes with
  // one reply each, error replies included; Errc::unavailable when they could
  // not all be answered in time. Thread-safe; `done` runs on the connection's
  // thread, exactly once.
  using Completion = std::function<void(Result<Replies>)>;
  void submit(std::vector<Argv> commands, Completion done);

  // submit() for a coroutine: resumes it on its own executor.
  Task<Replies> execute(std::vector<Argv> commands) {
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<Replies>)>(
        [this](auto handler, std::vector<Argv> commands) {
          // Keeps the caller's io_context running until the replies are back.
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
          using Handler = decltype(handler);
          using Work = decltype(work);
          struct Resume {
            Handler handler;
            Work work;
          };
          auto resume = std::make_shared<Resume>(Resume{std::move(handler), std::move(work)});
          submit(std::move(commands), [resume](Result<Replies> result) {
            auto home = resume->work.get_executor();
            boost::asio::post(home, [resume, result = std::move(result)]() mutable {
              std::move(resume->handler)(std::move(result));
            });
            resume->work.reset();
          });
        },
        boost::asio::use_awaitable, std::move(commands));
  }

  RedisStats stats() const;

  // Pub/sub for the change feed, on a connection of its own (a subscribed
  // connection takes no other commands): subscribes to `channel` on the
  // primary and keeps resubscribing after every reconnect, calling
  // `on_message` with each message's payload; every `poll_every` it also reads
  // `counter_key` through the command connection and calls `on_poll` with its
  // value (0 when missing; nothing when Redis did not answer). Both run on the
  // connection's thread, one at a time. Call once.
  struct Watch {
    std::string channel;
    std::string counter_key;
    std::chrono::milliseconds poll_every{250};
    std::function<void(const std::string& payload)> on_message;
    std::function<void(std::int64_t counter)> on_poll;
  };
  void watch(Watch watch);

 private:
  class Core;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> keep_running_;
  std::shared_ptr<Core> core_;
  std::thread thread_;  // last: started once everything it uses exists
};

}  // namespace tollgate::store::redis
