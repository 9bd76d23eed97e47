// The proxy route: check the target, find the connection, build the upstream
// request (credential, provider headers, Host, X-Forwarded-For), and stream it.
#include "tollgate/relay/relay.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <boost/asio/this_coro.hpp>

#include "forward.hpp"
#include "identity.hpp"
#include "tollgate/admin/rest.hpp"
#include "tollgate/crypto/encoding.hpp"
#include "tollgate/http/field_syntax.hpp"
#include "tollgate/oauth/injection.hpp"
#include "tollgate/relay/headers.hpp"
#include "tollgate/relay/target.hpp"

namespace tollgate::relay {
namespace {

using http::iequals;

namespace asio = boost::asio;
using asio::awaitable;
using errors::Code;
using Clock = std::chrono::steady_clock;


bool has_header(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

// RFC 9110 §9.2.2 idempotent methods; an Idempotency-Key makes any request safe to repeat.
bool retryable(std::string_view method, const Headers& headers) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
         method == "DELETE" || has_header(headers, "Idempotency-Key");
}

// What follows /v1/proxy/{provider}/ in the target, query included, as sent.
std::string_view upstream_part(std::string_view target, std::string_view provider) {
  std::size_t prefix = std::string_view("/v1/proxy/").size() + provider.size();
  std::string_view rest = target.substr(std::min(prefix, target.size()));
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return rest;
}

// Puts the credential where the provider wants it: replaces the header of that
// name (a client's included), or sets url.target to base_target plus the query parameter.
std::optional<errors::Error> apply_credential(OutgoingRequest& out, const config::Provider& p,
                                              const crypto::Secret& credential, const oauth::ParamValues& params) {
  auto injection = oauth::inject_credential(p, credential, params);
  if (auto* e = std::get_if<errors::Error>(&injection)) return std::move(*e);
  const auto& inject = std::get<oauth::Injection>(injection);
  out.url.target = out.base_target;
  if (!inject.header.empty()) {
    std::erase_if(out.headers, [&](const auto& h) { return iequals(h.first, inject.header); });
    out.headers.emplace_back(inject.header, inject.value.reveal());
  } else {
    out.url.target += out.url.target.find('?') == std::string::npos ? '?' : '&';
    out.url.target += crypto::percent_encode(inject.query) + "=" + crypto::percent_encode(inject.value.reveal());
  }
  return std::nullopt;
}

// A base_url with no {parameter} in it expands to itself on every call: parsed
// once per worker thread, then copied from here. Keyed by the text, so a reload that
// changes it misses; bounded, so templates cannot grow it without end.
using BaseCache = std::unordered_map<std::string, upstream::Url>;
BaseCache& base_cache() {
  thread_local BaseCache cache;
  return cache;
}

const upstream::Url* known_base(const std::string& tmpl) {
  auto& cache = base_cache();
  auto it = cache.find(tmpl);
  return it == cache.end() ? nullptr : &it->second;
}

void remember_base(const std::string& tmpl, const upstream::Url& url) {
  if (tmpl.find('{') != std::string::npos) return;
  auto& cache = base_cache();
  if (cache.size() >= 256) cache.clear();
  cache.emplace(tmpl, url);
}

// The upstream pool's options under a config snapshot, built once per snapshot
// and worker thread: copying relay.ca_file (a filesystem path, parsed into its
// parts) on every call cost 800 instructions. The snapshot is held, so a later
// one cannot come at its address and be taken for it.
const upstream::PoolOptions& pool_options_for(const std::shared_ptr<const config::Config>& cfg) {
  thread_local std::shared_ptr<const config::Config> built_for;
  thread_local upstream::PoolOptions options;
  if (built_for != cfg) {
    options = upstream::PoolOptions{};
    options.ca_file = cfg->relay.ca_file;
    options.connect = std::chrono::duration_cast<std::chrono::milliseconds>(cfg->relay.upstream_timeouts.connect);
    built_for = cfg;
  }
  return options;
}

awaitable<void> proxy(http::Exchange& ex, RelayServices& s) {
  const auto started = Clock::now();
  const auto cfg = ex.config_snapshot();
  const auto deadline = started + cfg->server.timeouts.request;
  const std::string_view provider_key = ex.param("provider");
  const std::string_view rest = upstream_part(ex.target(), provider_key);
  if (auto problem = check_proxy_path(rest)) {
    co_await ex.respond_error(problem->code, problem->message);
    co_return;
  }

  auto identity = co_await resolve_identity(ex, s, provider_key);
  if (!identity) co_return;
  const auto& p = *identity->provider;
  static const oauth::ParamValues kNoParams;
  // Connection parameters are the auth config's; they do not change with a refresh.
  const auto connection_params = identity->connection ? identity->connection : nullptr;
  const auto& params = connection_params ? connection_params->record.connection_params : kNoParams;

  OutgoingRequest out;
  if (const auto* known = known_base(p.api.base_url)) {
    out.url = *known;
  } else {
    auto base = oauth::expand_url(p.api.base_url, params, p);
    if (auto* e = std::get_if<errors::Error>(&base)) {
      co_await ex.respond_error(e->code, e->message);
      co_return;
    }
    auto parsed = upstream::parse_url(std::get<std::string>(base));
    if (auto* e = std::get_if<upstream::Error>(&parsed)) {
      co_await ex.respond_error(Code::internal, "the provider's api.base_url is not usable: " + e->message);
      co_return;
    }
    out.url = std::move(std::get<upstream::Url>(parsed));
    remember_base(p.api.base_url, out.url);
  }
  out.base_target = upstream_target(out.url.target.substr(0, out.url.target.find('?')), rest);
  out.method = std::string(ex.method());

  auto fixed = oauth::api_headers(p, params);
  if (auto* e = std::get_if<errors::Error>(&fixed)) {
    co_await ex.respond_error(e->code, e->message);
    co_return;
  }
  // The client's fields minus those SPEC §5 keeps back, walked in place (no copy of the rest).
  std::vector<std::string> listed;
  for (const auto& [name, value] : ex.request())
    if (iequals(name, "connection")) {
      auto names = connection_listed(value);
      listed.insert(listed.end(), names.begin(), names.end());
    }
  out.headers.reserve(16);
  for (const auto& [name, value] : ex.request())
    if (!request_header_dropped(name, listed)) out.headers.emplace_back(name, value);
  // The provider's fixed headers are defaults a client may override (a newer
  // API version, another media type); the credential always wins.
  for (auto& [name, value] : std::get<0>(fixed))
    if (!has_header(out.headers, name)) out.headers.emplace_back(std::move(name), std::move(value));
  out.headers.emplace_back("Host", out.url.authority);
  out.headers.emplace_back("X-Forwarded-For", x_forwarded_for(ex.remote_address()));
  out.retryable = retryable(out.method, out.headers);
  if (auto e = apply_credential(out, p, identity->credential(), params)) {
    co_await ex.respond_error(e->code, e->message);
    co_return;
  }

  // Admission as late as possible: every admitted call counts until the next flush.
  const auto now = std::chrono::system_clock::now();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto admission = s.quota.try_admit(identity->tenant_id, cfg->quotas.default_quota, now_ms);
  if (!admission) admission = co_await s.quota.admit(identity->tenant_id, cfg->quotas.default_quota, now_ms);
  if (admission->verdict == metering::Admission::Verdict::quota_exceeded) {
    co_await ex.respond_error(Code::quota_exceeded, "the tenant's monthly call quota is used up");
    co_return;
  }
  if (admission->verdict == metering::Admission::Verdict::rate_limited) {
    std::vector<std::pair<std::string, std::string>> retry_after;
    retry_after.emplace_back("Retry-After", std::to_string(std::max<long long>(1, admission->retry_after.count())));
    co_await ex.respond_error(Code::rate_limited, "the tenant's rate limit is reached; retry after the given seconds",
                              std::move(retry_after));
    co_return;
  }

  Metered metered;
  metered.meter = &s.meter;
  metered.call.tenant_id = identity->tenant_id;
  metered.call.provider = p.key;
  metered.call.auth_config_id = identity->connection ? std::string_view(identity->connection->record.id) : std::string_view();
  metered.call.mode = identity->mode;
  metered.call.method = ex.method();
  metered.call.refreshed = identity->refreshed;
  metered.call.time = now;

  auto executor = co_await asio::this_coro::executor;
  auto& pool = s.upstream.pool(executor, pool_options_for(cfg));

  // SPEC §5 "Refresh": an upstream status in api.refresh_on_status renews the
  // token — unless another call already did — and the request goes once more.
  RefreshHook hook;
  if (identity->connection && is_oauth(p)) {
    hook.statuses = &p.api.refresh_on_status;
    hook.refresh = [&](OutgoingRequest& request) -> awaitable<std::optional<errors::Error>> {
      const auto& used = identity->connection->record;
      auto result = co_await s.refresh.refresh_rejected(identity->tenant_id, used.id, used.version, cfg);
      if (result.error) co_return result.error;
      auto entry = unsealed(s.base.keyring, p, std::move(*result.config));
      if (!entry || entry->credential.empty())
        co_return errors::Error{Code::internal, "the refreshed credential cannot be used; the log has details"};
      s.connections.put(entry);
      identity->connection = std::move(entry);
      co_return apply_credential(request, p, identity->credential(), params);
    };
  }
  auto result = co_await forward(ex, pool, std::move(out), deadline, metered, hook);
  // Admitted but never forwarded (e.g. no connection to the upstream): not a call.
  if (!result.counted) s.quota.release(identity->tenant_id);
}

}  // namespace

void add_relay_routes(http::Router& router, RelayServices& services) {
  router.add("*", "/v1/proxy/{provider}/{path*}", admin::handler(services, &proxy));
}

}  // namespace tollgate::relay
