// Reports stored with ended runs (daemon/query/report_precomputer.hpp): what the precomputer
// stores, that a later query answers from the row (and only while the row matches the run's
// state and the analysis format), that what a query computes for an ended run reaches the
// engine's sink without ever waiting for it, and that the serialized timings path the client
// socket uses answers what the message path does.
#include "daemon/query/query_engine.hpp"
#include "daemon/query/report_precomputer.hpp"
#include "daemon/query/run_analysis.hpp"
#include "daemon/query/stored_kind.hpp"
#include "daemon/store/batch_sink.hpp"
#include "daemon/store/writer.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using google::protobuf::util::MessageDifferencer;
using test::CorpusDb;
using test::request;

v1::GetTimingsResponse timings(QueryEngine& engine, const std::string& id) {
  auto r = engine.get_timings(request<v1::GetTimingsRequest>(id));
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : v1::GetTimingsResponse();
}

v1::GetTimingsResponse timings_serialized(QueryEngine& engine, const std::string& id) {
  auto r = engine.get_timings_serialized(request<v1::GetTimingsRequest>(id));
  EXPECT_TRUE(r) << r.error().message;
  v1::GetTimingsResponse out;
  EXPECT_TRUE(r && out.ParseFromString(*r));
  return out;
}

v1::RunRebuilds rebuild_roots(QueryEngine& engine, const std::string& id) {
  auto req = request<v1::GetRebuildsRequest>(id);
  req.set_omit_affected(true);
  auto r = engine.get_rebuilds(req);
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->runs_size(), 1);
  return r->runs_size() == 1 ? r->runs(0) : v1::RunRebuilds();
}

// The sink a QueryEngine hands the reports its queries compute to: records them as the writer
// would take them, without committing them (store_reports() does, where a test wants the rows).
// `full`: try_submit() refuses every batch, as a writer whose queue is full does. submit() may
// block (back-pressure), which a query thread must never do: a call fails the test.
class RecordingSink final : public store::BatchSink {
public:
  explicit RecordingSink(bool full = false) : m_full(full) {}

  void submit(store::Batch /*batch*/) override {
    ADD_FAILURE() << "submit() may block: a query must use try_submit()";
  }

  bool try_submit(store::Batch& batch, std::function<void()> on_room) override {
    std::lock_guard lock(m_mutex);
    if (m_full) {
      ++m_refused;
      m_on_room.push_back(std::move(on_room));
      return false;
    }
    for (store::StoredReport& r : batch.reports) {
      m_reports.push_back(std::move(r));
    }
    return true;
  }

  void flush() override {}

  std::vector<store::StoredReport> reports() const {
    std::lock_guard lock(m_mutex);
    return m_reports;
  }
  size_t refused() const {
    std::lock_guard lock(m_mutex);
    return m_refused;
  }
  // Calls the on_room callbacks try_submit() was given while full, as the writer does once it
  // has room again.
  void make_room() {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(m_mutex);
      waiters.swap(m_on_room);
    }
    for (auto& on_room : waiters) {
      on_room();
    }
  }

private:
  const bool m_full;
  mutable std::mutex m_mutex;
  std::vector<store::StoredReport> m_reports;
  size_t m_refused = 0;
  std::vector<std::function<void()>> m_on_room;
};

void store_reports(CorpusDb& db, std::vector<store::StoredReport> reports) {
  store::Batch batch;
  batch.source = "test";
  batch.reports = std::move(reports);
  store::EventStore events(db.db());
  store::Transaction tx(db.db());
  auto r = events.apply(batch);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(tx.commit());
}

const std::string k_run = test::k_corpus_c_run;

