#include "daemon/live/live_hub.hpp"

#include "daemon/query/run_analysis.hpp"
#include "daemon/query/thrash.hpp"
#include "shared/package_id.hpp"
#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace ca::live {

namespace v1 = cargo_analysis::v1;

namespace {

// How often the hub's thread looks for drop reports owed to quiet subscribers and idle runs.
constexpr std::chrono::milliseconds k_tick{100};

bool inside(const std::string& dir, const std::string& root) {
  return dir.size() > root.size() && dir.compare(0, root.size(), root) == 0 &&
         (dir[root.size()] == '/' || root.back() == '/');
}

v1::LiveUnit make_unit(const v1::UnitRegistered& u) {
  v1::LiveUnit unit;
  PackageName pkg = parse_package_id(u.package_id());
  unit.set_index(u.index());
  unit.set_name(std::move(pkg.name));
  unit.set_version(std::move(pkg.version));
  unit.set_description(query::unit_description(u));
  unit.set_mode(u.mode());
  return unit;
}

} // namespace

bool workspace_matches(const std::string& workspace, const std::string& run_root) {
  if (workspace.empty()) {
    return true;
  }
  if (run_root.empty()) {
    return false; // not known yet (no build-started seen)
  }
  return workspace == run_root || inside(workspace, run_root) || inside(run_root, workspace);
}

LiveHub::LiveHub(store::ReaderPool& readers) : m_readers(readers) {
  m_thread = std::thread([this] { thread_main(); });
}

LiveHub::~LiveHub() {
  stop();
}

void LiveHub::on_commit(store::Batch&& batch, const store::BatchOutcome& outcome) {
  Committed c;
  c.events.reserve(outcome.inserted);
  for (size_t i = 0; i < batch.events.size() && i < outcome.event_inserted.size(); ++i) {
    if (outcome.event_inserted[i]) {
      c.events.push_back(std::move(batch.events[i]));
    }
  }
  c.facts = std::move(batch.facts);
  if (c.events.empty() && c.facts.empty()) {
    return;
  }
  {
    std::lock_guard lock(m_queue_mutex);
    if (m_stopping) {
      return;
    }
    m_queue.push_back(std::move(c));
  }
  m_queue_cv.notify_one();
}

void LiveHub::subscribe(LiveSubscriber* subscriber, LiveFilter filter) {
  std::lock_guard lock(m_mutex);
  if (m_closed) {
    subscriber->close();
    return;
  }
  if (m_midway) {
    // The hub's thread adds it (with its snapshot) once the batch under way is emitted.
    m_joining.push_back(Subscription{subscriber, std::move(filter)});
    return;
  }
  add_subscriber_locked(subscriber, std::move(filter));
}

void LiveHub::add_subscriber_locked(LiveSubscriber* subscriber, LiveFilter filter) {
  auto first = std::make_shared<v1::WatchUpdate>();
  *first->mutable_snapshot() = snapshot(filter);
  subscriber->push(first);
  m_subscriptions.push_back(Subscription{subscriber, std::move(filter)});
  m_stats.subscribers = m_subscriptions.size();
}

void LiveHub::unsubscribe(LiveSubscriber* subscriber) {
  std::lock_guard lock(m_mutex);
  auto is_it = [&](const Subscription& s) { return s.subscriber == subscriber; };
  std::erase_if(m_subscriptions, is_it);
  std::erase_if(m_joining, is_it);
  m_stats.subscribers = m_subscriptions.size();
}

void LiveHub::close_subscribers() {
  std::lock_guard lock(m_mutex);
  m_closed = true;
  for (auto& s : m_subscriptions) {
    s.subscriber->close();
  }
  for (auto& s : m_joining) {
    s.subscriber->close();
  }
  m_joining.clear();
}

