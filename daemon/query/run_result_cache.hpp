// A bounded, thread-safe LRU cache of per-run report results (a run's rebuilds and timings), so
// that asking again about a run whose stored data has not changed costs a lookup, not decoding
// and analysing its events again.
//
// An entry holds the results of one state of the run, named by a `version` string that changes
// whenever the run's stored data does (QueryEngine uses the run's RunSummary: its event count
// grows with every stored line, its state changes when the run ends). A lookup with another
// version misses, and the next put for the run replaces the entry, so a run that gets more
// events is never answered from what it had before, and the writer needs no invalidation hook.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ca::query {

class RunResultCache {
public:
  // At most `capacity` runs, the least recently used one dropped first; 0 caches nothing.
  explicit RunResultCache(std::size_t capacity) : m_capacity(capacity) {}

  // The run's result for `version`, or null if none is cached for it.
  std::shared_ptr<const cargo_analysis::v1::RunRebuilds> rebuilds(const std::string& run_id,
                                                                  const std::string& version);
  std::shared_ptr<const cargo_analysis::v1::RunTimings> timings(const std::string& run_id,
                                                                const std::string& version);
  // The timings serialized without their run summary (see QueryEngine::get_timings_serialized()).
  std::shared_ptr<const std::string> timings_bytes(const std::string& run_id,
                                                   const std::string& version);
  // The rebuilds cut to their roots (see QueryEngine::run_rebuild_roots()).
  std::shared_ptr<const cargo_analysis::v1::RunRebuilds> rebuild_roots(const std::string& run_id,
                                                                       const std::string& version);

  // Caches a result of the run at `version` (the run's results of another version are dropped).
  void put(const std::string& run_id,
           const std::string& version,
           std::shared_ptr<const cargo_analysis::v1::RunRebuilds> rebuilds);
  void put(const std::string& run_id,
           const std::string& version,
           std::shared_ptr<const cargo_analysis::v1::RunTimings> timings);
  void put_timings_bytes(const std::string& run_id,
                         const std::string& version,
                         std::shared_ptr<const std::string> bytes);
  void put_rebuild_roots(const std::string& run_id,
                         const std::string& version,
                         std::shared_ptr<const cargo_analysis::v1::RunRebuilds> roots);

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0; // lookups that found nothing for the run, or another version
    std::size_t runs = 0;
  };
  Stats stats() const;
  std::size_t capacity() const { return m_capacity; }

private:
  struct Entry {
    std::string run_id;
    std::string version;
    std::shared_ptr<const cargo_analysis::v1::RunRebuilds> rebuilds;
    std::shared_ptr<const cargo_analysis::v1::RunTimings> timings;
    std::shared_ptr<const cargo_analysis::v1::RunRebuilds> rebuild_roots;
    std::shared_ptr<const std::string> timings_bytes;
  };
  using Lru = std::list<Entry>; // most recently used first

  template <class T>
  std::shared_ptr<const T> get(std::shared_ptr<const T> Entry::*field,
                               const std::string& run_id,
                               const std::string& version);
  template <class T>
  void set(std::shared_ptr<const T> Entry::*field,
           const std::string& run_id,
           const std::string& version,
           std::shared_ptr<const T> value);

  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  Lru m_lru;
  std::unordered_map<std::string, Lru::iterator> m_by_run;
  uint64_t m_hits = 0;
  uint64_t m_misses = 0;
};

} // namespace ca::query
