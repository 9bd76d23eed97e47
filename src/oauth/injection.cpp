#include "tollgate/oauth/injection.hpp"

#include "tollgate/crypto/encoding.hpp"

namespace tollgate::oauth {

std::variant<Injection, errors::Error> inject_credential(const config::Provider& p, const crypto::Secret& credential,
                                                         const ParamValues& params) {
  Injection out;
  if (p.auth_mode == config::AuthMode::basic) {
    auto user = render_credential(p.credentials.username, credential, params, p);
    if (auto* e = std::get_if<errors::Error>(&user)) return std::move(*e);
    auto pass = render_credential(p.credentials.password, credential, params, p);
    if (auto* e = std::get_if<errors::Error>(&pass)) return std::move(*e);
    out.header = "Authorization";
    out.value = crypto::Secret("Basic " + crypto::base64_encode(std::get<crypto::Secret>(user).reveal() + ":" +
                                                                std::get<crypto::Secret>(pass).reveal()));
    return out;
  }
  auto value = render_credential(p.credentials.format, credential, params, p);
  if (auto* e = std::get_if<errors::Error>(&value)) return std::move(*e);
  out.value = std::move(std::get<crypto::Secret>(value));
  if (!p.credentials.query.empty()) out.query = p.credentials.query;
  else out.header = p.credentials.header;
  return out;
}

std::variant<std::vector<std::pair<std::string, std::string>>, errors::Error> api_headers(const config::Provider& p,
                                                                                          const ParamValues& params) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(p.api.headers.size());
  for (const auto& [name, tmpl] : p.api.headers) {
    auto value = substitute(tmpl, params, p);
    if (auto* e = std::get_if<errors::Error>(&value)) return std::move(*e);
    out.emplace_back(name, std::move(std::get<std::string>(value)));
  }
  return out;
}

}  // namespace tollgate::oauth
