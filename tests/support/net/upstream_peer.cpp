#include "upstream_peer.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

namespace tollgate::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Bodies move in pieces of this size, both ways.
constexpr std::size_t kPiece = 64 * 1024;
// A request head larger than this is refused (the connection is closed).
constexpr std::size_t kHeadLimit = 1024 * 1024;
// How long a closing connection waits for the client to close its side, so
// that bytes still in flight do not turn the FIN into an RST.
constexpr auto kLinger = 2s;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// kPiece + 26 pattern bytes: the piece at any body offset is a view starting
// at offset % 26, so generating a body never copies.
const std::string& pattern_block() {
  static const std::string block = pattern_bytes(0, kPiece + 26);
  return block;
}

// Streaming SHA-256, so a body is hashed piece by piece as it arrives.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("upstream peer: SHA-256 init failed");
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const char* data, std::size_t size) {
    if (size > 0) EVP_DigestUpdate(ctx_, data, size);
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, digest.data(), &length);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
      out += kDigits[digest[i] >> 4];
      out += kDigits[digest[i] & 0xf];
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

bool has_field(const Fields& fields, std::string_view name) {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return iequals(f.first, name); });
}

// The header fields of a request head in wire order. Beast's field list
// groups repeated names together, so it cannot say what came in which order.
// An obs-fold continuation line is joined to its field's value with one space.
Fields fields_in_order(std::string_view head) {
  Fields fields;
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::size_t at = head.find("\r\n") + 2;  // past the request line
  while (at < head.size()) {
    std::size_t end = head.find("\r\n", at);
    std::string_view line = head.substr(at, end - at);
    at = end + 2;
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
      fields.back().second += ' ';
      fields.back().second += trim(line);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  return fields;
}

// 1xx, 204 and 304 responses have no body and no framing.
bool bodiless_status(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

std::string reason_phrase(const Reply& reply) {
  if (!reply.reason.empty()) return reply.reason;
  auto status = http::int_to_status(static_cast<unsigned>(reply.status));
  if (status == http::status::unknown) return {};
  return std::string(http::obsolete_reason(status));
}

// Status line and fields. `with_body`: the framing field describes a body
// (also for HEAD, whose body is not sent).
std::string response_head(const Reply& reply, bool chunked, bool with_body) {
  std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply) + "\r\n";
  for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
  bool test_frames = has_field(reply.headers, "Content-Length") || has_field(reply.headers, "Transfer-Encoding");
  if (with_body && !test_frames) {
    if (chunked) {
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      std::uint64_t size = reply.body_kind == Reply::Body::generated ? reply.generated_size : reply.body.size();
      head += "Content-Length: " + std::to_string(size) + "\r\n";
    }
  }
  head += "\r\n";
  return head;
}

// What happens to a connection after one exchange.
enum class Outcome {
  keep_alive,  // read the next request
  close,       // FIN (after TLS close_notify), lingering until the client closes
  close_idle,  // close_idle() chose it: close_notify and FIN at once
  reset,       // RST
  dropped,     // already broken or closed: let it go
};

}  // namespace

std::string PeerRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return {};
}

std::size_t PeerRequest::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

Reply Reply::json(int status, std::string body) {
  Reply reply = fixed(status, std::move(body));
  reply.headers.emplace_back("Content-Type", "application/json");
  return reply;
}

Reply Reply::fixed(int status, std::string body) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

Reply Reply::generated(std::uint64_t size) {
  Reply reply;
  reply.headers.emplace_back("Content-Type", "application/octet-stream");
  reply.body_kind = Body::generated;
  reply.generated_size = size;
  return reply;
}

Reply Reply::events(std::size_t count, std::chrono::milliseconds interval) {
  Reply reply;
  reply.headers.emplace_back("Content-Type", "text/event-stream");
  reply.body_kind = Body::events;
  reply.event_count = count;
  reply.event_interval = interval;
  reply.chunked_body = true;
  return reply;
}

Reply Reply::stall(std::optional<std::chrono::milliseconds> duration) {
  Reply reply;
  reply.kind = Kind::stall;
  reply.stall_for = duration;
  return reply;
}

