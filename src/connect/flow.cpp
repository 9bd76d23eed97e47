#include "flow.hpp"
#include "tollgate/oauth/injection.hpp"

#include <boost/asio/this_coro.hpp>

#include "tollgate/crypto/encoding.hpp"
#include "tollgate/crypto/keyring.hpp"
#include "tollgate/oauth/templates.hpp"

namespace tollgate::connect {

using errors::Code;

store::Millis now_ms() { return admin::now_millis(); }

void read_params_and_metadata(admin::FieldReader& in, const json::object& body, oauth::ParamValues& params,
                              std::string& metadata_json) {
  if (auto it = body.find("connection_params"); it != body.end() && !it->value().is_null()) {
    if (!it->value().is_object()) in.fail("field \"connection_params\" must be an object of strings");
    else
      for (const auto& [k, v] : it->value().as_object()) {
        if (!v.is_string()) in.fail("connection_params." + std::string(k) + " must be a string");
        else params[std::string(k)] = std::string(v.as_string());
      }
  }
  if (auto it = body.find("metadata"); it != body.end() && !it->value().is_null()) {
    if (!it->value().is_object()) in.fail("field \"metadata\" must be an object");
    else metadata_json = json::serialize(it->value());
    if (metadata_json.size() > 16 * 1024) in.fail("field \"metadata\" is larger than 16 KiB");
  }
}

std::string redirect_uri(const config::Config& cfg) { return cfg.server.public_url + "/oauth/callback"; }

std::string seal(const crypto::Keyring& k, const std::string& tenant, const std::string& record,
                 std::string_view field, std::string_view value) {
  return k.seal(value, {tenant, record, field});
}

json::object session_json(const store::SetupSession& s, const config::Config& cfg, const crypto::Keyring& keyring) {
  json::value url = nullptr;
  if (s.status == kPending && !s.connect_token_sealed.empty()) {
    if (auto token = keyring.unseal(s.connect_token_sealed, {s.tenant_id, s.id, "connect_token"}))
      url = cfg.server.public_url + "/connect/" + s.id + "?t=" + token.value->reveal();
  }
  json::array scopes;
  for (const auto& sc : s.scopes) scopes.emplace_back(sc);
  json::object params;
  for (const auto& [k, v] : s.connection_params) params[k] = v;
  json::value metadata = nullptr;
  if (!s.metadata_json.empty()) {
    boost::system::error_code ec;
    metadata = json::parse(s.metadata_json, ec);
    if (ec) metadata = nullptr;
  }
  json::value error = nullptr;
  if (!s.error_code.empty()) error = json::object{{"code", s.error_code}, {"message", s.error_message}};
  auto opt = [](const std::string& v) { return v.empty() ? json::value(nullptr) : json::value(v); };
  return {{"id", s.id},
          {"tenant_id", s.tenant_id},
          {"provider", s.provider},
          {"auth_method", s.auth_method},
          {"status", s.status},
          {"mode", s.mode},
          {"url", url},
          {"expires_at", admin::format_time(s.expires_at)},
          {"external_user_id", opt(s.external_user_id)},
          {"scopes", std::move(scopes)},
          {"redirect_url", opt(s.redirect_url)},
          {"connection_params", std::move(params)},
          {"metadata", metadata},
          {"auth_config_id", opt(s.auth_config_id)},
          {"error", error},
          {"created_at", admin::format_time(s.created_at)},
          {"updated_at", admin::format_time(s.updated_at)}};
}

awaitable<store::Result<store::SetupSession>> expire_if_due(store::Store& store, store::SetupSession s) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (s.status != kPending || s.expires_at > now_ms()) co_return s;
    store::SetupSession next = s;
    next.status = "expired";
    next.error_code.clear();
    next.connect_token_hash.clear();
    next.connect_token_sealed.clear();
    next.state_hash.clear();
    next.pkce_verifier_sealed.clear();
    next.updated_at = now_ms();
    auto written = co_await store.update_setup_session(next);
    if (written || !written.is(store::Errc::conflict)) co_return written;
    auto again = co_await store.get_setup_session(s.id);
    if (!again) co_return again;
    s = std::move(again).value();
  }
  co_return s;
}

awaitable<bool> verify_credential(ConnectServices& cs, const config::Config& cfg, const config::Provider& p,
                                  const oauth::ParamValues& params, const crypto::Secret& key) {
  if (!p.verification) co_return true;
  auto base = oauth::expand_url(p.api.base_url, params, p);
  if (std::holds_alternative<errors::Error>(base)) co_return false;
  upstream::Request req;
  req.method = p.verification->method;
  req.url = oauth::join_url(std::get<std::string>(base), p.verification->path);
  auto fixed = oauth::api_headers(p, params);
  auto injection = oauth::inject_credential(p, key, params);
  if (!std::holds_alternative<oauth::Injection>(injection) || std::holds_alternative<errors::Error>(fixed)) co_return false;
  req.headers = std::move(std::get<0>(fixed));
  const auto& inject = std::get<oauth::Injection>(injection);
  if (!inject.query.empty()) {
    req.url += (req.url.find('?') == std::string::npos ? "?" : "&") + inject.query + "=" +
               crypto::percent_encode(inject.value.reveal());
  } else {
    req.headers.emplace_back(inject.header, inject.value.reveal());
  }
  auto executor = co_await boost::asio::this_coro::executor;
  auto& client = cs.upstream.get(executor, oauth::upstream_options(cfg));
  auto answer = co_await client.send(std::move(req));
  auto* res = std::get_if<upstream::Response>(&answer);
  co_return res && res->status >= 200 && res->status < 300;
}

}  // namespace tollgate::connect
