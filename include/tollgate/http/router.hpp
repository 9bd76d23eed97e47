#pragma once
// Maps (method, path) to a handler. Patterns are literal segments, `{name}`
// segments (one segment each) and a final `{name*}` that takes the rest of the
// path as is (the relay's upstream path). Matching never decodes: the values
// are views into the request's path.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

namespace boost::asio {
template <typename T, typename Executor>
class awaitable;
class any_io_executor;
}  // namespace boost::asio

namespace tollgate::http {

class Exchange;
using Handler = std::function<boost::asio::awaitable<void, boost::asio::any_io_executor>(Exchange&)>;

// A route has at most a few parameters: kept inline, no allocation per match.
using Params = boost::container::small_vector<std::pair<std::string_view, std::string_view>, 4>;

class Router {
 public:
  // `method` is an upper-case HTTP method, or "*" for any method.
  void add(std::string method, std::string_view pattern, Handler handler);

  struct Match {
    enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
    const Handler* handler = nullptr;
    Params params;
    std::string allow;  // for 405: the methods the path does accept, "GET, POST"
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    enum class Kind { literal, param, rest } kind;
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    Handler handler;
    // The pattern up to its first parameter ("/v1/proxy/"): a path without it
    // cannot match, so most routes are passed over with one comparison.
    std::string literal_prefix;
    // One byte of the prefix tested before the whole of it: the first of its
    // second segment, where routes under one version part ("/v1/") differ.
    std::size_t probe = 0;
  };
  static bool match_route(const Route& route, std::string_view path, Params& params);
  std::vector<Route> routes_;
};

}  // namespace tollgate::http
