#include "tests/load/peer_postgres.h"

#include <libpq-fe.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "aesignal/v1/safety_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/domain/monitor.h"
#include "services/errors/errors.h"
#include "tests/load/bench_fixture.h"
#include "tests/load/generator.h"

namespace aesignal::bench {
namespace {

// --- Sizes -------------------------------------------------------------------

struct PeerSizes {
  int64_t batched = 100000;   // rows 1 and 2
  int64_t unbatched = 20000;  // row 3
  int64_t query_reports = 200000;
  int query_subjects = 10000;
  int query_pts = 1000;
  int repeats = 50;
};

PeerSizes SizesFor(const PeerOptions& options) {
  if (!options.smoke) return {.repeats = options.repeats};
  return {.batched = 4000,
          .unbatched = 200,
          .query_reports = 5000,
          .query_subjects = 500,
          .query_pts = 100,
          .repeats = 3};
}

constexpr int kBatch = 250;
// The ingest trial of `aesignal-bench ingest`: 3 groups x 5 timepoints.
constexpr int kIngestGroups = 3, kIngestTimepoints = 5, kIngestSubjects = 300,
              kIngestPts = 97;
// The query trial of `aesignal-bench query`: 5 groups x 10 timepoints.
constexpr int kQueryGroups = 5, kQueryTimepoints = 10;

// --- libpq -------------------------------------------------------------------

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// One connection with its search_path set to the run's schema.
class PgConn {
 public:
  static absl::StatusOr<std::unique_ptr<PgConn>> Connect(
      const std::string& conninfo, const std::string& schema) {
    auto conn =
        std::unique_ptr<PgConn>(new PgConn(PQconnectdb(conninfo.c_str())));
    if (PQstatus(conn->conn_) != CONNECTION_OK) {
      return absl::UnavailableError(
          absl::StrCat("PostgreSQL: ", PQerrorMessage(conn->conn_)));
    }
    // Quiet NOTICEs (e.g. "schema does not exist, skipping").
    AESIGNAL_RETURN_IF_ERROR(conn->Exec("SET client_min_messages = warning"));
    if (!schema.empty()) {
      AESIGNAL_RETURN_IF_ERROR(
          conn->Exec(absl::StrCat("SET search_path TO ", schema)));
    }
    return conn;
  }
  ~PgConn() { PQfinish(conn_); }
  // The server process serving this connection.
  pid_t BackendPid() const { return PQbackendPID(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  absl::Status Exec(const std::string& sql) {
    return Check(PgResult(PQexec(conn_, sql.c_str())), sql).status();
  }
  absl::Status Prepare(const std::string& name, const std::string& sql) {
    return Check(PgResult(
                     PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr)),
                 name)
        .status();
  }
  absl::StatusOr<std::string> Show(const std::string& setting) {
    const std::string sql = absl::StrCat("SHOW ", setting);
    AESIGNAL_ASSIGN_OR_RETURN(PgResult r,
                              Check(PgResult(PQexec(conn_, sql.c_str())), sql));
    return std::string(PQgetvalue(r.get(), 0, 0));
  }
  // Text parameters and results.
  absl::StatusOr<PgResult> Run(const std::string& name,
                               const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    return Check(PgResult(PQexecPrepared(conn_, name.c_str(),
                                         static_cast<int>(values.size()),
                                         values.data(), nullptr, nullptr, 0)),
                 name);
  }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<PgResult> Check(PgResult r, const std::string& what) {
    const ExecStatusType s = PQresultStatus(r.get());
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return r;
    return absl::InternalError(absl::StrCat("PostgreSQL (", what.substr(0, 60),
                                            "): ", PQerrorMessage(conn_)));
  }
  PGconn* conn_;
};

// A PostgreSQL array literal in text format ('{"a","b"}'); strings are
// quoted and escaped, bytea as "\\x<hex>".
class ArrayLiteral {
 public:
  void AddText(const std::string& s) {
    Open();
    out_.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') out_.push_back('\\');
      out_.push_back(c);
    }
    out_.push_back('"');
  }
  void AddBytes(const std::string& bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    Open();
    out_ += "\"\\\\x";
    for (unsigned char c : bytes) {
      out_.push_back(kHex[c >> 4]);
      out_.push_back(kHex[c & 15]);
    }
    out_.push_back('"');
  }
  void AddInt(int64_t v) {
    Open();
    absl::StrAppend(&out_, v);
  }
  void AddBool(bool v) {
    Open();
    out_.push_back(v ? 't' : 'f');
  }
  std::string Done() { return out_.empty() ? "{}" : out_ + "}"; }

 private:
  void Open() { out_.push_back(out_.empty() ? '{' : ','); }
  std::string out_;
};

// --- The PG schema and statements --------------------------------------------

// One schema per trial load: the tables aesignal's store has for the same
// job (docs/benchmarks.md explains each).
std::vector<std::string> SchemaDdl(const std::string& schema) {
  return {
      absl::StrCat("DROP SCHEMA IF EXISTS ", schema, " CASCADE"),
      absl::StrCat("CREATE SCHEMA ", schema),
      absl::StrCat("SET search_path TO ", schema),
      "CREATE TABLE dose_groups (trial text, dose_group text, idx int NOT "
      "NULL, PRIMARY KEY (trial, dose_group))",
      "CREATE TABLE timepoints (trial text, idx int, timepoint text NOT NULL, "
      "study_day int NOT NULL, PRIMARY KEY (trial, idx))",
      "CREATE TABLE subjects (trial text, subject_id text, site text NOT "
      "NULL, dose_group text NOT NULL, last_contact_day int, PRIMARY KEY "
      "(trial, subject_id), FOREIGN KEY (trial, dose_group) REFERENCES "
      "dose_groups)",
      // Every version; a duplicate (same key) is ignored.
      "CREATE TABLE report_versions (trial text, site text, report_id text, "
      "version int, subject_id text NOT NULL, soc text COLLATE \"C\" NOT "
      "NULL, pt text COLLATE \"C\" NOT NULL, onset_day int NOT NULL, grade "
      "int, serious bool, received timestamptz NOT NULL DEFAULT now(), body "
      "bytea NOT NULL, PRIMARY KEY (trial, site, report_id, version), "
      "FOREIGN KEY (trial, subject_id) REFERENCES subjects)",
      // The latest version of each report, with its dose group and window
      // resolved at ingest, as aesignal's counters are.
      "CREATE TABLE latest (trial text, site text, report_id text, version "
      "int NOT NULL, subject_id text NOT NULL, grp int NOT NULL, soc text "
      "COLLATE \"C\" NOT NULL, pt text COLLATE \"C\" NOT NULL, win int NOT "
      "NULL, grade int, serious bool, PRIMARY KEY (trial, site, report_id))",
      // The incidence query reads this index only (index-only scans), in
      // term order, so a page stops after its terms.
      "CREATE INDEX latest_incidence ON latest (trial, soc, pt, grp, "
      "subject_id, win)",
  };
}

// One message / transaction: any number of reports as arrays, unnested; the
// versions inserted (duplicates skipped) then upserted into `latest` when
// newer. DISTINCT ON: a batch may hold versions 1 and 2 of one report, and
// ON CONFLICT DO UPDATE may touch a row only once per statement.
constexpr char kInsertSql[] = R"sql(
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[],
                       $6::text[], $7::text[], $8::int[], $9::int[],
                       $10::bool[], $11::bytea[])
    AS u(site, report_id, version, subject_id, soc, pt, onset_day, grade,
         serious, body)
), stored AS (
  INSERT INTO report_versions (trial, site, report_id, version, subject_id,
                               soc, pt, onset_day, grade, serious, body)
  SELECT $1, site, report_id, version, subject_id, soc, pt, onset_day, grade,
         serious, body
  FROM input
  ON CONFLICT DO NOTHING
  RETURNING site, report_id, version, subject_id, soc, pt, onset_day, grade,
            serious
)
INSERT INTO latest (trial, site, report_id, version, subject_id, grp, soc, pt,
                    win, grade, serious)
