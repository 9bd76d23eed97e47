// Tables, single objects, pretty JSON and the error line of client verbs.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "tollgate/cli/output.hpp"

using namespace tollgate::cli;
namespace json = boost::json;

TEST_CASE("a table aligns every column to its widest cell, two spaces apart, the last one unpadded") {
  auto text = render_table({"ID", "NAME", "CREATED"},
                           {{"tnt_1", "acme", "2026-11-22T01:02:03Z"}, {"tnt_22222", "a much longer name", "x"}});
  CHECK(text ==
        "ID         NAME                CREATED\n"
        "tnt_1      acme                2026-11-22T01:02:03Z\n"
        "tnt_22222  a much longer name  x\n");
}

TEST_CASE("a table with no rows is its header line") {
  CHECK(render_items(json::array{}, {{"ID", "id"}, {"NAME", "name"}}) == "ID  NAME\n");
}

TEST_CASE("table widths count UTF-8 characters, not bytes") {
  auto text = render_table({"NAME", "X"}, {{"Zürich", "1"}, {"abc", "2"}});
  CHECK(text ==
        "NAME    X\n"
        "Zürich  1\n"
        "abc     2\n");
}

TEST_CASE("a JSON table shows null and missing fields as -, and picks fields by name") {
  auto items = json::parse(R"([
    {"id":"key_1","prefix":"tg_live_AbCd","status":"active","created_at":"2026-01-01T00:00:00Z","revoked_at":null},
    {"id":"key_2","prefix":"tg_live_EfGh","status":"revoked","created_at":"2026-01-02T00:00:00Z","revoked_at":"2026-01-03T00:00:00Z"},
    {"id":"key_3"}
  ])").as_array();
  auto text = render_items(items, {{"ID", "id"},
                                   {"PREFIX", "prefix"},
                                   {"STATUS", "status"},
                                   {"CREATED", "created_at"},
                                   {"REVOKED", "revoked_at"}});
  CHECK(text ==
        "ID     PREFIX        STATUS   CREATED               REVOKED\n"
        "key_1  tg_live_AbCd  active   2026-01-01T00:00:00Z  -\n"
        "key_2  tg_live_EfGh  revoked  2026-01-02T00:00:00Z  2026-01-03T00:00:00Z\n"
        "key_3  -             -        -                     -\n");
}

TEST_CASE("control characters in a cell cannot break a line or reach the terminal") {
  auto items = json::parse(R"([{"name":"evil\nline\u001b[31mred\u007f"}])").as_array();
  CHECK(render_items(items, {{"NAME", "name"}}) == "NAME\nevil?line?[31mred?\n");
}

TEST_CASE("cells: arrays are joined, empty arrays and null are -, numbers and booleans as JSON") {
  CHECK(cell_text(json::parse(R"(["https://a.example","https://b.example"])")) ==
        "https://a.example, https://b.example");
  CHECK(cell_text(json::array{}) == "-");
  CHECK(cell_text(nullptr) == "-");
  CHECK(cell_text(42) == "42");
  CHECK(cell_text(true) == "true");
  CHECK(cell_text(json::parse(R"({"a":1})")) == R"({"a":1})");
}

TEST_CASE("one object prints a line per field, nested objects flattened, in the server's order") {
  auto tenant = json::parse(R"({"id":"tnt_1","name":"acme","allowed_redirect_origins":["https://app.example.com"],
    "quotas":{"monthly_calls":null,"rate_per_second":5,"burst":null},"created_at":"2026-11-22T01:02:03Z"})");
  CHECK(render_object(tenant.as_object()) ==
        "id                        tnt_1\n"
        "name                      acme\n"
        "allowed_redirect_origins  https://app.example.com\n"
        "quotas.monthly_calls      -\n"
        "quotas.rate_per_second    5\n"
        "quotas.burst              -\n"
        "created_at                2026-11-22T01:02:03Z\n");
}

TEST_CASE("pretty JSON indents by two spaces and round-trips") {
  auto v = json::parse(R"({"data":[{"id":"a","n":1,"e":[],"o":{}}],"next_cursor":null,"s":"q\"\n"})");
  auto text = pretty_json(v);
  CHECK(text ==
        "{\n"
        "  \"data\": [\n"
        "    {\n"
        "      \"id\": \"a\",\n"
        "      \"n\": 1,\n"
        "      \"e\": [],\n"
        "      \"o\": {}\n"
        "    }\n"
        "  ],\n"
        "  \"next_cursor\": null,\n"
        "  \"s\": \"q\\\"\\n\"\n"
        "}\n");
  CHECK(json::parse(text) == v);
}

TEST_CASE("a tollgate error becomes code: message (request id)") {
  CHECK(error_line(401, R"({"error":{"code":"unauthenticated","message":"unknown or revoked key","request_id":"req_abc"}})",
                   "http://127.0.0.1:8080/v1/tenants") == "unauthenticated: unknown or revoked key (request req_abc)");
}

TEST_CASE("an error without a request id leaves out the parenthesis") {
  CHECK(error_line(404, R"({"error":{"code":"not_found","message":"no such tenant"}})", "u") ==
        "not_found: no such tenant");
}

TEST_CASE("an error message cannot add lines to the error line") {
  CHECK(error_line(400, R"({"error":{"code":"bad_request","message":"two\nlines","request_id":"req_1"}})", "u") ==
        "bad_request: two?lines (request req_1)");
}

TEST_CASE("an error that is not tollgate's JSON becomes HTTP status from URL") {
  const std::string url = "http://127.0.0.1:8080/v1/tenants";
  CHECK(error_line(502, "<html>Bad Gateway</html>", url) == "HTTP 502 from " + url);
  CHECK(error_line(500, "", url) == "HTTP 500 from " + url);
  CHECK(error_line(404, R"({"message":"nope"})", url) == "HTTP 404 from " + url);
  CHECK(error_line(404, R"({"error":"nope"})", url) == "HTTP 404 from " + url);
  CHECK(error_line(404, R"([1,2])", url) == "HTTP 404 from " + url);
}
