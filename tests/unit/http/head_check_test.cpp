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
