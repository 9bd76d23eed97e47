#pragma once
// One reader per section of SPEC §3. Each fills what it can read and reports
// the rest; the output keeps its defaults where a value was missing or bad.
#include <map>
#include <string>

#include "reader.hpp"
#include "tollgate/config/config.hpp"

namespace tollgate::config::detail {

void read_server(Reader& r, const Value& v, Server& out);
void read_store(Reader& r, const Value& v, Store& out);
void read_secrets(Reader& r, const Value& v, Secrets& out);
void read_admin(Reader& r, const Value& v, Admin& out);
// `v` is the inline `providers:` map or the root of the providers file.
void read_providers(Reader& r, const Value& v, std::map<std::string, Provider>& out);
void read_relay(Reader& r, const Value& v, Relay& out);
void read_setup_sessions(Reader& r, const Value& v, SetupSessions& out);
void read_metering(Reader& r, const Value& v, Metering& out);
void read_billing(Reader& r, const Value& v, Billing& out);
void read_quotas(Reader& r, const Value& v, Quotas& out);
void read_logging(Reader& r, const Value& v, Logging& out);

// ^[a-z0-9][a-z0-9_-]*$
bool is_provider_key(std::string_view key);

}  // namespace tollgate::config::detail
