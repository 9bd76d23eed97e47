#include "redis_connection.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "redis_link.hpp"

namespace tollgate::store::redis {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinBackoff{50};
constexpr milliseconds kMaxBackoff{2000};
constexpr milliseconds kMaxProbeTimeout{1000};
constexpr const char* kClientName = "tollgate-store";

std::string millis_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

Error unavailable(std::string message) { return Error{Errc::unavailable, std::move(message)}; }

struct Counters {
  LinkCounters links;  // of the connections to the primary
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> timeouts{0};
};

// One submit(): its commands, its timer and where it stands.
struct Op {
  Op(asio::io_context& io, std::vector<Argv> c, Connection::Completion d)
      : commands(std::move(c)), done(std::move(d)), timer(io) {}
  std::vector<Argv> commands;
  Connection::Completion done;
  asio::steady_timer timer;
  Replies replies;
  std::size_t received = 0;
  int sends = 0;
  std::uint64_t attempt = 0;  // replies to an earlier attempt are ignored
  bool finished = false;
  bool in_flight = false;
  std::uint64_t sent_on = 0;  // the link generation it was sent on
  Clock::time_point sent_at;
};

// One command on a short-lived connection (asking a Sentinel), settled once:
// with the reply, or nullopt and why.
class Query : public std::enable_shared_from_this<Query> {
 public:
  using Done = std::function<void(std::optional<Value>, std::string)>;

  static std::shared_ptr<Query> start(asio::io_context& io, const Endpoint& at, Argv argv, milliseconds timeout,
                                      Done done) {
    auto q = std::make_shared<Query>(io, std::move(done));
    std::weak_ptr<Query> weak = q;
    Link::Events events;
    events.connected = [weak, argv = std::move(argv)] {
      auto q = weak.lock();
      if (!q || !q->link_) return;
      const bool sent = q->link_->send(argv, [weak](std::optional<Value> reply) {
        if (auto q = weak.lock()) {
          std::string why = reply ? "" : "connection lost";
          q->settle(std::move(reply), std::move(why));
        }
      });
      if (!sent) q->settle(std::nullopt, "could not send");
    };
    events.closed = [weak](const std::string& why) {
      if (auto q = weak.lock()) q->settle(std::nullopt, why);
    };
    q->link_ = Link::open(io, at.host, at.port, std::move(events));
    q->timer_.expires_after(timeout);
    q->timer_.async_wait([weak, timeout](const boost::system::error_code& ec) {
      if (auto q = weak.lock(); q && !ec) q->settle(std::nullopt, "no answer within " + millis_text(timeout));
    });
    return q;
  }

  Query(asio::io_context& io, Done done) : timer_(io), done_(std::move(done)) {}

  void settle(std::optional<Value> reply, std::string why) {
    if (settled_) return;
    auto keep = shared_from_this();  // `done` may drop the last other reference
    settled_ = true;
    timer_.cancel();
    if (link_) {
      link_->close("query done");
      link_.reset();
    }
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(reply), std::move(why));
  }

 private:
  asio::steady_timer timer_;
  Done done_;
  std::shared_ptr<Link> link_;
  bool settled_ = false;
};

}  // namespace

