#pragma once
// A stand-in for a relay's REST API in CLI unit tests: a loopback listener on
// its own thread that records each request and answers what the test's
// handler returns, one request per connection.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tollgate::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string raw;  // every byte received
};

class FakeRelay {
 public:
  // The raw HTTP response for a request; "" keeps the connection open and silent.
  using Handler = std::function<std::string(const ReceivedRequest&)>;

  explicit FakeRelay(Handler handler);
  ~FakeRelay();
  FakeRelay(const FakeRelay&) = delete;
  FakeRelay& operator=(const FakeRelay&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedRequest> requests() const;

 private:
  void serve();
  void handle(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// "HTTP/1.1 <status> X\r\nContent-Type: application/json\r\nContent-Length: …\r\n<extra>\r\n<body>".
std::string http_answer(int status, const std::string& body, const std::string& extra_headers = {},
                        const std::string& content_type = "application/json");

}  // namespace tollgate::test
