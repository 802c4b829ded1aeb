// The writer's commit observer: tells every part that follows commits about one.
//
// A commit is activity (the idle timeout counts from the last one). A run that ended gets its
// reports computed, its resource samples closed and the team export woken (the `run_ended`
// observers, in the order added). Last, the live hub takes the batch itself (it may move from it).
// Runs on the writer thread: every observer must be quick and must not block.
#pragma once

#include "daemon/runtime/activity.hpp"
#include "daemon/store/batch.hpp"

#include <functional>
#include <string>
#include <vector>

namespace ca::app {

class CommitFanOut {
public:
  using RunEnded = std::function<void(const std::string& run_id)>;
  using TakeBatch = std::function<void(store::Batch&& batch, const store::BatchOutcome& outcome)>;

  CommitFanOut(runtime::ActivityMonitor& activity, TakeBatch take_batch);

  // Adds an observer of ended runs. Call before the first commit.
  void on_run_ended(RunEnded observer) { m_run_ended.push_back(std::move(observer)); }

  // The writer's commit observer (store::Writer::set_commit_observer).
  void operator()(store::Batch&& batch, const store::BatchOutcome& outcome);

private:
  runtime::ActivityMonitor& m_activity;
  TakeBatch m_take_batch;
  std::vector<RunEnded> m_run_ended;
};

} // namespace ca::app
