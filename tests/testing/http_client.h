// A small HTTP/1.1 client for tests of the HTTP server, written on POSIX
// sockets and OpenSSL rather than Beast, so the server is checked by code
// that does not share its parser. Decodes Content-Length and chunked bodies.
//
// Thread-compatible (one connection per object).
#ifndef AESIGNAL_TESTS_TESTING_HTTP_CLIENT_H_
#define AESIGNAL_TESTS_TESTING_HTTP_CLIENT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace aesignal::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers = {};  // names lower-cased
  std::string body = "";
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// "METHOD target HTTP/1.1" with Host, Content-Length (when there is a
// body) and `headers`.
std::string RequestBytes(const std::string& method, const std::string& target,
                         const std::string& body = "",
                         const Headers& headers = {});

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port; with TLS when `tls` is set (the server's
  // certificate is not verified).
  explicit HttpConnection(int port, bool tls = false);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(const std::string& bytes);
  // Reads one response; with `head_only`, only its status line and headers
  // (for streams that do not end).
  absl::StatusOr<HttpResponse> Read(absl::Duration timeout,
                                    bool head_only = false);
  // Reads stream data (the raw, de-chunked body) until `until` appears in
  // what was read so far or the timeout passes; returns what was read.
  std::string ReadStreamUntil(const std::string& until, absl::Duration timeout);
  // Whether the server closed the connection within `timeout` (reading and
  // discarding anything it sends).
  bool ClosedWithin(absl::Duration timeout);

 private:
  // Appends what arrives within `timeout` to buffer_; false on close/error.
  bool Fill(absl::Duration timeout);
  bool Dechunk(std::string* out, bool* done);

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  bool chunked_stream_ = false;
};

// One request on a fresh connection.
absl::StatusOr<HttpResponse> Fetch(int port, const std::string& method,
                                   const std::string& target,
                                   const std::string& body = "",
                                   const Headers& headers = {},
                                   bool tls = false);

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_HTTP_CLIENT_H_
