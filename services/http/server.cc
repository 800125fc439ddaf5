// The Beast server. Beast and Asio are compiled once, in beast_impl.cc
// (BOOST_BEAST_SEPARATE_COMPILATION); this is the only other file that
// includes them. Classic completion handlers, not coroutines: Asio 1.74's
// coroutines need <coroutine> support clang 14 + libstdc++ lack (fuzz build).
#include "services/http/server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <deque>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/access/caller.h"

namespace aesignal::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

// Frames a slow client may have queued on a stream before it is cut off
// (it resumes with Last-Event-ID; nothing is lost).
constexpr size_t kMaxQueuedStreamBytes = 1 << 20;
// How long a stream waits for its first frame before sending its headers:
// an error before that is still a plain HTTP error reply.
constexpr auto kStreamHeaderDelay = std::chrono::milliseconds(250);

// The verified client certificate's common names (empty without one).
std::vector<std::string> VerifiedCommonNames(SSL* ssl) {
  std::vector<std::string> names;
  if (SSL_get_verify_result(ssl) != X509_V_OK) return names;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return names;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    if (length >= 0) {
      names.emplace_back(reinterpret_cast<char*>(utf8), length);
      OPENSSL_free(utf8);
    }
  }
  X509_free(cert);
  return names;
}

std::string PeerOf(const tcp::socket& socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  const auto address = peer.address();
  return address.is_v4()
             ? absl::StrCat("ipv4:", address.to_string(), ":", peer.port())
             : absl::StrCat("ipv6:[", address.to_string(), "]:", peer.port());
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection (from any thread).
  virtual void PostClose() = 0;
};

}  // namespace

struct HttpServer::Impl {
  Impl(const HttpServerOptions& o, const Gateway* g)
      : options(o),
        gateway(*g),
        calls(o.limits.call_threads),
        streams(o.limits.max_streams) {}

  // Keeps `session` for Shutdown to close; forgets the closed ones.
  void Track(std::weak_ptr<SessionBase> session) {
    absl::MutexLock lock(&sessions_mu);
    std::erase_if(sessions, [](const auto& s) { return s.expired(); });
    sessions.push_back(std::move(session));
  }
  void CloseAll() {
    absl::MutexLock lock(&sessions_mu);
    for (const auto& weak : sessions) {
      if (auto session = weak.lock()) session->PostClose();
    }
  }
  void DoAccept();
  void Accepted(tcp::socket socket);

  const HttpServerOptions options;
  const Gateway& gateway;
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> open_streams{0};
  std::atomic<bool> stopping{false};
  bool shut_down = false;  // guarded by shutdown_mu
  absl::Mutex shutdown_mu;
  absl::Mutex sessions_mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;
  int port = 0;
  // Declared after everything sessions use, so they are destroyed (with
  // the io_context's pending handlers) first.
  net::thread_pool calls;
  net::thread_pool streams;
  std::optional<ssl::context> tls;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread io_thread;
};

namespace {

using Impl = HttpServer::Impl;

template <class Stream>
class Session : public SessionBase,
                public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Impl* server, Stream stream, std::string peer)
      : server_(*server),
        limits_(server->options.limits),
        stream_(std::move(stream)),
        peer_(std::move(peer)),
        timer_(stream_.get_executor()),
        tokens_(limits_.request_burst),
        refilled_(absl::Now()) {
    ++server_.connections;
  }
  ~Session() override { --server_.connections; }

  void Run();
  void PostClose() override {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this()] { self->Close(); });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoRead();
  void OnHeader(beast::error_code ec);
  void OnRead(beast::error_code ec);
  void OnReadError(beast::error_code ec);
  void Handle();
  bool TakeToken();
  HttpRequest View() const;
  void StartCall(Gateway::Plan plan, HttpRequest request);
  void StartStream(Gateway::Plan plan, HttpRequest request);
  void RunStream(const Gateway::Plan& plan, const HttpRequest& request);
  bool QueueFrame(std::string frame);
  void EndStream(absl::Status status);
  void PumpStream();
  void WriteStreamHeaders();
  void ArmHeartbeat();
  void Write(HttpReply reply, bool close_after = false);
  void Close();

  Impl& server_;
  const HttpLimits& limits_;
  Stream stream_;
  std::string peer_;
  std::vector<std::string> common_names_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::string_body> request_;
  int requests_ = 0;
  std::atomic<bool> closed_{false};
  net::steady_timer timer_;
  double tokens_;
  absl::Time refilled_;
  // A stream's state (on the session's strand).
  RouteKind stream_kind_ = RouteKind::kUnary;
  bool headers_sent_ = false;
  bool writing_ = false;
  bool ended_ = false;
  std::deque<std::shared_ptr<std::string>> frames_;
  std::atomic<size_t> queued_bytes_{0};
  std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer_;
};