Reply Reply::reset() {
  Reply reply;
  reply.kind = Kind::reset;
  return reply;
}

Reply Reply::raw(std::string bytes) {
  Reply reply;
  reply.kind = Kind::raw;
  reply.raw_bytes = std::move(bytes);
  return reply;
}

Reply& Reply::with_header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

Reply& Reply::chunked() {
  chunked_body = true;
  return *this;
}

Reply& Reply::stall_after(std::uint64_t body_bytes, std::optional<std::chrono::milliseconds> duration) {
  cut = Cut::stall;
  cut_after = body_bytes;
  stall_for = duration;
  return *this;
}

Reply& Reply::reset_after(std::uint64_t body_bytes) {
  cut = Cut::reset;
  cut_after = body_bytes;
  return *this;
}

Reply& Reply::after(std::chrono::milliseconds time) {
  delay = time;
  return *this;
}

Reply& Reply::answer_early() {
  early = true;
  return *this;
}

Reply& Reply::then_close() {
  close_after = true;
  return *this;
}

std::string pattern_bytes(std::uint64_t offset, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
  return out;
}

std::string pattern_sha256(std::uint64_t size) {
  Sha256 sha;
  const auto& block = pattern_block();
  for (std::uint64_t offset = 0; offset < size;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, size - offset));
    sha.update(block.data() + offset % 26, n);
    offset += n;
  }
  return sha.hex();
}

struct UpstreamPeer::Impl {
  // One close_idle() call: it returns when every connection it chose is closed.
  struct IdleClose {
    std::size_t remaining = 0;
    std::promise<void> done;
    void one_closed() {
      if (--remaining == 0) done.set_value();
    }
  };

  // What close_idle() needs to know about a live connection (io thread only).
  struct Connection {
    std::size_t index = 0;
    beast::tcp_stream* tcp = nullptr;
    // Between requests: waiting for one with no byte of it received yet, or
    // writing the last bytes of a reply after which it will wait so.
    bool idle = false;
    bool reading = false;  // idle in a read, which close_idle() cancels to wake it
    std::shared_ptr<IdleClose> closing;  // set when close_idle() chose it
  };

  template <typename Stream>
  class Session;
  class BodyRecord;

  UpstreamPeerOptions options;
  std::optional<asio::ssl::context> tls;  // outlives the io_context: its streams use it

  // Shared with the test's thread.
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<PeerRequest> requests;
  std::size_t finished = 0;
  std::size_t accepted = 0;
  std::size_t open = 0;
  PeerHandler handler = [](const PeerRequest&) { return Reply::json(200, R"({"ok":true})"); };

  std::map<std::size_t, Connection*> live;  // io thread only; outlives the io_context's coroutines
  std::uint16_t port = 0;
  asio::io_context io{1};  // destroyed first, with every connection still suspended in it
  std::thread thread;

  std::size_t record_head(PeerRequest request) {
    std::lock_guard lock(mutex);
    requests.push_back(std::move(request));
    changed.notify_all();
    return requests.size() - 1;
  }

  void record_body(std::size_t slot, const char* data, std::size_t size) {
    std::lock_guard lock(mutex);
    auto& request = requests[slot];
    request.body_bytes += size;
    std::size_t room = PeerRequest::kPrefixLimit - request.body_prefix.size();
    request.body_prefix.append(data, std::min(room, size));
    changed.notify_all();
  }

  // `sha256`: the body is complete with this hash; nullopt: it never will be.
  void record_end(std::size_t slot, std::optional<std::string> sha256) {
    std::lock_guard lock(mutex);
    auto& request = requests[slot];
    if (sha256) {
      request.body_complete = true;
      request.body_sha256 = std::move(*sha256);
    }
    request.finished = true;
    ++finished;
    changed.notify_all();
  }

  void connection_closed() {
    std::lock_guard lock(mutex);
    --open;
    changed.notify_all();
  }

  // The test's handler, called outside the lock so it may take its time; a
  // handler that throws answers 500 instead of taking the peer down.
  Reply choose_reply(const PeerRequest& request) {
    PeerHandler current;
    {
      std::lock_guard lock(mutex);
      current = handler;
    }
    try {
      return current(request);
    } catch (const std::exception& e) {
      return Reply::fixed(500, std::string("upstream peer handler threw: ") + e.what());
    }
  }

