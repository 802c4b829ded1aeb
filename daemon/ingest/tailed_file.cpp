#include "daemon/ingest/tailed_file.hpp"

#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

namespace ca::ingest {

TailedFile::TailedFile(std::filesystem::path path) : m_path(std::move(path)) {
  std::string stem = m_path.stem().string();
  if (parse_run_id(stem)) {
    m_name_run_id = std::move(stem);
  }
}

void TailedFile::restore(uint64_t stored_inode,
                         uint64_t stored_offset,
                         std::string stored_run_id,
                         std::string_view run_state) {
  inode = stored_inode;
  offset = stored_offset;
  run_id = std::move(stored_run_id);
  if (offset != 0) {
    framer.reset(); // the lines before the offset are counted when it is first read
  }
  const bool collected = !run_id.empty() && run_state.empty();
  if (collected || is_ended(run_state)) {
    m_state = TailState::ended;
  } else if (!run_state.empty()) {
    m_state = TailState::announced;
  } else {
    m_state = TailState::fresh;
  }
}

void TailedFile::skip_as_too_old() {
  m_state = TailState::abandoned;
}

void TailedFile::announced_by_name() {
  if (m_state == TailState::fresh && !m_name_run_id.empty()) {
    m_state = TailState::announced;
  }
}

void TailedFile::replaced() {
  if (m_state == TailState::forgotten) {
    return;
  }
  m_state = TailState::fresh;
  offset = 0;
  framer.emplace();
  run_id.clear();
  head.clear();
  ingestor.reset();
}

void TailedFile::committed(
    uint64_t new_offset, const LineFramer& framed, size_t events, bool facts, bool ends_run) {
  offset = new_offset;
  framer = framed;
  framer->drop_partial(); // the line after the offset is read again, whole, from the file
  if (!readable()) {
    return; // the batch that abandoned the file: its offset moves, its state stays
  }
  if (ends_run) {
    m_state = TailState::ended;
  } else if (events > 0 || (facts && m_state == TailState::fresh)) {
    m_state = TailState::announced;
  }
}

void TailedFile::abandon() {
  if (m_state != TailState::forgotten) {
    m_state = TailState::abandoned;
  }
}

void TailedFile::mark_rewritten() {
  if (m_state != TailState::forgotten) {
    m_state = TailState::rewritten;
  }
}

void TailedFile::forget() {
  m_state = TailState::forgotten;
}

} // namespace ca::ingest
