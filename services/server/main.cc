// aesignald: the aesignal server. Parses flags and runs Server until SIGINT or
// SIGTERM.
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/access/principals.h"
#include "services/log/log.h"
#include "services/server/config.h"
#include "services/server/grpc_log.h"
#include "services/server/server.h"
#include "storage/store.h"

#ifdef AESIGNAL_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace {

// The allocator this binary runs on (see AESIGNAL_JEMALLOC in CMakeLists.txt).
std::string AllocatorName() {
#ifdef AESIGNAL_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) == 0) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
#else
  return "system malloc";
#endif
}

}  // namespace

ABSL_FLAG(std::string, config, "",
          "YAML file whose keys are these flags' names; flags given on the "
          "command line win (see deploy/aesignald.example.yaml)");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to listen on (port 0 picks a free port)");
ABSL_FLAG(std::string, data_dir, "./var/aesignal",
          "RocksDB data directory (created if missing)");
ABSL_FLAG(int, max_message_mb, 16, "largest request message accepted, MiB");
ABSL_FLAG(std::string, restore_from, "",
          "seed an empty --data_dir from this backup directory "
          "(aesignal admin backup) before starting");
ABSL_FLAG(int, drain_seconds, 0,
          "on SIGTERM, report NOT_SERVING (readiness) this long before "
          "stopping, so load balancers stop routing new calls");
ABSL_FLAG(int, grace_seconds, 10,
          "on SIGTERM, how long in-flight calls may finish before they are "
          "cancelled");

ABSL_FLAG(std::string, tls_cert, "",
          "server certificate chain (PEM); with --tls_key enables TLS");
ABSL_FLAG(std::string, tls_key, "", "server private key (PEM)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "CA (PEM) that issues client certificates: presented certificates "
          "are verified and their common name identifies the caller (mTLS)");
ABSL_FLAG(bool, tls_require_client_cert, false,
          "refuse TLS connections without a client certificate");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext on a non-loopback address (logs a warning)");
ABSL_FLAG(std::string, principals, "",
          "YAML file of principals and roles (docs/operations.md); when set "
          "every call must authenticate (needs TLS)");

ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "host:port of the HTTP/JSON API and the dashboard, with /metrics, "
          "/healthz and /readyz (TLS with --tls_cert; empty: off)");
ABSL_FLAG(std::vector<std::string>, http_allowed_hosts, {},
          "Host names the HTTP server answers when authentication is off, "
          "besides localhost (guards a loopback server against DNS "
          "rebinding); '*' accepts any");
ABSL_FLAG(std::string, web_root, "",
          "serve the dashboard from this directory (clients/web/dist) "
          "instead of the copy built into aesignald");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of a plaintext operations-only HTTP listener: "
          "/metrics, /healthz, /readyz (empty: off)");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a plaintext listener serving only grpc.health.v1, "
          "for probes that cannot use TLS (empty: off)");
ABSL_FLAG(int, keepalive_seconds, 60,
          "ping connections idle this long (dead clients free their streams)");
ABSL_FLAG(int, keepalive_timeout_seconds, 20,
          "close a connection whose keepalive ping is not answered in time");
ABSL_FLAG(int, memory_quota_mb, 1024,
          "memory gRPC may use for all calls together; beyond it calls wait "
          "(back-pressure) rather than grow memory");
ABSL_FLAG(int, commit_cache_mb, 128,
          "memory for the committer's cache of counter rows and per-subject "
          "states it last wrote (saves RocksDB reads on ingest); 0: off");

