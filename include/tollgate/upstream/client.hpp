#pragma once
// A one-shot HTTP/1.1 client for the OAuth calls (token, revocation,
// verification): a fresh connection per request, `Connection: close`.
// Failures come back as values with what the caller needs to decide on a
// retry (see error.hpp); nothing on the data path throws.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "tollgate/upstream/error.hpp"

namespace tollgate::upstream {

struct Request {
  std::string method;  // e.g. "POST"
  std::string url;     // absolute http:// or https:// URL; path and query are sent as written
  // Sent as given, except Host, Content-Length, Transfer-Encoding and Connection,
  // which the client sets itself. User-Agent defaults to "tollgate/0.1".
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  // The first value of a header (name matched case-insensitively), or "".
  std::string header(std::string_view name) const;
};

// SPEC §3 relay.ca_file and relay.upstream_timeouts.
struct Options {
  std::filesystem::path ca_file;  // extra trusted CAs (PEM), on top of the system store
  std::chrono::milliseconds connect{5000};     // resolve + TCP connect + TLS handshake
  std::chrono::milliseconds first_byte{60000};  // end of the request → first response byte
  std::chrono::milliseconds idle{60000};        // between reads after that (and for the request write)
  std::size_t max_response_bytes = 4 * 1024 * 1024;  // body limit
};

// One per io_context (worker): thread-compatible, not thread-safe. It must
// outlive every send() it started.
class Client {
 public:
  // Loads the system CA store and options.ca_file into one TLS context.
  // Throws std::runtime_error if ca_file is set and cannot be loaded.
  Client(boost::asio::any_io_executor executor, Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Options& options() const noexcept;

  // Sends the request on a new connection and reads the whole response.
  boost::asio::awaitable<std::variant<Response, Error>> send(Request request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::upstream
