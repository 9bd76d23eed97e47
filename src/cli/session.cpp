#include "session.hpp"

#include <boost/json.hpp>

#include <ostream>
#include <set>

namespace tollgate::cli {

namespace json = boost::json;

Session::Session(Target target, bool json, std::ostream& out, std::ostream& err)
    : client_(std::move(target)), json_(json), out_(out), err_(err) {}

std::optional<json::value> Session::call(std::string_view method, const std::string& target,
                                         const std::optional<json::value>& body) {
  std::optional<std::string> payload;
  if (body) payload = json::serialize(*body);
  auto response = client_.send(method, target, payload);
  auto query = target.find('?');
  std::string where = client_.base_url().text + target.substr(0, query);
  if (response.status >= 400 || response.status < 200)
    throw CommandError(error_line(response.status, response.body, where));
  if (response.body.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  auto parsed = json::parse(response.body, ec);
  if (ec)
    throw CommandError("unexpected answer from " + where + ": HTTP " + std::to_string(response.status) +
                       " with a body that is not JSON");
  return parsed;
}

std::string Session::fetch_text(const std::string& target) {
  auto response = client_.send("GET", target);
  if (response.status >= 400 || response.status < 200) {
    throw CommandError(error_line(response.status, response.body,
                                  client_.base_url().text + target.substr(0, target.find('?'))));
  }
  return response.body;
}

json::value Session::list_all(const std::string& target) {
  json::array items;
  std::set<std::string> seen;
  std::string next = target;
  const char joiner = target.find('?') == std::string::npos ? '?' : '&';
  for (;;) {
    auto page = call("GET", next);
    const json::object* object = page ? page->if_object() : nullptr;
    const json::value* data = object ? object->if_contains("data") : nullptr;
    if (!data || !data->is_array())
      throw CommandError("unexpected answer from " + client_.base_url().text + target.substr(0, target.find('?')) +
                         ": no \"data\" list");
    for (const auto& item : data->get_array()) items.push_back(item);
    const json::value* cursor = object->if_contains("next_cursor");
    if (!cursor || cursor->is_null()) break;
    if (!cursor->is_string() || cursor->get_string().empty())
      throw CommandError("unexpected answer from " + client_.base_url().text + ": next_cursor is not a string");
    std::string c(cursor->get_string());
    if (!seen.insert(c).second)
      throw CommandError("the relay answered the same next_cursor twice; the list is incomplete");
    next = target + joiner + "cursor=" + percent_encode(c);
  }
  json::object all;
  all["data"] = std::move(items);
  all["next_cursor"] = nullptr;
  return all;
}

void Session::print(const json::value& answer, const std::string& text) {
  if (json_) out_ << pretty_json(answer);
  else out_ << text;
}

}  // namespace tollgate::cli
