#include "forward.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include "tollgate/errors/error.hpp"
#include "tollgate/http/field_syntax.hpp"
#include "tollgate/http/head_check.hpp"
#include "tollgate/ops/instruments.hpp"
#include "tollgate/relay/message.hpp"

namespace tollgate::relay {
namespace {

using http::iequals;
using namespace std::string_view_literals;  // literals appended without strlen

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;
using boost::system::error_code;
using errors::Code;
using Clock = std::chrono::steady_clock;

// Beast's response parser without a message to fill: it frames and decodes the
// body (length, chunks, the end by close, keep-alive), while tollgate keeps
// the head's fields itself (check_response_head), so no field is stored in a
// case-insensitive map or allocated. Body bytes are copied into the window
// set by body_into, like buffer_body's; need_buffer when it is full.
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  unsigned status() const { return status_; }
  void body_into(char* data, std::size_t size) {
    data_ = data;
    room_ = size;
  }
  std::size_t room() const { return room_; }

 private:
  using string_view = beast::string_view;
  void on_request_impl(bhttp::verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = static_cast<unsigned>(code); }
  void on_field_impl(bhttp::field, string_view, string_view, error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override { return take(body, ec); }
  void on_finish_impl(error_code&) override {}

  std::size_t take(string_view body, error_code& ec) {
    const std::size_t n = data_ ? std::min(room_, body.size()) : 0;
    if (n) std::memcpy(data_, body.data(), n);
    data_ += n;
    room_ -= n;
    if (n != body.size()) ec = bhttp::error::need_buffer;
    return n;
  }

  unsigned status_ = 0;
  char* data_ = nullptr;
  std::size_t room_ = 0;
};

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 64 * 1024;             // one read buffer per direction
constexpr std::size_t kMaxResponseHead = 64 * 1024;   // like the one-shot client's


std::string duration_text(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

bool closed_by_peer(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

// Why an attempt ended, in the terms the retry rule needs.
struct Failure {
  Code code;
  std::string message;
  bool no_response_byte = false;  // nothing of a response arrived
  bool connection_lost = false;   // closed or reset (not a timeout, not a protocol error)
};

// 64 KiB read buffers, reused per worker thread: a relayed call costs no
// allocation (and no zeroing) of its buffers in the steady state. Calls on one
// worker interleave, so each takes its own buffer from the thread's free list.
// A buffer is taken on first use only: a call without a request body never
// takes the client → upstream one, nor a response without a body the other.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ~ScratchBuffer() {
    auto& spare = free_list();
    if (data_ && spare.size() < 1024) spare.push_back(std::move(data_));
  }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  char* get() {
    if (!data_) {
      auto& spare = free_list();
      if (spare.empty()) {
        data_.reset(new char[kChunk]);  // default-initialized: not zeroed
      } else {
        data_ = std::move(spare.back());
        spare.pop_back();
      }
    }
    return data_.get();
  }

 private:
  static std::vector<std::unique_ptr<char[]>>& free_list() {
    thread_local std::vector<std::unique_ptr<char[]>> spare;
    return spare;
  }
  std::unique_ptr<char[]> data_;
};

// The response head's read buffer, reused per worker thread like the
// ScratchBuffers: a flat_buffer keeps its storage when moved and cleared, so a
// call allocates none in the steady state (it was one 16 KiB allocation each).
class HeadBuffer {
 public:
  HeadBuffer() {
    auto& spare = free_list();
    if (!spare.empty()) {
      buffer_ = std::move(spare.back());
      spare.pop_back();
    }
  }
  ~HeadBuffer() {
    auto& spare = free_list();
    if (spare.size() >= 1024 || buffer_.capacity() > 2 * kMaxResponseHead) return;  // a huge one goes
    buffer_.clear();
    spare.push_back(std::move(buffer_));
  }
  HeadBuffer(const HeadBuffer&) = delete;
  HeadBuffer& operator=(const HeadBuffer&) = delete;
  beast::flat_buffer& get() noexcept { return buffer_; }

