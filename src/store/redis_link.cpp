#include "redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <exception>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace tollgate::store::redis {
namespace {

Value to_value(const redisReply& r) {
  Value v;
  switch (r.type) {
    case REDIS_REPLY_STRING: v.kind = Value::Kind::string; break;
    case REDIS_REPLY_STATUS: v.kind = Value::Kind::status; break;
    case REDIS_REPLY_ERROR: v.kind = Value::Kind::error; break;
    case REDIS_REPLY_INTEGER:
      v.kind = Value::Kind::integer;
      v.integer = r.integer;
      return v;
    case REDIS_REPLY_ARRAY:
      v.kind = Value::Kind::array;
      v.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) v.elements.push_back(to_value(*r.element[i]));
      return v;
    default: return v;  // nil
  }
  if (r.str) v.text.assign(r.str, r.len);
  return v;
}

Link* link_of(const redisAsyncContext* ac) { return static_cast<Link*>(ac->data); }

}  // namespace

std::shared_ptr<Link> Link::open(boost::asio::io_context& io, std::string host, int port, Events events,
                                 LinkCounters* counters) {
  std::shared_ptr<Link> link(new Link(io, std::move(host), port, std::move(events), counters));
  link->start();
  return link;
}

Link::Link(boost::asio::io_context& io, std::string host, int port, Events events, LinkCounters* counters)
    : io_(io),
      host_(std::move(host)),
      port_(port),
      peer_(host_ + ":" + std::to_string(port_)),
      events_(std::move(events)),
      counters_(counters) {}

Link::~Link() {
  // Only reached once hiredis is done with the context: self_ holds the Link
  // from the moment hooks are installed until hiredis has torn the context down.
  // Should that ever not hold, free it without posting anything.
  if (ac_ && !gone_) {
    destroying_ = true;
    redisAsyncFree(ac_);
  }
}

void Link::start() {
  ac_ = redisAsyncConnect(host_.c_str(), port_);
  if (!ac_ || ac_->err) {
    reason_ = "cannot connect to " + peer_ + ": " + (ac_ ? std::string(ac_->c.errstr) : "out of memory");
    if (ac_) redisAsyncFree(ac_);  // no hooks yet: freed at once, no callbacks
    ac_ = nullptr;
    gone_ = true;
    post_closed(shared_from_this());
    return;
  }
  redisEnableKeepAlive(&ac_->c);
  ac_->data = this;
  RedisAsioAdapter::Handlers handlers;
  handlers.readable = [this] { redisAsyncHandleRead(ac_); };
  handlers.writable = [this] {
    if (connected_ && counters_) counters_->writes.fetch_add(1, std::memory_order_relaxed);
    redisAsyncHandleWrite(ac_);
  };
  handlers.cleanup = [this] { on_gone(); };
  try {
    adapter_ = RedisAsioAdapter::create(io_, ac_->c.fd, std::move(handlers));
  } catch (const std::exception& e) {  // the reactor refused the fd (out of epoll watches, memory)
    reason_ = "cannot watch the connection to " + peer_ + ": " + e.what();
    redisAsyncFree(ac_);  // no hooks yet: freed at once, no callbacks
    ac_ = nullptr;
    gone_ = true;
    post_closed(shared_from_this());
    return;
  }
  adapter_->install(ac_);
  self_ = shared_from_this();
  redisAsyncSetDisconnectCallback(ac_, &Link::on_disconnect);
  redisAsyncSetConnectCallback(ac_, &Link::on_connect);  // asks for the first write event: hooks are in place
}

// hiredis is tearing the context down (from the cleanup hook). It still calls
// on_disconnect after this, so self_ is released from a posted handler.
void Link::on_gone() {
  gone_ = true;
  connected_ = false;
  if (destroying_) return;
  if (reason_.empty() && ac_->c.err) reason_ = "connection to " + peer_ + " lost: " + ac_->c.errstr;
  post_closed(std::move(self_));
}

void Link::post_closed(std::shared_ptr<Link> keep) {
  boost::asio::post(io_, [keep = std::move(keep)] {
    keep->ac_ = nullptr;
    if (keep->events_.closed) keep->events_.closed(keep->reason_.empty() ? "connection closed" : keep->reason_);
  });
}

void Link::on_connect(const redisAsyncContext* ac, int status) noexcept {
  Link* link = link_of(ac);
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns; on_gone posts `closed`.
    if (link->reason_.empty()) link->reason_ = "cannot connect to " + link->peer_ + ": " + ac->c.errstr;
    return;
  }
  link->connected_ = true;
  boost::asio::post(link->io_, [self = link->shared_from_this()] {
    if (self->usable() && self->events_.connected) self->events_.connected();
  });
}

void Link::on_disconnect(const redisAsyncContext* ac, int status) noexcept {
  Link* link = link_of(ac);
  if (status != REDIS_OK && link->reason_.empty()) {
    link->reason_ = "connection to " + link->peer_ + " lost: " + ac->c.errstr;
  }
}

void Link::on_reply(redisAsyncContext* ac, void* reply, void* privdata) noexcept {
  std::unique_ptr<ReplyHandler> handler(static_cast<ReplyHandler*>(privdata));
  --link_of(ac)->in_flight_;
  if (!reply) {
    // The context is going: nothing more will be sent on it.
    link_of(ac)->connected_ = false;
    (*handler)(std::nullopt);
    return;
  }
  (*handler)(to_value(*static_cast<redisReply*>(reply)));
}

void Link::on_message(redisAsyncContext*, void* reply, void* privdata) noexcept {
  if (reply) (*static_cast<MessageHandler*>(privdata))(to_value(*static_cast<redisReply*>(reply)));
}

namespace {
int command_argv(redisAsyncContext* ac, redisCallbackFn* fn, void* privdata, const Argv& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  return redisAsyncCommandArgv(ac, fn, privdata, static_cast<int>(args.size()), args.data(), lengths.data());
}
}  // namespace

bool Link::send(const Argv& argv, ReplyHandler on_reply) {
  if (!usable()) return false;
  auto handler = std::make_unique<ReplyHandler>(std::move(on_reply));
  if (command_argv(ac_, &Link::on_reply, handler.get(), argv) != REDIS_OK) return false;
  (void)handler.release();  // on_reply owns it now: hiredis calls it exactly once
  ++in_flight_;
  if (counters_ && in_flight_ > counters_->max_in_flight.load(std::memory_order_relaxed)) {
    counters_->max_in_flight.store(in_flight_, std::memory_order_relaxed);  // one writer: this thread
  }
  return true;
}

bool Link::subscribe(const std::string& channel, MessageHandler on_message) {
  if (!usable()) return false;
  subscriptions_.push_back(std::make_unique<MessageHandler>(std::move(on_message)));
  const Argv argv = {"SUBSCRIBE", channel};
  return command_argv(ac_, &Link::on_message, subscriptions_.back().get(), argv) == REDIS_OK;
}

void Link::close(const std::string& why) {
  if (gone_ || closing_) return;
  closing_ = true;
  if (reason_.empty()) reason_ = why;
  boost::asio::post(io_, [self = shared_from_this()] {
    if (!self->gone_) redisAsyncFree(self->ac_);  // runs the pending callbacks with nullopt, then cleanup
  });
}

}  // namespace tollgate::store::redis
