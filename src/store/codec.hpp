#pragma once
// Records <-> JSON, the `body` every backend stores. One codec for all backends,
// so a record reads the same wherever it was written.
//
// A field absent from the JSON takes its default (so records written before a
// field existed still decode); `id` is required; a field of the wrong type, or
// text that is not a JSON object, decodes to Errc::corrupt. Unknown fields are
// ignored. Optional fields that are unset are left out of the JSON.
#include <string>
#include <string_view>

#include "tollgate/store/records.hpp"
#include "tollgate/store/store.hpp"

namespace tollgate::store::codec {

std::string encode(const Tenant& tenant);
std::string encode(const ApiKey& key);
std::string encode(const ProviderSetting& setting);  // the sealed secret as base64
std::string encode(const SetupSession& session);     // the sealed connect token and PKCE verifier as base64
std::string encode(const AuthConfig& config);        // every sealed secret as base64

Result<Tenant> decode_tenant(std::string_view json);
Result<ApiKey> decode_api_key(std::string_view json);
Result<ProviderSetting> decode_provider_setting(std::string_view json);
Result<SetupSession> decode_setup_session(std::string_view json);
Result<AuthConfig> decode_auth_config(std::string_view json);

// decode<T>: the decoder for record type T, for code written once for every record.
template <typename T>
Result<T> decode(std::string_view json);
template <>
inline Result<Tenant> decode<Tenant>(std::string_view json) { return decode_tenant(json); }
template <>
inline Result<ApiKey> decode<ApiKey>(std::string_view json) { return decode_api_key(json); }
template <>
inline Result<ProviderSetting> decode<ProviderSetting>(std::string_view json) { return decode_provider_setting(json); }
template <>
inline Result<SetupSession> decode<SetupSession>(std::string_view json) { return decode_setup_session(json); }
template <>
inline Result<AuthConfig> decode<AuthConfig>(std::string_view json) { return decode_auth_config(json); }

}  // namespace tollgate::store::codec