 private:
  static std::vector<beast::flat_buffer>& free_list() {
    thread_local std::vector<beast::flat_buffer> spare;
    return spare;
  }
  beast::flat_buffer buffer_;
};

// "<hex size>\r\n" of a chunk of n bytes, in `line`; returns its length.
std::size_t chunk_size_line(std::size_t n, std::array<char, 24>& line) {
  return static_cast<std::size_t>(std::snprintf(line.data(), line.size(), "%zx\r\n", n));
}

// Writes `buffers` to a plain TCP stream: first straight to the socket
// (write_now, a plain function), then, for whatever the kernel did not take at
// once, the timed asynchronous write (write_rest). A small write nearly always
// goes whole in the first step, which spares the timer, the queued completion
// and the coroutine frame and suspension around it.
template <typename Buffers>
std::pair<error_code, std::size_t> write_now(beast::tcp_stream& stream, const Buffers& buffers) {
  auto& socket = stream.socket();
  error_code ec;
  if (!socket.non_blocking()) socket.non_blocking(true, ec);  // once per connection (one ioctl)
  std::size_t done = ec ? 0 : socket.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  return {ec, done};
}

// The rest of `buffers` after `done` bytes; returns the total written.
template <typename Buffers>
awaitable<std::pair<error_code, std::size_t>> write_rest(beast::tcp_stream& stream, const Buffers& buffers,
                                                         std::size_t done, Clock::duration idle) {
  beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(done);
  stream.expires_after(idle);
  auto [wec, more] = co_await asio::async_write(stream, rest, kNoThrow);
  co_return std::pair{wec, done + more};
}

// A reset, not a clean end, so a client cannot mistake a cut-off body for a
// whole one (SPEC §5 "Time": a failure after the head resets the connection).
void reset_client(http::Exchange& ex) {
  error_code ec;
  auto& socket = ex.stream().socket();
  socket.set_option(asio::socket_base::linger(true, 0), ec);
  socket.close(ec);
  ex.close_after_response();
}

class Relay {
 public:
  Relay(http::Exchange& ex, upstream::Pool& pool, OutgoingRequest& request, Clock::time_point deadline,
        Metered& metered, RefreshHook& hook)
      : metered_(metered),
        hook_(hook),
        ex_(ex),
        pool_(pool),
        request_(request),
        deadline_(deadline),
        cfg_(ex.config_snapshot()) {
    fields_.reserve(24);  // one allocation for a typical response head, not five as it grows
    const auto& client = ex.request();
    head_method_ = request.method == "HEAD";
    client_http10_ = client.version() == 10;
    if (ex.has_body()) {
      auto expect = client["Expect"];
      expects_continue_ = iequals({expect.data(), expect.size()}, "100-continue");
      body_ = &ex.body_stream();  // moves the head: `client` is not used after this
      chunked_up_ = body_->chunked();
      if (auto length = body_->content_length()) request_.headers.emplace_back("Content-Length", std::to_string(*length));
      else request_.headers.emplace_back("Transfer-Encoding", "chunked");
    } else {
      body_done_ = true;
      if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH")
        request_.headers.emplace_back("Content-Length", "0");
    }
    head_ = request_head(request_.method, request_.url.target, request_.headers);
  }

  // After the exchange: the response bytes join the recorded event.
  ForwardResult finish() {
    add_response_bytes(result_.response_bytes);
    result_.counted = recorded_;
    return result_;
  }

