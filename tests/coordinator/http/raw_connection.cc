#include "tests/coordinator/http/raw_connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace fl::http::testing {

RawConnection::RawConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect to 127.0.0.1:" << port << " failed: errno " << errno;
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send_all(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

namespace {
// One recv with a deadline: >0 bytes, 0 closed, -1 timeout or error.
ssize_t recv_until(int fd, char* buf, size_t size, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return -1;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return -1;
  const ssize_t n = ::recv(fd, buf, size, 0);
  return n < 0 ? 0 : n;  // a reset counts as closed
}
}  // namespace

std::string RawConnection::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const size_t header_end = pending_.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      size_t length = 0;
      const std::string header = pending_.substr(0, header_end);
      for (const char* name : {"Content-Length: ", "content-length: "}) {
        const size_t at = header.find(name);
        if (at != std::string::npos) length = std::strtoul(header.c_str() + at + 16, nullptr, 10);
      }
      if (pending_.size() >= header_end + 4 + length) {
        std::string response = pending_.substr(0, header_end + 4 + length);
        pending_.erase(0, response.size());
        return response;
      }
    }
    const ssize_t n = recv_until(fd_, buf, sizeof(buf), deadline);
    if (n <= 0) return "";
    pending_.append(buf, static_cast<size_t>(n));
  }
}

bool RawConnection::wait_for_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv_until(fd_, buf, sizeof(buf), deadline);
    if (n == 0) return true;
    if (n < 0) return false;
  }
}

int status_of(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string body_of(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

}  // namespace fl::http::testing
