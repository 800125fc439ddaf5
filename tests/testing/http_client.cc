#include "tests/testing/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace aesignal::testing {

std::string RequestBytes(const std::string& method, const std::string& target,
                         const std::string& body, const Headers& headers) {
  std::string out = absl::StrCat(method, " ", target, " HTTP/1.1\r\n");
  bool has_host = false;
  for (const auto& [name, value] : headers) {
    has_host = has_host || absl::EqualsIgnoreCase(name, "host");
  }
  if (!has_host) absl::StrAppend(&out, "Host: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PATCH") {
    absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n", body);
  return out;
}

HttpConnection::HttpConnection(int port, bool tls) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  if (!tls) return;
  ctx_ = SSL_CTX_new(TLS_client_method());
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (SSL_connect(ssl_) != 1) {
    close(fd_);
    fd_ = -1;
  }
}

HttpConnection::~HttpConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

bool HttpConnection::Send(const std::string& bytes) {
  if (fd_ < 0) return false;
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        ssl_ != nullptr
            ? SSL_write(ssl_, bytes.data() + sent,
                        static_cast<int>(bytes.size() - sent))
            : send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool HttpConnection::Fill(absl::Duration timeout) {
  if (fd_ < 0) return false;
  if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
    if (poll(&p, 1, std::max(ms, 0)) <= 0) return false;
  }
  char chunk[16384];
  const ssize_t n = ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof(chunk))
                                    : recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

// Moves complete chunks from buffer_ to *out; *done after the last chunk.
bool HttpConnection::Dechunk(std::string* out, bool* done) {
  while (true) {
    const size_t line_end = buffer_.find("\r\n");
    if (line_end == std::string::npos) return true;
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(buffer_.substr(0, line_end), &size)) return false;
    if (buffer_.size() < line_end + 2 + size + 2) return true;
    out->append(buffer_, line_end + 2, size);
    buffer_.erase(0, line_end + 2 + size + 2);
    if (size == 0) {
      *done = true;
      return true;
    }
  }
}

absl::StatusOr<HttpResponse> HttpConnection::Read(absl::Duration timeout,
                                                  bool head_only) {
  const absl::Time until = absl::Now() + timeout;
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(until - absl::Now())) {
      return absl::DeadlineExceededError("no response head: " + buffer_);
    }
  }
  HttpResponse response;
  const std::vector<std::string> lines =
      absl::StrSplit(buffer_.substr(0, head_end), "\r\n");
  buffer_.erase(0, head_end + 4);
  const std::vector<std::string> status = absl::StrSplit(lines[0], ' ');
  if (status.size() < 2 || !absl::SimpleAtoi(status[1], &response.status)) {
    return absl::DataLossError("bad status line: " + lines[0]);
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  chunked_stream_ = response.Header("transfer-encoding") == "chunked";
  if (head_only) return response;
  if (chunked_stream_) {
    bool done = false;
    while (Dechunk(&response.body, &done) && !done) {
      if (!Fill(until - absl::Now())) return absl::DataLossError("cut chunk");
    }
    return response;
  }
  size_t length = 0;
  if (!absl::SimpleAtoi(response.Header("content-length"), &length)) {
    while (Fill(until - absl::Now())) {
    }
    length = buffer_.size();
  }
  while (buffer_.size() < length) {
    if (!Fill(until - absl::Now())) return absl::DataLossError("cut body");
  }
  response.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return response;
}

std::string HttpConnection::ReadStreamUntil(const std::string& until,
                                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string read;
  bool done = false;
  while (!absl::StrContains(read, until) && !done) {
    if (chunked_stream_) {
      if (!Dechunk(&read, &done)) break;
      if (absl::StrContains(read, until) || done) break;
    }
    if (absl::Now() >= deadline || !Fill(deadline - absl::Now())) break;
    if (!chunked_stream_) read.swap(buffer_);
  }
  return read;
}

bool HttpConnection::ClosedWithin(absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (!Fill(until - absl::Now())) {
      // Fill fails on close or on timeout; tell them apart by the clock.
      return absl::Now() < until;
    }
  }
  return false;
}

absl::StatusOr<HttpResponse> Fetch(int port, const std::string& method,
                                   const std::string& target,
                                   const std::string& body,
                                   const Headers& headers, bool tls) {
  HttpConnection connection(port, tls);
  if (!connection.connected()) return absl::UnavailableError("connect");
  if (!connection.Send(RequestBytes(method, target, body, headers))) {
    return absl::UnavailableError("send");
  }
  return connection.Read(absl::Seconds(30));
}

}  // namespace aesignal::testing