template <class Stream>
void Session<Stream>::Run() {
  auto self = this->shared_from_this();
  if constexpr (kTls) {
    Lowest().expires_after(Chrono(limits_.tls_handshake_timeout));
    stream_.async_handshake(
        ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->Close();
          self->common_names_ =
              VerifiedCommonNames(self->stream_.native_handle());
          self->DoRead();
        });
  } else {
    net::dispatch(stream_.get_executor(), [self] { self->DoRead(); });
  }
}

template <class Stream>
void Session<Stream>::DoRead() {
  if (server_.stopping) return Close();
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(limits_.max_header_bytes));
  parser_->body_limit(static_cast<uint64_t>(limits_.max_body_bytes));
  Lowest().expires_after(Chrono(limits_.header_timeout));
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code ec, size_t) {
        self->OnHeader(ec);
      });
}

template <class Stream>
void Session<Stream>::OnHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  Lowest().expires_after(Chrono(limits_.body_timeout));
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code read, size_t) {
        self->OnRead(read);
      });
}

template <class Stream>
void Session<Stream>::OnRead(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  Lowest().expires_never();
  request_ = parser_->release();
  Handle();
}

template <class Stream>
void Session<Stream>::OnReadError(beast::error_code ec) {
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::eof || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset ||
      ec == ssl::error::stream_truncated) {
    return Close();
  }
  absl::Status status = absl::InvalidArgumentError(
      absl::StrCat("malformed HTTP request: ", ec.message()));
  int http_status = 400;
  if (ec == bhttp::error::header_limit) {
    http_status = 431;
    status = absl::InvalidArgumentError(absl::StrCat(
        "request header larger than ", limits_.max_header_bytes, " bytes"));
  } else if (ec == bhttp::error::body_limit) {
    http_status = 413;
    status = absl::ResourceExhaustedError(absl::StrCat(
        "request body larger than ", limits_.max_body_bytes, " bytes"));
  }
  HttpReply reply = Gateway::ErrorReply(status, http_status);
  request_ = {};
  Write(std::move(reply), /*close_after=*/true);
}