SELECT DISTINCT ON (n.site, n.report_id)
       $1, n.site, n.report_id, n.version, n.subject_id, g.idx, n.soc, n.pt,
       (SELECT min(t.idx) FROM timepoints t
        WHERE t.trial = $1 AND t.study_day >= n.onset_day),
       n.grade, n.serious
FROM stored n
JOIN subjects s ON s.trial = $1 AND s.subject_id = n.subject_id
JOIN dose_groups g ON g.trial = $1 AND g.dose_group = s.dose_group
ORDER BY n.site, n.report_id, n.version DESC
ON CONFLICT (trial, site, report_id) DO UPDATE
  SET version = excluded.version, subject_id = excluded.subject_id,
      grp = excluded.grp, soc = excluded.soc, pt = excluded.pt,
      win = excluded.win, grade = excluded.grade, serious = excluded.serious
  WHERE latest.version < excluded.version
)sql";

// The incidence cells of `terms` (a CTE over `latest` giving (soc, pt)):
// per term, dose group and timepoint, the cumulative subjects (first event
// of the term in a window <= the timepoint's) and events, the subjects and
// events in the window, and the group's enrolled subjects.
// `rows_filter` selects the rows of `latest` to read (at least the terms'):
// one range of the index, read in its order, so the grouping and the window
// below need no sort (a subject's group is one, so partitioning by it too
// changes nothing but the order).
std::string IncidenceSql(const std::string& terms_cte,
                         const std::string& rows_filter,
                         const std::string& trial_filter) {
  return absl::StrCat("WITH terms AS (", terms_cte, R"sql(
), per_subject AS (
  SELECT l.trial, l.soc, l.pt, l.grp, l.subject_id, l.win, count(*) AS events,
         min(l.win) OVER (PARTITION BY l.trial, l.soc, l.pt, l.grp,
                                       l.subject_id) AS first_win
  FROM latest l WHERE )sql",
                      rows_filter, R"sql(
  GROUP BY l.trial, l.soc, l.pt, l.grp, l.subject_id, l.win
), cells AS (
  SELECT trial, soc, pt, grp, win, count(*) AS interval_subjects,
         sum(events) AS events,
         count(*) FILTER (WHERE win = first_win) AS new_subjects
  FROM per_subject GROUP BY trial, soc, pt, grp, win
), groups AS (
  SELECT g.trial, g.idx, g.dose_group, count(s.subject_id) AS n_dosed
  FROM dose_groups g LEFT JOIN subjects s
    ON s.trial = g.trial AND s.dose_group = g.dose_group
  WHERE )sql",
                      trial_filter, R"sql(
  GROUP BY g.trial, g.idx, g.dose_group
)
SELECT p.trial, p.soc, p.pt, g.idx AS grp, g.dose_group, t.idx AS win,
       t.timepoint, g.n_dosed,
       sum(coalesce(c.new_subjects, 0)) OVER w AS cumulative_subjects,
       sum(coalesce(c.events, 0)) OVER w AS cumulative_events,
       coalesce(c.interval_subjects, 0) AS interval_subjects,
       coalesce(c.events, 0) AS interval_events
FROM terms p JOIN groups g ON g.trial = p.trial
JOIN timepoints t ON t.trial = p.trial
LEFT JOIN cells c ON c.trial = p.trial AND c.soc = p.soc AND c.pt = p.pt
                 AND c.grp = g.idx AND c.win = t.idx
WINDOW w AS (PARTITION BY p.trial, p.soc, p.pt, g.idx ORDER BY t.idx)
)sql");
}

// Columns every incidence answer is read back as (see Cell).
constexpr char kCellColumns[] =
    "soc, pt, dose_group, timepoint, n_dosed, cumulative_subjects, "
    "cumulative_events, interval_subjects, interval_events";

// A page computed at query time: the first $2 terms in (SOC, PT) byte order,
// aesignal's page order (storage/keys.h: ordered strings).
std::string LivePageSql() {
  return absl::StrCat(
      "SELECT ", kCellColumns, " FROM (",
      IncidenceSql("SELECT trial, soc, pt FROM latest WHERE trial = $1 GROUP "
                   "BY trial, soc, pt ORDER BY soc, pt LIMIT $2",
                   // The page's terms are a prefix of the index.
                   "l.trial = $1 AND (l.soc, l.pt) <= (SELECT soc, pt FROM "
                   "terms ORDER BY soc DESC, pt DESC LIMIT 1)",
                   "g.trial = $1"),
      ") x ORDER BY soc, pt, grp, win");
}

// One cell (term x dose group x timepoint) computed at query time.
constexpr char kLiveCellSql[] = R"sql(
SELECT $2::text AS soc, $3::text AS pt, $4::text AS dose_group,
       t.timepoint,
       (SELECT count(*) FROM subjects s
        WHERE s.trial = $1 AND s.dose_group = $4) AS n_dosed,
       count(DISTINCT l.subject_id) AS cumulative_subjects,
       count(l.subject_id) AS cumulative_events,
       count(DISTINCT l.subject_id) FILTER (WHERE l.win = t.idx)
         AS interval_subjects,
       count(l.subject_id) FILTER (WHERE l.win = t.idx) AS interval_events
