#include <doctest/doctest.h>

#include <string>

#include "tollgate/relay/message.hpp"

using tollgate::relay::check_response_head;
using tollgate::relay::request_head;

TEST_CASE("request_head writes the request line and fields in order, ending in an empty line") {
  auto head = request_head("PATCH", "/v3/a%2Fb?x=1", {{"Host", "api.example.com"}, {"X-A", "1"}, {"X-A", "2"}});
  CHECK(head == "PATCH /v3/a%2Fb?x=1 HTTP/1.1\r\nHost: api.example.com\r\nX-A: 1\r\nX-A: 2\r\n\r\n");
}

TEST_CASE("check_response_head accepts ordinary framings") {
  CHECK_FALSE(check_response_head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"));
  CHECK_FALSE(check_response_head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n"));
  CHECK_FALSE(check_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"));
  CHECK_FALSE(check_response_head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"));  // ends at close
  CHECK_FALSE(check_response_head("HTTP/1.1 204 No Content\r\n\r\n"));
}

TEST_CASE("check_response_head refuses every ambiguous or broken framing") {
  for (const char* head : {
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\n\r\n",
           "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
           "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nX-A: a\x01" "b\r\n\r\n",
           "HTTP/1.1 200 OK",
       }) {
    CAPTURE(head);
    auto problem = check_response_head(head);
    REQUIRE(problem);
    CHECK_FALSE(problem->empty());
  }
}

TEST_CASE("check_response_head refuses a control byte or DEL at any position of a value, and keeps any other byte") {
  const std::string value(40, 'v');
  for (std::size_t at = 1; at + 1 < value.size(); ++at) {  // inside the value: no OWS trimming
    for (int byte = 0; byte < 256; ++byte) {
      std::string v = value;
      v[at] = static_cast<char>(byte);
      const std::string head = "HTTP/1.1 200 OK\r\nX-V: " + v + "\r\nContent-Length: 0\r\n\r\n";
      const bool allowed = byte == '\t' || (byte >= 0x20 && byte != 0x7f);
      CAPTURE(at);
      CAPTURE(byte);
      std::vector<tollgate::relay::FieldView> fields;
      const auto problem = check_response_head(head, &fields);
      if (allowed) {
        REQUIRE_FALSE(problem);
        REQUIRE(fields.size() == 2);
        CHECK(fields[0].second == v);
      } else {
        CHECK(problem);
      }
    }
  }
}
