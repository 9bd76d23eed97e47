#pragma once
// One hiredis async connection to one server, driven by an io_context through
// RedisAsioAdapter. Everything here runs on that io_context's thread.
//
// The rules hiredis 0.14 imposes, kept in one place:
//  - the event hooks are installed before the connect callback is set;
//  - a connection is never freed from inside a hiredis callback (0.14 calls the
//    connect and disconnect callbacks without its "in callback" guard), so
//    close() defers the free to a posted handler, and the owner's events are
//    posted too, never called from inside hiredis;
//  - every command's callback runs exactly once: with the reply, or with
//    nullopt when the connection goes before the reply came;
//  - the Link keeps itself alive while hiredis holds its context, so hiredis
//    never calls into a dead object, whatever the owner drops and when.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "redis_value.hpp"
#include "tollgate/store/redis_asio_adapter.hpp"

namespace tollgate::store::redis {

// What links count for the store's stats (atomics: stats are read from any thread).
struct LinkCounters {
  std::atomic<std::uint64_t> writes{0};         // socket writes that carried commands
  std::atomic<std::uint64_t> max_in_flight{0};  // the most commands ever awaiting replies at once on one link
};

class Link : public std::enable_shared_from_this<Link> {
 public:
  using ReplyHandler = std::function<void(std::optional<Value>)>;
  using MessageHandler = std::function<void(const Value&)>;
  struct Events {
    std::function<void()> connected;                     // the TCP connection is up
    std::function<void(const std::string& why)> closed;  // once: connect failed, the connection dropped, or close()
  };

  // Starts connecting to host:port, counting into `counters` when given.
  static std::shared_ptr<Link> open(boost::asio::io_context& io, std::string host, int port, Events events,
                                    LinkCounters* counters = nullptr);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Connected and not closing: send() will take commands.
  bool usable() const { return connected_ && !closing_ && !gone_; }
  const std::string& peer() const { return peer_; }

  // Queues one command; false (and `on_reply` is dropped uncalled) when the link
  // cannot take it. hiredis pipelines: commands queued in one turn of the
  // io_context leave in one write.
  bool send(const Argv& argv, ReplyHandler on_reply);
  // SUBSCRIBE to `channel`; `on_message` sees the subscribe confirmation and each message.
  bool subscribe(const std::string& channel, MessageHandler on_message);
  // Drops the connection: pending commands get nullopt, then `closed(why)` follows.
  void close(const std::string& why);

 private:
  Link(boost::asio::io_context& io, std::string host, int port, Events events, LinkCounters* counters);
  void start();
  void on_gone();
  void post_closed(std::shared_ptr<Link> keep);

  static void on_connect(const redisAsyncContext* ac, int status) noexcept;
  static void on_disconnect(const redisAsyncContext* ac, int status) noexcept;
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void on_message(redisAsyncContext* ac, void* reply, void* privdata) noexcept;

  boost::asio::io_context& io_;
  std::string host_;
  int port_;
  std::string peer_;
  Events events_;
  LinkCounters* counters_;
  std::size_t in_flight_ = 0;  // commands sent whose callback has not run yet
  redisAsyncContext* ac_ = nullptr;
  std::shared_ptr<RedisAsioAdapter> adapter_;
  std::shared_ptr<Link> self_;  // while hiredis holds ac_
  std::vector<std::unique_ptr<MessageHandler>> subscriptions_;  // their privdata lives as long as the Link
  std::string reason_;
  bool connected_ = false;
  bool closing_ = false;
  bool gone_ = false;  // hiredis has torn the context down: never touch ac_ again
  bool destroying_ = false;
};

}  // namespace tollgate::store::redis