FROM timepoints t
JOIN dose_groups g ON g.trial = t.trial AND g.dose_group = $4
LEFT JOIN latest l ON l.trial = t.trial AND l.soc = $2 AND l.pt = $3
                  AND l.grp = g.idx AND l.win <= t.idx
WHERE t.trial = $1 AND t.timepoint = $5
GROUP BY t.timepoint
)sql";

// The materialized view: every term's cells, with the term's rank in page
// order so a page is one index range.
std::vector<std::string> ViewDdl() {
  return {
      absl::StrCat(
          "CREATE MATERIALIZED VIEW incidence AS SELECT x.*, dense_rank() "
          "OVER (PARTITION BY trial ORDER BY soc, pt) AS term_rank FROM (",
          IncidenceSql("SELECT DISTINCT trial, soc, pt FROM latest", "true",
                       "true"),
          ") x WITH NO DATA"),
      "CREATE UNIQUE INDEX incidence_cell ON incidence (trial, soc, pt, "
      "dose_group, timepoint)",
      "CREATE INDEX incidence_page ON incidence (trial, term_rank, grp, win)",
  };
}

std::string ViewPageSql() {
  return absl::StrCat("SELECT ", kCellColumns,
                      " FROM incidence WHERE trial = $1 AND term_rank <= $2 "
                      "ORDER BY term_rank, grp, win");
}

std::string ViewCellSql() {
  return absl::StrCat("SELECT ", kCellColumns,
                      " FROM incidence WHERE trial = $1 AND soc = $2 AND pt "
                      "= $3 AND dose_group = $4 AND timepoint = $5");
}

// --- Loading a trial into PG
// --------------------------------------------------

// Creates `schema` with BENCH's design and the Fixture's subjects (subject i
// in group G(1 + (i - 1) % groups), followed to the last day).
absl::Status CreatePgTrial(const std::string& conninfo,
                           const std::string& schema, int groups,
                           int timepoints, int subjects) {
  AESIGNAL_ASSIGN_OR_RETURN(auto conn, PgConn::Connect(conninfo, ""));
  for (const std::string& sql : SchemaDdl(schema)) {
    AESIGNAL_RETURN_IF_ERROR(conn->Exec(sql));
  }
  const v1::Trial trial = BenchTrial(groups, timepoints);
  for (int g = 0; g < groups; ++g) {
    AESIGNAL_RETURN_IF_ERROR(conn->Exec(
        absl::StrFormat("INSERT INTO dose_groups VALUES ('BENCH', '%s', %d)",
                        trial.dose_groups(g).dose_group_id(), g)));
  }
  for (int w = 0; w < timepoints; ++w) {
    AESIGNAL_RETURN_IF_ERROR(conn->Exec(absl::StrFormat(
        "INSERT INTO timepoints VALUES ('BENCH', %d, '%s', %d)", w,
        trial.timepoints(w).timepoint_id(), trial.timepoints(w).study_day())));
  }
  const int last_day = trial.timepoints(timepoints - 1).study_day();
  return conn->Exec(absl::StrFormat(
      "INSERT INTO subjects SELECT 'BENCH', 'S' || i, '01', 'G' || (1 + (i - "
      "1) %% %d), %d FROM generate_series(1, %d) i; ANALYZE",
      groups, last_day, subjects));
}

// A writer connection: stores reports of `generator` as one transaction.
class PgWriter {
 public:
  static absl::StatusOr<std::unique_ptr<PgWriter>> Open(
      const std::string& conninfo, const std::string& schema,
      const ReportGenerator& generator) {
    AESIGNAL_ASSIGN_OR_RETURN(auto conn, PgConn::Connect(conninfo, schema));
    AESIGNAL_RETURN_IF_ERROR(conn->Prepare("insert", kInsertSql));
    return std::unique_ptr<PgWriter>(new PgWriter(std::move(conn), generator));
  }

  // Reports [begin, end) in one statement (its own transaction, committed
  // durably before it returns); the round trip's time goes to ms().
  absl::Status Store(int64_t begin, int64_t end, const std::string& tag) {
    ArrayLiteral site, id, version, subject, soc, pt, day, grade, serious, body;
    for (int64_t n = begin; n < end; ++n) {
      const v1::AdverseEventReport r = generator_.Make(n, tag);
      site.AddText(r.site_id());
      id.AddText(r.report_id());
      version.AddInt(r.version());
      subject.AddText(r.subject_id());
      soc.AddText(r.soc());
      pt.AddText(r.pt());
      day.AddInt(r.onset_study_day());
      grade.AddInt(r.grade());
      serious.AddBool(r.serious());
      body.AddBytes(r.SerializeAsString());
    }
    const std::vector<std::string> params = {
        "BENCH",        site.Done(),    id.Done(),  version.Done(),
        subject.Done(), soc.Done(),     pt.Done(),  day.Done(),
        grade.Done(),   serious.Done(), body.Done()};
    const absl::Time t0 = absl::Now();
    absl::StatusOr<PgResult> done = conn_->Run("insert", params);
    ms_.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    return done.status();
  }
  std::vector<double>& ms() { return ms_; }
  pid_t BackendPid() const { return conn_->BackendPid(); }

 private:
  PgWriter(std::unique_ptr<PgConn> conn, const ReportGenerator& generator)
      : conn_(std::move(conn)), generator_(generator) {}
  std::unique_ptr<PgConn> conn_;
  const ReportGenerator& generator_;
  std::vector<double> ms_;
};

// CPU seconds of the PostgreSQL cluster: the postmaster with the processes
// it has reaped (backends that ended) and every live child of it (backends,
// WAL writer, checkpointer, autovacuum). -1 if unknown.
double PgClusterCpuSeconds(pid_t postmaster) {
  if (postmaster <= 0) return -1;
  double total = CpuSecondsOf(postmaster, /*with_children=*/true);
  if (total < 0) return -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    int pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || ParentPidOf(pid) != postmaster) {
      continue;
    }
    total += std::max(0.0, CpuSecondsOf(pid));
  }
  return total;
}