void LiveHub::stop() {
  {
    std::lock_guard lock(m_queue_mutex);
    m_stopping = true;
  }
  m_queue_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

LiveStats LiveHub::stats() const {
  std::lock_guard lock(m_mutex);
  LiveStats s = m_stats;
  s.runs_active = m_runs.size();
  return s;
}

std::vector<std::string> LiveHub::active_run_ids() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> ids;
  ids.reserve(m_runs.size());
  for (const auto& [id, run] : m_runs) {
    if (!run.ended) {
      ids.push_back(id);
    }
  }
  return ids;
}

void LiveHub::on_resource_sample(double cpu_percent, uint64_t mem_used_bytes) {
  std::lock_guard lock(m_mutex);
  // One ProgressChanged a second per run: a build with one long unit shows the machine too.
  // Not while a batch is half applied: a run it added has not had its RunStarted sent yet.
  const bool send = ++m_resource_samples % 10 == 0 && !m_midway;
  std::vector<Pending> pending;
  for (auto& [id, run] : m_runs) {
    run.progress.set_cpu_percent(cpu_percent);
    run.progress.set_mem_used_bytes(mem_used_bytes);
    if (send && !run.ended) {
      auto u = new_update(run);
      u->mutable_progress_changed();
      pending.push_back(Pending{&run, std::move(u), true});
    }
  }
  if (!pending.empty()) {
    emit(pending);
  }
}

void LiveHub::thread_main() {
  auto last_tick = std::chrono::steady_clock::now();
  for (;;) {
    std::deque<Committed> work;
    bool stopping = false;
    {
      std::unique_lock lock(m_queue_mutex);
      m_queue_cv.wait_for(lock, k_tick, [&] { return m_stopping || !m_queue.empty(); });
      work.swap(m_queue);
      stopping = m_stopping;
    }
    for (Committed& c : work) {
      try {
        process(c);
      } catch (const std::exception& e) {
        // A bug in the live view must not take the daemon down; the store has the data.
        spdlog::error("live: batch dropped: {}", e.what());
      }
    }
    std::lock_guard lock(m_mutex);
    auto now = std::chrono::steady_clock::now();
    if (now - last_tick >= k_tick || work.empty()) {
      last_tick = now;
      for (auto& s : m_subscriptions) {
        report_drops(s); // quiet periods too: a subscriber learns of its drops soon
      }
      forget_idle_runs();
    }
    if (m_runs.empty()) {
      m_told_active = false;
    } else if (!m_told_active) {
      m_told_active = true;
      if (m_activity_observer) {
        m_activity_observer();
      }
    }
    if (stopping && work.empty()) {
      return;
    }
  }
}

void LiveHub::process(Committed& batch) {
  std::vector<Pending> pending;
  ReadPlan plan;
  StoreReads reads;
  std::unique_lock lock(m_mutex);
  try {
    plan = plan_locked(batch, pending);
    m_midway = true;
    lock.unlock();
    reads = read_store(plan);
    lock.lock();
    finish_locked(plan, reads, pending);
  } catch (...) {
    if (!lock.owns_lock()) {
      lock.lock();
    }
    end_midway_locked();
    throw;
  }
  end_midway_locked();
}

void LiveHub::end_midway_locked() {
  m_midway = false;
  for (Subscription& s : std::exchange(m_joining, {})) {
    add_subscriber_locked(s.subscriber, std::move(s.filter));
  }
}

LiveHub::ReadPlan LiveHub::plan_locked(Committed& batch, std::vector<Pending>& pending) {
  ++m_stats.batches;
  ReadPlan plan;
  for (const v1::Event& e : batch.events) {
    bool known = m_runs.contains(e.run_id());
    Run& run = run_for(e, pending);
    if (!known) {
      plan.new_runs.push_back(NewRun{&run, e.payload_case() != v1::Event::kBuildStarted});
      plan.summaries.push_back(e.run_id());
    }
    apply_event(e, run, pending);
  }
  for (auto& [id, run] : m_runs) {
    if (!run.thrash_candidates.empty()) {
      ThrashCheck check{&run, {}, run.identity.workspace_root()};
      check.candidates.swap(run.thrash_candidates);
      plan.thrash.push_back(std::move(check));
    }
  }
  // Facts about runs the hub follows; the others are old logs ingested again. Only the hub's
  // thread adds or removes runs, so the set stays as it is until finish_locked().
  for (const store::RunFacts& f : batch.facts) {
    if (m_runs.contains(f.run_id)) {
      plan.facts.push_back(&f);
      if (f.session_id || f.parent_run_id || f.ended) {
        plan.summaries.push_back(f.run_id);
      }
    }
  }
  return plan;
}

