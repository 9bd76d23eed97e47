#pragma once
// A headless "browser" for OAuth flows in integration tests: plain HTTP/1.1 to
// loopback servers (http://127.0.0.1:P or http://localhost:P only, so a test can
// never reach out), a cookie jar, and redirect following that can stop at a URL
// the test cares about (a redirect URI, a tenant's redirect_url) without
// fetching it. No JavaScript, no TLS.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raw_http.hpp"

namespace tollgate::test {

using FormFields = std::vector<std::pair<std::string, std::string>>;
using Headers = std::vector<std::pair<std::string, std::string>>;  // as http_request takes them

// An absolute http URL split into the parts a loopback request needs.
struct HttpUrl {
  std::string host;        // as written: "127.0.0.1" or "localhost"
  std::uint16_t port = 80;
  std::string target;      // path and query, "/" at least; the fragment dropped
  std::string origin() const { return "http://" + host + ":" + std::to_string(port); }
  std::string path() const { return target.substr(0, target.find('?')); }
  // Throws std::invalid_argument for anything but an http URL to a loopback host.
  static HttpUrl parse(const std::string& url);
};

// `reference` (absolute, scheme-relative, absolute-path or relative, as in a
// Location header or a form action) resolved against the absolute `base`.
std::string resolve_url(const std::string& base, const std::string& reference);

// application/x-www-form-urlencoded encoding of one value, and of a whole form.
std::string form_encode(const std::string& value);
std::string form_encode(const FormFields& fields);
// Percent-decoding ('+' as space when `plus_is_space`).
std::string url_decode(const std::string& value, bool plus_is_space = true);
// The first value of query parameter `name` in `url`, decoded; nullopt when absent.
std::optional<std::string> query_param(const std::string& url, const std::string& name);

// An HTML form as found in a page: absolute action, method, and the fields it
// carries with a value attribute (hidden inputs and pre-filled ones).
struct HtmlForm {
  std::string action;
  std::string method;  // lower-cased; "get" when absent
  FormFields fields;
};
std::vector<HtmlForm> html_forms(const std::string& html, const std::string& page_url);
// The href of every <a> in the page, resolved against `page_url`.
std::vector<std::string> html_links(const std::string& html, const std::string& page_url);

class Browser {
 public:
  struct FollowOptions {
    std::string stop_at_prefix;  // a URL starting with this ends the walk (empty: none does)
    bool fetch_stop = false;     // fetch that URL (without following its redirect) before stopping
    int max_hops = 20;           // redirects followed at most; more throws
  };
  // Where a walk ended: the URL reached and its response, absent when it was a
  // stop URL left unfetched. `at_stop`: it ended at the stop prefix, not at a
  // page that does not redirect.
  struct Landing {
    std::string url;
    std::optional<HttpResponse> response;
    bool at_stop = false;
  };

  // One request, cookies sent and stored; redirects are not followed.
  HttpResponse get(const std::string& url, Headers extra_headers = {});
  HttpResponse post_form(const std::string& url, const FormFields& fields, Headers extra_headers = {});

  // GETs `url` and follows 301/302/303/307/308 redirects (always with GET).
  Landing follow(const std::string& url, const FollowOptions& options);
  Landing follow(const std::string& url) { return follow(url, FollowOptions{}); }
  // Follows on from `response`, already received for `url` (e.g. a POST's 303).
  Landing follow(const std::string& url, HttpResponse response, const FollowOptions& options);

  // Drives oidc-provider's devInteractions from `authorization_url` to the
  // client's redirect URI: signs in as `login` (any password), then grants
  // consent or, when `consent` is false, aborts the interaction (the client
  // gets error=access_denied). Prompts already satisfied by this browser's
  // session are skipped as the server skips them. Returns the first URL that
  // starts with `stop_at_prefix` (code, state and iss in its query), unfetched.
  // Throws std::runtime_error, with the page, if the flow ends anywhere else.
  std::string authorize_through_oidc(const std::string& authorization_url, const std::string& login, bool consent,
                                     const std::string& stop_at_prefix);

  // The cookie `name` this browser would send to `url`; nullopt when none.
  std::optional<std::string> cookie(const std::string& url, const std::string& name) const;
  void clear_cookies() { jar_.clear(); }

 private:
  struct Cookie {
    std::string name, value, path;
    std::optional<std::int64_t> expires;  // unix seconds; nullopt: a session cookie
  };
  HttpResponse request(const std::string& method, const std::string& url, const std::string& body,
                       Headers headers);
  void store_cookies(const HttpUrl& url, const HttpResponse& response);
  std::string cookie_header(const HttpUrl& url) const;

  std::map<std::string, std::vector<Cookie>> jar_;  // by origin (host:port)
};

}  // namespace tollgate::test