// Stores reports [0, total) over `clients` connections, `per_txn` reports
// per transaction. Client c takes transactions c, c + clients, ... of
// max(per_txn, 10) consecutive indexes (so a follow-up and its version 1
// stay on one connection, in order) and commits them per_txn at a time.
absl::StatusOr<Row> PgIngest(const std::string& name,
                             const std::string& conninfo,
                             const std::string& schema,
                             const ReportGenerator& generator, int64_t total,
                             int clients, int per_txn, const std::string& tag) {
  std::vector<std::unique_ptr<PgWriter>> writers;
  for (int c = 0; c < clients; ++c) {
    AESIGNAL_ASSIGN_OR_RETURN(auto w,
                              PgWriter::Open(conninfo, schema, generator));
    writers.push_back(std::move(w));
  }
  const pid_t postmaster = ParentPidOf(writers[0]->BackendPid());
  const int64_t block = std::max(per_txn, 10);
  std::vector<absl::Status> status(clients);
  std::vector<std::thread> threads;
  const double cpu0 = PgClusterCpuSeconds(postmaster);
  const absl::Time t0 = absl::Now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int64_t b = c * block; b < total && status[c].ok();
           b += clients * block) {
        for (int64_t n = b; n < std::min(total, b + block); n += per_txn) {
          status[c] = writers[c]->Store(
              n, std::min({total, b + block, n + per_txn}), tag);
          if (!status[c].ok()) break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double cpu1 = PgClusterCpuSeconds(postmaster);
  Row row{.name = name,
          .reports = total,
          .messages = (total + per_txn - 1) / per_txn,
          .seconds = absl::ToDoubleSeconds(absl::Now() - t0),
          .latency = {},
          .cpu_seconds = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0};
  std::vector<double> all;
  for (int c = 0; c < clients; ++c) {
    AESIGNAL_RETURN_IF_ERROR(status[c]);
    all.insert(all.end(), writers[c]->ms().begin(), writers[c]->ms().end());
  }
  row.latency = Summarize(std::move(all));
  return row;
}

// --- aesignal's side of the same rows
// -----------------------------------------

// Waits for the signal evaluator's work behind the ingest, so the next row
// (either side's) runs on a quiet server.
absl::Status Settle(const Fixture& f) { return f.Settle(absl::Minutes(30)); }

// The server's CPU seconds since `before` (its ServerCpuSeconds), taken
// after Settle: the signal evaluation a row caused is part of its cost.
double ServerCpuSince(const Fixture& f, double before) {
  const double now = f.ServerCpuSeconds();
  return before < 0 || now < 0 ? -1 : now - before;
}

absl::StatusOr<Row> AesIngest(const std::string& name, const Fixture& f,
                              const ReportGenerator& generator, int64_t total,
                              int streams, const std::string& tag) {
  std::vector<StreamResult> results;
  const double cpu0 = f.ServerCpuSeconds();
  const absl::Time t0 = absl::Now();
  VolumeOptions options;
  options.total = total;
  options.streams = streams;
  options.batch_size = kBatch;
  options.window = 8;
  options.tag = tag;
  const bool ok = IngestVolume(f, generator, options, &results);
  Row row = FromStreams(name, results, absl::ToDoubleSeconds(absl::Now() - t0));
  if (!ok) return absl::InternalError(absl::StrCat(name, ": incomplete"));
  AESIGNAL_RETURN_IF_ERROR(Settle(f));
  row.cpu_seconds = ServerCpuSince(f, cpu0);
  return row;
}

// One stream, one report per message, 16 unacknowledged (as `ingest`).
// `grouped`: the stream asks for grouped acknowledgements, as the C++ SDK's
// ReportStreamer does.
absl::StatusOr<Row> AesSingles(const std::string& name, const Fixture& f,
                               const ReportGenerator& generator, int64_t total,
                               const std::string& tag, bool grouped) {
  const double cpu0 = f.ServerCpuSeconds();
  const absl::Time t0 = absl::Now();
  StreamResult r = RunStream(f.Channel(3), total, 16, [&](int64_t m) {
    v1::StreamReportsRequest request =
        BatchMessage(generator, m, 1, total, tag);
    request.set_group_acknowledgements(grouped);
    return request;
  });
  Row row = FromStreams(name, {r}, absl::ToDoubleSeconds(absl::Now() - t0));
  if (!Complete(row, r, total)) {
    return absl::InternalError(absl::StrCat(name, ": incomplete"));
  }
  AESIGNAL_RETURN_IF_ERROR(Settle(f));
  row.cpu_seconds = ServerCpuSince(f, cpu0);
  return row;
}

// --- Queries
// -------------------------------------------------------------------

// One incidence cell of one dose group as both systems give it.
struct Cell {
  std::string soc, pt, group, timepoint;
  int64_t n_dosed = 0, cumulative_subjects = 0, cumulative_events = 0,
          interval_subjects = 0, interval_events = 0;
  friend bool operator==(const Cell&, const Cell&) = default;
  std::string DebugString() const {
    return absl::StrFormat(
        "%s / %s / %s / %s: dosed %d, cumulative %d subjects %d events, "
        "interval %d subjects %d events",
        soc, pt, group, timepoint, n_dosed, cumulative_subjects,
        cumulative_events, interval_subjects, interval_events);
  }
};

std::vector<Cell> CellsOf(const v1::GetIncidenceResponse& response) {
  std::vector<Cell> cells;
  if (response.has_columns()) {  // INCIDENCE_VIEW_COLUMNS
    const v1::IncidenceColumns& columns = response.columns();
    const int n = columns.cells_size();
    for (int t = 0; t < response.terms_size(); ++t) {
      const v1::TermIncidence& term = response.terms(t);
      for (int i = 0; i < n; ++i) {
        const v1::IncidenceCell& c = columns.cells(i);
        if (c.scope() != v1::DOSE_GROUP_SCOPE_GROUP) continue;
        const int k = t * n + i;
        cells.push_back(
            {term.soc(), term.pt(), c.dose_group_id(), c.timepoint_id(),
             c.n_dosed(), columns.cumulative_subjects(k),
             columns.cumulative_events(k), columns.interval_subjects(k),
             columns.interval_events(k)});
      }
    }
    return cells;
  }
  for (const v1::TermIncidence& term : response.terms()) {
    for (const v1::IncidenceCell& c : term.cells()) {
      if (c.scope() != v1::DOSE_GROUP_SCOPE_GROUP) continue;
      cells.push_back({term.soc(), term.pt(), c.dose_group_id(),
                       c.timepoint_id(), c.n_dosed(), c.cumulative().subjects(),
                       c.cumulative().events(), c.interval().subjects(),
                       c.interval().events()});
    }
  }
  return cells;
}

// Rows of kCellColumns.
std::vector<Cell> CellsOf(const PGresult* r) {
  std::vector<Cell> cells;
  auto num = [&](int row, int col) {
    return std::atoll(PQgetvalue(r, row, col));
  };
  for (int i = 0; i < PQntuples(r); ++i) {
    cells.push_back({PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                     PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), num(i, 4),
                     num(i, 5), num(i, 6), num(i, 7), num(i, 8)});
  }
  return cells;
}