LiveHub::StoreReads LiveHub::read_store(const ReadPlan& plan) const {
  StoreReads reads;
  reads.thrash.resize(plan.thrash.size());
  if (plan.summaries.empty() && plan.thrash.empty()) {
    return reads;
  }
  auto reader = m_readers.lease();
  if (!reader) {
    spdlog::warn("live: no reader: {}", reader.error().message);
    return reads;
  }
  // Evidence committed with the first events (the correlator's, a producer's) is in the store
  // now: the session and parent of a new run come from there, and so does the end state.
  for (const std::string& run_id : plan.summaries) {
    if (!reads.summaries.contains(run_id)) {
      reads.summaries.emplace(run_id, (*reader)->run(run_id));
    }
  }
  for (size_t i = 0; i < plan.thrash.size(); ++i) {
    const ThrashCheck& check = plan.thrash[i];
    const std::string run_id = check.run->identity.run_id(); // set once, when the run appeared
    std::string root = check.workspace_root;
    if (auto it = reads.summaries.find(run_id);
        root.empty() && it != reads.summaries.end() && it->second) {
      root = it->second->workspace_root(); // a run picked up mid-way
    }
    if (root.empty()) {
      continue;
    }
    auto found = query::thrash_in_run(**reader, root, run_id);
    if (!found) {
      spdlog::warn("live: thrash of run {} not checked: {}", run_id, found.error().message);
      continue;
    }
    reads.thrash[i] = std::move(*found);
  }
  return reads;
}

void LiveHub::finish_locked(ReadPlan& plan, StoreReads& reads, std::vector<Pending>& pending) {
  // A run picked up mid-way (the daemon restarted during its build) takes its counters from the
  // store: they already count this batch.
  for (const NewRun& n : plan.new_runs) {
    auto it = reads.summaries.find(n.run->identity.run_id());
    if (it == reads.summaries.end()) {
      continue; // no reader: logged
    }
    if (!it->second) {
      spdlog::debug("live: run {} not readable yet: {}", it->first, it->second.error().message);
      continue;
    }
    apply_summary(*n.run, *it->second, n.midway);
  }
  for (size_t i = 0; i < plan.thrash.size(); ++i) {
    if (reads.thrash[i]) {
      apply_thrash(plan.thrash[i], *reads.thrash[i], pending);
    }
  }
  for (const store::RunFacts* f : plan.facts) {
    apply_facts(*f, reads, pending);
  }
  emit(pending);
  for (auto it = m_runs.begin(); it != m_runs.end();) {
    it = it->second.ended ? m_runs.erase(it) : std::next(it);
  }
}

LiveHub::Run& LiveHub::run_for(const v1::Event& e, std::vector<Pending>& out) {
  auto [it, inserted] = m_runs.try_emplace(e.run_id());
  Run& run = it->second;
  run.last_activity = std::chrono::steady_clock::now();
  if (!inserted) {
    return run;
  }
  run.identity.set_run_id(e.run_id());
  if (auto id = parse_run_id(e.run_id())) {
    run.identity.set_start_unix_ms(id->unix_ms);
  }
  run.identity.set_session_id(e.run_id());
  auto u = new_update(run);
  u->mutable_run_started();
  out.push_back(Pending{&run, std::move(u), true});
  return run;
}

