#include "tollgate_process.hpp"

#include <signal.h>

#include <regex>
#include <stdexcept>

namespace tollgate::test {

TollgateProcess::TollgateProcess(std::string config_yaml, std::map<std::string, std::optional<std::string>> env) {
  if (config_yaml.find("server:") == std::string::npos)
    config_yaml = "server:\n  listen: 127.0.0.1:0\n  workers: 2\n" + config_yaml;
  if (config_yaml.find("providers") == std::string::npos) config_yaml += "\nproviders: {}\n";
  // Every file the server writes stays in this test's own directory (the
  // shipped defaults point at ../data, which tests running in parallel would share).
  if (config_yaml.find("store:") == std::string::npos) config_yaml += "store:\n  sqlite: {path: data/tollgate.db}\n";
  if (config_yaml.find("secrets:") == std::string::npos) config_yaml += "secrets:\n  keys_file: data/master.keys\n";
  if (config_yaml.find("admin:") == std::string::npos) config_yaml += "admin:\n  key_file: data/admin.key\n";
  if (config_yaml.find("metering:") == std::string::npos) config_yaml += "metering:\n  journal_dir: data/journal\n";
  dir_.write("tollgate.yaml", config_yaml);
  process_ = std::make_unique<Process>(
      std::vector<std::string>{TOLLGATE_BIN, "serve", "--config", config_path().string()}, dir_ / "logs", env);
  if (!process_->wait_for_output("\"msg\":\"listening\"", 30s))
    throw std::runtime_error("tollgate did not start:\n" + logs());
  std::smatch m;
  std::string out = process_->out();
  static const std::regex address(R"re("msg":"listening","address":"127\.0\.0\.1:(\d+)")re");
  if (!std::regex_search(out, m, address)) throw std::runtime_error("no listening address in:\n" + out);
  port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
}

TollgateProcess::~TollgateProcess() {
  if (process_ && process_->running()) stop(10s);
}

std::optional<int> TollgateProcess::stop(std::chrono::milliseconds timeout) {
  process_->signal(SIGTERM);
  auto status = process_->wait(timeout);
  if (!status) {
    process_->signal(SIGKILL);
    process_->wait(5s);
  }
  return status;
}

}  // namespace tollgate::test