  asio::awaitable<void> accept_loop(tcp::acceptor acceptor);
  asio::awaitable<void> serve(tcp::socket socket, std::size_t index);
};

// The body bookkeeping of one recorded request. Whatever way the exchange
// ends, the request is marked finished exactly once.
class UpstreamPeer::Impl::BodyRecord {
 public:
  BodyRecord(Impl& impl, std::size_t slot) : impl_(impl), slot_(slot) {}
  ~BodyRecord() {
    if (!ended_) impl_.record_end(slot_, std::nullopt);
  }
  BodyRecord(const BodyRecord&) = delete;
  BodyRecord& operator=(const BodyRecord&) = delete;

  void add(const char* data, std::size_t size) {
    if (size == 0) return;
    sha_.update(data, size);
    impl_.record_body(slot_, data, size);
  }
  void complete() {
    if (ended_) return;
    ended_ = true;
    impl_.record_end(slot_, sha_.hex());
  }

 private:
  Impl& impl_;
  std::size_t slot_;
  Sha256 sha_;
  bool ended_ = false;
};

// One connection, plain (beast::tcp_stream) or TLS (ssl::stream over it):
// requests are read and answered one after the other until the connection ends.
template <typename Stream>
class UpstreamPeer::Impl::Session {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  using Parser = http::request_parser<http::buffer_body>;

 public:
  Session(Impl& impl, Stream& stream, std::size_t index) : impl_(impl), stream_(stream) {
    conn_.index = index;
    conn_.tcp = &beast::get_lowest_layer(stream_);
    impl_.live[index] = &conn_;
  }
  ~Session() {
    impl_.live.erase(conn_.index);
    // However the connection ended, close_idle() must not wait for it any longer.
    if (conn_.closing) conn_.closing->one_closed();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> run() {
    for (;;) {
      Outcome outcome = co_await exchange();
      if (outcome == Outcome::keep_alive) continue;
      if (outcome == Outcome::close) co_await close_lingering();
      if (outcome == Outcome::close_idle) co_await close_at_once();
      if (outcome == Outcome::reset) reset();
      co_return;
    }
  }

 private:
  // One request and its reply.
  asio::awaitable<Outcome> exchange() {
    std::size_t head_size = co_await read_head();
    if (conn_.closing) co_return Outcome::close_idle;
    if (head_size == 0) co_return Outcome::dropped;

    std::string_view head(static_cast<const char*>(buffer_.data().data()), head_size);
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(kHeadLimit + 4));
    parser.body_limit(boost::none);
    boost::system::error_code parse_error;
    parser.put(asio::buffer(head.data(), head.size()), parse_error);

    PeerRequest request;
    request.head = std::string(head);
    request.connection = conn_.index;
    buffer_.consume(head_size);
    if (parse_error || !parser.is_header_done()) {
      BodyRecord unparsed(impl_, impl_.record_head(std::move(request)));
      co_return Outcome::dropped;
    }
    const auto& message = parser.get();
    request.method = message.method_string();
    request.target = message.target();
    request.headers = fields_in_order(request.head);
    request.chunked = parser.chunked();
    const bool keep_alive = message.keep_alive();
    const bool head_method = message.method() == http::verb::head;
    const bool expects_continue = iequals(message[http::field::expect], "100-continue");

    BodyRecord body(impl_, impl_.record_head(request));
    if (parser.is_done()) body.complete();  // no body at all
    Reply reply = impl_.choose_reply(request);

    if (!reply.early) {
      if (expects_continue && !parser.is_done()) {
        bool sent = co_await write("HTTP/1.1 100 Continue\r\n\r\n");
        if (!sent) co_return Outcome::dropped;
      }
      if (!co_await read_body(parser, body)) co_return Outcome::dropped;
    }
    co_await pause(reply.delay);
    // Whether the connection will sit idle once the reply is written: the
    // request is all read and nothing of a next one has arrived.
    const bool rests_after = !reply.early && keep_alive && buffer_.size() == 0;
    Outcome outcome = co_await act(reply, head_method, rests_after);
    if (outcome != Outcome::keep_alive) co_return outcome;
    // An early answer that keeps the connection still owes the rest of the body.
    if (reply.early) {
      bool read = co_await read_body(parser, body);
      if (!read) co_return Outcome::dropped;
    }
    co_return keep_alive ? Outcome::keep_alive : Outcome::close;
  }