class Connection::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, ConnectionOptions options)
      : io_(io),
        options_(std::move(options)),
        primary_(options_.server.endpoint),
        reconnect_timer_(io),
        deadline_(io),
        watcher_timer_(io),
        feed_timer_(io),
        poll_timer_(io) {}

  Counters counters;

  void start() {
    start_connect();
    start_watcher();
  }

  void submit(std::vector<Argv> commands, Completion done) {
    auto op = std::make_shared<Op>(io_, std::move(commands), std::move(done));
    if (stopping_) return finish(op, unavailable("the store is closed"));
    if (op->commands.empty()) return finish(op, Replies{});
    op->timer.expires_after(options_.command_timeout);
    op->timer.async_wait([self = shared_from_this(), op](const boost::system::error_code& ec) {
      if (!ec) self->on_timeout(op);
    });
    dispatch(op);
  }

  void shutdown() {
    stopping_ = true;
    reconnect_timer_.cancel();
    deadline_.cancel();
    watcher_timer_.cancel();
    feed_timer_.cancel();
    poll_timer_.cancel();
    if (feed_) feed_->close("the store is closing");
    if (probe_) std::exchange(probe_, nullptr)->settle(std::nullopt, "the store is closing");
    if (watcher_) watcher_->close("the store is closing");
    if (link_) link_->close("the store is closing");  // what is in flight fails as it comes back
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& op : waiting) finish(op, unavailable("the store is closing"));
  }

 private:
  enum class Phase { idle, discovering, connecting, handshaking, ready, closing };

  bool sentinel_mode() const { return !options_.sentinels.empty(); }

  // ---- connecting ------------------------------------------------------------

  void start_connect() {
    if (stopping_) return;
    if (sentinel_mode()) {
      discover();
    } else {
      open_primary(options_.server.endpoint);
    }
  }

  void discover() {
    phase_ = Phase::discovering;
    ++discover_gen_;
    probe_index_ = 0;
    probe_error_.clear();
    if (probe_) std::exchange(probe_, nullptr)->settle(std::nullopt, "superseded");
    probe_next(discover_gen_);
  }

  void probe_next(std::uint64_t gen) {
    if (gen != discover_gen_ || stopping_) return;
    if (probe_index_ >= options_.sentinels.size()) {
      phase_ = Phase::idle;
      last_error_ = "no Sentinel named a primary for \"" + options_.master_name + "\" (" + probe_error_ + ")";
      schedule_reconnect();
      return;
    }
    const Endpoint sentinel = options_.sentinels[probe_index_++];
    const milliseconds timeout = std::min(options_.command_timeout, kMaxProbeTimeout);
    const Argv ask = {"SENTINEL", "get-master-addr-by-name", options_.master_name};
    probe_ = Query::start(io_, sentinel, ask, timeout,
                          [weak = weak_from_this(), gen, sentinel](std::optional<Value> reply, std::string why) {
                            auto self = weak.lock();
                            if (!self || gen != self->discover_gen_ || self->stopping_) return;
                            self->probe_ = nullptr;
                            self->on_probe_answer(gen, sentinel, std::move(reply), why);
                          });
  }

  void on_probe_answer(std::uint64_t gen, const Endpoint& sentinel, std::optional<Value> reply,
                       const std::string& why) {
    if (reply && reply->is_array() && reply->elements.size() == 2 && reply->elements[0].is_string() &&
        reply->elements[1].is_string()) {
      try {
        open_primary(parse_host_port(reply->elements[0].text + ":" + reply->elements[1].text));
        return;
      } catch (const std::invalid_argument&) {
        // Falls through: an answer we cannot use.
      }
    }
    std::string what = !reply ? why : reply->is_nil() ? "does not know the master" : "gave an answer that is not an address";
    if (!probe_error_.empty()) probe_error_ += "; ";
    probe_error_ += sentinel.to_string() + " " + what;
    probe_next(gen);
  }

  void open_primary(const Endpoint& at) {
    const std::uint64_t gen = ++link_gen_;
    phase_ = Phase::connecting;
    primary_ = at;
    Link::Events events;
    events.connected = [weak = weak_from_this(), gen] {
      if (auto self = weak.lock()) self->on_connected(gen);
    };
    events.closed = [weak = weak_from_this(), gen](const std::string& why) {
      if (auto self = weak.lock()) self->on_closed(gen, why);
    };
    link_ = Link::open(io_, at.host, at.port, std::move(events), &counters.links);
    // hiredis 0.14 has no connect timeout: this bounds connect and handshake.
    deadline_.expires_after(options_.command_timeout);
    deadline_.async_wait([weak = weak_from_this(), gen](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || gen != self->link_gen_) return;
      if (self->phase_ == Phase::connecting || self->phase_ == Phase::handshaking) {
        self->drop_link("no connection to " + self->primary_.to_string() + " within " +
                        millis_text(self->options_.command_timeout));
      }
    });
  }

  // AUTH, SELECT and (with Sentinels) ROLE go out before anything else.
  void on_connected(std::uint64_t gen) {
    if (gen != link_gen_ || phase_ != Phase::connecting || !link_) return;
    phase_ = Phase::handshaking;
    struct Step {
      std::string what;
      Argv argv;
    };
    std::vector<Step> steps;
    const ServerAddress& server = options_.server;
    if (!server.password.empty()) {
      Argv auth = {"AUTH"};
      if (!server.username.empty()) auth.push_back(server.username);
      auth.push_back(server.password);
      steps.push_back({"AUTH", std::move(auth)});
    }
    if (server.db != 0) steps.push_back({"SELECT", {"SELECT", std::to_string(server.db)}});
    if (sentinel_mode()) steps.push_back({"ROLE", {"ROLE"}});
    steps.push_back({"CLIENT SETNAME", {"CLIENT", "SETNAME", kClientName}});  // shows in CLIENT LIST

    handshake_pending_ = steps.size();
    handshake_error_.clear();
    for (auto& step : steps) {
      link_->send(step.argv, [self = shared_from_this(), gen, what = step.what](std::optional<Value> reply) {
        self->on_handshake_reply(gen, what, std::move(reply));
      });
    }
  }

  void on_handshake_reply(std::uint64_t gen, const std::string& what, std::optional<Value> reply) {
    if (gen != link_gen_ || phase_ != Phase::handshaking) return;
    if (!reply) return;  // `closed` follows
    last_reply_at_ = Clock::now();
    std::string problem;
    if (what == "ROLE") {
      const bool primary = reply->is_array() && !reply->elements.empty() && reply->elements[0].text == "master";
      if (!primary) {
        const std::string role = reply->is_array() && !reply->elements.empty() ? reply->elements[0].text : "not a primary";
        problem = primary_.to_string() + " is a " + role + ", not the primary";
      }
    } else if (reply->is_error() && what != "CLIENT SETNAME") {
      problem = what + " was refused by " + primary_.to_string() + ": " + reply->text;
    }
    if (!problem.empty() && handshake_error_.empty()) handshake_error_ = problem;
    if (--handshake_pending_ > 0) return;
    if (!handshake_error_.empty()) return drop_link(handshake_error_);
    become_ready();
  }

  // ---- the change feed (Connection::watch) ----------------------------------------

 public:
  void watch(Watch w) {
    feed_watch_ = std::make_shared<Watch>(std::move(w));
    if (phase_ == Phase::ready) open_feed();
    poll();
  }

 private:

  // A subscriber connection to the primary the command connection uses: it
  // follows a failover because it is reopened after the command connection is.
  void open_feed() {
    if (!feed_watch_ || feed_ || stopping_) return;
    const std::uint64_t gen = ++feed_gen_;
    Link::Events events;
    events.connected = [weak = weak_from_this(), gen] {
      auto self = weak.lock();
      if (!self || gen != self->feed_gen_ || !self->feed_) return;
      const ServerAddress& server = self->options_.server;
      if (!server.password.empty()) {
        Argv auth = {"AUTH"};
        if (!server.username.empty()) auth.push_back(server.username);
        auth.push_back(server.password);
        self->feed_->send(auth, [](std::optional<Value>) {});  // a refusal shows as the SUBSCRIBE failing
      }
      self->feed_->subscribe(self->feed_watch_->channel, [weak, gen](const Value& message) {
        auto self = weak.lock();
        if (!self || gen != self->feed_gen_) return;
        if (message.is_array() && message.elements.size() == 3 && message.elements[0].text == "message")
          self->feed_watch_->on_message(message.elements[2].text);
        else if (message.is_error())
          self->feed_->close("the subscription was refused: " + message.text.substr(0, 200));
      });
    };
    events.closed = [weak = weak_from_this(), gen](const std::string&) {
      auto self = weak.lock();
      if (!self || gen != self->feed_gen_) return;
      self->feed_.reset();
      self->feed_timer_.expires_after(kMinBackoff * 4);
      self->feed_timer_.async_wait([weak](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (self && !ec && self->phase_ == Phase::ready) self->open_feed();  // else become_ready does
      });
    };
    feed_ = Link::open(io_, primary_.host, primary_.port, std::move(events));
  }

  void poll() {
    if (!feed_watch_ || stopping_) return;
    std::vector<Argv> get;
    get.push_back(Argv{"GET", feed_watch_->counter_key});
    submit(std::move(get), [weak = weak_from_this()](Result<Replies> replies) {
      auto self = weak.lock();
      if (!self || self->stopping_) return;
      if (replies && replies->size() == 1 && !replies->front().is_error()) {
        const Value& v = replies->front();
        std::int64_t counter = 0;
        if (v.is_string()) {
          try {
            counter = std::stoll(v.text);
          } catch (const std::exception&) {
            counter = -1;
          }
        }
        if (counter >= 0) self->feed_watch_->on_poll(counter);
      }
      self->poll_timer_.expires_after(self->feed_watch_->poll_every);
      self->poll_timer_.async_wait([weak](const boost::system::error_code& ec) {
        if (auto self = weak.lock(); self && !ec) self->poll();
      });
    });
  }

  void become_ready() {
    phase_ = Phase::ready;
    deadline_.cancel();
    backoff_ = kMinBackoff;
    counters.connections.fetch_add(1, std::memory_order_relaxed);
    // After a reconnect (maybe to a new primary), the subscription moves along.
    if (feed_ && feed_->peer() != primary_.to_string()) feed_->close("the primary moved");
    open_feed();
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& op : waiting) {
      if (!op->finished) dispatch(op);
    }
  }

  // Closes the current connection; on_closed follows and schedules the reconnect.
  void drop_link(const std::string& why) {
    if (!link_ || phase_ == Phase::closing) return;
    phase_ = Phase::closing;
    last_error_ = why;
    link_->close(why);
  }

  void on_closed(std::uint64_t gen, const std::string& why) {
    if (gen != link_gen_) return;
    link_.reset();
    deadline_.cancel();
    last_error_ = why;
    phase_ = Phase::idle;
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (stopping_) return;
    const milliseconds delay = std::exchange(reconnect_now_, false) ? milliseconds{0} : backoff_;
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) self->start_connect();
    });
  }

  // ---- Sentinel: +switch-master ----------------------------------------------

  void start_watcher() {
    if (!sentinel_mode() || stopping_) return;
    const Endpoint& at = options_.sentinels[watcher_index_ % options_.sentinels.size()];
    const std::uint64_t gen = ++watcher_gen_;
    Link::Events events;
    events.connected = [weak = weak_from_this(), gen] {
      auto self = weak.lock();
      if (!self || gen != self->watcher_gen_ || !self->watcher_) return;
      self->watcher_->subscribe("+switch-master", [weak](const Value& message) {
        if (auto self = weak.lock()) self->on_sentinel_message(message);
      });
    };
    events.closed = [weak = weak_from_this(), gen](const std::string&) {
      if (auto self = weak.lock()) self->on_watcher_closed(gen);
    };
    watcher_ = Link::open(io_, at.host, at.port, std::move(events));
  }

  void on_watcher_closed(std::uint64_t gen) {
    if (gen != watcher_gen_ || stopping_) return;
    watcher_.reset();
    ++watcher_index_;  // the next Sentinel
    watcher_timer_.expires_after(watcher_backoff_);
    watcher_backoff_ = std::min(watcher_backoff_ * 2, kMaxBackoff);
    watcher_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) self->start_watcher();
    });
  }

  // "message", "+switch-master", "<master> <old ip> <old port> <new ip> <new port>"
  void on_sentinel_message(const Value& message) {
    if (!message.is_array() || message.elements.size() < 3) return;
    if (message.elements[0].text == "subscribe") {
      watcher_backoff_ = kMinBackoff;
      return;
    }
    if (message.elements[0].text != "message") return;
    std::vector<std::string> words;
    std::string_view payload = message.elements[2].text;
    while (!payload.empty()) {
      const auto space = payload.find(' ');
      words.emplace_back(payload.substr(0, space));
      payload = space == std::string_view::npos ? std::string_view{} : payload.substr(space + 1);
    }
    if (words.size() != 5 || words[0] != options_.master_name) return;
    if (phase_ == Phase::ready && words[3] == primary_.host && words[4] == std::to_string(primary_.port)) return;
    rediscover_now();
  }

  void rediscover_now() {
    if (stopping_) return;
    switch (phase_) {
      case Phase::idle:
        reconnect_timer_.cancel();
        start_connect();
        break;
      case Phase::discovering: discover(); break;
      case Phase::closing: reconnect_now_ = true; break;
      case Phase::connecting:
      case Phase::handshaking:
      case Phase::ready:
        reconnect_now_ = true;
        drop_link("the Sentinels announced a new primary");
        break;
    }
  }

  // ---- commands ----------------------------------------------------------------

  void dispatch(const std::shared_ptr<Op>& op) {
    if (phase_ == Phase::ready && link_ && link_->usable()) {
      send(op);
    } else {
      waiting_.push_back(op);
    }
  }

  void send(const std::shared_ptr<Op>& op) {
    const std::uint64_t attempt = ++op->attempt;
    ++op->sends;
    op->in_flight = true;
    op->sent_on = link_gen_;
    op->sent_at = Clock::now();
    op->received = 0;
    op->replies.assign(op->commands.size(), Value{});
    counters.commands.fetch_add(op->commands.size(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < op->commands.size(); ++i) {
      const bool queued = link_->send(op->commands[i], [self = shared_from_this(), op, attempt, i](std::optional<Value> reply) {
        self->on_reply(op, attempt, i, std::move(reply));
      });
      if (!queued) return lost(op, "the connection to " + primary_.to_string() + " cannot take commands");
    }
  }

  void on_reply(const std::shared_ptr<Op>& op, std::uint64_t attempt, std::size_t index, std::optional<Value> reply) {
    if (reply) last_reply_at_ = Clock::now();
    if (op->finished || attempt != op->attempt) return;
    if (!reply) return lost(op, last_error_.empty() ? "the connection was lost" : last_error_);
    if (reply->is_error("READONLY") || reply->is_error("MASTERDOWN")) {
      // Not applied: the server is (now) a replica. Find the primary again.
      drop_link(primary_.to_string() + " is not a writable primary any more");
      return lost(op, last_error_);
    }
    op->replies[index] = std::move(*reply);
    if (++op->received == op->commands.size()) finish(op, std::move(op->replies));
  }

  // The connection went before every reply came: send it once more, if time allows.
  void lost(const std::shared_ptr<Op>& op, const std::string& why) {
    if (op->finished) return;
    ++op->attempt;
    op->in_flight = false;
    if (!stopping_ && op->sends < 2) return dispatch(op);
    finish(op, unavailable(why));
  }

  void on_timeout(const std::shared_ptr<Op>& op) {
    if (op->finished) return;
    counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    const bool in_flight = op->in_flight && op->sent_on == link_gen_ && phase_ == Phase::ready;
    const std::string limit = millis_text(options_.command_timeout);
    if (in_flight) {
      finish(op, unavailable("no reply from " + primary_.to_string() + " within " + limit));
      // A connection that stayed silent all that time is presumed dead (a
      // peer gone without a FIN); a merely slow one is kept.
      if (last_reply_at_ < op->sent_at) drop_link("no reply from " + primary_.to_string() + " within " + limit);
    } else {
      finish(op, unavailable("not connected to Redis within " + limit +
                             (last_error_.empty() ? std::string() : ": " + last_error_)));
    }
    while (!waiting_.empty() && waiting_.front()->finished) waiting_.pop_front();
  }

  void finish(const std::shared_ptr<Op>& op, Result<Replies> result) {
    op->finished = true;
    op->timer.cancel();
    auto done = std::move(op->done);
    op->done = nullptr;
    op->replies.clear();
    if (done) done(std::move(result));
  }

  asio::io_context& io_;
  const ConnectionOptions options_;
  Phase phase_ = Phase::idle;
  std::shared_ptr<Link> link_;
  std::uint64_t link_gen_ = 0;
  Endpoint primary_;
  std::size_t handshake_pending_ = 0;
  std::string handshake_error_;
  std::string last_error_ = "not connected yet";
  Clock::time_point last_reply_at_{};
  std::deque<std::shared_ptr<Op>> waiting_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer deadline_;
  milliseconds backoff_ = kMinBackoff;
  bool reconnect_now_ = false;
  bool stopping_ = false;

  std::shared_ptr<Query> probe_;
  std::uint64_t discover_gen_ = 0;
  std::size_t probe_index_ = 0;
  std::string probe_error_;

  std::shared_ptr<Link> watcher_;
  std::uint64_t watcher_gen_ = 0;
  std::size_t watcher_index_ = 0;
  asio::steady_timer watcher_timer_;
  milliseconds watcher_backoff_ = kMinBackoff;

  std::shared_ptr<Watch> feed_watch_;
  std::shared_ptr<Link> feed_;
  std::uint64_t feed_gen_ = 0;
  asio::steady_timer feed_timer_;
  asio::steady_timer poll_timer_;
};