TEST(StoredReports, an_ended_run_gets_both_reports_computed_from_all_its_events) {
  CorpusDb db;
  db.add(k_run);
  store::ReaderPool pool(db.path());
  RecordingSink sink;
  QueryEngine engine(pool, sink);
  auto precomputed = engine.precompute(k_run);
  ASSERT_TRUE(precomputed) << precomputed.error().message;
  ASSERT_EQ(precomputed->size(), 2U);
  EXPECT_TRUE(sink.reports().empty()) << "precompute() returns its reports, the sink gets none";
  const std::vector<store::StoredReport> reports = *precomputed;
  store_reports(db, reports); // as the writer stores them

  const auto events = test::decode_all(test::corpus_lines(k_run));
  v1::RunTimings want_timings = timings(engine, k_run).runs(0);
  v1::RunRebuilds want_roots;
  copy_rebuilds_view(compute_rebuilds(events, want_timings.run()), RebuildsView{0, true},
                     want_roots);
  for (const store::StoredReport& r : reports) {
    EXPECT_EQ(r.run_id, k_run);
    EXPECT_EQ(r.format, k_report_format);
    EXPECT_EQ(r.events, events.size());
    EXPECT_EQ(r.state, "completed");
    if (r.kind == static_cast<int>(StoredKind::timings)) {
      v1::RunTimings stored;
      ASSERT_TRUE(stored.ParseFromString(r.body));
      EXPECT_FALSE(stored.has_run()) << "the summary is the run's when read, not stored";
      *stored.mutable_run() = want_timings.run();
      EXPECT_TRUE(MessageDifferencer::Equals(stored, compute_timings(events, stored.run())));
    } else {
      ASSERT_EQ(r.kind, static_cast<int>(StoredKind::rebuild_roots));
      v1::RunRebuilds stored;
      ASSERT_TRUE(stored.ParseFromString(r.body));
      *stored.mutable_run() = want_roots.run();
      EXPECT_TRUE(MessageDifferencer::Equals(stored, want_roots));
      EXPECT_GT(stored.root_count(), 0U);
      for (const v1::RootRebuild& root : stored.root_rebuilds()) {
        EXPECT_EQ(root.affected_size(), 0) << "affected units are counted, not listed";
      }
    }
  }

  // Stored now: asking again computes nothing more (the query above read the row too).
  auto again = engine.precompute(k_run);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());
  EXPECT_TRUE(sink.reports().empty());
}

// The thread that stores the reports of every run that ends must not fill the query cache with
// runs nobody asked about: a back-fill of 100 clean builds once kept ~25 MB of them resident.
TEST(StoredReports, precomputing_leaves_the_query_cache_empty) {
  CorpusDb db;
  db.add(k_run);
  store::ReaderPool pool(db.path());
  RecordingSink sink;
  QueryEngine engine(pool, sink);
  auto precomputed = engine.precompute(k_run);
  ASSERT_TRUE(precomputed) << precomputed.error().message;
  ASSERT_EQ(precomputed->size(), 2U);
  EXPECT_EQ(engine.cache_stats().runs, 0U);
  // A query caches what it read, as before.
  (void)timings(engine, k_run);
  EXPECT_EQ(engine.cache_stats().runs, 1U);
}

TEST(StoredReports, a_run_in_progress_is_not_stored) {
  CorpusDb db;
  auto lines = test::corpus_lines(k_run);
  lines.resize(lines.size() / 2);
  db.apply(test::decode_all(lines));
  store::ReaderPool pool(db.path());
  RecordingSink sink;
  QueryEngine engine(pool, sink);
  auto precomputed = engine.precompute(k_run);
  ASSERT_TRUE(precomputed) << precomputed.error().message;
  EXPECT_TRUE(precomputed->empty());
  EXPECT_EQ(timings(engine, k_run).runs(0).run().state(), "in_progress");
  EXPECT_TRUE(sink.reports().empty()) << "nor is what a query computed for it";
}

