// The live fan-out: changes of builds in progress, after they are committed, to every Watch
// subscriber.
//
// The problem. IDEs and `cargo-analysis-client watch` want to see builds as they happen (a run
// started, a unit started or finished, the run ended and how), but ingest must never wait for
// them: a stuck IDE must not slow a build's events into the database, and fifty watchers must
// not cost the writer fifty times.
//
// The design. The writer calls on_commit() on its own thread after each commit, with the batch
// it no longer needs; on_commit() moves the newly stored events and the run facts into a queue
// and returns (a lock, a move, a notify). The hub's thread takes batches from that queue, keeps
// the state of every run in progress (its identity, counters, the units compiling now), turns
// each change into one immutable WatchUpdate, and offers it to every subscriber whose filter
// matches. A subscriber is a bounded queue (the Watch reactor): an update it has no room for
// is dropped and counted, never waited for. When the subscriber has drained enough, the hub
// sends it an UpdatesDropped message with the count and a snapshot of the runs it watches, so
// it is right again without the updates it missed.
//
// What the hub reads back from the store: the identity of a run when it first appears (its
// session and parent come from evidence the correlator or a producer gave in the same commit),
// again when new evidence arrives, and the final state when a run ends (decided by the store,
// see store::final_state()). Those are a few reads per run, on the hub's thread and outside its
// lock (a Watch call, the idle check and the resource sampler take that lock), never per event;
// and, for a batch where a unit was rebuilt for a cause that can go back and forth (an env var,
// features, rustflags, a build script without `rerun-if-changed`), the workspace's recent units,
// to tell a thrash as it happens (ThrashDetected).
//
// Example: cargo logs build-started, 88 unit-registered, 88 unit-fingerprint (85 fresh), then
// unit-started/unit-finished for 3 units; the watcher commits them in a few batches. A
// subscriber sees RunStarted, ProgressChanged (88 units, 85 fresh), UnitChange x6 with progress
// 85..88 of 88, and RunEnded{completed} after the watcher saw cargo release its log.
//
// A run that started before the daemon did (or before its first event the hub saw) is picked
// up mid-way with its counters as stored. A run whose producer vanished without an end is
// forgotten after k_forget_idle_run without an event.
#pragma once

#include "cargo_analysis/v1/live.pb.h"
#include "daemon/query/thrash.hpp"
#include "daemon/store/batch.hpp"
#include "daemon/store/run_reader.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ca::live {

// An update as subscribers share it: built once, never modified, freed after the last write.
using LiveUpdate = std::shared_ptr<const cargo_analysis::v1::WatchUpdate>;

// Which runs a subscriber wants (see WatchRequest).
struct LiveFilter {
  std::string workspace;  // "" = any; else the run's root equals, contains or lies inside it
  std::string session_id; // "" = any
};

// A Watch stream as the hub sees it: a bounded queue of updates. The hub calls these with its
// lock held; they must be quick, must not block and must not call back into the hub.
class LiveSubscriber {
public:
  virtual ~LiveSubscriber() = default;

  // Queues as many of `updates` (in order) as there is room for and counts the rest as
  // dropped; returns how many were dropped. One call per subscriber and committed batch.
  virtual size_t offer(std::span<const LiveUpdate> updates) = 0;

  // Queues `update` even when the queue is full (snapshots and drop reports only).
  virtual void push(const LiveUpdate& update) = 0;

  // If updates were dropped since the last report and the queue has room again, returns
  // {dropped since the last report, dropped in total} and starts counting anew; else {0, 0}.
  virtual std::pair<uint64_t, uint64_t> take_drop_report() = 0;

  // The daemon is stopping: end the stream soon (the queue may be discarded).
  virtual void close() = 0;
};

struct LiveStats {
  uint64_t batches = 0;     // committed batches processed
  uint64_t updates = 0;     // updates made (each offered to every matching subscriber)
  uint64_t delivered = 0;   // updates queued to subscribers
  uint64_t dropped = 0;     // updates dropped because a subscriber's queue was full
  uint64_t subscribers = 0; // subscribers now
  uint64_t runs_active = 0; // runs in progress the hub follows now
};

class LiveHub {
public:
  // A run with no event for this long is forgotten (its producer vanished without an end).
  static constexpr std::chrono::hours k_forget_idle_run{6};

  // Starts the hub's thread. `readers` outlives the hub.
  explicit LiveHub(store::ReaderPool& readers);
  ~LiveHub(); // stop()s
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  // The writer's commit observer (store::Writer::set_commit_observer): takes the newly stored
  // events and the facts out of `batch` and queues them for the hub's thread. Never blocks
  // beyond a short lock; ignores batches after stop().
  void on_commit(store::Batch&& batch, const store::BatchOutcome& outcome);

  // Adds a subscriber and queues it a snapshot of the runs in progress that match `filter`
  // (its first update). Thread-safe. `subscriber` stays valid until unsubscribe() returns.
  void subscribe(LiveSubscriber* subscriber, LiveFilter filter);

  // Removes a subscriber; once this returns the hub never calls it again. Thread-safe.
  void unsubscribe(LiveSubscriber* subscriber);

  // Asks every subscriber to end its stream (the daemon is stopping); new subscribers are
  // closed at once from now on.
  void close_subscribers();

  // Processes what is queued and joins the thread. Idempotent.
  void stop();

  LiveStats stats() const;

  // Called on the hub's thread when the hub starts following a run while it followed none (the
  // resource sampler arms its timer then). Set before the first commit; must not block.
  void set_activity_observer(std::function<void()> observer) {
    m_activity_observer = std::move(observer);
  }

  // The runs in progress the hub follows now, oldest first. Thread-safe.
  std::vector<std::string> active_run_ids() const;