template <class Stream>
bool Session<Stream>::TakeToken() {
  const absl::Time now = absl::Now();
  tokens_ = std::min(limits_.request_burst,
                     tokens_ + absl::ToDoubleSeconds(now - refilled_) *
                                   limits_.requests_per_second);
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

template <class Stream>
HttpRequest Session<Stream>::View() const {
  auto field = [this](bhttp::field f) {
    const auto value = request_[f];
    return absl::string_view(value.data(), value.size());
  };
  const auto method = request_.method_string();
  const auto target = request_.target();
  return HttpRequest{
      .method = absl::string_view(method.data(), method.size()),
      .target = absl::string_view(target.data(), target.size()),
      .host = field(bhttp::field::host),
      .authorization = field(bhttp::field::authorization),
      .content_type = field(bhttp::field::content_type),
      .last_event_id =
          [this] {
            const auto v = request_["Last-Event-ID"];
            return absl::string_view(v.data(), v.size());
          }(),
      .claimed_principal =
          [this] {
            const auto v = request_["X-Aesignal-Principal"];
            return absl::string_view(v.data(), v.size());
          }(),
      .body = request_.body(),
      .peer = peer_,
      .cert_common_names = common_names_,
  };
}

template <class Stream>
void Session<Stream>::Handle() {
  ++requests_;
  if (!TakeToken()) {
    HttpReply reply = Gateway::ErrorReply(
        absl::ResourceExhaustedError("too many requests on this connection"));
    reply.headers.emplace_back("Retry-After", "1");
    return Write(std::move(reply));
  }
  HttpRequest request = View();
  Gateway::Plan plan = server_.gateway.PlanFor(request);
  if (plan.reply.has_value()) return Write(*std::move(plan.reply));
  if (plan.match.route->kind == RouteKind::kUnary) {
    return StartCall(std::move(plan), std::move(request));
  }
  StartStream(std::move(plan), std::move(request));
}

HttpReply Unavailable(std::string what) {
  HttpReply reply = Gateway::ErrorReply(absl::UnavailableError(
      absl::StrCat("server busy: ", what, "; retry shortly")));
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

template <class Stream>
void Session<Stream>::StartCall(Gateway::Plan plan, HttpRequest request) {
  if (server_.in_flight.fetch_add(1) >= limits_.max_calls_in_flight) {
    --server_.in_flight;
    return Write(Unavailable("too many calls in flight"));
  }
  net::post(
      server_.calls, [self = this->shared_from_this(), plan = std::move(plan),
                      request = std::move(request)] {
        const app::CallContext context{
            .caller = plan.caller,
            .deadline = absl::Now() + self->limits_.request_timeout,
            .is_cancelled = [self] { return self->closed_.load(); }};
        HttpReply reply = self->server_.gateway.Call(plan, request, context);
        --self->server_.in_flight;
        net::post(self->stream_.get_executor(),
                  [self, reply = std::move(reply)]() mutable {
                    self->Write(std::move(reply));
                  });
      });
}

template <class Stream>
void Session<Stream>::StartStream(Gateway::Plan plan, HttpRequest request) {
  if (server_.open_streams.fetch_add(1) >= limits_.max_streams) {
    --server_.open_streams;
    return Write(Unavailable("too many open streams"));
  }
  stream_kind_ = plan.match.route->kind;
  net::post(server_.streams,
            [self = this->shared_from_this(), plan = std::move(plan),
             request = std::move(request)] { self->RunStream(plan, request); });
  timer_.expires_after(kStreamHeaderDelay);
  timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
    if (!ec && !self->headers_sent_ && !self->ended_) self->PumpStream();
  });
}

// On a stream thread: runs the watch or ingest stream to its end.
template <class Stream>
void Session<Stream>::RunStream(const Gateway::Plan& plan,
                                const HttpRequest& request) {
  auto self = this->shared_from_this();
  const app::CallContext context{
      .caller = plan.caller,
      .deadline = absl::Now() + limits_.stream_timeout,
      .is_cancelled = [self] {
        return self->closed_.load() || self->server_.stopping.load();
      }};
  const auto write = [self](std::string frame) {
    return self->QueueFrame(std::move(frame));
  };
  absl::Status status =
      stream_kind_ == RouteKind::kServerEvents
          ? server_.gateway.Watch(plan, request, context, write)
          : server_.gateway.StreamReports(plan, request, context, write);
  --server_.open_streams;
  net::post(stream_.get_executor(),
            [self, status] { self->EndStream(status); });
}

// From the stream thread: queues one frame; false when the client is gone
// or too far behind.
template <class Stream>
bool Session<Stream>::QueueFrame(std::string frame) {
  if (closed_) return false;
  const size_t size = frame.size();
  if (queued_bytes_.fetch_add(size) + size > kMaxQueuedStreamBytes) {
    return false;
  }
  auto shared = std::make_shared<std::string>(std::move(frame));
  net::post(stream_.get_executor(), [self = this->shared_from_this(), shared] {
    self->frames_.push_back(shared);
    self->PumpStream();
  });
  return true;
}

template <class Stream>
void Session<Stream>::EndStream(absl::Status status) {
  const bool quiet = status.ok() || absl::IsCancelled(status) ||
                     absl::IsDeadlineExceeded(status);
  if (!headers_sent_ && !quiet) {
    return Write(Gateway::ErrorReply(status), /*close_after=*/true);
  }
  if (!quiet) {
    // After the headers an error can only be a frame of the stream.
    const std::string error = Gateway::ErrorReply(status).body;
    frames_.push_back(std::make_shared<std::string>(
        stream_kind_ == RouteKind::kServerEvents
            ? absl::StrCat("event: error\ndata: ", error, "\n\n")
            : absl::StrCat(error, "\n")));
  }
  ended_ = true;
  PumpStream();
}

