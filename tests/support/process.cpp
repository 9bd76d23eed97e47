#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <time.h>

#include "temp_dir.hpp"

extern char** environ;

namespace tollgate::test {
namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::optional<std::string>>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) {
    if (v) env[k] = *v;
    else env.erase(k);
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::atomic<int> g_counter{0};

pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::optional<std::string>>& env,
            const std::filesystem::path& out_file, const std::filesystem::path& err_file,
            const std::optional<std::filesystem::path>& cwd, int stdin_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
  else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd->c_str());
  auto envs = merged_environment(env);
  auto cenv = c_strings(envs);
  auto cargv = c_strings(argv);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

}  // namespace

Process::Process(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                 std::map<std::string, std::optional<std::string>> env,
                 std::optional<std::filesystem::path> cwd) {
  int n = g_counter++;
  std::filesystem::create_directories(log_dir);
  out_file_ = log_dir / ("proc-" + std::to_string(n) + ".out");
  err_file_ = log_dir / ("proc-" + std::to_string(n) + ".err");
  pid_ = spawn(std::move(argv), env, out_file_, err_file_, cwd, -1);
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(10s);
  }
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(st);
    return false;
  }
  return r == 0;
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  eventually([&] { return !running(); }, timeout);
  return status_;
}

std::string Process::out() const { return read_file(out_file_); }
std::string Process::err() const { return read_file(err_file_); }

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  bool found = false;
  eventually(
      [&] {
        if (out().find(needle) != std::string::npos || err().find(needle) != std::string::npos) {
          found = true;
          return true;
        }
        return !running();
      },
      timeout);
  if (!found)  // the process may have printed it just before exiting
    found = out().find(needle) != std::string::npos || err().find(needle) != std::string::npos;
  return found;
}

RunResult run(std::vector<std::string> argv, std::map<std::string, std::optional<std::string>> env,
              std::chrono::milliseconds timeout, const std::string& stdin_data) {
  TempDir dir;
  int fds[2] = {-1, -1};
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(std::move(argv), env, dir / "out", dir / "err", std::nullopt, fds[0]);
  close(fds[0]);
  if (!stdin_data.empty()) {
    [[maybe_unused]] auto w = ::write(fds[1], stdin_data.data(), stdin_data.size());
  }
  close(fds[1]);
  RunResult r;
  int st = 0;
  bool done = eventually([&] { return waitpid(pid, &st, WNOHANG) == pid; }, timeout);
  if (!done) {
    ::kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    r.status = -1;
  } else {
    r.status = decode_status(st);
  }
  r.out = read_file(dir / "out");
  r.err = read_file(dir / "err");
  return r;
}

}  // namespace tollgate::test
