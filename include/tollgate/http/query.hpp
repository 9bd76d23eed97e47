#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::http {

// The percent-decoded value of the first `name` parameter of a query string
// (without '?'); nullopt when absent. '+' is a space, as in forms.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace tollgate::http
