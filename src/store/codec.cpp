#include "codec.hpp"

#include <limits>
#include <map>
#include <vector>

#include <boost/json.hpp>

#include "tollgate/crypto/encoding.hpp"

namespace tollgate::store::codec {
namespace {

namespace json = boost::json;

// Reads the fields of one JSON object, keeping the first problem found so a
// decoder reads straight through and checks once at the end.
class FieldReader {
 public:
  explicit FieldReader(const json::object& object, std::string path = "") : object_(object), path_(std::move(path)) {}

  const std::string& problem() const { return problem_; }
  void fail(std::string problem) {
    if (problem_.empty()) problem_ = std::move(problem);
  }

  void required_text(std::string_view key, std::string& out) {
    if (!find(key)) return fail("field " + name(key) + " is missing");
    text(key, out);
  }

  void text(std::string_view key, std::string& out) {
    const json::value* v = find(key);
    if (!v) return;
    if (!v->is_string()) return wrong(key, "a string");
    out = std::string(v->get_string());
  }

  void texts(std::string_view key, std::vector<std::string>& out) {
    const json::value* v = find(key);
    if (!v) return;
    if (!v->is_array()) return wrong(key, "an array of strings");
    out.clear();
    for (const json::value& item : v->get_array()) {
      if (!item.is_string()) return wrong(key, "an array of strings");
      out.emplace_back(item.get_string());
    }
  }

  // A JSON object of strings.
  void text_map(std::string_view key, std::map<std::string, std::string>& out) {
    const json::value* v = find(key);
    if (!v) return;
    if (!v->is_object()) return wrong(key, "an object of strings");
    out.clear();
    for (const auto& item : v->get_object()) {
      if (!item.value().is_string()) return wrong(key, "an object of strings");
      out.emplace(std::string(item.key()), std::string(item.value().get_string()));
    }
  }

  // Bytes kept as base64 text (sealed values).
  void bytes(std::string_view key, std::string& out) {
    std::string encoded;
    text(key, encoded);
    if (auto raw = crypto::base64_decode(encoded)) out = std::move(*raw);
    else wrong(key, "base64");
  }

  void count(std::string_view key, std::uint64_t& out) {
    if (auto n = read_count(key)) out = *n;
  }
  void count(std::string_view key, std::optional<std::uint64_t>& out) {
    if (auto n = read_count(key)) out = *n;
  }

  void millis(std::string_view key, Millis& out) {
    if (auto n = read_millis(key)) out = *n;
  }
  void millis(std::string_view key, std::optional<Millis>& out) {
    if (auto n = read_millis(key)) out = *n;
  }

  void number(std::string_view key, std::optional<double>& out) {
    const json::value* v = find(key);
    if (!v) return;
    if (v->is_double()) out = v->get_double();
    else if (v->is_int64()) out = static_cast<double>(v->get_int64());
    else if (v->is_uint64()) out = static_cast<double>(v->get_uint64());
    else wrong(key, "a number");
  }

  // The object under `key`, or nullptr when absent (or of the wrong type, which is recorded).
  const json::object* object(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return nullptr;
    if (!v->is_object()) {
      wrong(key, "an object");
      return nullptr;
    }
    return &v->get_object();
  }

 private:
  std::string name(std::string_view key) const { return path_ + std::string(key); }

  // Absent and null read the same: the field keeps its default.
  const json::value* find(std::string_view key) const {
    const json::value* v = object_.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
  }

  void wrong(std::string_view key, std::string_view expected) {
    fail("field " + name(key) + " is not " + std::string(expected));
  }

  std::optional<std::uint64_t> read_count(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    wrong(key, "a whole number >= 0");
    return std::nullopt;
  }

  std::optional<Millis> read_millis(std::string_view key) {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<Millis>::max())) {
      return static_cast<Millis>(v->get_uint64());
    }
    wrong(key, "a time in milliseconds");
    return std::nullopt;
  }

  const json::object& object_;
  std::string path_;
  std::string problem_;
};

// Parses without throwing; on failure returns nullptr and says why in `problem`.
const json::object* parse_object(std::string_view text, json::value& storage, std::string& problem) {
  boost::system::error_code ec;
  storage = json::parse(text, ec);
  if (ec) {
    problem = "not JSON (" + ec.message() + ")";
    return nullptr;
  }
  if (!storage.is_object()) {
    problem = "not a JSON object";
    return nullptr;
  }
  return &storage.get_object();
}

template <typename T>
void put_optional(json::object& out, std::string_view key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

json::array array_of(const std::vector<std::string>& texts) {
  json::array out;
  for (const auto& text : texts) out.emplace_back(text);
  return out;
}

json::object object_of(const std::map<std::string, std::string>& texts) {
  json::object out;
  for (const auto& [key, value] : texts) out[key] = value;
  return out;
}

Error corrupt(std::string_view what, const std::string& problem) {
  return Error{Errc::corrupt, "stored " + std::string(what) + " does not decode: " + problem};
}

}  // namespace