template <class Stream>
void Session<Stream>::WriteStreamHeaders() {
  stream_head_.emplace(bhttp::status::ok, request_.version());
  stream_head_->set(bhttp::field::content_type,
                    stream_kind_ == RouteKind::kServerEvents
                        ? "text/event-stream; charset=utf-8"
                        : "application/x-ndjson");
  stream_head_->set(bhttp::field::cache_control, "no-store");
  for (const auto& [name, value] : Gateway::SecurityHeaders(kTls)) {
    stream_head_->set(name, value);
  }
  stream_head_->chunked(true);
  stream_head_->keep_alive(false);
  serializer_.emplace(*stream_head_);
  headers_sent_ = true;
  writing_ = true;
  Lowest().expires_after(Chrono(limits_.write_timeout));
  bhttp::async_write_header(
      stream_, *serializer_,
      [self = this->shared_from_this()](beast::error_code ec, size_t) {
        self->writing_ = false;
        if (ec) return self->Close();
        self->Lowest().expires_never();
        self->ArmHeartbeat();
        self->PumpStream();
      });
}

// An SSE comment every heartbeat while the stream is idle, so proxies keep
// it open and a departed client is noticed (the write fails).
template <class Stream>
void Session<Stream>::ArmHeartbeat() {
  if (stream_kind_ != RouteKind::kServerEvents) return;
  timer_.expires_after(Chrono(limits_.heartbeat));
  timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
    if (ec || self->ended_ || self->closed_) return;
    if (self->frames_.empty() && !self->writing_) {
      self->queued_bytes_ += 8;
      self->frames_.push_back(std::make_shared<std::string>(": ping\n\n"));
      self->PumpStream();
    }
    self->ArmHeartbeat();
  });
}

// Writes the stream's next piece: headers, a frame, or the last chunk.
template <class Stream>
void Session<Stream>::PumpStream() {
  if (writing_ || closed_) return;
  if (!headers_sent_) return WriteStreamHeaders();
  auto self = this->shared_from_this();
  if (!frames_.empty()) {
    std::shared_ptr<std::string> frame = std::move(frames_.front());
    frames_.pop_front();
    writing_ = true;
    Lowest().expires_after(Chrono(limits_.write_timeout));
    net::async_write(stream_, bhttp::make_chunk(net::buffer(*frame)),
                     [self, frame](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       self->queued_bytes_ -= frame->size();
                       if (ec) return self->Close();
                       self->Lowest().expires_never();
                       self->PumpStream();
                     });
    return;
  }
  if (ended_) {
    writing_ = true;
    Lowest().expires_after(Chrono(limits_.write_timeout));
    net::async_write(stream_, bhttp::make_chunk_last(),
                     [self](beast::error_code, size_t) { self->Close(); });
  }
}

template <class Stream>
void Session<Stream>::Write(HttpReply reply, bool close_after) {
  auto response = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(reply.status), request_.version());
  response->set(bhttp::field::content_type, reply.content_type);
  for (const auto& [name, value] : Gateway::SecurityHeaders(kTls)) {
    response->set(name, value);
  }
  for (const auto& [name, value] : reply.headers) response->set(name, value);
  response->body() = std::move(reply.body);
  response->prepare_payload();
  const bool keep = !close_after && request_.keep_alive() &&
                    requests_ < limits_.max_requests_per_connection &&
                    !server_.stopping;
  response->keep_alive(keep);
  Lowest().expires_after(Chrono(limits_.write_timeout));
  bhttp::async_write(stream_, *response,
                     [self = this->shared_from_this(), response, keep](
                         beast::error_code ec, size_t) {
                       if (ec || !keep) return self->Close();
                       self->DoRead();
                     });
}

template <class Stream>
void Session<Stream>::Close() {
  if (closed_.exchange(true)) return;
  timer_.cancel();
  beast::error_code ec;
  Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  Lowest().close();
}

// The TLS context: TLS 1.2+, the certificate chain and key, and client
// certificate verification when a CA is given.
void ConfigureTls(const HttpTls& files, ssl::context* context) {
  context->set_options(ssl::context::default_workarounds |
                       ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  context->use_certificate_chain_file(files.cert);
  context->use_private_key_file(files.key, ssl::context::pem);
  if (!files.client_ca.empty()) {
    context->load_verify_file(files.client_ca);
    context->set_verify_mode(
        ssl::verify_peer |
        (files.require_client_cert ? ssl::verify_fail_if_no_peer_cert : 0));
  }
}

}  // namespace

