// A real fl-coordinator as a child process of a benchmark: started with its
// output in a log file, its port read from that log, stopped with SIGTERM
// (then SIGKILL). Used by bench_coordinator and bench_client_rss.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fl::bench {

class CoordinatorProcess {
 public:
  CoordinatorProcess(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& log_path)
      : log_path_(log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      if (FILE* log = std::fopen(log_path.c_str(), "w")) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
      }
      std::vector<char*> argv{const_cast<char*>(binary.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  CoordinatorProcess(const CoordinatorProcess&) = delete;
  CoordinatorProcess& operator=(const CoordinatorProcess&) = delete;
  ~CoordinatorProcess() {
    if (running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  bool running() {
    if (exited_) return false;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  std::string log() const {
    std::ifstream in(log_path_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // The port from "fl-coordinator listening on http://127.0.0.1:PORT ...".
  std::optional<uint16_t> wait_until_listening(std::chrono::seconds timeout) {
    const std::string needle = "listening on http://127.0.0.1:";
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end && running()) {
      const std::string text = log();
      if (auto at = text.find(needle); at != std::string::npos)
        return static_cast<uint16_t>(std::stoi(text.substr(at + needle.size())));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }
  // SIGTERM, then SIGKILL after `grace`.
  void stop(std::chrono::seconds grace) {
    if (!running()) return;
    kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (running()) kill(pid_, SIGKILL);
    if (!exited_) waitpid(pid_, nullptr, 0);
    exited_ = true;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string log_path_;
};

}  // namespace fl::bench
