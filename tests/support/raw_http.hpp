#pragma once
// A deliberately plain HTTP/1.1 client over a blocking loopback socket, so
// tests control every byte (slow senders, pipelining, malformed framing).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tollgate::test {

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  // The first value of a header (name matched case-insensitively), or "".
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);  // connects to 127.0.0.1:port
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // false if the peer has closed or reset the connection.
  bool send(std::string_view bytes);
  // Reads one response (Content-Length, chunked, or until close); nullopt on timeout or close before a full response.
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the peer closes the connection (EOF or reset) within the timeout.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Bytes received but not consumed by read_response.
  const std::string& pending() const { return buffer_; }

 private:
  // Reads more bytes into buffer_; false on EOF/error/timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// One request on a fresh connection. `headers` are sent as given; Host and
// Content-Length are added unless present; Connection: close is added.
HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          std::string_view body = {});

// A free TCP port on 127.0.0.1 (bound to port 0, read back, released).
std::uint16_t free_port();

}  // namespace tollgate::test