namespace {

// Values the flags' types accept but the server cannot run with: each named.
absl::Status CheckFlagValues() {
  using aesignal::CheckRange;
  if (absl::Status s = aesignal::CheckListenAddresses(
          {{"listen", absl::GetFlag(FLAGS_listen)},
           {"http_listen", absl::GetFlag(FLAGS_http_listen)},
           {"metrics_listen", absl::GetFlag(FLAGS_metrics_listen)},
           {"health_listen", absl::GetFlag(FLAGS_health_listen)}});
      !s.ok()) {
    return s;
  }
  constexpr int64_t kDay = 24 * 3600;
  for (const absl::Status& s : {
           // MiB << 20 must fit the int gRPC takes.
           CheckRange("max_message_mb", absl::GetFlag(FLAGS_max_message_mb), 1,
                      2047),
           CheckRange("memory_quota_mb", absl::GetFlag(FLAGS_memory_quota_mb),
                      1, 1 << 20),
           CheckRange("commit_cache_mb", absl::GetFlag(FLAGS_commit_cache_mb),
                      0, 1 << 20),
           CheckRange("drain_seconds", absl::GetFlag(FLAGS_drain_seconds), 0,
                      kDay),
           CheckRange("grace_seconds", absl::GetFlag(FLAGS_grace_seconds), 0,
                      kDay),
           CheckRange("keepalive_seconds",
                      absl::GetFlag(FLAGS_keepalive_seconds), 1, kDay),
           CheckRange("keepalive_timeout_seconds",
                      absl::GetFlag(FLAGS_keepalive_timeout_seconds), 1, kDay),
       }) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Flags (and the config file) as server options; INVALID_ARGUMENT naming
// the flag, or the file and entry if the principals file is bad.
absl::StatusOr<aesignal::ServerOptions> OptionsFromFlags() {
  if (absl::Status s = CheckFlagValues(); !s.ok()) return s;
  aesignal::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_mb) << 20;
  options.restore_from = absl::GetFlag(FLAGS_restore_from);
  options.tls = {
      .cert = absl::GetFlag(FLAGS_tls_cert),
      .key = absl::GetFlag(FLAGS_tls_key),
      .client_ca = absl::GetFlag(FLAGS_tls_client_ca),
      .require_client_cert = absl::GetFlag(FLAGS_tls_require_client_cert)};
  options.allow_insecure = absl::GetFlag(FLAGS_insecure);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.http_allowed_hosts = absl::GetFlag(FLAGS_http_allowed_hosts);
  options.web_root = absl::GetFlag(FLAGS_web_root);
  options.health_listen = absl::GetFlag(FLAGS_health_listen);
  options.keepalive = absl::Seconds(absl::GetFlag(FLAGS_keepalive_seconds));
  options.keepalive_timeout =
      absl::Seconds(absl::GetFlag(FLAGS_keepalive_timeout_seconds));
  options.memory_quota_bytes = int64_t{absl::GetFlag(FLAGS_memory_quota_mb)}
                               << 20;
  options.commit_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_commit_cache_mb)) << 20;
  if (const std::string path = absl::GetFlag(FLAGS_principals); !path.empty()) {
    auto principals = aesignal::access::LoadPrincipals(path);
    if (!principals.ok()) return principals.status();
    if (principals->empty()) {
      return absl::InvalidArgumentError(path + ": no principals");
    }
    options.principals = *std::move(principals);
  }
  return options;
}

// Secrets other users can read: the TLS key lets them impersonate the
// server, the principals file holds token hashes. A warning, not a refusal:
// a container may mount them with loose modes behind its own isolation.
void WarnIfReadableByOthers(const aesignal::ServerOptions& options) {
  for (const std::string& path :
       {options.tls.key, absl::GetFlag(FLAGS_principals), options.data_dir}) {
    struct stat info;
    if (path.empty() || ::stat(path.c_str(), &info) != 0) continue;
    if ((info.st_mode & S_IROTH) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o",
                    static_cast<unsigned>(info.st_mode & 07777));
      aesignal::log::Line(absl::StrCat("WARNING: ", path,
                                       " is readable by every user (mode ",
                                       mode, "); chmod o-rwx ", path));
    }
  }
}

bool IsConfigurationError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kFailedPrecondition ||
         status.code() == absl::StatusCode::kNotFound ||
         status.code() == absl::StatusCode::kPermissionDenied;
}

std::string HostOf(const std::string& listen) {
  return listen.substr(0, listen.rfind(':'));
}

