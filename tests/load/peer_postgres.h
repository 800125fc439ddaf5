// `aesignal-bench peer`: PostgreSQL 15 doing aesignal's job side by side.
//
// The same generated reports (tests/load/generator.h) are stored durably by
// aesignald (in a child process of the bench unless in_process) and by
// PostgreSQL through libpq, row by row
// interleaved (aesignal, PG, aesignal, PG, ...), for --rounds rounds with
// fresh report ids each round:
//   1. 1 client, 250 reports per message / transaction
//   2. the same with 16 clients
//   3. 1 report per message / transaction, 16 in flight
//   4. loading the 200,000-report, 1,000-PT query trial with 4 clients
//   5. incidence queries on that trial: the 100-PT page, the 1,000-PT page
//      and one cell; PG both from a materialized view and at query time.
// PG's job is the same job with the same durability (default fsync and
// synchronous_commit): every version kept, the latest maintained, duplicates
// ignored, the serialized report stored; PG's 100-PT page is checked against
// aesignal's GetIncidence numbers every round (a mismatch fails the run).
// The schema and statements are in peer_postgres.cc and docs/benchmarks.md.
#ifndef AESIGNAL_TESTS_LOAD_PEER_POSTGRES_H_
#define AESIGNAL_TESTS_LOAD_PEER_POSTGRES_H_

#include <string>

namespace aesignal::bench {

struct PeerOptions {
  // libpq conninfo of a database the bench may create schemas in.
  std::string conninfo;
  int rounds = 2;
  // Tiny sizes, seconds.
  bool smoke = false;
  // Timed calls of each page query (10x for one cell).
  int repeats = 50;
  // aesignald and the gRPC floor server inside the bench's process (the
  // arrangement of the first seven rounds of issue 20) instead of each in a
  // child process of its own, as PostgreSQL's server runs beside libpq.
  bool in_process = false;
};

// Runs the comparison and prints its table; 0 on success, non-zero on any
// failure or any mismatch between the two answers.
int RunPeer(const PeerOptions& options);

// `aesignal-bench floor-child`: the gRPC floor server in a process of its
// own. Prints "port N"; then takes "reply <n>\n" followed by an n-byte
// serialized GetIncidenceResponse on stdin, answers "ok" and serves that
// reply from then on, until its stdin ends. Returns the exit code.
int RunFloorChild();

}  // namespace aesignal::bench

#endif  // AESIGNAL_TESTS_LOAD_PEER_POSTGRES_H_
