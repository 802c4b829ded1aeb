// Reports stored with ended runs (daemon/query/report_precomputer.hpp): what the precomputer
// stores, that a later query answers from the row (and only while the row matches the run's
// state and the analysis format), and that the serialized timings path the client socket uses
// answers what the message path does.
#include "daemon/query/report_precomputer.hpp"
#include "daemon/query/run_analysis.hpp"
#include "daemon/store/writer.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

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

// Reports an engine hands to its persist hook.
struct Persisted {
  std::vector<store::StoredReport> reports;
  void attach(QueryEngine& engine) {
    engine.set_persist([this](store::StoredReport r) { reports.push_back(std::move(r)); });
  }
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
  Persisted persisted;
  persisted.attach(db.engine());
  ASSERT_TRUE(db.engine().precompute(k_run));
  ASSERT_EQ(persisted.reports.size(), 2U);
  store_reports(db, persisted.reports); // as the writer stores them

  const auto events = test::decode_all(test::corpus_lines(k_run));
  v1::RunTimings want_timings = timings(db.engine(), k_run).runs(0);
  v1::RunRebuilds want_roots;
  copy_rebuilds_view(compute_rebuilds(events, want_timings.run()), RebuildsView{0, true},
                     want_roots);
  for (const store::StoredReport& r : persisted.reports) {
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

  // Stored now: asking again computes nothing more.
  ASSERT_TRUE(db.engine().precompute(k_run));
  EXPECT_EQ(persisted.reports.size(), 2U);
}

// The thread that stores the reports of every run that ends must not fill the query cache with
// runs nobody asked about: a back-fill of 100 clean builds once kept ~25 MB of them resident.
TEST(StoredReports, precomputing_leaves_the_query_cache_empty) {
  CorpusDb db;
  db.add(k_run);
  Persisted persisted;
  persisted.attach(db.engine());
  ASSERT_TRUE(db.engine().precompute(k_run));
  ASSERT_EQ(persisted.reports.size(), 2U);
  EXPECT_EQ(db.engine().cache_stats().runs, 0U);
  // A query caches what it read, as before.
  (void)timings(db.engine(), k_run);
  EXPECT_EQ(db.engine().cache_stats().runs, 1U);
}

TEST(StoredReports, a_run_in_progress_is_not_stored) {
  CorpusDb db;
  auto lines = test::corpus_lines(k_run);
  lines.resize(lines.size() / 2);
  db.apply(test::decode_all(lines));
  Persisted persisted;
  persisted.attach(db.engine());
  ASSERT_TRUE(db.engine().precompute(k_run));
  EXPECT_EQ(timings(db.engine(), k_run).runs(0).run().state(), "in_progress");
  EXPECT_TRUE(persisted.reports.empty());
}

// A row is answered from only while it matches: the marker put into the stored timings shows
// where each answer came from.
TEST(StoredReports, answers_come_from_the_row_while_it_matches_the_run) {
  CorpusDb db;
  db.add(k_run);
  Persisted persisted;
  persisted.attach(db.engine());
  ASSERT_TRUE(db.engine().precompute(k_run));
  std::vector<store::StoredReport> rows = persisted.reports;
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
  Persisted persisted;
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool);
  persisted.attach(engine);
  ASSERT_TRUE(engine.precompute(step4));
  store_reports(db, persisted.reports);
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
  QueryEngine engine(pool);
  Persisted persisted;
  persisted.attach(engine);
  for (int pass = 0; pass < 2; ++pass) { // computed, then cached
    for (const std::string& run : runs) {
      EXPECT_TRUE(MessageDifferencer::Equals(timings_serialized(engine, run), timings(engine, run)))
          << run;
    }
  }
  store_reports(db, persisted.reports);
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

// The daemon's wiring: the writer's commit observer hands ended runs to the precomputer, which
// stores their reports through the writer; catch_up() finds ended runs stored without them.
TEST(StoredReports, the_precomputer_stores_the_reports_of_runs_that_end) {
  test::TempDir dir;
  const auto path = dir.path() / "db.sqlite3";
  auto db = store::Database::open(path, store::Database::Mode::read_write_create);
  ASSERT_TRUE(db);
  ASSERT_TRUE(store::migrate(**db));
  store::Writer writer(std::move(*db));
  store::ReaderPool pool(path);
  QueryEngine engine(pool);
  ReportPrecomputer precomputer(engine, writer);
  engine.set_persist([&](store::StoredReport r) { precomputer.store(std::move(r)); });
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
