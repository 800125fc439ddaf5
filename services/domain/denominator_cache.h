// Each trial's current denominators (subjects dosed per group, at risk per
// group and window), kept between the writes that change them. Reading them
// costs a scan of every subject and of every subject's any-AE state (about
// 50 ms at 10,000 subjects), which incidence queries and the signal
// evaluator would otherwise each pay.
//
// A seqlock per trial. A writer that may change a trial's denominators
// (enrolment, a report batch, a design amendment) calls BeginWrite before it
// queues its commit and EndWrite once the commit is done (visible or
// failed). A reader takes a Probe *before* its snapshot and passes both to
// At: the cached value is used only if no such write was in flight across
// the snapshot; otherwise At reads them from the snapshot, and keeps them
// for later readers if the snapshot was stable.
//
// Thread-safe.
#ifndef AESIGNAL_SERVICES_DOMAIN_DENOMINATOR_CACHE_H_
#define AESIGNAL_SERVICES_DOMAIN_DENOMINATOR_CACHE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aesignal/v1/trial.pb.h"
#include "services/domain/common.h"
#include "storage/store.h"

namespace aesignal::domain {

class DenominatorCache {
 public:
  // What a reader sees of one trial's entry before it takes its snapshot.
  struct Probe {
    uint64_t generation = 0;
    bool stable = true;  // no write that changes them was in flight
    std::shared_ptr<const internal::Denominators> cached;  // of `generation`
  };
  // Probes of several trials taken together, for a reader whose one
  // snapshot serves them all (the evaluator's round).
  class Probes {
   public:
    // A trial without an entry had no write since start: generation 0.
    Probe Of(const std::string& trial_id) const;

   private:
    friend class DenominatorCache;
    std::map<std::string, Probe, std::less<>> probes_;
  };

  void BeginWrite(const std::string& trial_id);
  void EndWrite(const std::string& trial_id);

  Probe Take(const std::string& trial_id);
  Probes TakeAll();

  // The denominators of `trial` at `snapshot`, which was taken after
  // `probe`: the cached ones if no write that changes them was in flight
  // across it, else read from the snapshot (and then kept).
  absl::StatusOr<internal::Denominators> At(const storage::ReadView& snapshot,
                                            const v1::Trial& trial,
                                            const Probe& probe);

 private:
  struct Entry {
    uint64_t generation = 0;  // bumped by BeginWrite and EndWrite
    int in_flight = 0;
    uint64_t cached_generation = 0;
    std::shared_ptr<const internal::Denominators> cached;
  };
  static Probe ProbeOf(const Entry& entry);

  absl::Mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aesignal::domain

#endif  // AESIGNAL_SERVICES_DOMAIN_DENOMINATOR_CACHE_H_