void LiveHub::apply_event(const v1::Event& e, Run& run, std::vector<Pending>& out) {
  v1::RunProgress& p = run.progress;
  auto seen_elapsed = [&](double elapsed) { p.set_elapsed(std::max(p.elapsed(), elapsed)); };
  switch (e.payload_case()) {
  case v1::Event::kBuildStarted: {
    const auto& b = e.build_started();
    v1::LiveRun& id = run.identity;
    id.set_workspace_root(b.workspace_root());
    id.set_cwd(b.cwd());
    id.mutable_command()->CopyFrom(b.command());
    id.set_command_line(
        store::display_command(std::vector<std::string>(b.command().begin(), b.command().end())));
    id.set_profile(b.profile());
    id.set_jobs(b.jobs());
    break;
  }
  case v1::Event::kUnitRegistered: {
    auto [it, fresh] = run.units.try_emplace(e.unit_registered().index());
    if (fresh) {
      it->second = make_unit(e.unit_registered());
      p.set_units_total(p.units_total() + 1);
    }
    break;
  }
  case v1::Event::kUnitFingerprint: {
    const v1::UnitFingerprint& f = e.unit_fingerprint();
    if (f.status() == v1::FINGERPRINT_STATUS_FRESH) {
      p.set_units_fresh(p.units_fresh() + 1);
    }
    // A rebuild for a cause that can go back and forth: checked against the history once the
    // batch is committed (see check_thrash()).
    if (auto it = run.units.find(f.index());
        it != run.units.end() && f.status() == v1::FINGERPRINT_STATUS_DIRTY && f.has_cause() &&
        query::may_thrash(f.cause(), it->second.mode())) {
      run.thrash_candidates.push_back(f.index());
    }
    break;
  }
  case v1::Event::kUnitStarted: {
    uint32_t index = e.unit_started().index();
    double elapsed = e.unit_started().elapsed();
    seen_elapsed(elapsed);
    p.set_units_started(p.units_started() + 1);
    run.started_at[index] = elapsed;
    run.running.push_back(index);
    p.set_units_running(static_cast<uint32_t>(run.running.size()));
    auto u = new_update(run);
    auto* change = u->mutable_unit_started();
    if (auto it = run.units.find(index); it != run.units.end()) {
      *change->mutable_unit() = it->second;
    } else {
      change->mutable_unit()->set_index(index);
    }
    change->set_elapsed(elapsed);
    out.push_back(Pending{&run, std::move(u), false});
    break;
  }
  case v1::Event::kUnitFinished: {
    uint32_t index = e.unit_finished().index();
    double elapsed = e.unit_finished().elapsed();
    seen_elapsed(elapsed);
    p.set_units_finished(p.units_finished() + 1);
    std::erase(run.running, index);
    p.set_units_running(static_cast<uint32_t>(run.running.size()));
    auto u = new_update(run);
    auto* change = u->mutable_unit_finished();
    if (auto it = run.units.find(index); it != run.units.end()) {
      *change->mutable_unit() = it->second;
    } else {
      change->mutable_unit()->set_index(index);
    }
    change->set_elapsed(elapsed);
    if (auto it = run.started_at.find(index); it != run.started_at.end()) {
      change->set_duration(elapsed - it->second);
      run.started_at.erase(it);
    }
    out.push_back(Pending{&run, std::move(u), false});
    break;
  }
  case v1::Event::kResolutionStarted:
    seen_elapsed(e.resolution_started().elapsed());
    break;
  case v1::Event::kResolutionFinished:
    seen_elapsed(e.resolution_finished().elapsed());
    break;
  case v1::Event::kUnitGraphStarted:
    seen_elapsed(e.unit_graph_started().elapsed());
    break;
  case v1::Event::kUnitGraphFinished:
    seen_elapsed(e.unit_graph_finished().elapsed());
    break;
  case v1::Event::kUnitRmetaFinished:
    seen_elapsed(e.unit_rmeta_finished().elapsed());
    break;
  case v1::Event::kUnitSectionStarted:
    seen_elapsed(e.unit_section_started().elapsed());
    break;
  case v1::Event::kUnitSectionFinished:
    seen_elapsed(e.unit_section_finished().elapsed());
    break;
  case v1::Event::PAYLOAD_NOT_SET:
    break;
  }
  // Units registered or found fresh change the counters without a unit update: one
  // ProgressChanged per run and batch tells it, at the end of the batch.
  bool counters_only = e.payload_case() == v1::Event::kUnitRegistered ||
                       e.payload_case() == v1::Event::kUnitFingerprint;
  if (counters_only) {
    auto last =
        std::find_if(out.rbegin(), out.rend(), [&](const Pending& q) { return q.run == &run; });
    if (last != out.rend() && last->update->has_progress_changed()) {
      *last->update->mutable_progress() = run.progress; // as of its last counted event
    } else {
      auto u = new_update(run);
      u->mutable_progress_changed();
      out.push_back(Pending{&run, std::move(u), true});
    }
  }
}

