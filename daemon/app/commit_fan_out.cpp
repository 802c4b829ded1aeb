#include "daemon/app/commit_fan_out.hpp"

namespace ca::app {

CommitFanOut::CommitFanOut(runtime::ActivityMonitor& activity, TakeBatch take_batch)
    : m_activity(activity), m_take_batch(std::move(take_batch)) {}

void CommitFanOut::operator()(store::Batch&& batch, const store::BatchOutcome& outcome) {
  m_activity.touch();
  for (const store::RunFacts& f : batch.facts) {
    if (f.ended) {
      for (const RunEnded& observer : m_run_ended) {
        observer(f.run_id);
      }
    }
  }
  if (m_take_batch) {
    m_take_batch(std::move(batch), outcome);
  }
}

} // namespace ca::app
