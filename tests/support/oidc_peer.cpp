#include "oidc_peer.hpp"

#include <signal.h>

#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "browser.hpp"
#include "raw_http.hpp"

namespace tollgate::test {
namespace {

constexpr int kPortTaken = 3;  // oidc_server.mjs's exit status for EADDRINUSE

// Client metadata for oidc_server.mjs. The code clients have no redirect_uris:
// the server gives them the --redirect-uri values.
constexpr const char* kClientsJson = R"([
  {"client_id": "managed-app", "client_secret": "managed-app-secret",
   "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
   "token_endpoint_auth_method": "client_secret_post"},
  {"client_id": "own-app", "client_secret": "own-app-secret",
   "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
   "token_endpoint_auth_method": "client_secret_basic"},
  {"client_id": "service-app", "client_secret": "service-app-secret",
   "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
   "token_endpoint_auth_method": "client_secret_basic", "scope": "api:read api:write"}
]
)";

std::filesystem::path peers_dir() { return std::filesystem::path(TOLLGATE_SOURCE_DIR) / "tests" / "peers"; }

// A tiny reader for the top level of a JSON object; nested values are skipped.
class JsonScanner {
 public:
  explicit JsonScanner(const std::string& text) : s_(text) {}

  std::optional<std::string> member(const std::string& wanted) {
    skip_ws();
    if (!eat('{')) return std::nullopt;
    for (;;) {
      skip_ws();
      if (peek() != '"') return std::nullopt;
      auto key = string();
      skip_ws();
      if (!key || !eat(':')) return std::nullopt;
      skip_ws();
      if (*key == wanted) {
        if (peek() == '"') return string();
        if (peek() == '{' || peek() == '[') return std::nullopt;
        auto start = i_;
        while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && !std::isspace(static_cast<unsigned char>(s_[i_])))
          ++i_;
        return s_.substr(start, i_ - start);
      }
      if (!skip_value()) return std::nullopt;
      skip_ws();
      if (!eat(',')) return std::nullopt;
    }
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u':
          if (i_ + 4 > s_.size()) return std::nullopt;
          append_utf8(out, static_cast<unsigned>(std::stoul(s_.substr(i_, 4), nullptr, 16)));
          i_ += 4;
          break;
        default: out += e;  // " \ /
      }
    }
    return std::nullopt;
  }
  bool skip_value() {
    if (peek() == '"') return string().has_value();
    if (peek() == '{' || peek() == '[') {
      int depth = 0;
      while (i_ < s_.size()) {
        char c = s_[i_];
        if (c == '"') {
          if (!string()) return false;
          continue;
        }
        ++i_;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return true;
      }
      return false;
    }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}') ++i_;
    return true;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {table[n >> 18], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += {table[n >> 18], table[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {table[n >> 18], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

std::optional<std::string> json_member(const std::string& json, const std::string& name) {
  return JsonScanner(json).member(name);
}

std::string basic_authorization(const OidcClient& client) {
  return "Basic " + base64(form_encode(client.id) + ":" + form_encode(client.secret));
}

const OidcClient& OidcPeer::managed_client() {
  static const OidcClient c{"managed-app", "managed-app-secret", "client_secret_post"};
  return c;
}

const OidcClient& OidcPeer::own_client() {
  static const OidcClient c{"own-app", "own-app-secret", "client_secret_basic"};
  return c;
}

const OidcClient& OidcPeer::service_client() {
  static const OidcClient c{"service-app", "service-app-secret", "client_secret_basic"};
  return c;
}

OidcPeer::OidcPeer(Options options) {
  if (options.redirect_uris.empty()) throw std::invalid_argument("OidcPeer needs at least one redirect URI");
  if (!std::filesystem::exists(peers_dir() / "node_modules" / "oidc-provider"))
    throw std::runtime_error("oidc-provider is not installed in tests/peers: run scripts/deps.sh --test");
  dir_.write("clients.json", kClientsJson);
  // free_port() releases the port before node binds it: another test may take it first.
  for (int attempt = 0; attempt < 5; ++attempt)
    if (start(options)) return;
  throw std::runtime_error("oidc_server.mjs found no free port in 5 attempts:\n" + logs());
}

bool OidcPeer::start(const Options& options) {
  port_ = free_port();
  std::vector<std::string> argv{"node",
                                (peers_dir() / "oidc_server.mjs").string(),
                                "--port",
                                std::to_string(port_),
                                "--clients",
                                (dir_ / "clients.json").string(),
                                "--access-token-ttl",
                                std::to_string(options.access_token_ttl.count()),
                                "--refresh-token-ttl",
                                std::to_string(options.refresh_token_ttl.count())};
  for (const auto& uri : options.redirect_uris) {
    argv.push_back("--redirect-uri");
    argv.push_back(uri);
  }
  process_ = std::make_unique<Process>(argv, dir_ / "logs", std::map<std::string, std::optional<std::string>>{},
                                       peers_dir());
  if (!process_->wait_for_output("READY " + std::to_string(port_), 30s)) {
    if (process_->wait(5s) == kPortTaken) return false;
    throw std::runtime_error("oidc_server.mjs did not start:\n" + logs());
  }
  issuer_ = "http://127.0.0.1:" + std::to_string(port_);

  std::string discovery;
  bool answered = eventually(
      [&] {
        try {
          auto r = http_request(port_, "GET", "/.well-known/openid-configuration");
          if (r.status != 200) return false;
          discovery = r.body;
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s);
  if (!answered) throw std::runtime_error("oidc_server.mjs did not answer its discovery document:\n" + logs());
  auto endpoint = [&](const char* name) {
    auto v = json_member(discovery, name);
    if (!v) throw std::runtime_error(std::string("discovery document without ") + name + ":\n" + discovery);
    return *v;
  };
  if (endpoint("issuer") != issuer_) throw std::runtime_error("unexpected issuer in discovery:\n" + discovery);
  authorization_endpoint_ = endpoint("authorization_endpoint");
  token_endpoint_ = endpoint("token_endpoint");
  introspection_endpoint_ = endpoint("introspection_endpoint");
  revocation_endpoint_ = endpoint("revocation_endpoint");
  jwks_uri_ = endpoint("jwks_uri");
  return true;
}

OidcPeer::~OidcPeer() { stop(); }

std::optional<int> OidcPeer::stop() {
  if (!process_) return std::nullopt;
  if (!process_->running()) return process_->wait(0s);
  process_->signal(SIGTERM);
  auto status = process_->wait(10s);
  if (!status) {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
  return status;
}

std::string OidcPeer::target_of(const std::string& url) const {
  auto u = HttpUrl::parse(url);
  if (u.port != port_) throw std::invalid_argument(url + " is not a URL of this OidcPeer");
  return u.target;
}

std::string OidcPeer::logs() const { return process_ ? process_->out() + process_->err() : std::string{}; }

}  // namespace tollgate::test
