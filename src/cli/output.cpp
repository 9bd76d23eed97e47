#include "tollgate/cli/output.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace tollgate::cli {
namespace {

namespace json = boost::json;

// Control characters (C0, DEL) replaced, so server-supplied text stays on one
// line and cannot carry terminal escapes.
std::string printable(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void flatten(const json::object& object, const std::string& prefix, std::vector<std::vector<std::string>>& rows) {
  for (const auto& kv : object) {
    std::string name = prefix + std::string(kv.key());
    if (kv.value().is_object() && !kv.value().as_object().empty())
      flatten(kv.value().as_object(), name + ".", rows);
    else
      rows.push_back({printable(name), cell_text(kv.value())});
  }
}

void pretty(const json::value& v, std::string& out, int depth) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ",\n";
        first = false;
        indent(depth + 1);
        out += json::serialize(json::string_view(kv.key()));
        out += ": ";
        pretty(kv.value(), out, depth + 1);
      }
      out += '\n';
      indent(depth);
      out += '}';
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      bool first = true;
      for (const auto& item : a) {
        if (!first) out += ",\n";
        first = false;
        indent(depth + 1);
        pretty(item, out, depth + 1);
      }
      out += '\n';
      indent(depth);
      out += ']';
      return;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string render_table(const std::vector<std::string>& titles, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(titles.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  };
  measure(titles);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      out += cell;
      if (i + 1 < widths.size()) out.append(widths[i] - display_width(cell) + 2, ' ');
    }
    out += '\n';
  };
  line(titles);
  for (const auto& r : rows) line(r);
  return out;
}

std::string render_items(const json::array& items, const std::vector<Column>& columns) {
  std::vector<std::string> titles;
  for (const auto& c : columns) titles.push_back(c.title);
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    std::vector<std::string> row;
    const auto* object = item.if_object();
    for (const auto& c : columns) {
      const json::value* v = object ? object->if_contains(c.field) : nullptr;
      row.push_back(v ? cell_text(*v) : "-");
    }
    rows.push_back(std::move(row));
  }
  return render_table(titles, rows);
}

std::string render_object(const json::object& object) {
  std::vector<std::vector<std::string>> rows;
  flatten(object, "", rows);
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, display_width(r[0]));
  std::string out;
  for (const auto& r : rows) {
    out += r[0];
    out.append(width - display_width(r[0]) + 2, ' ');
    out += r[1];
    out += '\n';
  }
  return out;
}

std::string cell_text(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "-";
    case json::kind::string:
      return printable(value.get_string());
    case json::kind::array: {
      const auto& a = value.get_array();
      if (a.empty()) return "-";
      std::string out;
      for (const auto& item : a) {
        if (!out.empty()) out += ", ";
        out += cell_text(item);
      }
      return out;
    }
    default:
      return printable(json::serialize(value));
  }
}

std::string pretty_json(const json::value& value) {
  std::string out;
  pretty(value, out, 0);
  out += '\n';
  return out;
}

std::string error_line(int status, std::string_view body, std::string_view url) {
  std::string fallback = "HTTP " + std::to_string(status) + " from " + printable(url);
  boost::system::error_code ec;
  auto parsed = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !parsed.is_object()) return fallback;
  const auto* error = parsed.get_object().if_contains("error");
  if (!error || !error->is_object()) return fallback;
  const auto& e = error->get_object();
  const auto* code = e.if_contains("code");
  if (!code || !code->is_string() || code->get_string().empty()) return fallback;
  std::string line = printable(code->get_string());
  const auto* message = e.if_contains("message");
  line += ": ";
  line += message && message->is_string() && !message->get_string().empty() ? printable(message->get_string())
                                                                             : "HTTP " + std::to_string(status);
  const auto* request_id = e.if_contains("request_id");
  if (request_id && request_id->is_string() && !request_id->get_string().empty())
    line += " (request " + printable(request_id->get_string()) + ")";
  return line;
}

}  // namespace tollgate::cli