  // Reads until the buffer holds a whole head; its size, or 0 if the
  // connection ended first (or close_idle() chose it).
  asio::awaitable<std::size_t> read_head() {
    if (conn_.closing) co_return 0;  // chosen while its last reply was being written
    for (;;) {
      std::string_view seen(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      if (auto end = seen.find("\r\n\r\n"); end != std::string_view::npos) co_return end + 4;
      if (buffer_.size() > kHeadLimit) co_return 0;
      conn_.idle = conn_.reading = buffer_.size() == 0;
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kPiece), kNoThrow);
      conn_.idle = conn_.reading = false;
      if (ec || conn_.closing) co_return 0;
      buffer_.commit(n);
    }
  }

  // Streams the body through a fixed piece of memory into the record.
  asio::awaitable<bool> read_body(Parser& parser, BodyRecord& record) {
    std::vector<char> piece(kPiece);
    while (!parser.is_done()) {
      auto& body = parser.get().body();
      body.data = piece.data();
      body.size = piece.size();
      auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser, kNoThrow);
      record.add(piece.data(), piece.size() - parser.get().body().size);
      if (ec == http::error::need_buffer) continue;
      if (ec) co_return false;
    }
    record.complete();
    co_return true;
  }

  // Ifs, not a switch: g++ 12 miscompiled `co_return co_await` in switch
  // cases here (the frame crashed reading `reply`).
  asio::awaitable<Outcome> act(const Reply& reply, bool head_method, bool rests_after) {
    if (reply.kind == Reply::Kind::respond) {
      Outcome outcome = co_await respond(reply, head_method, rests_after);
      co_return outcome;
    }
    if (reply.kind == Reply::Kind::stall) {
      Outcome outcome = co_await stall(reply.stall_for);
      co_return outcome;
    }
    if (reply.kind == Reply::Kind::raw) {
      bool written = co_await write(reply.raw_bytes);
      co_return written ? Outcome::close : Outcome::dropped;
    }
    co_return Outcome::reset;
  }

  asio::awaitable<Outcome> respond(const Reply& reply, bool head_method, bool rests_after) {
    const bool chunked = reply.chunked_body || reply.body_kind == Reply::Body::events;
    const bool with_body = !bodiless_status(reply.status);
    const bool send_body = with_body && !head_method;
    const std::uint64_t length =
        reply.body_kind == Reply::Body::generated ? reply.generated_size : reply.body.size();
    chunked_ = chunked;
    budget_.reset();
    if (reply.cut != Reply::Cut::none) budget_ = reply.cut_after;
    write_failed_ = false;
    rests_after_ = rests_after && reply.cut == Reply::Cut::none && !reply.close_after;

    // The head is the last write when no body byte follows it.
    const bool head_is_last = !send_body || (!chunked && length == 0);
    if (!co_await write(response_head(reply, chunked, with_body), head_is_last)) co_return Outcome::dropped;
    if (send_body) {
      if (reply.body_kind == Reply::Body::fixed) co_await send_piece(reply.body, !chunked);
      if (reply.body_kind == Reply::Body::generated) co_await send_generated(reply.generated_size);
      if (reply.body_kind == Reply::Body::events) co_await send_events(reply.event_count, reply.event_interval);
    }
    if (write_failed_) co_return Outcome::dropped;
    if (reply.cut == Reply::Cut::stall) {
      Outcome outcome = co_await stall(reply.stall_for);
      co_return outcome;
    }
    if (reply.cut == Reply::Cut::reset) co_return Outcome::reset;
    if (send_body && chunked) {
      bool ended = co_await write("0\r\n\r\n", true);
      if (!ended) co_return Outcome::dropped;
    }
    co_return reply.close_after ? Outcome::close : Outcome::keep_alive;
  }

  asio::awaitable<void> send_generated(std::uint64_t size) {
    const auto& block = pattern_block();
    for (std::uint64_t offset = 0; offset < size;) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, size - offset));
      const bool last = !chunked_ && offset + n == size;
      if (!co_await send_piece(std::string_view(block.data() + offset % 26, n), last)) co_return;
      offset += n;
    }
  }

  asio::awaitable<void> send_events(std::size_t count, std::chrono::milliseconds interval) {
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) co_await pause(interval);
      std::string event = "data: " + std::to_string(i) + "\n\n";
      if (!co_await send_piece(event, false)) co_return;
    }
  }

  // Writes one piece of body (as one chunk when chunked), cut short by the
  // budget a Reply::Cut leaves. False once nothing more should be sent.
  asio::awaitable<bool> send_piece(std::string_view piece, bool last) {
    if (budget_) {
      if (*budget_ == 0) co_return false;
      piece = piece.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(*budget_, piece.size())));
      *budget_ -= piece.size();
    }
    if (piece.empty()) co_return true;  // an empty chunk would end the body
    bool written = false;
    if (chunked_) {
      std::string size_line = to_hex(piece.size()) + "\r\n";
      std::array<asio::const_buffer, 3> chunk{asio::buffer(size_line), asio::buffer(piece), asio::buffer("\r\n", 2)};
      auto [ec, n] = co_await asio::async_write(stream_, chunk, kNoThrow);
      written = !ec;
    } else {
      written = co_await write(piece, last);
    }
    if (!written) write_failed_ = true;
    co_return written && !(budget_ && *budget_ == 0);
  }

  // `last`: the final write of the reply. If the connection will then rest,
  // it counts as idle from now: the client may read these bytes and call
  // close_idle() before this coroutine learns the write completed (with TLS
  // that takes several turns of the io_context).
  asio::awaitable<bool> write(std::string_view bytes, bool last = false) {
    conn_.idle = last && rests_after_;
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), kNoThrow);
    conn_.idle = false;
    co_return !ec;
  }

  asio::awaitable<void> pause(std::chrono::milliseconds time) {
    if (time <= 0ms) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, time);
    co_await timer.async_wait(kNoThrow);
  }

  // Sends nothing for `time` (nullopt: until the client closes or the peer
  // stops). It keeps reading, and throws away what arrives, so a client that
  // gives up is seen closing. When the time is up Beast closes the socket.
  asio::awaitable<Outcome> stall(std::optional<std::chrono::milliseconds> time) {
    auto& tcp = beast::get_lowest_layer(stream_);
    if (time) tcp.expires_after(*time);
    std::vector<char> scratch(kPiece);
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(scratch), kNoThrow);
      if (ec) break;
    }
    tcp.expires_never();
    co_return Outcome::dropped;
  }

  // FIN (after close_notify for TLS), then wait for the client to close its
  // side: closing with unread bytes in the socket would send an RST instead.
  asio::awaitable<void> close_lingering() {
    auto& tcp = beast::get_lowest_layer(stream_);
    boost::system::error_code ignored;
    tcp.expires_after(kLinger);
    if constexpr (kTls) {
      // Sends close_notify, then reads until the client's close_notify or EOF.
      co_await stream_.async_shutdown(kNoThrow);
      tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
      std::vector<char> scratch(kPiece);
      for (;;) {
        auto [ec, n] = co_await stream_.async_read_some(asio::buffer(scratch), kNoThrow);
        if (ec) break;
      }
    }
    tcp.socket().close(ignored);
  }

  // An idle connection has nothing unread, so no lingering: close_notify and
  // FIN go out now; close_idle() learns they have when the Session ends.
  asio::awaitable<void> close_at_once() {
    auto& tcp = beast::get_lowest_layer(stream_);
    boost::system::error_code ignored;
    if constexpr (kTls) {
      // async_shutdown writes close_notify and then waits for the client's;
      // with the receive side shut, that read ends at once.
      tcp.socket().shutdown(tcp::socket::shutdown_receive, ignored);
      tcp.expires_after(kLinger);
      co_await stream_.async_shutdown(kNoThrow);
    }
    tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    tcp.socket().close(ignored);
  }

  // SO_LINGER {on, 0}: close() sends an RST and drops anything unsent.
  void reset() {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
  }

  static std::string to_hex(std::size_t value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    do {
      out.insert(out.begin(), kDigits[value & 0xf]);
      value >>= 4;
    } while (value != 0);
    return out;
  }

  Impl& impl_;
  Stream& stream_;
  Connection conn_;
  beast::flat_buffer buffer_;  // read but not yet parsed: a head, or pipelined bytes after a body
  // The reply being written.
  bool chunked_ = false;
  std::optional<std::uint64_t> budget_;  // body bytes left before a Reply::Cut
  bool write_failed_ = false;
  bool rests_after_ = false;  // the connection will be idle once the reply is written
};

