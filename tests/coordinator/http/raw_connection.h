// Test support: a bare TCP connection to 127.0.0.1 (POSIX sockets, with
// timeouts on every call) for sending exactly the bytes a test wants:
// malformed requests, lying Content-Lengths, silence.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fl::http::testing {

class RawConnection {
 public:
  explicit RawConnection(uint16_t port);  // connects or fails the test
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_all(const std::string& bytes);
  // Reads one HTTP/1.1 response (header + Content-Length body); "" on timeout
  // or close before a full response.
  std::string read_response(std::chrono::milliseconds timeout);
  // Waits until the peer closes the connection: true if it did within timeout.
  bool wait_for_close(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;
};

// "HTTP/1.1 413 Payload Too Large\r\n..." -> 413; 0 if unparsable.
int status_of(const std::string& response);
std::string body_of(const std::string& response);

}  // namespace fl::http::testing
