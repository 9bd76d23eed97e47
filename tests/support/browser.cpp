#include "browser.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <regex>
#include <stdexcept>

namespace tollgate::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool starts_with_icase(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// True when `ref` begins with a URI scheme ("http:", "https:", "myapp:").
bool has_scheme(const std::string& ref) {
  auto colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(ref[0]))) return false;
  return std::all_of(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(colon), [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
}

// RFC 3986 §5.2.4, enough for the paths tests produce.
std::string remove_dot_segments(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 1;  // path starts with '/'
  for (;;) {
    auto slash = path.find('/', pos);
    std::string seg = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    bool last = slash == std::string::npos;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else if (seg == ".") {
      if (last) out.emplace_back();
    } else {
      out.push_back(seg);
    }
    if (last) break;
    pos = slash + 1;
  }
  std::string result;
  for (const auto& seg : out) result += "/" + seg;
  return result.empty() ? "/" : result;
}

std::string decode_entities(const std::string& s) {
  static const std::vector<std::pair<std::string, std::string>> named = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#x27;", "'"},
      {"&#x2F;", "/"}, {"&#47;", "/"}, {"&#x3D;", "="}, {"&#61;", "="}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [entity, text] : named) {
        if (s.compare(i, entity.size(), entity) == 0) {
          out += text;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// The attributes of one start tag ("<input type=hidden name='a' value="b">"), names lower-cased.
std::map<std::string, std::string> tag_attributes(const std::string& tag) {
  static const std::regex attr(R"re(([A-Za-z_:][-A-Za-z0-9_:.]*)\s*(?:=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+)))?)re");
  std::map<std::string, std::string> out;
  auto first_space = tag.find_first_of(" \t\r\n");
  if (first_space == std::string::npos) return out;
  std::string rest = tag.substr(first_space);
  for (std::sregex_iterator it(rest.begin(), rest.end(), attr), end; it != end; ++it) {
    const auto& m = *it;
    std::string value = m[3].matched ? m[3].str() : m[4].matched ? m[4].str() : m[5].str();
    out.emplace(lower(m[1].str()), decode_entities(value));
  }
  return out;
}

std::string attribute(const std::map<std::string, std::string>& attrs, const std::string& name) {
  auto it = attrs.find(name);
  return it == attrs.end() ? std::string{} : it->second;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::optional<std::int64_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  // "Wed, 21 Oct 2026 07:28:00 GMT"; the weekday is not needed.
  auto comma = text.find(',');
  std::string rest = trim(comma == std::string::npos ? text : text.substr(comma + 1));
  if (!strptime(rest.c_str(), "%d %b %Y %H:%M:%S", &tm)) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::int64_t now_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string default_cookie_path(const std::string& request_path) {
  auto slash = request_path.rfind('/');
  if (request_path.empty() || request_path[0] != '/' || slash == 0 || slash == std::string::npos) return "/";
  return request_path.substr(0, slash);
}

bool path_matches(const std::string& request_path, const std::string& cookie_path) {
  if (request_path == cookie_path) return true;
  if (request_path.rfind(cookie_path, 0) != 0) return false;
  return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

std::string snippet(const HttpResponse& r) {
  return "HTTP " + std::to_string(r.status) + "\n" + r.body.substr(0, 1500);
}

}  // namespace

HttpUrl HttpUrl::parse(const std::string& url) {
  if (!starts_with_icase(url, "http://")) throw std::invalid_argument("not an http:// URL: " + url);
  auto rest = url.substr(7);
  auto end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  if (authority.find('@') != std::string::npos) throw std::invalid_argument("userinfo in URL: " + url);
  HttpUrl out;
  auto colon = authority.rfind(':');
  out.host = lower(authority.substr(0, colon));
  if (colon != std::string::npos) {
    std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) || std::stoi(port) > 65535)
      throw std::invalid_argument("bad port in URL: " + url);
    out.port = static_cast<std::uint16_t>(std::stoi(port));
  }
  // Tests talk to servers on this machine only; never resolve anything else.
  if (out.host != "127.0.0.1" && out.host != "localhost")
    throw std::invalid_argument("the test browser only visits 127.0.0.1 and localhost: " + url);
  std::string target = end == std::string::npos ? std::string{} : rest.substr(end);
  target = target.substr(0, target.find('#'));
  if (target.empty() || target[0] == '?') target.insert(0, "/");
  out.target = target;
  return out;
}

std::string resolve_url(const std::string& base, const std::string& reference) {
  std::string ref = reference.substr(0, reference.find('#'));
  if (has_scheme(ref)) return ref;
  if (ref.rfind("//", 0) == 0) return "http:" + ref;
  auto b = HttpUrl::parse(base);
  if (ref.empty()) return b.origin() + b.target;
  if (ref[0] == '?') return b.origin() + b.path() + ref;
  std::string path, query;
  auto q = ref.find('?');
  path = ref.substr(0, q);
  if (q != std::string::npos) query = ref.substr(q);
  if (path[0] != '/') {
    auto base_path = b.path();
    path = base_path.substr(0, base_path.rfind('/') + 1) + path;
  }
  return b.origin() + remove_dot_segments(path) + query;
}

std::string form_encode(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string form_encode(const FormFields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += form_encode(k) + "=" + form_encode(v);
  }
  return out;
}

std::string url_decode(const std::string& value, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < value.size() && std::isxdigit(static_cast<unsigned char>(value[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(value[i + 2]))) {
      out += static_cast<char>(std::stoi(value.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> query_param(const std::string& url, const std::string& name) {
  auto q = url.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    std::string pair = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name)
      return eq == std::string::npos ? std::string{} : url_decode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return std::nullopt;
}

std::vector<HtmlForm> html_forms(const std::string& html, const std::string& page_url) {
  static const std::regex form_re(R"(<form\b[^>]*>([\s\S]*?)</form>)", std::regex::icase);
  static const std::regex form_tag(R"(<form\b[^>]*>)", std::regex::icase);
  static const std::regex input_re(R"(<(input|button)\b[^>]*>)", std::regex::icase);
  std::vector<HtmlForm> out;
  for (std::sregex_iterator it(html.begin(), html.end(), form_re), end; it != end; ++it) {
    std::string whole = (*it)[0].str();
    std::smatch tag;
    std::regex_search(whole, tag, form_tag);
    auto attrs = tag_attributes(tag[0].str());
    HtmlForm form;
    form.action = resolve_url(page_url, attribute(attrs, "action"));
    form.method = lower(attribute(attrs, "method"));
    if (form.method.empty()) form.method = "get";
    std::string inner = (*it)[1].str();
    for (std::sregex_iterator in(inner.begin(), inner.end(), input_re); in != end; ++in) {
      auto input = tag_attributes((*in)[0].str());
      if (input.count("name") && input.count("value")) form.fields.emplace_back(input["name"], input["value"]);
    }
    out.push_back(std::move(form));
  }
  return out;
}

std::vector<std::string> html_links(const std::string& html, const std::string& page_url) {
  static const std::regex a_re(R"(<a\b[^>]*>)", std::regex::icase);
  std::vector<std::string> out;
  for (std::sregex_iterator it(html.begin(), html.end(), a_re), end; it != end; ++it) {
    auto attrs = tag_attributes((*it)[0].str());
    if (attrs.count("href")) out.push_back(resolve_url(page_url, attrs["href"]));
  }
  return out;
}

HttpResponse Browser::get(const std::string& url, Headers extra_headers) {
  return request("GET", url, {}, std::move(extra_headers));
}

HttpResponse Browser::post_form(const std::string& url, const FormFields& fields, Headers extra_headers) {
  extra_headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return request("POST", url, form_encode(fields), std::move(extra_headers));
}

HttpResponse Browser::request(const std::string& method, const std::string& url, const std::string& body,
                              Headers headers) {
  auto u = HttpUrl::parse(url);
  std::string req = method + " " + u.target + " HTTP/1.1\r\n";
  req += "Host: " + u.host + ":" + std::to_string(u.port) + "\r\n";
  req += "User-Agent: tollgate-test-browser\r\nAccept: text/html,application/json;q=0.9,*/*;q=0.8\r\n";
  req += "Connection: close\r\n";
  if (auto cookies = cookie_header(u); !cookies.empty()) req += "Cookie: " + cookies + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (method != "GET" && method != "HEAD") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  RawConnection conn(u.port);
  if (!conn.send(req)) throw std::runtime_error("cannot send " + method + " " + url);
  auto response = conn.read_response(std::chrono::seconds(30));
  if (!response) throw std::runtime_error("no response to " + method + " " + url);
  store_cookies(u, *response);
  return std::move(*response);
}

Browser::Landing Browser::follow(const std::string& url, const FollowOptions& options) {
  const auto& prefix = options.stop_at_prefix;
  if (!prefix.empty() && url.rfind(prefix, 0) == 0) {
    if (!options.fetch_stop) return {url, std::nullopt, true};
    return {url, get(url), true};
  }
  return follow(url, get(url), options);
}

Browser::Landing Browser::follow(const std::string& url, HttpResponse response, const FollowOptions& options) {
  const auto& prefix = options.stop_at_prefix;
  std::string current = url;
  for (int hops = 0;; ++hops) {
    if (!is_redirect(response.status) || response.header("location").empty())
      return {current, std::move(response), false};
    if (hops >= options.max_hops)
      throw std::runtime_error("more than " + std::to_string(options.max_hops) + " redirects from " + url);
    current = resolve_url(current, response.header("location"));
    if (!prefix.empty() && current.rfind(prefix, 0) == 0) {
      if (!options.fetch_stop) return {current, std::nullopt, true};
      return {current, get(current), true};
    }
    response = get(current);
  }
}

std::string Browser::authorize_through_oidc(const std::string& authorization_url, const std::string& login,
                                            bool consent, const std::string& stop_at_prefix) {
  FollowOptions options{.stop_at_prefix = stop_at_prefix};
  auto landing = follow(authorization_url, options);
  // Two prompts at most (login, consent); a few more steps tolerate a server
  // that asks again, without looping forever.
  for (int step = 0; step < 6 && !landing.at_stop; ++step) {
    const auto& page = *landing.response;
    if (page.status != 200)
      throw std::runtime_error("the authorization flow stopped at " + landing.url + ": " + snippet(page));
    auto forms = html_forms(page.body, landing.url);
    auto form = std::find_if(forms.begin(), forms.end(), [](const HtmlForm& f) {
      return std::any_of(f.fields.begin(), f.fields.end(), [](const auto& kv) { return kv.first == "prompt"; });
    });
    if (form == forms.end())
      throw std::runtime_error("no interaction form at " + landing.url + ": " + snippet(page));
    auto prompt = std::find_if(form->fields.begin(), form->fields.end(), [](const auto& kv) {
                    return kv.first == "prompt";
                  })->second;
    if (prompt == "login") {
      auto fields = form->fields;
      fields.emplace_back("login", login);
      fields.emplace_back("password", "x");
      landing = follow(form->action, post_form(form->action, fields), options);
    } else if (prompt == "consent" && consent) {
      landing = follow(form->action, post_form(form->action, form->fields), options);
    } else if (prompt == "consent") {
      // devInteractions' "[ Cancel ]" link: GET /interaction/{uid}/abort.
      auto links = html_links(page.body, landing.url);
      auto abort = std::find_if(links.begin(), links.end(), [](const std::string& l) {
        return l.size() >= 6 && l.compare(l.size() - 6, 6, "/abort") == 0;
      });
      landing = follow(abort != links.end() ? *abort : landing.url + "/abort", options);
    } else {
      throw std::runtime_error("unknown interaction prompt '" + prompt + "' at " + landing.url);
    }
  }
  if (!landing.at_stop)
    throw std::runtime_error("the authorization flow did not reach " + stop_at_prefix + "; it ended at " +
                             landing.url + (landing.response ? ": " + snippet(*landing.response) : ""));
  return landing.url;
}

void Browser::store_cookies(const HttpUrl& url, const HttpResponse& response) {
  auto& jar = jar_[url.origin()];
  for (const auto& [name, value] : response.headers) {
    if (name != "set-cookie") continue;
    // name=value; Path=/p; Max-Age=N; Expires=date; HttpOnly; SameSite=Lax; Secure
    auto semi = value.find(';');
    std::string pair = trim(value.substr(0, semi));
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    Cookie c{trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)), default_cookie_path(url.path()), std::nullopt};
    std::optional<std::int64_t> max_age, expires;
    std::size_t pos = semi;
    while (pos != std::string::npos) {
      auto next = value.find(';', pos + 1);
      std::string attr = trim(value.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1));
      auto aeq = attr.find('=');
      std::string key = lower(trim(attr.substr(0, aeq)));
      std::string val = aeq == std::string::npos ? std::string{} : trim(attr.substr(aeq + 1));
      if (key == "path" && !val.empty() && val[0] == '/') c.path = val;
      else if (key == "max-age" && !val.empty()) max_age = now_seconds() + std::stoll(val);
      else if (key == "expires") expires = parse_http_date(val);
      pos = next;
    }
    c.expires = max_age ? max_age : expires;  // Max-Age wins (RFC 6265 §5.3)
    std::erase_if(jar, [&](const Cookie& old) { return old.name == c.name && old.path == c.path; });
    if (!c.expires || *c.expires > now_seconds()) jar.push_back(std::move(c));
  }
}

std::string Browser::cookie_header(const HttpUrl& url) const {
  auto it = jar_.find(url.origin());
  if (it == jar_.end()) return {};
  std::vector<const Cookie*> matching;
  auto now = now_seconds();
  for (const auto& c : it->second)
    if ((!c.expires || *c.expires > now) && path_matches(url.path(), c.path)) matching.push_back(&c);
  // Longer paths first (RFC 6265 §5.4).
  std::stable_sort(matching.begin(), matching.end(),
                   [](const Cookie* a, const Cookie* b) { return a->path.size() > b->path.size(); });
  std::string out;
  for (const auto* c : matching) out += (out.empty() ? "" : "; ") + c->name + "=" + c->value;
  return out;
}

std::optional<std::string> Browser::cookie(const std::string& url, const std::string& name) const {
  auto u = HttpUrl::parse(url);
  auto it = jar_.find(u.origin());
  if (it == jar_.end()) return std::nullopt;
  auto now = now_seconds();
  for (const auto& c : it->second)
    if (c.name == name && (!c.expires || *c.expires > now) && path_matches(u.path(), c.path)) return c.value;
  return std::nullopt;
}

}  // namespace tollgate::test
