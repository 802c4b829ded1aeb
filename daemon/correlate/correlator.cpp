#include "daemon/correlate/correlator.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ca::correlate {

namespace {

// Parent chains are short (cargo -> build script -> cargo ...); this only bounds bad data.
constexpr int k_max_depth = 64;
// Forget dead writers every this many lookups (a map of live processes stays small).
constexpr uint64_t k_gc_every = 64;

bool is_hex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

} // namespace

std::string trace_id_of(const std::string& tp) {
  // version "-" trace-id "-" parent-id "-" flags
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-') {
    return {};
  }
  std::string id = tp.substr(3, 32);
  if (!is_hex(id) || id == std::string(32, '0')) {
    return {};
  }
  return id;
}

Correlator::Ancestor Correlator::find_ancestor(pid_t ppid) {
  Ancestor out;
  pid_t p = ppid;
  for (int depth = 0; depth < k_max_depth && p > 1; ++depth) {
    auto info = m_proc.info(p);
    if (!info) {
      break;
    }
    if (auto it = m_writers.find(info->id); it != m_writers.end()) {
      out.run = it->second;
      return out;
    }
    if (auto it = m_exec.find(info->id); it != m_exec.end()) {
      out.exec_session = it->second;
      return out;
    }
    p = info->ppid;
  }
  return out;
}

void Correlator::forget_dead() {
  for (auto* map : {&m_writers}) {
    for (auto it = map->begin(); it != map->end();) {
      auto info = m_proc.info(it->first.pid);
      if (!info || info->id.start_ticks != it->first.start_ticks) {
        it = map->erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto it = m_exec.begin(); it != m_exec.end();) {
    auto info = m_proc.info(it->first.pid);
    if (!info || info->id.start_ticks != it->first.start_ticks) {
      it = m_exec.erase(it);
    } else {
      ++it;
    }
  }
}

store::RunFacts
Correlator::on_new_log(const std::filesystem::path& path, const std::string& run_id, bool live) {
  auto t0 = std::chrono::steady_clock::now();
  store::RunFacts facts;
  facts.run_id = run_id;
  std::lock_guard lock(m_mutex);
  if (++m_calls % k_gc_every == 0) {
    forget_dead();
  }
  ++m_stats.runs_seen;
  auto finish = [&] {
    m_stats.lookup_us_total +=
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    return facts;
  };

  std::optional<ProcessInfo> writer;
  for (pid_t pid : m_proc.holders_of(path)) {
    writer = m_proc.info(pid);
    if (writer) {
      break;
    }
  }
  if (!writer) {
    if (live) {
      ++m_stats.lost;
      facts.link = "lost";
      spdlog::info("correlate: run {}: its cargo exited before its pid could be read; "
                   "nesting unknown",
                   run_id);
    }
    return finish();
  }
  facts.pid = writer->id.pid;
  facts.ppid = writer->ppid;
  m_runs_by_pid[writer->id.pid].push_back(run_id);

  std::string env_session;
  if (auto env = m_proc.environ(writer->id.pid, {k_session_env, k_traceparent_env})) {
    if (auto it = env->find(k_session_env); it != env->end() && !it->second.empty()) {
      env_session = it->second;
    } else if (auto tp = env->find(k_traceparent_env); tp != env->end()) {
      if (auto trace = trace_id_of(tp->second); !trace.empty()) {
        env_session = "trace-" + trace;
      }
    }
  }

  Ancestor anc = find_ancestor(writer->ppid);
  std::string session;
  if (anc.run) {
    facts.parent_run_id = anc.run->run_id;
    session = anc.run->session_id;
    facts.link = "ancestry";
    ++m_stats.linked_by_ancestry;
  } else if (anc.exec_session) {
    session = *anc.exec_session;
    facts.link = "explicit";
    ++m_stats.linked_explicitly;
  } else if (!env_session.empty()) {
    session = env_session;
    facts.link = "environment";
    ++m_stats.linked_by_environment;
  } else {
    session = run_id;
    facts.link = "none";
    ++m_stats.top_level;
  }
  facts.session_id = session;
  m_writers[writer->id] = KnownRun{run_id, session};
  spdlog::debug("correlate: run {} written by pid {} (ppid {}): session {}, parent {}, link {}",
                run_id, writer->id.pid, writer->ppid, session, facts.parent_run_id.value_or("-"),
                *facts.link);
  return finish();
}

void Correlator::on_exec_started(pid_t pid, const std::string& session_id) {
  std::lock_guard lock(m_mutex);
  if (auto info = m_proc.info(pid)) {
    m_exec[info->id] = session_id;
  }
}

std::vector<store::RunFacts> Correlator::on_exec_finished(pid_t pid, int exit_code) {
  std::lock_guard lock(m_mutex);
  std::vector<store::RunFacts> out;
  auto it = m_runs_by_pid.find(pid);
  if (it == m_runs_by_pid.end()) {
    return out;
  }
  for (const auto& run : it->second) {
    store::RunFacts f;
    f.run_id = run;
    f.exit_code = exit_code;
    out.push_back(std::move(f));
  }
  m_runs_by_pid.erase(it);
  return out;
}

CorrelatorStats Correlator::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

} // namespace ca::correlate