// The same answer, or which cell differs.
absl::Status SameCells(const std::string& what, const std::vector<Cell>& aes,
                       const std::vector<Cell>& pg) {
  for (size_t i = 0; i < std::min(aes.size(), pg.size()); ++i) {
    if (!(aes[i] == pg[i])) {
      return absl::InternalError(absl::StrCat(
          what, ": cell ", i, " differs: aesignal ", aes[i].DebugString(),
          "; PostgreSQL ", pg[i].DebugString()));
    }
  }
  if (aes.size() != pg.size() || aes.empty()) {
    return absl::InternalError(absl::StrCat(what, ": aesignal gave ",
                                            aes.size(), " cells, PostgreSQL ",
                                            pg.size()));
  }
  return absl::OkStatus();
}

// One incidence question, asked of aesignal and of PG (view and live).
struct QueryCase {
  std::string name;
  v1::GetIncidenceRequest request;
  std::vector<std::string> params;  // the PG statements' $1..
  std::string view_statement, live_statement;
  int times = 0;
};

std::vector<QueryCase> QueryCases(int repeats) {
  v1::GetIncidenceRequest page;
  page.set_parent("trials/BENCH");
  page.set_level(v1::TERM_LEVEL_PT);
  v1::GetIncidenceRequest big = page;
  big.set_page_size(1000);
  v1::GetIncidenceRequest cell = page;
  cell.set_soc("System organ class 7");
  cell.set_pt("Preferred term 7");
  cell.set_dose_group_id("G3");
  cell.set_timepoint_id("D182");
  std::vector<QueryCase> cases = {
      {"100-PT incidence page (default)",
       page,
       {"BENCH", "100"},
       "view_page",
       "live_page",
       repeats},
      {"1,000-PT incidence page",
       big,
       {"BENCH", "1000"},
       "view_page",
       "live_page",
       repeats},
      {"one cell (PT x group x timepoint)",
       cell,
       {"BENCH", cell.soc(), cell.pt(), "G3", "D182"},
       "view_cell",
       "live_cell",
       repeats * 10},
  };
  // The same questions for counts only (INCIDENCE_VIEW_COUNTS): the columns
  // PostgreSQL's view answers, without proportions and intervals; and for
  // the same counts as columns (INCIDENCE_VIEW_COLUMNS).
  for (size_t i = 0, full = cases.size(); i < full; ++i) {
    for (const auto& [view, name] :
         {std::pair{v1::INCIDENCE_VIEW_COUNTS, ", counts view"},
          std::pair{v1::INCIDENCE_VIEW_COLUMNS, ", columns view"}}) {
      QueryCase shaped = cases[i];
      shaped.name += name;
      shaped.request.set_view(view);
      cases.push_back(std::move(shaped));
    }
  }
  return cases;
}

struct QueryTimes {
  Percentiles aes, view, live, floor;
  size_t reply_bytes = 0;  // aesignal's reply, serialized
};

// A SafetyService whose GetIncidence returns a set reply at once: what the
// gRPC round trip alone costs for the reply aesignal gives (the floor under
// aesignal's time on the same transport).
class CannedIncidence final : public v1::SafetyService::Service {
 public:
  void Set(const v1::GetIncidenceResponse& reply) {
    absl::MutexLock lock(&mu_);
    reply_ = reply;
  }
  grpc::Status GetIncidence(grpc::ServerContext*,
                            const v1::GetIncidenceRequest*,
                            v1::GetIncidenceResponse* reply) override {
    absl::MutexLock lock(&mu_);
    *reply = reply_;
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  v1::GetIncidenceResponse reply_ ABSL_GUARDED_BY(mu_);
};

// The floor server on a loopback port, placed as aesignald is (in this
// process, or in a child process of its own: `aesignal-bench floor-child`,
// RunFloorChild), and a channel to it set up as the fixture's channels are.
class FloorServer {
 public:
  absl::Status Start(bool own_process) {
    int port = 0;
    if (own_process) {
      AESIGNAL_ASSIGN_OR_RETURN(child_, ChildProcess::Spawn({"floor-child"}));
      AESIGNAL_ASSIGN_OR_RETURN(port, child_->ReadPort());
    } else {
      server_ = StartLoopbackServer(&service_, &port);
      if (server_ == nullptr || port == 0) {
        return absl::InternalError("could not start the gRPC floor server");
      }
    }
    stub_ = v1::SafetyService::NewStub(
        BenchChannel(absl::StrCat("127.0.0.1:", port), 8));
    return absl::OkStatus();
  }
  ~FloorServer() {
    if (server_ != nullptr) server_->Shutdown();
  }

  // The reply to give from now on.
  absl::Status Set(const v1::GetIncidenceResponse& reply) {
    if (child_ == nullptr) {
      service_.Set(reply);
      return absl::OkStatus();
    }
    const std::string bytes = reply.SerializeAsString();
    AESIGNAL_RETURN_IF_ERROR(
        child_->Send(absl::StrCat("reply ", bytes.size(), "\n", bytes)));
    AESIGNAL_ASSIGN_OR_RETURN(std::string line, child_->ReadLine());
    if (line != "ok") {
      return absl::InternalError(absl::StrCat("the floor process: ", line));
    }
    return absl::OkStatus();
  }
  v1::SafetyService::Stub& stub() { return *stub_; }