// A row is answered from only while it matches: the marker put into the stored timings shows
// where each answer came from.
TEST(StoredReports, answers_come_from_the_row_while_it_matches_the_run) {
  CorpusDb db;
  db.add(k_run);
  auto precomputed = db.engine().precompute(k_run);
  ASSERT_TRUE(precomputed) << precomputed.error().message;
  std::vector<store::StoredReport> rows = *precomputed;
  for (store::StoredReport& r : rows) {
    if (r.kind == static_cast<int>(StoredKind::timings)) {
      v1::RunTimings marked;
      ASSERT_TRUE(marked.ParseFromString(r.body));
      marked.set_total_time(12345.5);
      r.body = marked.SerializeAsString();
    }
  }
  store_reports(db, rows);

  // A fresh engine (nothing cached) answers from the row, with the run's summary as it is now:
  // a pid learnt after the run ended (an `exec` announcement) changes the summary, not the
  // report.
  store::RunFacts announced;
  announced.run_id = k_run;
  announced.pid = 4242;
  db.apply({}, {announced});
  store::ReaderPool pool(db.path());
  {
    QueryEngine engine(pool);
    v1::GetTimingsResponse t = timings(engine, k_run);
    EXPECT_EQ(t.runs(0).total_time(), 12345.5);
    EXPECT_EQ(t.runs(0).run().pid(), 4242U);
    EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(engine, k_run), t));
    QueryEngine fresh(pool);
    EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(fresh, k_run), t))
        << "the serialized path reads the row too";
  }

  // Another analysis format: the row is ignored, the report computed again.
  for (store::StoredReport& r : rows) {
    r.format = k_report_format + 1;
  }
  store_reports(db, rows);
  {
    QueryEngine engine(pool);
    EXPECT_NE(timings(engine, k_run).runs(0).total_time(), 12345.5);
  }
  for (store::StoredReport& r : rows) {
    r.format = k_report_format;
  }
  store_reports(db, rows);
  {
    QueryEngine engine(pool);
    EXPECT_EQ(timings(engine, k_run).runs(0).total_time(), 12345.5);
  }

  // A line more (a resent log with one more line, say): the row describes fewer events.
  auto lines = test::corpus_lines(k_run);
  std::string extra = lines.back();
  extra.insert(extra.size() - 1, ",\"extra\":1");
  db.apply(test::decode_all({extra}));
  {
    QueryEngine engine(pool);
    v1::GetTimingsResponse t = timings(engine, k_run);
    EXPECT_NE(t.runs(0).total_time(), 12345.5);
    EXPECT_EQ(t.runs(0).run().events(), lines.size() + 1);
    EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(engine, k_run), t));
  }
}

TEST(StoredReports, the_text_reports_roots_come_from_the_stored_row) {
  CorpusDb db;
  const char* step4 = test::k_corpus_a_runs[3];
  db.add(step4);
  const v1::RunRebuilds computed = rebuild_roots(db.engine(), step4);
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool);
  auto precomputed = engine.precompute(step4);
  ASSERT_TRUE(precomputed) << precomputed.error().message;
  store_reports(db, *precomputed);
  QueryEngine fresh(pool);
  EXPECT_TRUE(MessageDifferencer::Equals(rebuild_roots(fresh, step4), computed));
  // -vv and JSON read the affected units, which are not stored: computed from the events.
  auto full = fresh.get_rebuilds(request<v1::GetRebuildsRequest>(step4));
  ASSERT_TRUE(full);
  EXPECT_EQ(full->runs(0).root_rebuilds(0).affected_size(),
            full->runs(0).root_rebuilds(0).affected_count());
  EXPECT_GT(full->runs(0).root_rebuilds(0).affected_count(), 0U);
}

