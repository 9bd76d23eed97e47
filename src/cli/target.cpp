#include "tollgate/cli/target.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "tollgate/cli/args.hpp"

namespace tollgate::cli {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<std::string> non_empty(std::optional<std::string> value) {
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::string trim(std::string_view s) {
  auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

[[noreturn]] void bad_url(std::string_view text, std::string_view source, std::string_view why) {
  std::string shown = text.empty() ? std::string() : " \"" + std::string(text) + "\"";
  throw UsageError(std::string(source) + shown + " is not a usable relay URL: " + std::string(why) +
                   " (expected http://HOST[:PORT] or https://HOST[:PORT])");
}

const char* const kHowToGiveKey = "pass --key KEY or set TOLLGATE_KEY";

// A key goes into a header: refuse anything a header cannot carry, without
// ever showing the key.
crypto::Secret checked_key(std::string key, std::string_view source) {
  for (unsigned char c : key)
    if (c <= 0x20 || c >= 0x7f)
      throw UsageError("the key from " + std::string(source) +
                       " contains spaces or control characters; give the key exactly as created");
  return crypto::Secret(std::move(key));
}

// The admin key from the config's admin.key_file, for a loopback relay.
crypto::Secret read_admin_key_file(const std::filesystem::path& config_file, const config::EnvLookup& env,
                                   std::string& source) {
  std::error_code ec;
  if (!std::filesystem::exists(config_file, ec))
    throw UsageError("no API key: " + std::string(kHowToGiveKey) + ", or name the relay's config with --config FILE (" +
                     config_file.string() + " does not exist)");
  auto loaded = config::load(config_file, env);
  if (!loaded.ok()) {
    std::string first = "it has errors";
    for (const auto& d : loaded.diagnostics)
      if (d.severity == config::Diagnostic::Severity::error) {
        first = d.format();
        break;
      }
    throw UsageError("no API key: cannot read admin.key_file from " + config_file.string() + ": " + first + "; " +
                     kHowToGiveKey);
  }
  const auto& key_file = loaded.config->admin.key_file;
  std::ifstream in(key_file, std::ios::binary);
  if (!in) {
    std::string why = std::filesystem::exists(key_file, ec) ? "cannot read it (run as the user that runs tollgate serve)"
                                                             : "it does not exist (has tollgate serve run once?)";
    throw UsageError("no API key: the admin key file " + key_file.string() + " named by " + config_file.string() +
                     ": " + why + "; or " + kHowToGiveKey);
  }
  std::ostringstream content;
  content << in.rdbuf();
  std::string key = trim(content.str());
  if (key.empty())
    throw UsageError("no API key: the admin key file " + key_file.string() + " is empty; " + kHowToGiveKey);
  source = key_file.string();
  return checked_key(std::move(key), source);
}

}  // namespace

std::string BaseUrl::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::uint16_t default_port = tls ? 443 : 80;
  return port == default_port ? h : h + ":" + std::to_string(port);
}

BaseUrl parse_base_url(std::string_view text, std::string_view source) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) bad_url(text, source, "it does not parse as a URL");
  const auto& u = *parsed;
  BaseUrl out;
  auto scheme = lower(u.scheme());
  if (scheme == "https") out.tls = true;
  else if (scheme != "http") bad_url(text, source, "the scheme must be http or https");
  // Not echoed: the userinfo may hold a password.
  if (u.has_userinfo()) bad_url({}, source, "user:password@ is not supported; give the key with --key or TOLLGATE_KEY");
  if (u.has_query() || u.has_fragment()) bad_url(text, source, "a base URL has no query or fragment");
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
      out.host = u.host_address();
      out.ip_literal = true;
      break;
    case boost::urls::host_type::ipv6:
      out.host = u.host_address();
      out.ip_literal = true;
      break;
    case boost::urls::host_type::name:
      out.host = lower(u.host_name());
      break;
    default:
      bad_url(text, source, "it has no host");
  }
  if (out.host.empty()) bad_url(text, source, "it has no host");
  out.port = out.tls ? 443 : 80;
  if (u.has_port() && !u.port().empty()) {
    unsigned long p = 0;
    for (char c : u.port()) {  // the grammar guarantees digits; the range is ours to check
      p = p * 10 + static_cast<unsigned long>(c - '0');
      if (p > 65535) break;
    }
    if (p == 0 || p > 65535) bad_url(text, source, "the port must be 1-65535");
    out.port = static_cast<std::uint16_t>(p);
  }
  std::string prefix(u.encoded_path());
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  out.prefix = prefix;
  std::string shown(text);
  while (!shown.empty() && shown.back() == '/') shown.pop_back();
  out.text = shown;
  return out;
}

bool is_loopback(const BaseUrl& url) {
  if (!url.ip_literal) return url.host == "localhost";
  if (url.host.find(':') == std::string::npos) {
    auto v4 = boost::urls::parse_ipv4_address(url.host);
    return v4 && v4->is_loopback();
  }
  auto v6 = boost::urls::parse_ipv6_address(url.host);
  if (!v6) return false;
  if (v6->is_loopback()) return true;
  return v6->is_v4_mapped() && v6->to_bytes()[12] == 127;
}

Target resolve_target(const TargetOptions& options, const config::EnvLookup& env) {
  Target target;
  if (options.url) {
    if (options.url->empty()) throw UsageError("--url is empty; give the relay's base URL, e.g. --url http://127.0.0.1:8080");
    target.url = parse_base_url(*options.url, "--url");
  } else if (auto from_env = non_empty(env("TOLLGATE_URL"))) {
    target.url = parse_base_url(*from_env, "TOLLGATE_URL");
  } else {
    target.url = parse_base_url(kDefaultUrl, "the default URL");
  }
  target.tenant = options.tenant;
  if (target.tenant) {
    bool ok = !target.tenant->empty();
    for (unsigned char c : *target.tenant) ok = ok && c > 0x20 && c < 0x7f;
    if (!ok) throw UsageError("--tenant must be a tenant id such as tnt_…");
  }

  if (options.key) {
    if (options.key->empty()) throw UsageError("--key is empty; " + std::string(kHowToGiveKey));
    target.key = checked_key(*options.key, "--key");
    target.key_source = "--key";
    return target;
  }
  if (auto key = non_empty(env("TOLLGATE_KEY"))) {
    target.key = checked_key(trim(*key), "TOLLGATE_KEY");
    target.key_source = "TOLLGATE_KEY";
    return target;
  }
  if (!is_loopback(target.url))
    throw UsageError("no API key for " + target.url.text + ": " + kHowToGiveKey +
                     " (the admin key file is only used for a relay on this machine)");
  if (auto key = non_empty(env("TOLLGATE_ADMIN_KEY"))) {
    target.key = checked_key(trim(*key), "TOLLGATE_ADMIN_KEY");
    target.key_source = "TOLLGATE_ADMIN_KEY";
    return target;
  }
  std::filesystem::path config_file(options.config.value_or(std::string(kDefaultConfig)));
  target.key = read_admin_key_file(config_file, env, target.key_source);
  return target;
}

}  // namespace tollgate::cli