  // The whole relayed call. A static member owning its Relay in its own
  // frame, so forward() is no coroutine of its own (one frame less per call).
  static awaitable<ForwardResult> run(http::Exchange& ex, upstream::Pool& pool, OutgoingRequest request,
                                      Clock::time_point deadline, Metered& metered, RefreshHook& hook) {
    Relay self(ex, pool, request, deadline, metered, hook);
    self.ex_.stream().expires_at(self.deadline_);
    bool fresh = false;  // the next attempt takes a new connection
    bool connect_retried = false;
    for (;;) {
      // A kept connection is taken without entering the pool's coroutine. (No
      // co_await inside a conditional expression: g++ 12 miscompiles it.)
      std::optional<std::variant<upstream::Lease, upstream::Error>> taken;
      if (!fresh) {
        if (auto kept = self.pool_.reuse(self.request_.url)) taken.emplace(std::move(*kept));
      }
      if (!taken) taken.emplace(co_await self.pool_.acquire(self.request_.url, true));
      auto& leased = *taken;
      fresh = false;
      if (auto* error = std::get_if<upstream::Error>(&leased)) {
        // A refused or reset connect sent nothing: once more on a new connection.
        if (!connect_retried && error->failure == upstream::Failure::connect_failed) {
          connect_retried = fresh = true;
          continue;
        }
        co_await self.fail(Failure{upstream::to_code(*error), error->message, true, false});
        co_return self.finish();
      }
      auto& lease = std::get<upstream::Lease>(leased);
      self.lease_ = &lease;
      auto& transport = upstream::tcp_layer(lease.stream());
      auto attempted = std::visit([&](auto& s) { return self.exchange(s, transport); }, lease.stream());
      auto failure = co_await std::move(attempted);
      if (!failure) {
        if (self.replay_) {
          self.replay_ = false;  // the refreshed request, once (the old answer's connection is closed)
          continue;
        }
        if (self.reusable_) lease.release();
        co_return self.finish();
      }
      // Sent again only when nothing came back, the connection was lost (not a
      // timeout), every body byte read so far is kept, and the request may be repeated.
      bool again = !self.lost_retried_ && failure->no_response_byte && failure->connection_lost && self.kept_all_ &&
                   self.request_.retryable && !self.client_gone_;
      if (!again) {
        co_await self.fail(std::move(*failure));
        co_return self.finish();
      }
      self.lost_retried_ = fresh = true;
    }
  }

 private:
  // Answers a failure: an error before the response head, a reset after it.
  awaitable<void> fail(Failure failure) {
    ex_.body_streamed(body_bytes_, body_done_);
    if (reached_upstream_) record(0);
    if (client_gone_) {
      ex_.mark_responded(0, 0);
      ex_.close_after_response();
      co_return;
    }
    if (head_sent_) {
      reset_client(ex_);
      co_return;
    }
    if (!body_done_) ex_.close_after_response();
    co_await ex_.respond_error(failure.code, failure.message);
  }

  // The usage event, once per client request whatever the attempts.
  void record(unsigned status) {
    if (recorded_ || !metered_.meter) return;
    recorded_ = true;
    metered_.call.status = status;
    metered_.call.request_bytes = body_bytes_;
    metered_.call.response_bytes = 0;
    metered_.call.upstream_latency = result_.upstream_latency;
    metered_.meter->record(metered_.call);
  }

  void add_response_bytes(std::uint64_t bytes) {
    if (recorded_ && metered_.meter && bytes) metered_.meter->add_response_bytes(metered_.call, bytes);
  }

  Failure upstream_failure(Code code, std::string what, bool no_byte, bool lost) {
    return Failure{code, request_.method + " " + request_.url.origin() + ": " + std::move(what), no_byte, lost};
  }

  // Reads the next piece of the response body into the parser's body buffer,
  // within the idle timeout. A TLS upstream that closes without close_notify
  // ends a body delimited by the close.
  template <typename S>
  awaitable<error_code> read_body_piece(S& up, beast::tcp_stream& transport, beast::flat_buffer& buffer,
                                        ResponseParser& parser) {
    transport.expires_after(cfg_->relay.upstream_timeouts.idle);
    auto [ec, ignored] = co_await bhttp::async_read_some(up, buffer, parser, kNoThrow);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == asio::ssl::error::stream_truncated && parser.need_eof()) parser.put_eof(ec);
    co_return ec;
  }

  Failure body_failure(const error_code& ec) {
    return upstream_failure(Code::upstream_unreachable,
                            ec == beast::error::timeout
                                ? "the response body stalled for " + duration_text(cfg_->relay.upstream_timeouts.idle)
                                : "the response body broke off: " + ec.message(),
                            false, false);
  }

  // Deadline-bound expiry for upstream I/O before the response head.
  void expire_before_head(beast::tcp_stream& transport, Clock::duration limit) {
    transport.expires_at(std::min(deadline_, Clock::now() + limit));
  }

