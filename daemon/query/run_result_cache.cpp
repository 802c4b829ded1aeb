#include "daemon/query/run_result_cache.hpp"

namespace ca::query {

namespace v1 = cargo_analysis::v1;

template <class T>
std::shared_ptr<const T> RunResultCache::get(std::shared_ptr<const T> Entry::*field,
                                             const std::string& run_id,
                                             const std::string& version) {
  std::lock_guard lock(m_mutex);
  auto it = m_by_run.find(run_id);
  if (it == m_by_run.end() || it->second->version != version || !(*it->second.*field)) {
    ++m_misses;
    return nullptr;
  }
  m_lru.splice(m_lru.begin(), m_lru, it->second);
  ++m_hits;
  return *it->second.*field;
}

template <class T>
void RunResultCache::set(std::shared_ptr<const T> Entry::*field,
                         const std::string& run_id,
                         const std::string& version,
                         std::shared_ptr<const T> value) {
  if (m_capacity == 0) {
    return;
  }
  // The entry dropped by this put is destroyed after the lock is released: freeing a large
  // result should not hold up other requests' lookups.
  Lru dropped;
  {
    std::lock_guard lock(m_mutex);
    auto it = m_by_run.find(run_id);
    if (it == m_by_run.end()) {
      m_lru.push_front(Entry{run_id, version, nullptr, nullptr, nullptr, nullptr});
      m_by_run.emplace(run_id, m_lru.begin());
      if (m_lru.size() > m_capacity) {
        m_by_run.erase(m_lru.back().run_id);
        dropped.splice(dropped.begin(), m_lru, std::prev(m_lru.end()));
      }
    } else {
      m_lru.splice(m_lru.begin(), m_lru, it->second);
      Entry& entry = m_lru.front();
      if (entry.version != version) {
        // The run's data changed: what was cached for it describes an older state. (A slower
        // request can put an older version after a newer one; the next lookup with the newer
        // version then misses and recomputes, which is slow but never wrong.)
        dropped.push_front(std::move(entry));
        entry = Entry{run_id, version, nullptr, nullptr, nullptr, nullptr};
      }
    }
    m_lru.front().*field = std::move(value);
  }
}

std::shared_ptr<const v1::RunRebuilds> RunResultCache::rebuilds(const std::string& run_id,
                                                                const std::string& version) {
  return get(&Entry::rebuilds, run_id, version);
}

std::shared_ptr<const v1::RunTimings> RunResultCache::timings(const std::string& run_id,
                                                              const std::string& version) {
  return get(&Entry::timings, run_id, version);
}

std::shared_ptr<const v1::RunRebuilds> RunResultCache::rebuild_roots(const std::string& run_id,
                                                                     const std::string& version) {
  return get(&Entry::rebuild_roots, run_id, version);
}

std::shared_ptr<const std::string> RunResultCache::timings_bytes(const std::string& run_id,
                                                                 const std::string& version) {
  return get(&Entry::timings_bytes, run_id, version);
}

void RunResultCache::put_timings_bytes(const std::string& run_id,
                                       const std::string& version,
                                       std::shared_ptr<const std::string> bytes) {
  set(&Entry::timings_bytes, run_id, version, std::move(bytes));
}

void RunResultCache::put_rebuild_roots(const std::string& run_id,
                                       const std::string& version,
                                       std::shared_ptr<const v1::RunRebuilds> roots) {
  set(&Entry::rebuild_roots, run_id, version, std::move(roots));
}

void RunResultCache::put(const std::string& run_id,
                         const std::string& version,
                         std::shared_ptr<const v1::RunRebuilds> rebuilds) {
  set(&Entry::rebuilds, run_id, version, std::move(rebuilds));
}

void RunResultCache::put(const std::string& run_id,
                         const std::string& version,
                         std::shared_ptr<const v1::RunTimings> timings) {
  set(&Entry::timings, run_id, version, std::move(timings));
}

RunResultCache::Stats RunResultCache::stats() const {
  std::lock_guard lock(m_mutex);
  return Stats{m_hits, m_misses, m_lru.size()};
}

} // namespace ca::query
