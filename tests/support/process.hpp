#pragma once
// A child process for integration tests: started with posix_spawn, its stdout
// and stderr captured to files, killed and reaped when the object dies so no
// test leaves a process behind.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tollgate::test {

using namespace std::chrono_literals;

class Process {
 public:
  // `env` entries are added to (or override) the test's own environment; a
  // value of std::nullopt removes the variable.
  Process(std::vector<std::string> argv, const std::filesystem::path& log_dir,
          std::map<std::string, std::optional<std::string>> env = {},
          std::optional<std::filesystem::path> cwd = std::nullopt);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for the process to exit; its exit status (as from WEXITSTATUS, or
  // 128+signal) or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = 20s);

  std::string out() const;  // everything written to stdout so far
  std::string err() const;  // everything written to stderr so far
  // Polls stdout+stderr until `needle` appears; false if the process exits or time runs out first.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout = 20s);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_file_, err_file_;
};

// Runs a command to completion; returns {exit status, stdout, stderr}.
struct RunResult {
  int status = -1;
  std::string out;
  std::string err;
};
RunResult run(std::vector<std::string> argv, std::map<std::string, std::optional<std::string>> env = {},
              std::chrono::milliseconds timeout = 60s, const std::string& stdin_data = {});

// Polls `condition` every few milliseconds until it is true or time runs out.
template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    struct timespec ts{0, 5'000'000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace tollgate::test
