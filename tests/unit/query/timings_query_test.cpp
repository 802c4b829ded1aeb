// Which runs a timings request answers with, against cargo 1.95 on real logs
// (tests/parity/live_parity.sh found it).
//
// `k_no_units` is the whole log real cargo 1.95.0 wrote for `cargo build -p no-such-package` in
// a workspace without that package: the build's start and its resolution, then cargo failed. On
// it, `cargo -Zbuild-analysis report timings --id 20261123T185221641Z-5e89c517b31dd08c` writes
// no report and fails:
//
//     error: failed to analyze log at `.../20261123T185221641Z-5e89c517b31dd08c.jsonl`
//
//     Caused by:
//       no timing data found in log
//
// We failed to match: we wrote an empty report. Now an ended run without units is left out of
// a timings answer, and a request left with no run fails, not_found.
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;
using test::request;

const std::string k_empty_run = "20261123T185221641Z-5e89c517b31dd08c";

const std::vector<std::string> k_no_units = {
    R"({"run_id":"20261123T185221641Z-5e89c517b31dd08c","timestamp":"2026-11-23T18:52:21.646539814Z","reason":"build-started","command":["/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/cargo","build","-p","no-such-package"],"cwd":"/tmp/lp/ws","host":"x86_64-unknown-linux-gnu","jobs":2,"num_cpus":2,"profile":"dev","rustc_version":"1.95.0","rustc_version_verbose":"rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n","target_dir":"/tmp/lp/ws/target","workspace_root":"/tmp/lp/ws"})",
    R"({"run_id":"20261123T185221641Z-5e89c517b31dd08c","timestamp":"2026-11-23T18:52:21.646549959Z","reason":"resolution-started","elapsed":0.016226028})",
    R"({"run_id":"20261123T185221641Z-5e89c517b31dd08c","timestamp":"2026-11-23T18:52:21.646558271Z","reason":"resolution-finished","elapsed":0.017932771})",
};

TEST(TimingsQuery, an_ended_run_without_units_has_no_timing_data_like_cargo_says) {
  CorpusDb db;
  db.apply(test::decode_all(k_no_units));
  db.end(k_empty_run);
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool);

  auto message = engine.get_timings(request<v1::GetTimingsRequest>(k_empty_run));
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, ErrorCode::not_found);
  EXPECT_EQ(message.error().message, "no timing data found in `" + k_empty_run + "`");

  auto serialized = engine.get_timings_serialized(request<v1::GetTimingsRequest>(k_empty_run));
  ASSERT_FALSE(serialized);
  EXPECT_EQ(serialized.error().message, message.error().message);

  // The run itself is known: rebuilds still answers (cargo: "Status: 0 units rebuilt, 0
  // cached, 0 new").
  auto rebuilds = engine.get_rebuilds(request<v1::GetRebuildsRequest>(k_empty_run));
  ASSERT_TRUE(rebuilds) << rebuilds.error().message;
  EXPECT_EQ(rebuilds->runs_size(), 1);
}

TEST(TimingsQuery, a_run_without_units_in_progress_is_still_answered) {
  CorpusDb db;
  db.apply(test::decode_all(k_no_units)); // not ended: units may come
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool);
  auto r = engine.get_timings(request<v1::GetTimingsRequest>(k_empty_run));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->runs_size(), 1);
  EXPECT_EQ(r->runs(0).units_size(), 0);
}

TEST(TimingsQuery, a_session_leaves_out_its_runs_without_units) {
  CorpusDb db;
  const std::string built = test::k_corpus_a_runs[1];
  db.add(built);
  db.apply(test::decode_all(k_no_units));
  db.end(k_empty_run);
  const std::string session = "20260202T000000000Z-aaaaaaaaaaaaaaaa";
  store::RunFacts parent;
  parent.run_id = built;
  parent.session_id = session;
  parent.link = "explicit";
  store::RunFacts child;
  child.run_id = k_empty_run;
  child.session_id = session;
  child.parent_run_id = built;
  child.link = "ancestry";
  db.apply({}, {parent, child});
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool);

  auto message = engine.get_timings(request<v1::GetTimingsRequest>(session));
  ASSERT_TRUE(message) << message.error().message;
  ASSERT_EQ(message->runs_size(), 1);
  EXPECT_EQ(message->runs(0).run().run_id(), built);

  auto serialized = engine.get_timings_serialized(request<v1::GetTimingsRequest>(session));
  ASSERT_TRUE(serialized) << serialized.error().message;
  v1::GetTimingsResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(*serialized));
  ASSERT_EQ(parsed.runs_size(), 1);
  EXPECT_EQ(parsed.runs(0).run().run_id(), built);
}

} // namespace
} // namespace ca::query