asio::awaitable<void> UpstreamPeer::Impl::accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec) co_return;
    std::size_t index = 0;
    {
      std::lock_guard lock(mutex);
      index = accepted++;
      ++open;
      changed.notify_all();
    }
    asio::co_spawn(io, serve(std::move(socket), index), asio::detached);
  }
}

asio::awaitable<void> UpstreamPeer::Impl::serve(tcp::socket socket, std::size_t index) {
  // Counts the connection closed however this coroutine ends, including
  // being destroyed with the io_context when the peer stops.
  struct Closed {
    Impl& impl;
    ~Closed() { impl.connection_closed(); }
  } closed{*this};

  // Replies go out in several writes (head, body pieces); Nagle's algorithm
  // would hold each small one back until the client's delayed ACK.
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  beast::tcp_stream plain(std::move(socket));
  if (!tls) {
    Session<beast::tcp_stream> session(*this, plain, index);
    co_await session.run();
    co_return;
  }
  asio::ssl::stream<beast::tcp_stream> stream(std::move(plain), *tls);
  beast::get_lowest_layer(stream).expires_after(10s);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
  if (ec) co_return;
  beast::get_lowest_layer(stream).expires_never();
  Session<asio::ssl::stream<beast::tcp_stream>> session(*this, stream, index);
  co_await session.run();
}