absl::Status CheckTlsFiles(const HttpTls& files) {
  boost::system::error_code ec;
  // The key alone first: with a certificate loaded, OpenSSL reports a key
  // that does not match it as a failure to load the key.
  ssl::context key_only(ssl::context::tls_server);
  key_only.use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key: ", files.key, " is not a PEM private key (",
                     ec.message(), ")"));
  }
  ssl::context context(ssl::context::tls_server);
  context.use_certificate_chain_file(files.cert, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert: ", files.cert,
                     " is not a PEM certificate chain (", ec.message(), ")"));
  }
  context.use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key: ", files.key,
                     " is not the key of the certificate in ", files.cert));
  }
  return absl::OkStatus();
}

namespace {

tcp::endpoint Resolve(net::io_context& ioc, const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  const std::string port =
      colon == std::string::npos ? "0" : listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  tcp::resolver resolver(ioc);
  return resolver.resolve(host, port).begin()->endpoint();
}

}  // namespace

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc),
                        [this](beast::error_code ec, tcp::socket socket) {
                          if (ec) {
                            if (!stopping && acceptor.is_open()) DoAccept();
                            return;
                          }
                          Accepted(std::move(socket));
                          DoAccept();
                        });
}

void HttpServer::Impl::Accepted(tcp::socket socket) {
  if (connections >= options.limits.max_connections || stopping) {
    // Refused politely on plaintext; a TLS client just sees the close.
    auto refused = std::make_shared<tcp::socket>(std::move(socket));
    static constexpr absl::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n";
    if (tls.has_value()) return;
    net::async_write(*refused, net::buffer(kBusy.data(), kBusy.size()),
                     [refused](beast::error_code, size_t) {
                       beast::error_code ignored;
                       refused->shutdown(tcp::socket::shutdown_both, ignored);
                     });
    return;
  }
  // Replies go out as they are written: with Nagle's algorithm a reply
  // written in two sends (headers, then body or a TLS record) waited for
  // the client's delayed ACK, ~40 ms on Linux, on about half the calls.
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::string peer = PeerOf(socket);
  if (tls.has_value()) {
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;
    auto session = std::make_shared<Session<TlsStream>>(
        this, TlsStream(beast::tcp_stream(std::move(socket)), *tls),
        std::move(peer));
    Track(session);
    session->Run();
  } else {
    auto session = std::make_shared<Session<beast::tcp_stream>>(
        this, beast::tcp_stream(std::move(socket)), std::move(peer));
    Track(session);
    session->Run();
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(absl::ZeroDuration()); }

int HttpServer::port() const { return impl_->port; }
bool HttpServer::tls() const { return impl_->tls.has_value(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, const Gateway* gateway) {
  const bool tls = !options.tls.cert.empty();
  if (!tls && !options.allow_insecure && !access::IsLoopback(options.listen)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plaintext HTTP on non-loopback address ", options.listen,
        ": configure TLS (--tls_cert/--tls_key) or pass --insecure"));
  }
  auto impl = std::make_unique<Impl>(options, gateway);
  try {
    if (tls) {
      impl->tls.emplace(ssl::context::tls_server);
      ConfigureTls(options.tls, &*impl->tls);
    }
    const tcp::endpoint endpoint = Resolve(impl->ioc, options.listen);
    impl->acceptor.open(endpoint.protocol());
    impl->acceptor.set_option(net::socket_base::reuse_address(true));
    impl->acceptor.bind(endpoint);
    impl->acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    return absl::UnavailableError(
        absl::StrCat("HTTP server on ", options.listen, ": ", e.what()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->work.emplace(impl->ioc.get_executor());
  impl->DoAccept();
  impl->io_thread = std::thread([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Shutdown(absl::Duration grace) {
  Impl& s = *impl_;
  {
    absl::MutexLock lock(&s.shutdown_mu);
    if (s.shut_down) return;
    s.shut_down = true;
  }
  s.stopping = true;  // streams end at their next poll; no new requests
  net::post(s.ioc, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  const absl::Time until = absl::Now() + grace;
  while ((s.in_flight > 0 || s.open_streams > 0) && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  s.CloseAll();
  s.calls.join();
  s.streams.join();
  s.CloseAll();  // connections whose calls finished while joining
  s.work.reset();
  s.ioc.stop();
  if (s.io_thread.joinable()) s.io_thread.join();
}

}  // namespace aesignal::http