 private:
  CannedIncidence service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ChildProcess> child_;
  std::unique_ptr<v1::SafetyService::Stub> stub_;
};

// Times `c` call by call in turn on aesignal, the floor server (replying
// aesignal's answer), the view and the live query, so all see the same
// machine; the order rotates every call, so each follows each of the
// others (a 200 ms live query leaves caches cold) equally often. Then checks
// that aesignal's and PG's answers agree.
absl::StatusOr<QueryTimes> TimeQuery(v1::SafetyService::Stub& stub,
                                     FloorServer& floor, PgConn& pg,
                                     const QueryCase& c) {
  v1::GetIncidenceResponse response, canned;
  {
    grpc::ClientContext context;
    grpc::Status s = stub.GetIncidence(&context, c.request, &response);
    if (!s.ok()) return absl::InternalError(s.error_message());
    AESIGNAL_RETURN_IF_ERROR(floor.Set(response));
  }
  QueryTimes times;
  times.reply_bytes = response.ByteSizeLong();
  PgResult view, live;
  auto grpc_call = [&](v1::SafetyService::Stub& to,
                       v1::GetIncidenceResponse* out) -> absl::Status {
    grpc::ClientContext context;
    grpc::Status s = to.GetIncidence(&context, c.request, out);
    return s.ok() ? absl::OkStatus() : absl::InternalError(s.error_message());
  };
  auto pg_call = [&](const std::string& statement,
                     PgResult* out) -> absl::Status {
    AESIGNAL_ASSIGN_OR_RETURN(*out, pg.Run(statement, c.params));
    return absl::OkStatus();
  };
  struct Source {
    std::function<absl::Status()> call;
    std::vector<double> ms;
  };
  Source sources[] = {
      {[&] { return grpc_call(stub, &response); }, {}},
      {[&] { return grpc_call(floor.stub(), &canned); }, {}},
      {[&] { return pg_call(c.view_statement, &view); }, {}},
      {[&] { return pg_call(c.live_statement, &live); }, {}},
  };
  constexpr int kSources = std::size(sources);
  for (int i = 0; i < c.times; ++i) {
    for (int k = 0; k < kSources; ++k) {
      Source& source = sources[(i + k) % kSources];
      const absl::Time t0 = absl::Now();
      AESIGNAL_RETURN_IF_ERROR(source.call());
      source.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    }
  }
  const std::vector<Cell> aes_cells = CellsOf(response);
  AESIGNAL_RETURN_IF_ERROR(
      SameCells(absl::StrCat(c.name, ", materialized view"), aes_cells,
                CellsOf(view.get())));
  AESIGNAL_RETURN_IF_ERROR(SameCells(absl::StrCat(c.name, ", query time"),
                                     aes_cells, CellsOf(live.get())));
  times.aes = Summarize(std::move(sources[0].ms));
  times.view = Summarize(std::move(sources[2].ms));
  times.live = Summarize(std::move(sources[3].ms));
  times.floor = Summarize(std::move(sources[1].ms));
  return times;
}

// --- Figures
// -------------------------------------------------------------------

// One figure over the rounds: a rate (reports/s) or a latency (p50 / p99).
struct Figure {
  std::string name;
  bool latency = false;
  std::vector<double> aes, pg;          // reports/s, or p50 ms
  std::vector<double> aes_p99, pg_p99;  // latency figures only
  // Rates only: the servers' CPU microseconds per report (when known).
  std::vector<double> aes_cpu_us, pg_cpu_us;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// "lo–hi" (one value if they are equal), in k for rates.
std::string Range(const std::vector<double>& v, bool latency) {
  if (v.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  auto one = [&](double x) {
    if (!latency) return absl::StrFormat("%.1f k", x / 1000);
    return x < 1 ? absl::StrFormat("%.3f", x) : absl::StrFormat("%.1f", x);
  };
  if (one(*lo) == one(*hi)) return one(*lo);
  std::string l = one(*lo), h = one(*hi);
  if (!latency) l = l.substr(0, l.size() - 2);
  return absl::StrCat(l, "–", h);
}

// "lo–hi" microseconds, one decimal.
std::string CpuRange(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (*lo == *hi) return absl::StrFormat("%.1f", *lo);
  return absl::StrFormat("%.1f–%.1f", *lo, *hi);
}

// `s` padded to `width` characters (code points: the ranges hold "–").
std::string Pad(const std::string& s, size_t width) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return s + std::string(width > chars ? width - chars : 0, ' ');
}

// The servers' CPU per report for the ingest rows: less noisy than rates on
// a shared machine, and what a change to the ingest path moves.
void PrintCpuPerReport(const std::vector<Figure>& figures) {
  std::printf(
      "\nserver CPU per report, us (aesignald's process including the "
      "signal evaluation each row caused; PostgreSQL's postmaster and all "
      "its processes):\n");
  for (const Figure& f : figures) {
    if (f.aes_cpu_us.empty()) continue;
    std::printf("  %-70s aesignal %s, PG %s, aesignal / PG %.2f\n",
                f.name.c_str(), CpuRange(f.aes_cpu_us).c_str(),
                CpuRange(f.pg_cpu_us).c_str(),
                Median(f.aes_cpu_us) / Median(f.pg_cpu_us));
  }
}

void PrintFigures(const std::vector<Figure>& figures) {
  constexpr size_t kName = 84, kValue = 27, kRatio = 13;
  std::printf("| %s | %s | %s | %s |\n", Pad("figure", kName).c_str(),
              Pad("aesignal", kValue).c_str(),
              Pad("PostgreSQL 15", kValue).c_str(),
              Pad("aesignal / PG", kRatio).c_str());
  std::printf("|%s|%s|%s|%s|\n", std::string(kName + 2, '-').c_str(),
              std::string(kValue + 2, '-').c_str(),
              std::string(kValue + 2, '-').c_str(),
              std::string(kRatio + 2, '-').c_str());
  for (const Figure& f : figures) {
    std::string aes = Range(f.aes, f.latency), pg = Range(f.pg, f.latency);
    std::string ratio = absl::StrFormat("%.2f", Median(f.aes) / Median(f.pg));
    if (f.latency) {
      aes = absl::StrCat(aes, " / ", Range(f.aes_p99, true));
      pg = absl::StrCat(pg, " / ", Range(f.pg_p99, true));
      ratio = absl::StrFormat("%.2f / %.2f", Median(f.aes) / Median(f.pg),
                              Median(f.aes_p99) / Median(f.pg_p99));
    }
    std::printf("| %s | %s | %s | %s |\n", Pad(f.name, kName).c_str(),
                Pad(aes, kValue).c_str(), Pad(pg, kValue).c_str(),
                Pad(ratio, kRatio).c_str());
  }
  std::printf(
      "ratios: median aesignal / median PostgreSQL over the rounds; for "
      "reports/s higher is better for aesignal, for latencies (p50 / p99 "
      "ms) < 1 means aesignal is faster\n");
  PrintCpuPerReport(figures);
}

// --- The run
// -------------------------------------------------------------------

enum FigureIndex {
  kOneClient,
  kOneClientLatency,
  kManyClients,
  kManyClientsLatency,
  kSingles,
  kSinglesLatency,
  kSinglesGrouped,
  kSinglesGroupedLatency,
  kLoad,
  kLoadLatency,
  kFirstQuery,  // then the query cases vs the view, then vs the live query
};

struct PeerRun {
  PeerOptions options;
  PeerSizes sizes;
  std::string schema_prefix;
  std::vector<Figure> figures;
  std::vector<double> vacuum_s, refresh_s, rss_mib;
  Fixture ingest;  // rows 1-3: one store for every round, as PG's schema
};

Figure Rate(std::string name) {
  Figure f;
  f.name = std::move(name);
  return f;
}
Figure Latency(std::string name) {
  Figure f;
  f.name = std::move(name);
  f.latency = true;
  return f;
}

std::vector<Figure> MakeFigures(const PeerSizes& sizes) {
  const std::string per = "250 reports per message / transaction";
  const std::string same = "  the same: latency p50 / p99 ms";
  std::vector<Figure> figures = {
      Rate(absl::StrCat("1 client, ", per, ": reports/s")),
      Latency(same),
      Rate(absl::StrCat("16 clients, ", per, ": reports/s")),
      Latency(same),
      Rate("1 report per message / transaction, 16 in flight: reports/s"),
      Latency(same),
      Rate("  the same, aesignal's acks grouped (the SDK's way): reports/s"),
      Latency(same),
      Rate(absl::StrFormat(
          "loading the %d-report, %d-PT query trial, 4 clients: reports/s",
          sizes.query_reports, sizes.query_pts)),
      Latency(same),
  };
  for (const char* source : {"materialized view", "computed at query time"}) {
    for (const QueryCase& c : QueryCases(0)) {
      figures.push_back(
          Latency(absl::StrCat(c.name, ", p50 / p99 ms (PG: ", source, ")")));
    }
  }
  // In the aesignal column: a gRPC server that replies aesignal's answer
  // without doing any work.
  for (const QueryCase& c : QueryCases(0)) {
    figures.push_back(Latency(
        absl::StrCat(c.name, ": gRPC floor (same reply, no work) vs PG view")));
  }
  return figures;
}

void AddRows(PeerRun& run, int figure, const Row& aes, const Row& pg) {
  run.figures[figure].aes.push_back(aes.reports_per_s());
  run.figures[figure].pg.push_back(pg.reports_per_s());
  if (aes.cpu_seconds >= 0 && pg.cpu_seconds >= 0) {
    run.figures[figure].aes_cpu_us.push_back(aes.cpu_us_per_report());
    run.figures[figure].pg_cpu_us.push_back(pg.cpu_us_per_report());
  }
  Figure& latency = run.figures[figure + 1];
  latency.aes.push_back(aes.latency.p50_ms);
  latency.aes_p99.push_back(aes.latency.p99_ms);
  latency.pg.push_back(pg.latency.p50_ms);
  latency.pg_p99.push_back(pg.latency.p99_ms);
  PrintRows({aes, pg});
}

// Rows 1-3 of one round, each aesignal then PG.
absl::Status IngestRows(PeerRun& run, int round) {
  const ReportGenerator generator({.subjects = kIngestSubjects,
                                   .pts = kIngestPts,
                                   .last_day = run.ingest.last_day});
  const std::string schema = absl::StrCat(run.schema_prefix, "_ingest");
  const std::string& pg = run.options.conninfo;
  const int64_t batched = run.sizes.batched;
  for (int clients : {1, 16}) {
    const std::string tag = absl::StrCat("r", round, "-c", clients);
    const std::string name = absl::StrCat(clients, " x ", kBatch, "/msg");
    AESIGNAL_ASSIGN_OR_RETURN(
        Row aes, AesIngest(absl::StrCat("aesignal: ", name), run.ingest,
                           generator, batched, clients, tag));
    AESIGNAL_ASSIGN_OR_RETURN(
        Row pg_row, PgIngest(absl::StrCat("PostgreSQL: ", name), pg, schema,
                             generator, batched, clients, kBatch, tag));
    AddRows(run, clients == 1 ? kOneClient : kManyClients, aes, pg_row);
  }
  const std::string tag = absl::StrCat("r", round, "-1");
  AESIGNAL_ASSIGN_OR_RETURN(
      Row aes, AesSingles("aesignal: 1/msg, window 16", run.ingest, generator,
                          run.sizes.unbatched, tag, /*grouped=*/false));
  AESIGNAL_ASSIGN_OR_RETURN(
      Row pg_row, PgIngest("PostgreSQL: 1/txn, 16 connections", pg, schema,
                           generator, run.sizes.unbatched, 16, 1, tag));
  AddRows(run, kSingles, aes, pg_row);
  // The same reports again (new tags), acknowledged in groups; PG's row is
  // the one above, measured once.
  AESIGNAL_ASSIGN_OR_RETURN(
      Row grouped, AesSingles("aesignal: 1/msg, window 16, grouped acks",
                              run.ingest, generator, run.sizes.unbatched,
                              absl::StrCat(tag, "g"), /*grouped=*/true));
  AddRows(run, kSinglesGrouped, grouped, pg_row);
  return absl::OkStatus();
}

// After the load, as a DBA would (and autovacuum eventually does): the
// visibility map for index-only scans and fresh statistics; then the view.
absl::Status PrepareQueries(PeerRun& run, PgConn& conn) {
  absl::Time t0 = absl::Now();
  AESIGNAL_RETURN_IF_ERROR(conn.Exec("VACUUM ANALYZE"));
  run.vacuum_s.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  for (const std::string& sql : ViewDdl()) {
    AESIGNAL_RETURN_IF_ERROR(conn.Exec(sql));
  }
  t0 = absl::Now();
  AESIGNAL_RETURN_IF_ERROR(conn.Exec("REFRESH MATERIALIZED VIEW incidence"));
  run.refresh_s.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  AESIGNAL_RETURN_IF_ERROR(conn.Exec("ANALYZE incidence"));
  // A reporting connection's settings: the query-time page sorts and hashes
  // tens of thousands of rows, which spill to disk at the 4 MB default; and
  // no JIT, whose compile time (tens of ms) exceeds these queries' work.
  AESIGNAL_RETURN_IF_ERROR(conn.Exec("SET work_mem = '64MB'"));
  AESIGNAL_RETURN_IF_ERROR(conn.Exec("SET jit = off"));
  AESIGNAL_RETURN_IF_ERROR(conn.Prepare("live_page", LivePageSql()));
  AESIGNAL_RETURN_IF_ERROR(conn.Prepare("live_cell", kLiveCellSql));
  AESIGNAL_RETURN_IF_ERROR(conn.Prepare("view_page", ViewPageSql()));
  return conn.Prepare("view_cell", ViewCellSql());
}

// Rows 4 and 5 of one round: a fresh query trial in both systems.
absl::Status QueryRows(PeerRun& run, int round) {
  const PeerSizes& sizes = run.sizes;
  Fixture f;
  AESIGNAL_RETURN_IF_ERROR(
      f.Start(kQueryGroups, kQueryTimepoints, sizes.query_subjects));
  const std::string schema = absl::StrCat(run.schema_prefix, "_q", round);
  AESIGNAL_RETURN_IF_ERROR(CreatePgTrial(run.options.conninfo, schema,
                                         kQueryGroups, kQueryTimepoints,
                                         sizes.query_subjects));
  const ReportGenerator generator({.subjects = sizes.query_subjects,
                                   .pts = sizes.query_pts,
                                   .last_day = f.last_day});
  const std::string tag = absl::StrCat("q", round);
  AESIGNAL_ASSIGN_OR_RETURN(
      Row aes, AesIngest("aesignal: query trial, 4 x 250", f, generator,
                         sizes.query_reports, 4, tag));
  run.rss_mib.push_back(f.ServerRssKiB() / 1024.0);
  AESIGNAL_ASSIGN_OR_RETURN(
      Row pg_row,
      PgIngest("PostgreSQL: query trial, 4 x 250", run.options.conninfo, schema,
               generator, sizes.query_reports, 4, kBatch, tag));
  AddRows(run, kLoad, aes, pg_row);
  AESIGNAL_ASSIGN_OR_RETURN(auto conn,
                            PgConn::Connect(run.options.conninfo, schema));
  AESIGNAL_RETURN_IF_ERROR(PrepareQueries(run, *conn));
  auto stub = v1::SafetyService::NewStub(f.Channel(7));
  FloorServer floor;
  AESIGNAL_RETURN_IF_ERROR(floor.Start(Fixture::own_process));
  const std::vector<QueryCase> cases = QueryCases(sizes.repeats);
  for (size_t i = 0; i < cases.size(); ++i) {
    AESIGNAL_ASSIGN_OR_RETURN(QueryTimes t,
                              TimeQuery(*stub, floor, *conn, cases[i]));
    for (auto [figure, ours, pg] :
         {std::tuple{kFirstQuery + i, t.aes, t.view},
          std::tuple{kFirstQuery + cases.size() + i, t.aes, t.live},
          std::tuple{kFirstQuery + 2 * cases.size() + i, t.floor, t.view}}) {
      Figure& fig = run.figures[figure];
      fig.aes.push_back(ours.p50_ms);
      fig.aes_p99.push_back(ours.p99_ms);
      fig.pg.push_back(pg.p50_ms);
      fig.pg_p99.push_back(pg.p99_ms);
    }
    std::printf(
        "%-36s aesignal %.2f / %.2f ms, gRPC floor %.2f / %.2f ms, PG view "
        "%.2f / %.2f ms, PG query time %.2f / %.2f ms (p50 / p99; answers "
        "equal; aesignal's reply %.1f kB)\n",
        cases[i].name.c_str(), t.aes.p50_ms, t.aes.p99_ms, t.floor.p50_ms,
        t.floor.p99_ms, t.view.p50_ms, t.view.p99_ms, t.live.p50_ms,
        t.live.p99_ms, static_cast<double>(t.reply_bytes) / 1000);
  }
  return conn->Exec(absl::StrCat("DROP SCHEMA ", schema, " CASCADE"));
}

// The server and the durability it runs with (the defaults: the same job).
absl::Status PrintSettings(const std::string& conninfo) {
  AESIGNAL_ASSIGN_OR_RETURN(auto conn, PgConn::Connect(conninfo, ""));
  std::vector<std::string> values;
  for (const char* name : {"server_version", "fsync", "synchronous_commit",
                           "wal_sync_method", "shared_buffers"}) {
    AESIGNAL_ASSIGN_OR_RETURN(std::string value, conn->Show(name));
    values.push_back(absl::StrCat(name, " = ", value));
  }
  std::printf("PostgreSQL: %s\n", absl::StrJoin(values, ", ").c_str());
  return absl::OkStatus();
}

absl::Status Run(PeerRun& run) {
  AESIGNAL_RETURN_IF_ERROR(
      run.ingest.Start(kIngestGroups, kIngestTimepoints, kIngestSubjects));
  AESIGNAL_RETURN_IF_ERROR(CreatePgTrial(
      run.options.conninfo, absl::StrCat(run.schema_prefix, "_ingest"),
      kIngestGroups, kIngestTimepoints, kIngestSubjects));
  AESIGNAL_RETURN_IF_ERROR(PrintSettings(run.options.conninfo));
  for (int round = 1; round <= run.options.rounds; ++round) {
    std::printf("--- round %d of %d\n", round, run.options.rounds);
    std::fflush(stdout);
    AESIGNAL_RETURN_IF_ERROR(IngestRows(run, round));
    AESIGNAL_RETURN_IF_ERROR(QueryRows(run, round));
    std::fflush(stdout);
  }
  AESIGNAL_ASSIGN_OR_RETURN(auto conn,
                            PgConn::Connect(run.options.conninfo, ""));
  return conn->Exec(
      absl::StrCat("DROP SCHEMA ", run.schema_prefix, "_ingest CASCADE"));
}

// The CPUs this process may run on (run.sh --cpus pins the bench, the
// servers it starts and PostgreSQL's cluster to a subset), or -1.
int UsableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
  return CPU_COUNT(&set);
}

}  // namespace

