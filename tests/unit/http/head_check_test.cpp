#include <doctest/doctest.h>

#include "tollgate/http/head_check.hpp"

using tollgate::errors::Code;
using tollgate::http::check_head;
using tollgate::http::find_head_end;

TEST_CASE("check_head accepts an ordinary request") {
  CHECK_FALSE(check_head("GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n", 100));
  CHECK_FALSE(check_head("GET /x HTTP/1.0\r\n\r\n", 100));  // HTTP/1.0 may omit Host
  CHECK_FALSE(check_head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", 100));
  CHECK_FALSE(check_head("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", 100));
}

TEST_CASE("check_head finds each framing problem") {
  struct Case {
    const char* head;
    Code code;
  };
  const Case cases[] = {
      {"GET /x HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", Code::bad_request},
      {"GET /x HTTP/1.1\r\n\r\n", Code::bad_request},
      {"GET /x HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", Code::bad_request},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", Code::bad_request},
      {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", Code::bad_request},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", Code::bad_request},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", Code::bad_request},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", Code::not_implemented},
      {"GET /x HTTP/2.0\r\nHost: a\r\n\r\n", Code::bad_request},
      {"GET /x HTTP/1.1\r\nHost: a\r\nX-A: a\x01" "b\r\n\r\n", Code::bad_request},
      {"GET /xxxxxxxxxx HTTP/1.1\r\nHost: a\r\n\r\n", Code::uri_too_long},
  };
  for (const auto& c : cases) {
    CAPTURE(c.head);
    auto p = check_head(c.head, 8);
    REQUIRE(p);
    CHECK(p->code == c.code);
    CHECK_FALSE(p->message.empty());
  }
}

TEST_CASE("find_head_end returns the index past the empty line") {
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody") == 27);
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n") == std::string_view::npos);
}

TEST_CASE("check_head refuses targets that are not a path: absolute-form and authority-form") {
  for (const char* head : {"GET http://127.0.0.1:9/v1/proxy/x/y HTTP/1.1\r\nHost: a\r\n\r\n",
                           "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: a\r\n\r\n",
                           "GET * HTTP/1.1\r\nHost: a\r\n\r\n"}) {
    CAPTURE(head);
    auto p = check_head(head, 1000);
    REQUIRE(p);
    CHECK(p->code == Code::bad_request);
  }
  CHECK_FALSE(check_head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 1000));
}

// What parse_head keeps: Beast no longer parses the head after these checks,
// so the method, target and framing it used to vouch for are checked here.
TEST_CASE("parse_head refuses a method that is not a token and a target with a space or control") {
  tollgate::http::RequestHead h;
  using tollgate::http::parse_head;
  CHECK(parse_head("G(T /x HTTP/1.1\r\nHost: a\r\n\r\n", 100, h)->message == "the request method must be a token");
  CHECK(parse_head("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 100, h)->message ==
        "the request target has a space or a control character");
  CHECK(parse_head("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 100, h));
  CHECK(parse_head("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 100, h));
  CHECK_FALSE(parse_head("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 100, h));  // obs-text passes, as before
}

TEST_CASE("parse_head keeps the fields in order as views, the framing and the keep-alive rule") {
  tollgate::http::RequestHead h;
  using tollgate::http::parse_head;
  REQUIRE_FALSE(parse_head("POST /v1/x?y=1 HTTP/1.1\r\nHost: a\r\nX-Two: 1\r\nx-two: 2\r\nContent-Length:  42 \r\n"
                           "Connection: foo, Close\r\n\r\n",
                           100, h));
  CHECK(h.method() == "POST");
  CHECK(h.target() == "/v1/x?y=1");
  CHECK(h.version() == 11);
  REQUIRE(h.fields().size() == 5);
  CHECK(h.fields()[2].first == "x-two");
  CHECK(h["X-TWO"] == "1");  // the first of that name
  CHECK(h["content-length"] == "42");
  CHECK(h["Missing"].empty());
  CHECK(h.content_length() == 42u);
  CHECK_FALSE(h.chunked());
  CHECK_FALSE(h.keep_alive());  // close listed among other tokens, any case

  REQUIRE_FALSE(parse_head("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 100, h));
  CHECK(h.chunked());
  CHECK_FALSE(h.content_length());
  CHECK(h.keep_alive());  // HTTP/1.1 persists by default
  REQUIRE_FALSE(parse_head("GET / HTTP/1.0\r\n\r\n", 100, h));
  CHECK(h.version() == 10);
  CHECK_FALSE(h.keep_alive());  // HTTP/1.0 only when asked
  REQUIRE_FALSE(parse_head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 100, h));
  CHECK(h.keep_alive());
  // The storage is the head's own: the bytes it was parsed from may go.
  std::string bytes = "GET /own HTTP/1.1\r\nHost: here\r\n\r\n";
  REQUIRE_FALSE(parse_head(bytes, 100, h));
  bytes.assign(bytes.size(), 'x');
  CHECK(h.target() == "/own");
  CHECK(h["Host"] == "here");
}

TEST_CASE("a field value is refused for a control byte or DEL at any position, and accepted for any other byte") {
  // Every byte value at every position of a 40-byte value: the scan goes
  // eight bytes at a time, so this covers each position within a word and
  // the bytes after the last whole word.
  const std::string value(40, 'v');
  for (std::size_t at = 0; at < value.size(); ++at) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string v = value;
      v[at] = static_cast<char>(byte);
      const std::string head = "GET /x HTTP/1.1\r\nHost: a\r\nX-V: " + v + "\r\n\r\n";
      const bool allowed = byte == '\t' || (byte >= 0x20 && byte != 0x7f);
      CAPTURE(at);
      CAPTURE(byte);
      if (allowed) {
        // OWS at the value's ends is trimmed, not refused; a byte in the middle is the value's.
        CHECK_FALSE(check_head(head, 100));
        tollgate::http::RequestHead parsed;
        REQUIRE_FALSE(tollgate::http::parse_head(head, 100, parsed));
        const auto expected = (at == 0 || at + 1 == v.size()) && (byte == ' ' || byte == '\t')
                                  ? (at == 0 ? std::string_view(v).substr(1) : std::string_view(v).substr(0, 39))
                                  : std::string_view(v);
        CHECK(parsed["X-V"] == expected);
      } else {
        CHECK(check_head(head, 100));
      }
    }
  }
}