// The lines scripts and operators read to find the server's ports.
void PrintListening(const aesignal::ServerOptions& options,
                    aesignal::Server& server) {
  std::printf(
      "aesignald listening on %s:%d (version %s, data dir %s, store schema "
      "%d, opened in %s, %s)\n",
      HostOf(options.listen).c_str(), server.port(), AESIGNAL_VERSION,
      options.data_dir.c_str(), aesignal::storage::kSchemaVersion,
      absl::FormatDuration(server.open_time()).c_str(),
      AllocatorName().c_str());
  if (server.store().read_only()) {
    aesignal::log::Line(
        "WARNING: the data dir's disk was full at start: the store is open "
        "read-only (reads work, writes are refused with RESOURCE_EXHAUSTED "
        "until space is freed)");
  }
  if (server.http_port() != 0) {
    std::printf("aesignald http on %s://%s:%d/\n",
                options.tls.cert.empty() ? "http" : "https",
                HostOf(options.http_listen).c_str(), server.http_port());
  }
  if (server.metrics_port() != 0) {
    std::printf("aesignald metrics on http://%s:%d/metrics\n",
                HostOf(options.metrics_listen).c_str(), server.metrics_port());
  }
  if (server.health_port() != 0) {
    std::printf("aesignald health on %s:%d\n",
                HostOf(options.health_listen).c_str(), server.health_port());
  }
  // Whether callers are authenticated, so an operator sees it in the log.
  // Required or only verified when given: a caller without a certificate
  // is turned away in the handshake only in the first case.
  const std::string transport =
      options.tls.cert.empty()        ? "plaintext"
      : options.tls.client_ca.empty() ? "TLS, no client certificates"
      : options.tls.require_client_cert
          ? "TLS, client certificates required and verified"
          : "TLS, client certificates verified when given (callers without "
            "one authenticate with a token)";
  const std::string callers =
      options.principals.empty()
          ? "no authentication (every caller is an admin)"
          : absl::StrCat(options.principals.size(), " principals");
  std::printf("aesignald security: %s, %s\n", transport.c_str(),
              callers.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // --help lists the flags defined in this file (Abseil's default looks for a
  // file named after the binary, aesignald.cc, and so listed none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "services/server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  usage.version_string = [] {
    return absl::StrCat("aesignald ", AESIGNAL_VERSION, " (store schema ",
                        aesignal::storage::kSchemaVersion, ", ",
                        AllocatorName(), ")\n");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "aesignal server: durable AE-report ingest and incidence tables.\n"
      "Usage: aesignald [--listen=HOST:PORT] [--data_dir=DIR]");
  // Checked and noted before Abseil parses them (config.h).
  const absl::StatusOr<std::set<std::string>> explicit_flags =
      aesignal::CheckCommandLineFlags(argc, argv);
  if (!explicit_flags.ok()) {
    aesignal::log::Line(explicit_flags.status().message());
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  // The data dir, its backups and logs hold every AE report: never readable
  // by every user, whatever umask the shell had (the systemd unit's
  // UMask=0027, also outside systemd).
  ::umask(027);
  // gRPC's own lines in this log, failed TLS handshakes summarized.
  aesignal::RouteGrpcLog();
  if (const std::string config = absl::GetFlag(FLAGS_config); !config.empty()) {
    absl::Status applied = aesignal::ApplyConfigFile(config, *explicit_flags);
    if (!applied.ok()) {
      aesignal::log::Line(applied.message());
      return 2;
    }
  }

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  // SIGHUP (which log rotation and habit send) would otherwise end the
  // server at once, without a drain; it is logged and otherwise ignored.
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto options = OptionsFromFlags();
  if (!options.ok()) {
    aesignal::log::Line(options.status().message());
    return 2;
  }
  WarnIfReadableByOthers(*options);
  auto server = aesignal::Server::Start(*options);
  if (!server.ok()) {
    aesignal::log::Line(aesignal::log::StatusText(server.status()));
    // 2 for what only a change of configuration can mend (missing TLS
    // files, plaintext or no principals on a network address, a restore into
    // a data dir in use, a data dir or file the service's user may not
    // write): systemd's RestartPreventExitStatus=2 stops there.
    // 1 for what may pass (a port still taken, a disk error).
    return IsConfigurationError(server.status()) ? 2 : 1;
  }
  PrintListening(*options, **server);

  std::thread stopper([&] {
    int sig = 0;
    while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
      aesignal::log::Line(
          "SIGHUP ignored: the config and principals are read at start "
          "only; restart to apply changes");
    }
    aesignal::log::Line(absl::StrCat("signal ", sig, ", shutting down"));
    (*server)->BeginDrain();
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_drain_seconds)));
    (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_grace_seconds)));
  });
  (*server)->Wait();
  stopper.join();
  server->reset();  // closes the store after draining queued commits
  aesignal::log::Line("stopped");
  return 0;
}