  void keep(std::size_t n) {
    if (!kept_all_) return;
    if (kept_.size() + n > cfg_->relay.replay_limit) {
      kept_all_ = false;
      std::string().swap(kept_);
      return;
    }
    kept_.append(in_.get(), n);
  }

  template <typename S>
  awaitable<error_code> send_piece(S& up, const char* data, std::size_t n) {
    if (n == 0) co_return error_code{};
    if (!chunked_up_) {
      auto [ec, written] = co_await asio::async_write(up, asio::buffer(data, n), kNoThrow);
      co_return ec;
    }
    std::array<char, 24> size_line{};
    std::array<asio::const_buffer, 3> pieces{asio::buffer(size_line.data(), chunk_size_line(n, size_line)),
                                             asio::buffer(data, n), asio::buffer("\r\n", 2)};
    auto [ec, written] = co_await asio::async_write(up, pieces, kNoThrow);
    co_return ec;
  }

  // The request: head, the kept body bytes (on a second attempt), then the rest
  // of the client's body piece by piece. Returns the upstream write error, if
  // any; a client-side failure sets client_failure_.
  template <typename S>
  awaitable<error_code> send_request(S& up, beast::tcp_stream& transport) {
    const auto idle = cfg_->relay.upstream_timeouts.idle;
    expire_before_head(transport, idle);
    error_code ec;
    std::size_t written = 0;
    if constexpr (std::is_same_v<S, upstream::PlainStream>) {
      std::tie(ec, written) = write_now(up, asio::buffer(head_));
      if (!ec && written != head_.size())
        std::tie(ec, written) = co_await write_rest(up, asio::buffer(head_), written,
                                                    std::min<Clock::duration>(idle, deadline_ - Clock::now()));
    } else {
      std::tie(ec, written) = co_await asio::async_write(up, asio::buffer(head_), kNoThrow);
    }
    if (written != 0) reached_upstream_ = true;
    if (ec || !body_) co_return ec;
    if (!kept_.empty()) {
      expire_before_head(transport, idle);
      ec = co_await send_piece(up, kept_.data(), kept_.size());
      if (ec) co_return ec;
    }
    while (!body_done_) {
      if (expects_continue_ && !continue_sent_) {
        continue_sent_ = true;
        auto [cec, cn] = co_await asio::async_write(ex_.stream(), asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25),
                                                   kNoThrow);
        if (cec) {
          client_gone_ = true;
          co_return error_code{};
        }
      }
      auto& parser = *body_;
      parser.get().body().data = in_.get();
      parser.get().body().size = kChunk;
      auto [rec, rn] = co_await bhttp::async_read_some(ex_.stream(), ex_.buffer(), parser, kNoThrow);
      const std::size_t n = kChunk - parser.get().body().size;
      if (rec == bhttp::error::need_buffer) rec = {};
      if (rec) {
        client_failure_ = rec;
        co_return error_code{};
      }
      if (parser.is_done()) body_done_ = true;
      body_bytes_ += n;
      keep(n);
      expire_before_head(transport, idle);
      ec = co_await send_piece(up, in_.get(), n);
      if (ec) co_return ec;
    }
    if (chunked_up_) {
      expire_before_head(transport, idle);
      auto [lec, ln] = co_await asio::async_write(up, asio::buffer("0\r\n\r\n", 5), kNoThrow);
      co_return lec;
    }
    co_return error_code{};
  }