// The client socket's timings (bytes spliced from the cache or the row) parse as the message
// path's answer, for every corpus run, and for a session of two runs, with their depths.
TEST(StoredReports, serialized_timings_are_the_message_answer) {
  CorpusDb db;
  std::vector<std::string> runs(std::begin(test::k_corpus_a_runs), std::end(test::k_corpus_a_runs));
  runs.push_back(k_run);
  for (const std::string& run : runs) {
    db.add(run);
  }
  // A session of its own id (as `exec` gives), with the second run nested in the first.
  const std::string session = "20260202T000000000Z-aaaaaaaaaaaaaaaa";
  store::RunFacts parent;
  parent.run_id = runs[0];
  parent.session_id = session;
  parent.link = "explicit";
  store::RunFacts child;
  child.run_id = runs[1];
  child.session_id = session;
  child.parent_run_id = runs[0];
  child.link = "ancestry";
  db.apply({}, {parent, child});
  store::ReaderPool pool(db.path());
  RecordingSink sink;
  QueryEngine engine(pool, sink);
  for (int pass = 0; pass < 2; ++pass) { // computed, then cached
    for (const std::string& run : runs) {
      EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(engine, run), timings(engine, run)))
          << run;
    }
  }
  store_reports(db, sink.reports());
  QueryEngine fresh(pool); // from the rows
  for (const std::string& run : runs) {
    EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(fresh, run), timings(engine, run)))
        << run;
  }
  v1::GetTimingsResponse both = timings_serialized(fresh, session);
  ASSERT_EQ(both.runs_size(), 2);
  EXPECT_EQ(both.runs(0).run().depth(), 0U);
  EXPECT_EQ(both.runs(1).run().depth(), 1U);
  EXPECT_EQ(both.runs(1).run().parent_run_id(), runs[0]);
  EXPECT_TRUE(MessageDifferencer::Equals(both, timings(engine, session)));
}

// A report a query computed for an ended run (one the precomputer had not reached, or stored by
// an older daemon) goes to the engine's sink, once per run and format: asked again, it is
// cached, and once stored a fresh engine answers from the row.
TEST(StoredReports, a_report_a_query_computes_for_an_ended_run_reaches_the_sink) {
  CorpusDb db;
  db.add(k_run);
  store::ReaderPool pool(db.path());
  RecordingSink sink;
  QueryEngine engine(pool, sink);
  const v1::GetTimingsResponse t = timings(engine, k_run);
  const v1::RunRebuilds roots = rebuild_roots(engine, k_run);
  const std::vector<store::StoredReport> reports = sink.reports();
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_EQ(reports[0].kind, static_cast<int>(StoredKind::timings));
  EXPECT_EQ(reports[1].kind, static_cast<int>(StoredKind::rebuild_roots));
  for (const store::StoredReport& r : reports) {
    EXPECT_EQ(r.run_id, k_run);
    EXPECT_EQ(r.format, k_report_format);
    EXPECT_EQ(r.events, t.runs(0).run().events());
    EXPECT_EQ(r.state, "completed");
  }
  v1::RunTimings stored;
  ASSERT_TRUE(stored.ParseFromString(reports[0].body));
  EXPECT_FALSE(stored.has_run()) << "the summary is the run's when read, not stored";
  *stored.mutable_run() = t.runs(0).run();
  const auto events = test::decode_all(test::corpus_lines(k_run));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, compute_timings(events, stored.run())));

  (void)timings(engine, k_run);
  (void)timings_serialized(engine, k_run);
  (void)rebuild_roots(engine, k_run);
  EXPECT_EQ(sink.reports().size(), 2U) << "cached: not computed, nor handed over, again";

  store_reports(db, reports);
  QueryEngine fresh(pool, sink);
  EXPECT_TRUE(MessageDifferencer::Equals(timings(fresh, k_run), t));
  EXPECT_TRUE(MessageDifferencer::Equals(rebuild_roots(fresh, k_run), roots));
  EXPECT_EQ(sink.reports().size(), 2U) << "read from the rows";
}

