#pragma once
// What client verbs print: aligned text tables, one object as "field  value"
// lines, pretty JSON for --json, and the one stderr line of a failed call.
#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::cli {

// A table column: its title and the JSON field of each row it shows.
struct Column {
  std::string title;
  std::string field;
};

// Columns separated by two spaces, each as wide as its widest cell (counted in
// UTF-8 code points); the last column is not padded. Every line ends in '\n'.
std::string render_table(const std::vector<std::string>& titles, const std::vector<std::vector<std::string>>& rows);
// A table of JSON objects, one per row; a missing or null field shows as "-".
std::string render_items(const boost::json::array& items, const std::vector<Column>& columns);

// One object, a line per field in the server's order: "field  value", nested
// objects flattened as "quotas.burst".
std::string render_object(const boost::json::object& object);

// A JSON value as one table cell: null "-", strings as they are, arrays joined
// with ", " ("-" when empty), objects as compact JSON. Control characters
// become '?', so a cell can neither break the table nor drive the terminal.
std::string cell_text(const boost::json::value& value);

// Two-space indented JSON ending in '\n'.
std::string pretty_json(const boost::json::value& value);

// The line (without "tollgate: " and '\n') for a REST answer with status ≥ 400:
// "<code>: <message> (request req_…)" from tollgate's error body, otherwise
// "HTTP <status> from <url>".
std::string error_line(int status, std::string_view body, std::string_view url);

}  // namespace tollgate::cli