  // One try on one connection; nullopt when the exchange is over (relayed, or
  // the client went away and there is nobody to answer).
  template <typename S>
  awaitable<std::optional<Failure>> exchange(S& up, beast::tcp_stream& transport) {
    const auto& timeouts = cfg_->relay.upstream_timeouts;
    reusable_ = false;
    client_failure_ = {};
    // A request without a body to a plain upstream is its head alone, written
    // here as send_request would, without entering its coroutine.
    error_code write_ec;
    bool sent = false;
    if constexpr (std::is_same_v<S, upstream::PlainStream>) {
      if (!body_) {
        std::size_t written = 0;
        std::tie(write_ec, written) = write_now(up, asio::buffer(head_));
        if (!write_ec && written != head_.size())
          std::tie(write_ec, written) =
              co_await write_rest(up, asio::buffer(head_), written,
                                  std::min<Clock::duration>(timeouts.idle, deadline_ - Clock::now()));
        if (written != 0) reached_upstream_ = true;
        sent = true;
      }
    }
    if (!sent) write_ec = co_await send_request(up, transport);
    if (client_gone_) co_return Failure{};
    if (client_failure_) {
      // The client's body broke off or was malformed: nothing more goes upstream.
      const bool malformed = !closed_by_peer(client_failure_) && client_failure_ != beast::error::timeout;
      if (!malformed) client_gone_ = true;
      co_return Failure{Code::bad_request, "the request body is malformed: " + client_failure_.message()};
    }
    const bool sent_whole = !write_ec;
    const auto sent_at = Clock::now();

    // The response head, read by hand so its raw bytes can be checked and the
    // first-byte timeout ends at the first byte. An upstream that answered early
    // and stopped reading is still heard after a failed write.
    HeadBuffer head_buffer;
    auto& buffer = head_buffer.get();
    std::optional<ResponseParser> parser;
    std::string_view final_head;  // the final response's raw head, at the front of `buffer`
    bool any_byte = false;
    for (;;) {
      std::size_t head_end = std::string_view::npos;
      std::size_t scanned = 0;
      while (head_end == std::string_view::npos) {
        std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
        head_end = http::find_head_end(data, scanned > 3 ? scanned - 3 : 0);
        if (head_end != std::string_view::npos) break;
        if (data.size() > kMaxResponseHead)
          co_return upstream_failure(Code::upstream_unreachable, "the response head exceeds 64 KiB", false, false);
        scanned = data.size();
        expire_before_head(transport, any_byte ? timeouts.idle : timeouts.first_byte);
        auto [ec, n] = co_await up.async_read_some(buffer.prepare(16 * 1024), kNoThrow);
        buffer.commit(n);
        if (n) any_byte = true;
        if (!ec) continue;
        if (ec == beast::error::timeout) {
          if (Clock::now() >= deadline_)
            co_return upstream_failure(Code::upstream_timeout,
                                       "no response head within the request deadline (server.timeouts.request, " +
                                           duration_text(cfg_->server.timeouts.request) + ")",
                                       !any_byte, false);
          co_return upstream_failure(Code::upstream_timeout,
                                     any_byte ? "the response head stalled for " + duration_text(timeouts.idle)
                                              : "no response within " + duration_text(timeouts.first_byte) +
                                                    " (relay.upstream_timeouts.first_byte)",
                                     !any_byte, false);
        }
        std::string what = !sent_whole ? "the connection was lost while sending the request"
                           : any_byte  ? "the connection closed before the response head was complete"
                                       : "the connection closed without a response";
        co_return upstream_failure(Code::upstream_unreachable, std::move(what), !any_byte, closed_by_peer(ec));
      }
      std::string_view head(static_cast<const char*>(buffer.data().data()), head_end);
      fields_.clear();
      if (auto problem = check_response_head(head, &fields_))
        co_return upstream_failure(Code::upstream_unreachable, "broken response framing: " + *problem, false, false);
      // Beast gets the status line and the fields that frame the body (it knows
      // where the message ends and decodes chunks); the client's head is built
      // from the raw fields below, so the rest are not parsed and stored twice.
      // Connection is tollgate's: its tokens name the fields to drop and decide
      // whether the upstream keeps the connection (RFC 9112 §9.3).
      auto& framing_head = framing_head_;  // reused: no allocation per response
      framing_head.assign(head.substr(0, head.find("\r\n") + 2));
      listed_.clear();
      for (const auto& [name, value] : fields_) {
        if (iequals(name, "content-length") || iequals(name, "transfer-encoding"))
          framing_head.append(name).append(": "sv).append(value).append("\r\n"sv);
        else if (iequals(name, "connection"))
          http::for_each_list_item(value, [&](std::string_view token) { listed_.emplace_back(token); });
      }
      framing_head.append("\r\n"sv);
      parser.emplace();
      parser->header_limit(static_cast<std::uint32_t>(kMaxResponseHead + 4));
      parser->body_limit(boost::none);
      parser->eager(false);
      if (head_method_) parser->skip(true);
      error_code pec;
      parser->put(asio::buffer(framing_head), pec);
      if (pec || !parser->is_header_done())
        co_return upstream_failure(Code::upstream_unreachable, "malformed response head: " + pec.message(), false,
                                   false);
      const unsigned status = parser->status();
      if (status >= 200) {
        final_head = head;  // consumed once the client's head is built from it
        break;
      }
      buffer.consume(head_end);
      if (status == 101)
        co_return upstream_failure(Code::upstream_unreachable, "the upstream switched protocols", false, false);
      // An interim response (100, 103): the final one follows; none is relayed.
    }
    result_.forwarded = true;
    result_.upstream_latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at);
    ops::record_upstream_latency(metered_.call.provider,
                                 std::chrono::duration<double>(result_.upstream_latency).count());
    result_.status = parser->status();

