// Links the run of a log file that just appeared into its session, while cargo still runs (the
// log watcher's on_new_file): the correlator finds the writer's process and its ancestry now,
// before it exits, and the facts it derives go to the store like any batch.
#pragma once

#include "daemon/correlate/correlator.hpp"
#include "daemon/store/batch.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace ca::app {

class SessionLinker {
public:
  using Announce = std::function<void(const std::string& run_id)>;
  using Submit = std::function<void(store::Batch batch)>;

  // `announce` learns of every run before its facts are submitted (the resource sampler starts
  // sampling then); `submit` hands the facts to the store.
  SessionLinker(correlate::Correlator& correlator, Announce announce, Submit submit);

  // A log file appeared. Files not named like cargo's logs (<run id>.jsonl) are ignored.
  void on_new_file(const std::filesystem::path& path, uint64_t inode);

private:
  correlate::Correlator& m_correlator;
  Announce m_announce;
  Submit m_submit;
};

} // namespace ca::app
