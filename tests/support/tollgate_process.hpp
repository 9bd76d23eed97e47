#pragma once
// A real `tollgate serve` for integration tests: its own config in a temp dir,
// listening on a port the kernel picks (listen 127.0.0.1:0), ready when it has
// logged where it listens. SIGTERM (then SIGKILL) when the object dies.
#include <cstdint>
#include <memory>
#include <string>

#include "process.hpp"
#include "temp_dir.hpp"

namespace tollgate::test {

class TollgateProcess {
 public:
  // `config_yaml` is written to dir()/tollgate.yaml. When it has no `server:`
  // block, one listening on 127.0.0.1:0 with two workers is added; when it
  // has no `providers` or `providers_file`, an empty inline catalog is added;
  // without `store:`, `secrets:`, `admin:` or `metering:` blocks, their files
  // go under dir()/data (the database at dir()/data/tollgate.db).
  explicit TollgateProcess(std::string config_yaml = {},
                           std::map<std::string, std::optional<std::string>> env = {});
  ~TollgateProcess();

  std::uint16_t port() const { return port_; }
  Process& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  std::filesystem::path config_path() const { return dir_ / "tollgate.yaml"; }
  std::string logs() const { return process_->out() + process_->err(); }
  // Sends SIGTERM and waits; the exit status.
  std::optional<int> stop(std::chrono::milliseconds timeout = 30s);

 private:
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

}  // namespace tollgate::test