    if (!refreshed_ && hook_.statuses &&
        std::find(hook_.statuses->begin(), hook_.statuses->end(), static_cast<int>(result_.status)) !=
            hook_.statuses->end()) {
      // The provider refused the token: renew it (once per call) and send the
      // request again when its whole body is still held; else this answer goes
      // to the client, marked, so it can retry with the new token.
      refreshed_ = true;
      metered_.call.refreshed = true;
      const bool replayable = kept_all_ && body_done_;
      auto refused = co_await hook_.refresh(request_);
      if (refused) {
        record(result_.status);
        co_return Failure{refused->code, refused->message, false, false};
      }
      head_ = request_head(request_.method, request_.url.target, request_.headers);
      if (replayable) {
        replay_ = true;
        co_return std::nullopt;
      }
    }

    // The client's response head: the upstream's status and fields minus
    // hop-by-hop ones (walked in place), framed by tollgate.
    const unsigned status = result_.status;
    const bool no_body = head_method_ || status == 204 || status == 304;
    bool chunked_down = false;
    bool close_delimited = false;
    boost::optional<std::uint64_t> length_down;  // the Content-Length the client is told, if any
    if (no_body) {
      if (head_method_) length_down = parser->content_length();
    } else if (auto length = parser->content_length()) {
      length_down = length;
    } else if (!client_http10_) {
      chunked_down = true;
    } else {
      close_delimited = true;
    }
    const bool client_keep = ex_.keep_alive() && body_done_ && !close_delimited && !ex_.draining();

    const std::span<const std::string> listed(listed_.data(), listed_.size());
    // HTTP/1.1 and later persist unless closed; HTTP/1.0 only when asked to.
    const bool http11 = final_head[5] > '1' || (final_head[5] == '1' && final_head[7] >= '1');
    const bool upstream_keep = !listed_in(listed, "close") && (http11 || listed_in(listed, "keep-alive"));
    // Written through a cursor into room made once: the upstream's whole head
    // (the fields dropped here included) bounds what is kept of it, plus one
    // byte a field for a "name:value" line that goes out as "name: value".
    const auto status_line = final_head.substr(0, final_head.find("\r\n"));
    // The reason phrase as the upstream sent it ("HTTP/1.1 200 OK": what
    // follows the code); the standard one when it sent none.
    auto reason = status_line.size() > 13 ? status_line.substr(13) : std::string_view{};
    if (reason.empty()) reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
    constexpr std::string_view kLength = "Content-Length: ", kChunked = "Transfer-Encoding: chunked\r\n",
                               kClose = "Connection: close\r\n", kKeep = "Connection: keep-alive\r\n",
                               kId = "Tollgate-Request-Id: ", kRefreshed = "Tollgate-Refreshed: true\r\n";
    std::string out;
    out.resize(final_head.size() + fields_.size() + reason.size() + kLength.size() + 24 + kChunked.size() + kKeep.size() +
               kId.size() + ex_.request_id().size() + kRefreshed.size() + 32);
    char* p = out.data();
    const auto put = [&p](std::string_view piece) { p = errors::write_raw(p, piece); };
    put(client_http10_ ? "HTTP/1.0 "sv : "HTTP/1.1 "sv);
    p = std::to_chars(p, p + 8, status).ptr;
    *p++ = ' ';
    put(reason);
    put("\r\n"sv);
    for (const auto& [name, value] : fields_) {
      if (response_header_dropped(name, listed)) continue;
      put(name);
      put(": "sv);
      put(value);
      put("\r\n"sv);
    }
    if (length_down) {
      put(kLength);
      p = std::to_chars(p, p + 24, *length_down).ptr;
      put("\r\n"sv);
    } else if (chunked_down) {
      put(kChunked);
    }
    if (!client_keep) put(kClose);
    else if (client_http10_) put(kKeep);
    put(kId);
    put(ex_.request_id());
    put("\r\n"sv);
    if (refreshed_) put(kRefreshed);
    put("\r\n"sv);
    out.resize(static_cast<std::size_t>(p - out.data()));
    buffer.consume(final_head.size());