std::string encode(const Tenant& tenant) {
  json::object quotas;
  put_optional(quotas, "monthly_calls", tenant.quotas.monthly_calls);
  put_optional(quotas, "rate_per_second", tenant.quotas.rate_per_second);
  put_optional(quotas, "burst", tenant.quotas.burst);
  json::array origins;
  for (const auto& origin : tenant.allowed_redirect_origins) origins.emplace_back(origin);

  json::object out;
  out["id"] = tenant.id;
  out["name"] = tenant.name;
  out["allowed_redirect_origins"] = std::move(origins);
  out["quotas"] = std::move(quotas);
  out["created_at"] = tenant.created_at;
  out["updated_at"] = tenant.updated_at;
  out["version"] = tenant.version;
  return json::serialize(out);
}

std::string encode(const ApiKey& key) {
  json::object out;
  out["id"] = key.id;
  out["tenant_id"] = key.tenant_id;
  out["hash"] = key.hash;
  out["prefix"] = key.prefix;
  out["created_at"] = key.created_at;
  put_optional(out, "revoked_at", key.revoked_at);
  out["version"] = key.version;
  return json::serialize(out);
}

std::string encode(const ProviderSetting& s) {
  json::object out;
  out["tenant_id"] = s.tenant_id;
  out["provider"] = s.provider;
  put_optional(out, "mode", s.mode);
  out["client_id"] = s.client_id;
  out["client_secret_sealed"] = crypto::base64_encode(s.client_secret_sealed);
  out["updated_at"] = s.updated_at;
  out["version"] = s.version;
  return json::serialize(out);
}

std::string encode(const SetupSession& s) {
  json::object out;
  out["id"] = s.id;
  out["tenant_id"] = s.tenant_id;
  out["provider"] = s.provider;
  out["auth_method"] = s.auth_method;
  out["status"] = s.status;
  out["mode"] = s.mode;
  out["external_user_id"] = s.external_user_id;
  out["scopes"] = array_of(s.scopes);
  out["redirect_url"] = s.redirect_url;
  out["connection_params"] = object_of(s.connection_params);
  out["metadata_json"] = s.metadata_json;
  out["auth_config_id"] = s.auth_config_id;
  out["error_code"] = s.error_code;
  out["error_message"] = s.error_message;
  out["connect_token_hash"] = s.connect_token_hash;
  out["connect_token_sealed"] = crypto::base64_encode(s.connect_token_sealed);
  out["browser_hash"] = s.browser_hash;
  out["state_hash"] = s.state_hash;
  out["pkce_verifier_sealed"] = crypto::base64_encode(s.pkce_verifier_sealed);
  out["expires_at"] = s.expires_at;
  out["created_at"] = s.created_at;
  out["updated_at"] = s.updated_at;
  out["version"] = s.version;
  return json::serialize(out);
}

std::string encode(const AuthConfig& c) {
  json::object out;
  out["id"] = c.id;
  out["tenant_id"] = c.tenant_id;
  out["provider"] = c.provider;
  out["external_user_id"] = c.external_user_id;
  out["status"] = c.status;
  out["mode"] = c.mode;
  out["app"] = c.app;
  out["scopes_granted"] = array_of(c.scopes_granted);
  out["connection_params"] = object_of(c.connection_params);
  out["metadata_json"] = c.metadata_json;
  out["access_token_sealed"] = crypto::base64_encode(c.access_token_sealed);
  out["refresh_token_sealed"] = crypto::base64_encode(c.refresh_token_sealed);
  out["api_key_sealed"] = crypto::base64_encode(c.api_key_sealed);
  out["client_id"] = c.client_id;
  out["client_secret_sealed"] = crypto::base64_encode(c.client_secret_sealed);
  put_optional(out, "expires_at", c.expires_at);
  put_optional(out, "last_refreshed_at", c.last_refreshed_at);
  put_optional(out, "last_used_at", c.last_used_at);
  // Written only when set, so records without a refresh history keep their old text.
  if (!c.refresh_owner.empty()) out["refresh_owner"] = c.refresh_owner;
  put_optional(out, "refresh_started_at", c.refresh_started_at);
  if (!c.last_refresh_error.empty()) out["last_refresh_error"] = c.last_refresh_error;
  put_optional(out, "last_refresh_failed_at", c.last_refresh_failed_at);
  out["created_at"] = c.created_at;
  out["updated_at"] = c.updated_at;
  out["version"] = c.version;
  return json::serialize(out);
}

Result<Tenant> decode_tenant(std::string_view text) {
  json::value storage;
  std::string problem;
  const json::object* object = parse_object(text, storage, problem);
  if (!object) return corrupt("tenant", problem);

  Tenant t;
  FieldReader r(*object);
  r.required_text("id", t.id);
  r.text("name", t.name);
  r.texts("allowed_redirect_origins", t.allowed_redirect_origins);
  if (const json::object* quotas = r.object("quotas")) {
    FieldReader q(*quotas, "quotas.");
    q.count("monthly_calls", t.quotas.monthly_calls);
    q.number("rate_per_second", t.quotas.rate_per_second);
    q.count("burst", t.quotas.burst);
    if (!q.problem().empty()) r.fail(q.problem());
  }
  r.millis("created_at", t.created_at);
  r.millis("updated_at", t.updated_at);
  r.count("version", t.version);
  if (!r.problem().empty()) return corrupt("tenant", r.problem());
  return t;
}

