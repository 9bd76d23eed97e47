#pragma once
// An in-process HTTP(S) peer for the client tests: 127.0.0.1 on a port the
// kernel picks, served by Asio on its own thread. For each connection it
// (for TLS) completes the handshake, reads one request and records it, then
// plays its script — send bytes, stall, or hang until the server stops — and
// closes the connection.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "test_pki.hpp"
#include "tollgate/upstream/client.hpp"

namespace tollgate::test {

struct Step {
  enum class Kind { send, stall, hang };
  Kind kind;
  std::string bytes;
  std::chrono::milliseconds duration{0};
};
Step reply(std::string bytes);               // write these bytes
Step stall(std::chrono::milliseconds time);  // then wait this long
Step hang();                                 // wait until the server stops (never answer)

struct ServerOptions {
  std::optional<Identity> tls;  // serve https with this certificate
  bool read_request = true;     // false: play the script at once, before reading anything
  bool close_notify = true;     // TLS: end with close_notify; false: just close the socket
};

struct Received {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first value of a header (name matched case-insensitively), or "".
  std::string header(std::string_view name) const;
  // How many times the header appears.
  std::size_t count(std::string_view name) const;
};

class ScriptServer {
 public:
  explicit ScriptServer(std::vector<Step> script, ServerOptions options = {});
  ~ScriptServer();
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;

  std::uint16_t port() const;
  // "http(s)://127.0.0.1:<port>" + path_and_query.
  std::string url(std::string_view path_and_query) const;
  std::vector<Received> requests() const;
  std::size_t connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs Client::send on a fresh io_context in this thread until it finishes.
std::variant<upstream::Response, upstream::Error> send_now(const upstream::Options& options,
                                                           upstream::Request request);

}  // namespace tollgate::test