    // The body bytes that arrived with the head go out in the same write as the
    // client's head: one send (and one wake-up of the client) per small response
    // instead of two. A framing error among them is handled after that write,
    // like one in a later piece.
    std::size_t first = 0;
    error_code first_ec;
    if (!parser->is_done() && buffer.size() != 0) {
      parser->body_into(out_.get(), kChunk);
      while (buffer.size() != 0 && !parser->is_done()) {
        const std::size_t used = parser->put(buffer.data(), first_ec);
        buffer.consume(used);
        // need_more: the rest of a chunk (or its size line) is not here yet.
        if (first_ec == bhttp::error::need_buffer || first_ec == bhttp::error::need_more) first_ec = {};
        if (first_ec || used == 0 || parser->room() == 0) break;
      }
      first = kChunk - parser->room();
    }
    // A small body (one that fits the buffer) is waited for before the head goes
    // out, as nginx's proxy_buffering does, so the client gets the whole answer
    // in one write (a TLS upstream often sends the head and the body in separate
    // records). A stall or a break here ends like one in a later piece: the head,
    // what came of the body, then a reset.
    if (!first_ec && !parser->is_done() && !parser->chunked()) {
      if (first == 0) parser->body_into(out_.get(), kChunk);
      auto remaining = parser->content_length_remaining();
      while (remaining && *remaining <= parser->room() && !parser->is_done()) {
        first_ec = co_await read_body_piece(up, transport, buffer, *parser);
        if (first_ec) break;
        remaining = parser->content_length_remaining();
      }
      first = kChunk - parser->room();
    }
    // The whole answer is in: its upstream connection goes back to the pool
    // before the client's write, ready for the next call (nothing reads it again).
    const auto answer_read = [&] {
      reusable_ = sent_whole && body_done_ && upstream_keep && !parser->need_eof();
    };
    if (!first_ec && parser->is_done()) {
      answer_read();
      if (reusable_ && lease_) lease_->release();
    }
    std::array<char, 24> first_size{};
    std::size_t first_size_len = 0;
    if (chunked_down && first != 0) first_size_len = chunk_size_line(first, first_size);
    const bool first_is_last = chunked_down && !first_ec && parser->is_done();
    std::array<asio::const_buffer, 5> pieces{
        asio::buffer(out), asio::buffer(first_size.data(), first_size_len), asio::buffer(first ? out_.get() : nullptr, first),
        asio::buffer("\r\n", chunked_down && first ? 2 : 0), asio::buffer("0\r\n\r\n", first_is_last ? 5 : 0)};

    // Counted before the client sees the head: a crash after this over-counts
    // one answered call at most, never under-counts (SPEC §6).
    record(status);
    const auto client_idle = cfg_->server.timeouts.idle;
    auto [hec, written] = write_now(ex_.stream(), pieces);
    if (!hec && written != asio::buffer_size(pieces))
      std::tie(hec, written) = co_await write_rest(ex_.stream(), pieces, written, client_idle);
    head_sent_ = true;
    const std::size_t hn = std::min(written, out.size());
    std::uint64_t bytes_out = written - hn;  // body bytes written to the client, framing included
    ex_.mark_responded(status, hn);
    if (!client_keep) ex_.close_after_response();
    ex_.body_streamed(body_bytes_, body_done_);
    result_.request_bytes = body_bytes_;
    result_.response_bytes += first;
    if (hec) {
      client_gone_ = true;
      ex_.mark_responded(status, bytes_out);
      ex_.close_after_response();
      co_return std::nullopt;
    }
    if (first_ec) {
      ex_.mark_responded(status, bytes_out);
      co_return body_failure(first_ec);
    }