void LiveHub::apply_facts(const store::RunFacts& f,
                          const StoreReads& reads,
                          std::vector<Pending>& out) {
  auto it = m_runs.find(f.run_id);
  if (it == m_runs.end()) {
    return; // not a run in progress that the hub follows (an old log ingested again)
  }
  Run& run = it->second;
  auto summary = reads.summaries.find(f.run_id);
  const bool read = summary != reads.summaries.end();
  if (f.session_id || f.parent_run_id) {
    if (read && summary->second) {
      apply_summary(run, *summary->second, false);
    } else if (read) {
      spdlog::debug("live: run {} not readable yet: {}", f.run_id, summary->second.error().message);
    }
    auto u = new_update(run);
    u->mutable_progress_changed();
    out.push_back(Pending{&run, std::move(u), true});
  }
  if (!f.ended) {
    return;
  }
  auto u = new_update(run);
  auto* ended = u->mutable_run_ended();
  ended->set_state(std::string(to_string(RunState::completed)));
  if (read && summary->second) {
    const v1::RunSummary& s = *summary->second;
    ended->set_state(s.state());
    if (s.has_exit_code()) {
      ended->set_exit_code(s.exit_code());
    }
    ended->set_duration_secs(s.duration_secs());
  } else if (read) {
    spdlog::warn("live: cannot read run {}: {}", f.run_id, summary->second.error().message);
  }
  run.ended = true;
  out.push_back(Pending{&run, std::move(u), false});
}

void LiveHub::apply_thrash(const ThrashCheck& check,
                           const std::vector<query::RunThrash>& found,
                           std::vector<Pending>& out) {
  Run& run = *check.run;
  for (const query::RunThrash& t : found) {
    if (std::find(check.candidates.begin(), check.candidates.end(), t.index) ==
        check.candidates.end()) {
      continue; // told in an earlier batch
    }
    auto u = new_update(run);
    v1::ThrashDetected* d = u->mutable_thrash();
    if (auto it = run.units.find(t.index); it != run.units.end()) {
      *d->mutable_unit() = it->second;
    } else {
      d->mutable_unit()->set_index(t.index);
    }
    d->set_cause(t.cause);
    d->set_cause_text(t.cause_text);
    d->set_fix(t.fix);
    d->set_from(t.from);
    d->set_to(t.to);
    d->set_builds_ago(t.builds_ago);
    d->set_thrashing_rebuilds(t.thrashing_rebuilds);
    d->set_time_lost_secs(t.time_lost_before);
    out.push_back(Pending{&run, std::move(u), false});
  }
}

void LiveHub::apply_summary(Run& run, const v1::RunSummary& s, bool with_counters) {
  v1::LiveRun& id = run.identity;
  id.set_session_id(s.session_id());
  id.set_parent_run_id(s.parent_run_id());
  if (id.workspace_root().empty()) {
    id.set_workspace_root(s.workspace_root());
    id.set_cwd(s.cwd());
    id.mutable_command()->CopyFrom(s.command());
    id.set_command_line(s.command_line());
    id.set_profile(s.profile());
    id.set_jobs(s.jobs());
  }
  if (s.start_unix_ms() != 0) {
    id.set_start_unix_ms(s.start_unix_ms());
  }
  if (with_counters) {
    v1::RunProgress& p = run.progress;
    p.set_units_total(s.units_total());
    p.set_units_fresh(s.units_fresh());
    p.set_units_finished(s.units_finished());
    // The store does not say which units still compile: those started in this batch do.
    p.set_units_running(static_cast<uint32_t>(run.running.size()));
    p.set_units_started(s.units_finished() + p.units_running());
    p.set_elapsed(std::max(p.elapsed(), s.duration_secs()));
  }
}

