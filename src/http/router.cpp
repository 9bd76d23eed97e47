#include "tollgate/http/router.hpp"

#include <stdexcept>

#include <boost/asio/awaitable.hpp>

namespace tollgate::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

void Router::add(std::string method, std::string_view pattern, Handler handler) {
  Route route{std::move(method), {}, std::move(handler)};
  auto parts = split_path(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto p = parts[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      auto name = p.substr(1, p.size() - 2);
      if (!name.empty() && name.back() == '*') {
        if (i + 1 != parts.size()) throw std::invalid_argument("a {rest*} parameter must be last");
        route.segments.push_back({std::string(name.substr(0, name.size() - 1)), Segment::Kind::rest});
      } else {
        route.segments.push_back({std::string(name), Segment::Kind::param});
      }
    } else {
      route.segments.push_back({std::string(p), Segment::Kind::literal});
    }
  }
  route.literal_prefix = "/";
  for (std::size_t i = 0; i < route.segments.size() && route.segments[i].kind == Segment::Kind::literal; ++i) {
    route.literal_prefix += route.segments[i].text;
    if (i + 1 < route.segments.size()) route.literal_prefix += '/';
  }
  const auto second = route.literal_prefix.find('/', 1);
  route.probe = second != std::string::npos && second + 1 < route.literal_prefix.size() ? second + 1
                                                                                        : route.literal_prefix.size() - 1;
  routes_.push_back(std::move(route));
}

bool Router::match_route(const Route& route, std::string_view path, Params& params) {
  params.clear();
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const auto& seg = route.segments[i];
    if (seg.kind == Segment::Kind::rest) {
      params.emplace_back(seg.text, rest);
      return true;
    }
    auto slash = rest.find('/');
    std::string_view piece = rest.substr(0, slash);
    bool last_piece = slash == std::string_view::npos;
    if (seg.kind == Segment::Kind::literal) {
      if (piece != seg.text) return false;
    } else {
      if (piece.empty()) return false;
      params.emplace_back(seg.text, piece);
    }
    bool last_segment = i + 1 == route.segments.size();
    if (last_segment) return last_piece;
    if (last_piece) {
      // "/v1/proxy/github" still matches "/v1/proxy/{provider}/{path*}" with an empty rest.
      if (i + 2 == route.segments.size() && route.segments[i + 1].kind == Segment::Kind::rest) {
        params.emplace_back(route.segments[i + 1].text, std::string_view{});
        return true;
      }
      return false;
    }
    rest.remove_prefix(slash + 1);
  }
  return false;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  Params params;
  for (const auto& route : routes_) {
    const auto& prefix = route.literal_prefix;
    if (path.size() <= route.probe || path[route.probe] != prefix[route.probe] || !path.starts_with(prefix) ||
        !match_route(route, path, params))
      continue;
    if (route.method == "*" || route.method == method) {
      m.kind = Match::Kind::found;
      m.handler = &route.handler;
      m.params = std::move(params);
      m.allow.clear();
      return m;
    }
    m.kind = Match::Kind::method_not_allowed;
    if (m.allow.find(route.method) == std::string::npos) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += route.method;
    }
  }
  return m;
}

}  // namespace tollgate::http
