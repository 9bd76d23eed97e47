#pragma once
// What the setup-session routes and the browser pages share.
#include <optional>
#include <string>
#include <variant>

#include <boost/json.hpp>

#include "tollgate/admin/rest.hpp"
#include "tollgate/connect/connect.hpp"
#include "tollgate/oauth/apps.hpp"
#include "tollgate/oauth/grants.hpp"
#include "tollgate/store/records.hpp"

namespace tollgate::connect {

namespace json = boost::json;
using boost::asio::awaitable;

inline constexpr std::string_view kPending = "pending";

// The setup session as SPEC §4 shows it; `url` while the connect link is unused.
json::object session_json(const store::SetupSession& s, const config::Config& cfg, const crypto::Keyring& keyring);

// A pending session past its TTL becomes `expired` (compare-and-set; a session
// another request changed meanwhile is read again). Returns the current record.
awaitable<store::Result<store::SetupSession>> expire_if_due(store::Store& store, store::SetupSession s);


// {public_url}/oauth/callback
std::string redirect_uri(const config::Config& cfg);

// Seals a secret of an auth config (SPEC §7: bound to tenant, record, field).
std::string seal(const crypto::Keyring& k, const std::string& tenant, const std::string& record,
                 std::string_view field, std::string_view value);

store::Millis now_ms();

// The `connection_params` (an object of strings) and `metadata` (any object, at
// most 16 KiB, kept as JSON text) of a request body; problems go to `in`.
void read_params_and_metadata(admin::FieldReader& in, const json::object& body, oauth::ParamValues& params,
                              std::string& metadata_json);

// Tries a credential (a pasted API key, or an access token) with the provider's
// `verification` request; true when it answers 2xx, or when it has none.
awaitable<bool> verify_credential(ConnectServices& cs, const config::Config& cfg, const config::Provider& p,
                                  const oauth::ParamValues& params, const crypto::Secret& credential);

}  // namespace tollgate::connect
