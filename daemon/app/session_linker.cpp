#include "daemon/app/session_linker.hpp"

#include "shared/run_id.hpp"

namespace ca::app {

SessionLinker::SessionLinker(correlate::Correlator& correlator, Announce announce, Submit submit)
    : m_correlator(correlator), m_announce(std::move(announce)), m_submit(std::move(submit)) {}

void SessionLinker::on_new_file(const std::filesystem::path& path, uint64_t /*inode*/) {
  auto run_id = path.stem().string();
  if (!parse_run_id(run_id)) {
    return; // not named like a cargo log: nothing to link
  }
  m_announce(run_id);
  store::Batch batch;
  batch.source = "correlator";
  batch.facts.push_back(m_correlator.on_new_log(path, run_id));
  m_submit(std::move(batch));
}

} // namespace ca::app