    // The body, one buffer at a time: memory stays flat however long it is.
    while (!parser->is_done()) {
      parser->body_into(out_.get(), kChunk);
      const auto ec = co_await read_body_piece(up, transport, buffer, *parser);
      const std::size_t n = kChunk - parser->room();
      if (n != 0) {
        ex_.stream().expires_after(client_idle);
        error_code wec;
        if (chunked_down) {
          std::array<char, 24> size_line{};
          std::array<asio::const_buffer, 3> pieces{asio::buffer(size_line.data(), chunk_size_line(n, size_line)),
                                                   asio::buffer(out_.get(), n), asio::buffer("\r\n", 2)};
          auto [e, w] = co_await asio::async_write(ex_.stream(), pieces, kNoThrow);
          wec = e;
          bytes_out += w;
        } else {
          auto [e, w] = co_await asio::async_write(ex_.stream(), asio::buffer(out_.get(), n), kNoThrow);
          wec = e;
          bytes_out += w;
        }
        result_.response_bytes += n;
        if (wec) {
          // The client went away: the upstream request ends with it (the lease closes).
          client_gone_ = true;
          ex_.mark_responded(status, bytes_out);
          ex_.close_after_response();
          co_return std::nullopt;
        }
      }
      if (ec) {
        ex_.mark_responded(status, bytes_out);
        co_return body_failure(ec);
      }
    }
    if (chunked_down && !first_is_last) {
      auto [e, w] = co_await asio::async_write(ex_.stream(), asio::buffer("0\r\n\r\n", 5), kNoThrow);
      bytes_out += w;
      if (e) {
        client_gone_ = true;
        ex_.close_after_response();
      }
    }
    ex_.mark_responded(status, bytes_out);
    if (close_delimited) ex_.close_after_response();
    answer_read();
    co_return std::nullopt;
  }

  Metered& metered_;
  RefreshHook& hook_;
  bool refreshed_ = false;     // the reactive refresh happened (at most once per call)
  bool replay_ = false;        // the next attempt is the replay with the refreshed token
  bool lost_retried_ = false;  // the one retry after a lost connection was used
  bool reached_upstream_ = false;  // some request byte was written upstream
  bool recorded_ = false;
  http::Exchange& ex_;
  upstream::Pool& pool_;
  OutgoingRequest& request_;
  const Clock::time_point deadline_;
  std::shared_ptr<const config::Config> cfg_;
  ScratchBuffer in_;   // client → upstream
  ScratchBuffer out_;  // upstream → client
  std::string head_;
  http::StreamParser* body_ = nullptr;
  bool chunked_up_ = false;
  bool expects_continue_ = false;
  bool continue_sent_ = false;
  bool head_method_ = false;
  bool client_http10_ = false;
  bool body_done_ = false;
  std::uint64_t body_bytes_ = 0;
  std::string kept_;     // the body read so far, while it fits relay.replay_limit
  bool kept_all_ = true;  // nothing read from the client has been dropped
  error_code client_failure_;
  bool client_gone_ = false;
  bool head_sent_ = false;
  bool reusable_ = false;
  ForwardResult result_;
  upstream::Lease* lease_ = nullptr;  // the attempt's connection
  std::vector<FieldView> fields_;     // the final response head's fields (views into its buffer)
  std::string framing_head_;          // the status line and framing fields, for the parser
  boost::container::small_vector<std::string, 2> listed_;  // the final response's Connection tokens
};

}  // namespace

awaitable<ForwardResult> forward(http::Exchange& ex, upstream::Pool& pool, OutgoingRequest request,
                                 Clock::time_point deadline, Metered& metered, RefreshHook& hook) {
  return Relay::run(ex, pool, std::move(request), deadline, metered, hook);
}

}  // namespace tollgate::relay
