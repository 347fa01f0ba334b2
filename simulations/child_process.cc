#include "simulations/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace fl::sim {

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::string& binary,
                                                          const std::vector<std::string>& args,
                                                          const std::string& log_path) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Unavailable("cannot write '" + log_path + "': " + std::strerror(errno));
  // exec failure travels back over a close-on-exec pipe: EOF means it worked.
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return Unavailable(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    return Unavailable(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // fl-sim died before prctl took effect
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    const int err = errno;
    (void)!::write(status_pipe[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(status_pipe[1]);
  int err = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_path));
  if (n == static_cast<ssize_t>(sizeof err)) {
    child->running();  // reap
    return NotFound("cannot run '" + binary + "': " + std::strerror(err));
  }
  return child;
}

ChildProcess::~ChildProcess() { stop_all({this}, std::chrono::seconds(5)); }

bool ChildProcess::running() {
  if (exit_code_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere: treat as gone
    exit_code_ = -1;
    return false;
  }
  return true;
}

std::string ChildProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ChildProcess::log_tail(int lines) const {
  const std::string text = log();
  size_t at = text.size();
  if (at > 0 && text[at - 1] == '\n') --at;
  for (int i = 0; i < lines && at != std::string::npos && at > 0; ++i)
    at = text.rfind('\n', at - 1);
  return at == std::string::npos || at == 0 ? text : text.substr(at + 1);
}

void stop_all(const std::vector<ChildProcess*>& children, std::chrono::milliseconds grace) {
  for (ChildProcess* c : children)
    if (c && c->running()) ::kill(c->pid_, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + grace;
  auto any_running = [&] {
    bool any = false;
    for (ChildProcess* c : children) any |= c && c->running();
    return any;
  };
  while (any_running() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (ChildProcess* c : children) {
    if (!c || !c->running()) continue;
    ::kill(c->pid_, SIGKILL);
    int status = 0;
    ::waitpid(c->pid_, &status, 0);
    c->exit_code_ = 128 + SIGKILL;
  }
}

}  // namespace fl::sim