UpstreamPeer::UpstreamPeer(UpstreamPeerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.tls) {
    impl_->tls.emplace(asio::ssl::context::tls_server);
    const auto& identity = *impl_->options.tls;
    impl_->tls->use_certificate_chain(asio::buffer(identity.cert_pem));
    impl_->tls->use_private_key(asio::buffer(identity.key_pem), asio::ssl::context::pem);
  }
  tcp::acceptor acceptor(impl_->io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  impl_->port = acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(std::move(acceptor)), asio::detached);
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

UpstreamPeer::~UpstreamPeer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t UpstreamPeer::port() const { return impl_->port; }

std::string UpstreamPeer::base_url() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

void UpstreamPeer::on(PeerHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handler = std::move(handler);
}

std::vector<PeerRequest> UpstreamPeer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t UpstreamPeer::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

std::size_t UpstreamPeer::open_connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->open;
}

bool UpstreamPeer::wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->finished >= count; });
}

bool UpstreamPeer::wait_until(const std::function<bool(const PeerState&)>& condition,
                              std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] {
    return condition(PeerState{impl_->requests, impl_->accepted, impl_->open});
  });
}

std::size_t UpstreamPeer::close_idle() {
  // The choice is made on the peer's thread, where connections change state,
  // so a connection is either idle and closed here or already serving a request.
  auto job = std::make_shared<Impl::IdleClose>();
  std::future<void> all_closed = job->done.get_future();
  std::promise<std::size_t> chosen;
  std::future<std::size_t> count = chosen.get_future();
  asio::post(impl_->io, [this, job, &chosen] {
    std::size_t n = 0;
    for (auto& [index, conn] : impl_->live) {
      if (!conn->idle) continue;
      conn->closing = job;
      // A pending read is woken to see `closing`; a last write is left to
      // finish, and the connection closes right after it.
      if (conn->reading) conn->tcp->cancel();
      conn->idle = conn->reading = false;
      ++n;
    }
    job->remaining = n;
    chosen.set_value(n);
    if (n == 0) job->done.set_value();
  });
  std::size_t n = count.get();
  all_closed.wait();
  return n;
}

}  // namespace tollgate::test