  // The machine's newest CPU and memory sample (daemon/server/resource_sampler.hpp): kept in
  // every run's progress, and sent as ProgressChanged to subscribers once a second. Thread-safe.
  void on_resource_sample(double cpu_percent, uint64_t mem_used_bytes);

private:
  // A run in progress as the hub follows it.
  struct Run {
    cargo_analysis::v1::LiveRun identity;
    cargo_analysis::v1::RunProgress progress;
    std::unordered_map<uint32_t, cargo_analysis::v1::LiveUnit> units; // by index
    std::unordered_map<uint32_t, double> started_at;                  // elapsed at unit start
    std::vector<uint32_t> running;                                    // in start order
    std::chrono::steady_clock::time_point last_activity;
    bool ended = false;
    // Units rebuilt in this batch for a cause that can thrash (see query::may_thrash()).
    std::vector<uint32_t> thrash_candidates;
  };

  // One committed batch, as the writer handed it over.
  struct Committed {
    std::vector<cargo_analysis::v1::Event> events; // newly stored only
    std::vector<store::RunFacts> facts;
  };

  // An update of this batch, with the run it is about (for the filters).
  struct Pending {
    Run* run;
    std::shared_ptr<cargo_analysis::v1::WatchUpdate> update;
    bool identity_at_emit; // RunStarted / ProgressChanged: fill the run's identity at emit
  };

  struct Subscription {
    LiveSubscriber* subscriber;
    LiveFilter filter;
  };

  // A run whose counters or identity are read back from the store for this batch.
  struct NewRun {
    Run* run;
    bool midway; // picked up mid-way: its counters come from the store too
  };
  // A thrash check owed for this batch: the run's candidates and where to look.
  struct ThrashCheck {
    Run* run;
    std::vector<uint32_t> candidates;
    std::string workspace_root; // "" if not known from the events: the store's, if read
  };
  // What one batch needs from the store, decided with m_mutex held, read without it.
  struct ReadPlan {
    std::vector<NewRun> new_runs;
    std::vector<std::string> summaries; // run ids
    std::vector<ThrashCheck> thrash;
    std::vector<const store::RunFacts*> facts; // about runs the hub follows
  };
  // What was read (reads that failed are logged and left out).
  struct StoreReads {
    std::unordered_map<std::string, Result<cargo_analysis::v1::RunSummary>> summaries;
    std::vector<std::optional<std::vector<query::RunThrash>>> thrash; // by ReadPlan::thrash
  };

  void thread_main();
  // Processes one batch in three steps, so that no SQLite read happens with m_mutex held (the
  // io thread, gRPC threads and the resource sampler take it): apply the events and plan the
  // reads (locked); read (unlocked); apply what was read, the facts, and emit (locked).
  void process(Committed& batch);
  ReadPlan plan_locked(Committed& batch, std::vector<Pending>& pending);
  StoreReads read_store(const ReadPlan& plan) const;
  void finish_locked(ReadPlan& plan, StoreReads& reads, std::vector<Pending>& pending);
  Run& run_for(const cargo_analysis::v1::Event& e, std::vector<Pending>& out);
  void apply_event(const cargo_analysis::v1::Event& e, Run& run, std::vector<Pending>& out);
  void apply_facts(const store::RunFacts& f, const StoreReads& reads, std::vector<Pending>& out);
  // Tells a thrash as it happens: whether the run's candidates went back to a configuration of
  // a few builds before (see query::thrash_in_run()), from what read_store() found.
  void apply_thrash(const ThrashCheck& check,
                    const std::vector<query::RunThrash>& found,
                    std::vector<Pending>& out);
  // Sets the run's identity (and, if `with_counters`, its progress) from its stored summary.
  static void apply_summary(Run& run, const cargo_analysis::v1::RunSummary& s, bool with_counters);
  // The batch is emitted (or dropped): subscribers that came meanwhile join now.
  void end_midway_locked();
  // Adds a subscriber and queues its snapshot (m_mutex held, no batch half applied).
  void add_subscriber_locked(LiveSubscriber* subscriber, LiveFilter filter);
  void emit(std::vector<Pending>& pending);
  void report_drops(Subscription& s);
  void forget_idle_runs();
  bool matches(const LiveFilter& filter, const Run& run) const;
  cargo_analysis::v1::LiveSnapshot snapshot(const LiveFilter& filter) const;
  cargo_analysis::v1::RunSnapshot run_snapshot(const Run& run) const;
  std::shared_ptr<cargo_analysis::v1::WatchUpdate> new_update(const Run& run) const;

  store::ReaderPool& m_readers;

  // The input queue, fed by the writer thread.
  std::mutex m_queue_mutex;
  std::condition_variable m_queue_cv;
  std::deque<Committed> m_queue;
  bool m_stopping = false;

  // Run state and subscriptions: one lock, so a new subscriber's snapshot and the updates that
  // follow it are consistent.
  mutable std::mutex m_mutex;
  std::map<std::string, Run> m_runs; // by run id: oldest first (run ids start with the time)
  std::vector<Subscription> m_subscriptions;
  // While a batch is half applied (its store reads under way, its updates not emitted yet), a
  // new subscriber waits here: its snapshot must not count updates it will also receive.
  bool m_midway = false;
  std::vector<Subscription> m_joining;
  bool m_closed = false;
  LiveStats m_stats;
  std::function<void()> m_activity_observer;
  bool m_told_active = false;      // the observer was told of the runs followed now
  uint64_t m_resource_samples = 0; // every tenth is sent as ProgressChanged

  std::thread m_thread;
};

// Whether a run of `run_root` matches a watch for `workspace`: equal, or one inside the other.
bool workspace_matches(const std::string& workspace, const std::string& run_root);

} // namespace ca::live
