#pragma once
#include <filesystem>

namespace tollgate::cli {

int serve(const std::filesystem::path& config_file);
int check_config(const std::filesystem::path& config_file);

}  // namespace tollgate::cli
