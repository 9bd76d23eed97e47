#pragma once
// A tollgate whose catalog points at in-process upstream peers (plain and TLS,
// the TLS one trusted through relay.ca_file), with one tenant and connections
// for every auth mode, for the relay tests.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <poll.h>

#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include "raw_http.hpp"
#include "script_server.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"
#include "tollgate_process.hpp"
#include "upstream_peer.hpp"

namespace tollgate::test::relay_world {

inline const std::string kAdmin = "tg_admin_relay_test_0123456789abcdef";
// Marker secrets: tests grep every output for them.
inline const std::string kAccessToken = "ACCESS-MARKER-7f3a9c";
inline const std::string kApiKey = "APIKEY-MARKER-51be0d";
inline const std::string kDeployKey = "DEPLOY-MARKER-c0ffee";
inline const std::string kBasicKey = "BASICUSER-MARKER-9d1e";

inline std::string field(const std::string& json, const std::string& name) {
  std::smatch m;
  return std::regex_search(json, m, std::regex("\"" + name + "\":\"([^\"]*)\"")) ? m[1].str() : "";
}

// RSS of a process in bytes, from /proc.
inline std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

struct World {
  TestCa ca{"tollgate relay test CA"};
  UpstreamPeer plain;
  UpstreamPeer tls{UpstreamPeerOptions{ca.issue("upstream", {"localhost"}, {"127.0.0.1"})}};
  // The token endpoint of `bearer`: it refuses every refresh (invalid_grant).
  ScriptServer token_endpoint{{reply("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 25\r\n\r\n{\"error\":\"invalid_grant\"}")}};
  TempDir files;
  std::unique_ptr<TollgateProcess> tg;
  std::string tenant, key, other_tenant, other_key;
  std::string bearer_pac, keyed_pac, queried_pac, basic_pac, team_pac;

  explicit World(const std::string& extra_config = "") {
    auto ca_file = files.write("ca.pem", ca.cert_pem());
    std::string p = plain.base_url();
    std::string yaml = extra_config + "relay:\n  ca_file: " + ca_file.string() +
                       "\n  upstream_timeouts: {connect: 2s, first_byte: 1500ms, idle: 1500ms}\n"
                       "providers:\n"
                       "  bearer:\n"
                       "    authorization_url: http://127.0.0.1:9/authorize\n"
                       "    token_url: " + token_endpoint.url("/token") + "\n" +
                       "    managed: {service_config_key: bearer, client_id: relay-client, client_secret: relay-secret}\n"
                       "    api:\n      base_url: \"" + p + "/v3\"\n"
                       "      headers: {Accept: application/vnd.test+json, X-Api-Version: \"2\"}\n"
                       "  bearer-tls:\n    alias: bearer\n    api: {base_url: \"" + tls.base_url() + "/secure/\"}\n"
                       "  keyed:\n    auth_mode: api_key\n    api: {base_url: \"" + p + "/keyed\"}\n"
                       "    credentials: {header: X-Api-Key, format: \"Key {api_key}\"}\n"
                       "  queried:\n    auth_mode: api_key\n    api: {base_url: \"" + p + "/q\"}\n"
                       "    credentials: {query: api_key}\n"
                       "  basic:\n    auth_mode: basic\n    api: {base_url: \"" + p + "/basic\"}\n"
                       "    credentials: {username: \"{api_key}\", password: \"pw\"}\n"
                       "  deploy:\n    auth_mode: api_key\n    api: {base_url: \"" + p + "/deploy\"}\n"
                       "    credentials: {header: Authorization, format: \"Bearer {api_key}\"}\n"
                       "    deployment_credentials: {api_key: " + kDeployKey + "}\n"
                       "  team:\n    auth_mode: api_key\n    connection_params: {team: {pattern: \"^[a-z]+$\"}}\n"
                       "    api: {base_url: \"" + p + "/teams/{team}\"}\n"
                       "    credentials: {header: X-Api-Key}\n";
    tg = std::make_unique<TollgateProcess>(yaml, std::map<std::string, std::optional<std::string>>{
                                                     {"TOLLGATE_ADMIN_KEY", kAdmin}});
    tenant = field(admin("POST", "/v1/tenants", R"({"name":"Acme"})").body, "id");
    key = field(admin("POST", "/v1/tenants/" + tenant + "/api-keys", "{}").body, "key");
    other_tenant = field(admin("POST", "/v1/tenants", R"({"name":"Other"})").body, "id");
    other_key = field(admin("POST", "/v1/tenants/" + other_tenant + "/api-keys", "{}").body, "key");
    REQUIRE(!key.empty());
    REQUIRE(!other_key.empty());
    bearer_pac = import(R"({"provider":"bearer","external_user_id":"u1","credentials":{"access_token":")" +
                        kAccessToken + R"(","refresh_token":"RT-MARKER-1","expires_at":"2099-01-01T00:00:00Z"}})");
    keyed_pac = import(R"({"provider":"keyed","external_user_id":"u1","credentials":{"api_key":")" + kApiKey + R"("}})");
    queried_pac = import(R"({"provider":"queried","external_user_id":"u1","credentials":{"api_key":"a b&c=d"}})");
    basic_pac = import(R"({"provider":"basic","external_user_id":"u1","credentials":{"api_key":")" + kBasicKey + R"("}})");
    team_pac = import(R"({"provider":"team","external_user_id":"u1","connection_params":{"team":"blue"},"credentials":{"api_key":"team-key"}})");
  }

  HttpResponse admin(std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_request(tg->port(), method, target, {{"Authorization", "Bearer " + kAdmin}}, body);
  }

  std::string import(const std::string& body) {
    auto r = http_request(tg->port(), "POST", "/v1/auth-configs", {{"Authorization", "Bearer " + key}}, body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return field(r.body, "id");
  }

  // A relay call on a fresh connection with the tenant's key plus `headers`.
  HttpResponse call(std::string_view method, const std::string& target,
                    std::vector<std::pair<std::string, std::string>> headers = {}, std::string_view body = {}) {
    headers.emplace_back("Authorization", "Bearer " + key);
    return http_request(tg->port(), method, target, std::move(headers), body);
  }
};

// A blocking loopback client that streams: bodies are counted and checked
// piece by piece, never held, so gigabytes pass through with flat memory.
class Stream {
 public:
  explicit Stream(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~Stream() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Up to `max` bytes (first what is buffered); "" on EOF, error or timeout.
  std::string read_some(std::size_t max = 256 * 1024, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (!buffer_.empty()) {
      auto out = buffer_.substr(0, max);
      buffer_.erase(0, out.size());
      return out;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
    std::string out(max, '\0');
    auto n = ::recv(fd_, out.data(), out.size(), 0);
    if (n <= 0) return {};
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  // Reads through the end of the head; returns it (the rest stays buffered).
  std::string read_head(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string data;
    for (;;) {
      auto end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        buffer_ = data.substr(end + 4) + buffer_;
        return data.substr(0, end + 4);
      }
      auto more = read_some(64 * 1024, timeout);
      if (more.empty()) return {};
      data += more;
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace tollgate::test::relay_world