Connection::Connection(ConnectionOptions options)
    : keep_running_(io_.get_executor()), core_(std::make_shared<Core>(io_, std::move(options))) {
  asio::post(io_, [core = core_] { core->start(); });
  thread_ = std::thread([this] {
    // hiredis writes with write(2): a peer that went away must yield EPIPE on
    // this thread, not a SIGPIPE that ends the process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    pthread_setname_np(pthread_self(), "tollgate-redis");
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception&) {
        // A handler failed (out of memory): the connection's state is intact
        // and every operation still has its timer, so serve on.
      }
    }
  });
}

Connection::~Connection() {
  asio::post(io_, [core = core_] { core->shutdown(); });
  keep_running_.reset();
  thread_.join();
}

void Connection::submit(std::vector<Argv> commands, Completion done) {
  asio::post(io_, [core = core_, commands = std::move(commands), done = std::move(done)]() mutable {
    core->submit(std::move(commands), std::move(done));
  });
}

void Connection::watch(Watch watch) {
  asio::post(io_, [core = core_, watch = std::move(watch)]() mutable { core->watch(std::move(watch)); });
}

RedisStats Connection::stats() const {
  RedisStats s;
  s.commands = core_->counters.commands.load(std::memory_order_relaxed);
  s.write_batches = core_->counters.links.writes.load(std::memory_order_relaxed);
  s.max_in_flight = core_->counters.links.max_in_flight.load(std::memory_order_relaxed);
  s.connections = core_->counters.connections.load(std::memory_order_relaxed);
  s.timeouts = core_->counters.timeouts.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tollgate::store::redis