Result<ApiKey> decode_api_key(std::string_view text) {
  json::value storage;
  std::string problem;
  const json::object* object = parse_object(text, storage, problem);
  if (!object) return corrupt("api key", problem);

  ApiKey k;
  FieldReader r(*object);
  r.required_text("id", k.id);
  r.text("tenant_id", k.tenant_id);
  r.text("hash", k.hash);
  r.text("prefix", k.prefix);
  r.millis("created_at", k.created_at);
  r.millis("revoked_at", k.revoked_at);
  r.count("version", k.version);
  if (!r.problem().empty()) return corrupt("api key", r.problem());
  return k;
}

Result<ProviderSetting> decode_provider_setting(std::string_view text) {
  json::value storage;
  std::string problem;
  const json::object* object = parse_object(text, storage, problem);
  if (!object) return corrupt("provider setting", problem);

  ProviderSetting s;
  FieldReader r(*object);
  r.required_text("tenant_id", s.tenant_id);
  r.required_text("provider", s.provider);
  std::string mode;
  r.text("mode", mode);
  if (!mode.empty()) s.mode = mode;
  r.text("client_id", s.client_id);
  std::string sealed;
  r.text("client_secret_sealed", sealed);
  if (auto raw = crypto::base64_decode(sealed)) s.client_secret_sealed = std::move(*raw);
  else r.fail("field client_secret_sealed is not base64");
  r.millis("updated_at", s.updated_at);
  r.count("version", s.version);
  if (!r.problem().empty()) return corrupt("provider setting", r.problem());
  return s;
}

Result<SetupSession> decode_setup_session(std::string_view text) {
  json::value storage;
  std::string problem;
  const json::object* object = parse_object(text, storage, problem);
  if (!object) return corrupt("setup session", problem);

  SetupSession s;
  FieldReader r(*object);
  r.required_text("id", s.id);
  r.text("tenant_id", s.tenant_id);
  r.text("provider", s.provider);
  r.text("auth_method", s.auth_method);
  r.text("status", s.status);
  r.text("mode", s.mode);
  r.text("external_user_id", s.external_user_id);
  r.texts("scopes", s.scopes);
  r.text("redirect_url", s.redirect_url);
  r.text_map("connection_params", s.connection_params);
  r.text("metadata_json", s.metadata_json);
  r.text("auth_config_id", s.auth_config_id);
  r.text("error_code", s.error_code);
  r.text("error_message", s.error_message);
  r.text("connect_token_hash", s.connect_token_hash);
  r.bytes("connect_token_sealed", s.connect_token_sealed);
  r.text("browser_hash", s.browser_hash);
  r.text("state_hash", s.state_hash);
  r.bytes("pkce_verifier_sealed", s.pkce_verifier_sealed);
  r.millis("expires_at", s.expires_at);
  r.millis("created_at", s.created_at);
  r.millis("updated_at", s.updated_at);
  r.count("version", s.version);
  if (!r.problem().empty()) return corrupt("setup session", r.problem());
  return s;
}

Result<AuthConfig> decode_auth_config(std::string_view text) {
  json::value storage;
  std::string problem;
  const json::object* object = parse_object(text, storage, problem);
  if (!object) return corrupt("auth config", problem);

  AuthConfig c;
  FieldReader r(*object);
  r.required_text("id", c.id);
  r.text("tenant_id", c.tenant_id);
  r.text("provider", c.provider);
  r.text("external_user_id", c.external_user_id);
  r.text("status", c.status);
  r.text("mode", c.mode);
  r.text("app", c.app);
  r.texts("scopes_granted", c.scopes_granted);
  r.text_map("connection_params", c.connection_params);
  r.text("metadata_json", c.metadata_json);
  r.bytes("access_token_sealed", c.access_token_sealed);
  r.bytes("refresh_token_sealed", c.refresh_token_sealed);
  r.bytes("api_key_sealed", c.api_key_sealed);
  r.text("client_id", c.client_id);
  r.bytes("client_secret_sealed", c.client_secret_sealed);
  r.millis("expires_at", c.expires_at);
  r.millis("last_refreshed_at", c.last_refreshed_at);
  r.millis("last_used_at", c.last_used_at);
  r.text("refresh_owner", c.refresh_owner);
  r.millis("refresh_started_at", c.refresh_started_at);
  r.text("last_refresh_error", c.last_refresh_error);
  r.millis("last_refresh_failed_at", c.last_refresh_failed_at);
  r.millis("created_at", c.created_at);
  r.millis("updated_at", c.updated_at);
  r.count("version", c.version);
  if (!r.problem().empty()) return corrupt("auth config", r.problem());
  return c;
}

}  // namespace tollgate::store::codec
