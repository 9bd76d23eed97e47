#pragma once
// The upstream API behind the relay, in-process, for integration tests: an
// HTTP/1.1 (or HTTPS) server on 127.0.0.1 at a port the kernel picks, served
// by Asio on its own thread. Connections are kept alive; every request is
// recorded as it arrived on the wire, and the reply to each one is chosen by a
// handler the test sets — a normal answer, a huge or endless body, or one of
// the ways a real upstream misbehaves (stall, reset, broken framing, closing
// a keep-alive connection).
//
// Request bodies are read in bounded pieces (only a hash, a byte count and a
// 64 KiB prefix are kept) and generated reply bodies are written in 64 KiB
// pieces, so gigabyte-sized transfers cost no memory.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_pki.hpp"

namespace tollgate::test {

using Fields = std::vector<std::pair<std::string, std::string>>;

// One request as it arrived upstream.
struct PeerRequest {
  static constexpr std::size_t kPrefixLimit = 64 * 1024;

  std::string method;  // empty when the head did not parse (the peer then closed the connection)
  std::string target;  // exactly as on the wire, not decoded
  std::string head;    // request line and fields exactly as received, through the empty line
  Fields headers;      // in wire order, values trimmed; an obs-fold is joined with one space (see `head`)
  std::size_t connection = 0;  // which connection, in accept order from 0
  bool chunked = false;        // the body came with chunked framing

  std::uint64_t body_bytes = 0;  // body bytes read so far (grows while the body streams in)
  std::string body_prefix;       // the first kPrefixLimit bytes of the body
  std::string body_sha256;       // hex SHA-256 of the whole body; empty until body_complete
  bool body_complete = false;    // the body ended where its framing says
  bool finished = false;         // the peer is done reading it: body complete, or the connection ended

  // The first value of a header (name matched case-insensitively), or "".
  std::string header(std::string_view name) const;
  // How many times the header appears.
  std::size_t count(std::string_view name) const;
};

// What the peer does with one request. Start from a factory, then adjust:
//   Reply::json(201, R"({"id":1})").with_header("Cache-Control", "no-store").after(200ms)
//   Reply::generated(1ull << 30).chunked()
//   Reply::events(5, 100ms)
//   Reply::json(200, "{}").reset_after(10)
struct Reply {
  enum class Kind {
    respond,  // status line, headers, body; then keep the connection unless told otherwise
    stall,    // send nothing for `stall_for`, then close
    reset,    // send nothing, close with a TCP RST
    raw,      // write `raw_bytes` exactly, then close
  };
  enum class Body { fixed, generated, events };
  // How a `respond` ends early: after the head and `cut_after` body bytes.
  enum class Cut { none, stall, reset };

  Kind kind = Kind::respond;
  int status = 200;
  std::string reason;  // empty: the standard phrase for `status`
  // Sent exactly as given, in order, including hop-by-hop fields. The peer adds
  // only the framing field (Content-Length, or Transfer-Encoding: chunked),
  // and only if the test gave neither.
  Fields headers;
  Body body_kind = Body::fixed;
  std::string body;                          // Body::fixed
  std::uint64_t generated_size = 0;          // Body::generated: byte i is 'a' + i % 26
  std::size_t event_count = 0;               // Body::events: "data: <i>\n\n" for i in [0, count)
  std::chrono::milliseconds event_interval{0};  // between two events
  bool chunked_body = false;  // chunked framing instead of Content-Length (always for events)
  Cut cut = Cut::none;
  std::uint64_t cut_after = 0;  // body bytes sent before the cut (all of them if the body is shorter)
  // Kind::stall and Cut::stall: how long to send nothing; nullopt: until the
  // client closes or the peer stops. The connection is closed afterwards.
  std::optional<std::chrono::milliseconds> stall_for;
  std::string raw_bytes;  // Kind::raw
  std::chrono::milliseconds delay{0};  // wait this long before acting
  // Act as soon as the head is read, before the body. After an early `respond`
  // that keeps the connection, the body is still read and recorded; the other
  // kinds leave it unrecorded.
  bool early = false;
  // After a complete `respond`, close the connection (FIN) without saying so in a header.
  bool close_after = false;

  // A fixed body with Content-Type: application/json.
  static Reply json(int status, std::string body);
  // A fixed body and no header but the framing one.
  static Reply fixed(int status, std::string body = {});
  // 200, application/octet-stream, `size` pattern bytes (see pattern_bytes).
  static Reply generated(std::uint64_t size);
  // 200, text/event-stream, chunked: `count` events, `interval` apart.
  static Reply events(std::size_t count, std::chrono::milliseconds interval);
  static Reply stall(std::optional<std::chrono::milliseconds> duration = std::nullopt);
  static Reply reset();
  static Reply raw(std::string bytes);

  Reply& with_header(std::string name, std::string value);
  Reply& chunked();
  Reply& stall_after(std::uint64_t body_bytes, std::optional<std::chrono::milliseconds> duration = std::nullopt);
  Reply& reset_after(std::uint64_t body_bytes);
  Reply& after(std::chrono::milliseconds delay);
  Reply& answer_early();
  Reply& then_close();
};

// Runs on the peer's thread after a request's head is read, before its body:
// the PeerRequest it sees has no body fields yet (read them from requests()).
using PeerHandler = std::function<Reply(const PeerRequest&)>;

struct UpstreamPeerOptions {
  std::optional<Identity> tls;  // serve https with this certificate
};

// What wait_until's condition sees; valid only during the call. The
// condition runs under the peer's lock, so it must not call the peer.
struct PeerState {
  const std::vector<PeerRequest>& requests;
  std::size_t connections;
  std::size_t open_connections;
};

class UpstreamPeer {
 public:
  explicit UpstreamPeer(UpstreamPeerOptions options = {});
  ~UpstreamPeer();  // stops the thread and closes every connection
  UpstreamPeer(const UpstreamPeer&) = delete;
  UpstreamPeer& operator=(const UpstreamPeer&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;  // "http(s)://127.0.0.1:<port>"

  // Replaces the handler (default: 200, application/json, {"ok":true}).
  void on(PeerHandler handler);

  std::vector<PeerRequest> requests() const;  // in order of arrival of their heads
  std::size_t connections() const;            // accepted so far
  std::size_t open_connections() const;       // accepted and not yet closed

  // True once `count` requests are finished (see PeerRequest::finished).
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // True once `condition` holds; it is checked whenever the peer's state changes.
  bool wait_until(const std::function<bool(const PeerState&)>& condition,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Closes every connection that sits idle between requests, as an upstream
  // whose keep-alive timeout fired: TLS close_notify (for https), then FIN.
  // Returns once they are closed, with how many there were. Not from a handler.
  std::size_t close_idle();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The generated-body pattern: `size` bytes starting at body offset `offset`.
std::string pattern_bytes(std::uint64_t offset, std::size_t size);
// Hex SHA-256 of the first `size` pattern bytes, computed in pieces.
std::string pattern_sha256(std::uint64_t size);

}  // namespace tollgate::test