int RunPeer(const PeerOptions& options) {
  Fixture::own_process = !options.in_process;
  std::printf("CPUs this run may use: %d of %u\n", UsableCpus(),
              std::thread::hardware_concurrency());
  std::printf(
      "aesignald and the gRPC floor server: %s\n",
      options.in_process
          ? "in the bench's process (--peer_in_process)"
          : "each in a child process of its own, as PostgreSQL's server is");
  PeerRun run;
  run.options = options;
  run.sizes = SizesFor(options);
  run.schema_prefix = absl::StrCat("aesignal_peer_", getpid());
  run.figures = MakeFigures(run.sizes);
  if (absl::Status s = Run(run); !s.ok()) {
    std::cerr << "aesignal-bench peer FAILED: " << s << "\n";
    return 1;
  }
  std::printf("\n");
  PrintFigures(run.figures);
  std::printf(
      "PostgreSQL: VACUUM ANALYZE after each query-trial load %s s; REFRESH "
      "MATERIALIZED VIEW %s s\n",
      Range(run.vacuum_s, true).c_str(), Range(run.refresh_s, true).c_str());
  std::printf("%s RSS after loading the query trial: %s MiB\n",
              Fixture::own_process
                  ? "aesignald process"
                  : "bench process (client + in-process aesignald)",
              Range(run.rss_mib, true).c_str());
  std::printf(
      "every round: PostgreSQL's pages and cell equal aesignal's "
      "GetIncidence numbers\n");
  return 0;
}

int RunFloorChild() {
  CannedIncidence service;
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartLoopbackServer(&service, &port);
  if (server == nullptr || port == 0) {
    std::cerr << "floor-child: could not start the gRPC floor server\n";
    return 1;
  }
  AnswerLines(port, [&](const std::string& line) -> std::string {
    size_t size = 0;
    if (line.rfind("reply ", 0) != 0 ||
        !absl::SimpleAtoi(line.substr(6), &size)) {
      return absl::StrCat("unknown command '", line, "'");
    }
    std::string bytes(size, '\0');
    v1::GetIncidenceResponse reply;
    if (!std::cin.read(bytes.data(), size) || !reply.ParseFromString(bytes)) {
      return "unreadable reply";
    }
    service.Set(reply);
    return "ok";
  });
  server->Shutdown();
  return 0;
}

}  // namespace aesignal::bench