// A query never waits for the store: when the sink is full the report is not stored, the
// answer is the same, and the report is computed (and offered) again when next asked for.
TEST(StoredReports, a_full_sink_neither_blocks_a_query_nor_loses_its_answer) {
  CorpusDb db;
  db.add(k_run);
  store::ReaderPool pool(db.path());
  QueryEngine plain(pool);
  const v1::GetTimingsResponse want_timings = timings(plain, k_run);
  const v1::RunRebuilds want_roots = rebuild_roots(plain, k_run);

  RecordingSink full(/*full=*/true);
  {
    QueryEngine engine(pool, full);
    EXPECT_TRUE(MessageDifferencer::Equals(timings(engine, k_run), want_timings));
    EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(engine, k_run), want_timings));
    EXPECT_TRUE(MessageDifferencer::Equals(rebuild_roots(engine, k_run), want_roots));
    EXPECT_EQ(full.refused(), 2U);
    EXPECT_TRUE(full.reports().empty());
  }
  full.make_room(); // the writer calls back when it has room: nothing to do, nothing breaks
  {
    auto reader = pool.lease();
    ASSERT_TRUE(reader);
    auto summary = (*reader)->run(k_run);
    ASSERT_TRUE(summary);
    for (StoredKind kind : {StoredKind::rebuild_roots, StoredKind::timings}) {
      auto row = (*reader)->stored_report(*summary, static_cast<int>(kind), k_report_format);
      ASSERT_TRUE(row);
      EXPECT_FALSE(row->has_value()) << static_cast<int>(kind);
    }
  }
  QueryEngine again(pool, full);
  EXPECT_TRUE(MessageDifferencer::Equals(timings(again, k_run), want_timings));
  EXPECT_EQ(full.refused(), 3U) << "computed again, and offered again";
}

// The daemon's wiring: the writer's commit observer hands ended runs to the precomputer, which
// stores their reports through the writer (as the engine does what its queries compute);
// catch_up() finds ended runs stored without them.
TEST(StoredReports, the_precomputer_stores_the_reports_of_runs_that_end) {
  test::TempDir dir;
  const auto path = dir.path() / "db.sqlite3";
  auto db = store::Database::open(path, store::Database::Mode::read_write_create);
  ASSERT_TRUE(db);
  ASSERT_TRUE(store::migrate(**db));
  store::Writer writer(std::move(*db));
  store::ReaderPool pool(path);
  QueryEngine engine(pool, writer);
  ReportPrecomputer precomputer(engine, writer);
  bool observe = true;
  writer.set_commit_observer([&](store::Batch&& b, const store::BatchOutcome&) {
    for (const store::RunFacts& f : b.facts) {
      if (f.ended && observe) {
        precomputer.run_ended(f.run_id);
      }
    }
  });
  auto submit = [&](const std::string& run_id, const std::string& as) {
    store::Batch batch;
    batch.source = "test";
    batch.events = test::decode_all(test::replayed(test::corpus_lines(run_id), run_id, as));
    store::RunFacts end;
    end.run_id = as;
    end.ended = true;
    batch.facts.push_back(end);
    writer.submit(std::move(batch));
  };
  const std::string a = "20260101T000000000Z-dd457d2f2595ee60";
  const std::string b = "20260101T000100000Z-dd457d2f2595ee60";
  submit(k_run, a);
  writer.flush();
  precomputer.flush();
  auto stats = precomputer.stats();
  EXPECT_EQ(stats.computed, 1U);
  EXPECT_EQ(stats.stored, 2U);
  EXPECT_EQ(stats.pending, 0U);
  {
    auto reader = pool.lease();
    ASSERT_TRUE(reader);
    auto summary = (*reader)->run(a);
    ASSERT_TRUE(summary);
    for (StoredKind kind : {StoredKind::rebuild_roots, StoredKind::timings}) {
      auto row = (*reader)->stored_report(*summary, static_cast<int>(kind), k_report_format);
      ASSERT_TRUE(row);
      EXPECT_TRUE(row->has_value()) << static_cast<int>(kind);
    }
    auto missing = (*reader)->runs_without_reports(k_stored_kinds, k_report_format);
    ASSERT_TRUE(missing);
    EXPECT_TRUE(missing->empty());
  }

  // A run that ended unobserved (stored by a daemon without the precomputer): caught up.
  observe = false;
  submit(k_run, b);
  writer.flush();
  auto queued = precomputer.catch_up(pool);
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 1U);
  precomputer.flush();
  auto again = precomputer.catch_up(pool);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0U);
  EXPECT_EQ(precomputer.stats().computed, 2U);
  precomputer.stop();
  writer.stop();
}

} // namespace
} // namespace ca::query
