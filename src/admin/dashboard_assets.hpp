#pragma once
// The dashboard's files (src/admin/dashboard/), built into the binary by CMake
// (cmake/embed_assets.cmake writes dashboard_assets.cpp at build time).
#include <optional>
#include <string_view>

namespace tollgate::admin {

struct Asset {
  std::string_view content;
  std::string_view content_type;
};

// By file name ("app.js"); nullopt for a name that is not one of them.
std::optional<Asset> dashboard_asset(std::string_view name);

}  // namespace tollgate::admin