std::shared_ptr<v1::WatchUpdate> LiveHub::new_update(const Run& run) const {
  auto u = std::make_shared<v1::WatchUpdate>();
  u->set_run_id(run.identity.run_id());
  *u->mutable_progress() = run.progress;
  return u;
}

void LiveHub::emit(std::vector<Pending>& pending) {
  if (pending.empty()) {
    return;
  }
  std::vector<LiveUpdate> all;
  all.reserve(pending.size());
  for (Pending& p : pending) {
    if (p.identity_at_emit) {
      // RunStarted and ProgressChanged tell who the run is as of the end of the batch (its
      // session may come with the same commit as its first events). Its progress stays as of
      // its place among the batch's updates.
      *(p.update->has_run_started() ? p.update->mutable_run_started()->mutable_run()
                                    : p.update->mutable_progress_changed()->mutable_run()) =
          p.run->identity;
    }
    all.push_back(std::move(p.update));
  }
  m_stats.updates += all.size();
  // One offer per subscriber and batch: the subscriber's lock is taken once, not per update.
  std::vector<LiveUpdate> matching;
  for (Subscription& s : m_subscriptions) {
    std::span<const LiveUpdate> offered = all;
    if (!s.filter.workspace.empty() || !s.filter.session_id.empty()) {
      matching.clear();
      for (size_t i = 0; i < all.size(); ++i) {
        if (matches(s.filter, *pending[i].run)) {
          matching.push_back(all[i]);
        }
      }
      offered = matching;
    }
    if (offered.empty()) {
      continue;
    }
    report_drops(s);
    size_t dropped = s.subscriber->offer(offered);
    m_stats.dropped += dropped;
    m_stats.delivered += offered.size() - dropped;
  }
}

void LiveHub::report_drops(Subscription& s) {
  auto [count, total] = s.subscriber->take_drop_report();
  if (count == 0) {
    return;
  }
  auto u = std::make_shared<v1::WatchUpdate>();
  auto* d = u->mutable_dropped();
  d->set_count(count);
  d->set_total(total);
  *d->mutable_snapshot() = snapshot(s.filter);
  s.subscriber->push(u);
}

void LiveHub::forget_idle_runs() {
  auto limit = std::chrono::steady_clock::now() - k_forget_idle_run;
  for (auto it = m_runs.begin(); it != m_runs.end();) {
    if (it->second.last_activity < limit) {
      spdlog::info("live: forgetting run {}: no event for {} h and no end", it->first,
                   k_forget_idle_run.count());
      it = m_runs.erase(it);
    } else {
      ++it;
    }
  }
}

bool LiveHub::matches(const LiveFilter& filter, const Run& run) const {
  if (!filter.session_id.empty() && filter.session_id != run.identity.session_id()) {
    return false;
  }
  return workspace_matches(filter.workspace, run.identity.workspace_root());
}

v1::RunSnapshot LiveHub::run_snapshot(const Run& run) const {
  v1::RunSnapshot s;
  *s.mutable_run() = run.identity;
  *s.mutable_progress() = run.progress;
  for (uint32_t index : run.running) {
    auto it = run.units.find(index);
    if (it != run.units.end()) {
      *s.add_running() = it->second;
    } else {
      s.add_running()->set_index(index);
    }
  }
  return s;
}

v1::LiveSnapshot LiveHub::snapshot(const LiveFilter& filter) const {
  v1::LiveSnapshot snap;
  for (const auto& [id, run] : m_runs) {
    if (!run.ended && matches(filter, run)) {
      *snap.add_runs() = run_snapshot(run);
    }
  }
  return snap;
}

} // namespace ca::live
