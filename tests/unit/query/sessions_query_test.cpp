// Which sessions `report sessions` lists for a workspace: every session with a run of it, nested
// runs included, as cargo's `report sessions` lists every log of the workspace it runs in.
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;

// A run of workspace /tmp/nested/mid, as a build script of corpus A's wsA ran it (the start and
// resolution of a real cargo 1.95 log, under a made-up run id).
const std::string k_nested = "20261123T062717000Z-5e89c517b31dd08c";
const std::vector<std::string> k_nested_log = {
    R"({"run_id":"20261123T062717000Z-5e89c517b31dd08c","timestamp":"2026-11-23T06:27:17.000539814Z","reason":"build-started","command":["cargo","build"],"cwd":"/tmp/nested/mid","host":"x86_64-unknown-linux-gnu","jobs":2,"num_cpus":2,"profile":"dev","rustc_version":"1.95.0","rustc_version_verbose":"rustc 1.95.0\n","target_dir":"/tmp/nested/mid/target","workspace_root":"/tmp/nested/mid"})",
    R"({"run_id":"20261123T062717000Z-5e89c517b31dd08c","timestamp":"2026-11-23T06:27:17.000549959Z","reason":"resolution-started","elapsed":0.016226028})",
};

v1::ListSessionsRequest in_workspace(const std::string& dir) {
  v1::ListSessionsRequest req;
  req.set_workspace(dir);
  return req;
}

std::vector<std::string> session_ids(const v1::ListSessionsResponse& resp) {
  std::vector<std::string> out;
  for (const auto& s : resp.sessions()) {
    out.push_back(s.session_id());
  }
  return out;
}

class SessionsQuery : public ::testing::Test {
protected:
  void SetUp() override {
    db.add(outer);
    db.add(later);
    db.apply(test::decode_all(k_nested_log));
    db.end(k_nested);
    store::RunFacts child;
    child.run_id = k_nested;
    child.parent_run_id = outer;
    child.link = "ancestry";
    db.apply({}, {child});
  }

  CorpusDb db;
  const std::string outer = test::k_corpus_a_runs[0]; // wsA, clean build
  const std::string later = test::k_corpus_a_runs[1]; // wsA, no-op
};

TEST_F(SessionsQuery, a_workspace_built_only_nested_lists_the_sessions_it_was_built_in) {
  auto r = db.engine().list_sessions(in_workspace("/tmp/nested/mid"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->workspace_root(), "/tmp/nested/mid");
  ASSERT_EQ(session_ids(*r), std::vector<std::string>{outer});
  ASSERT_EQ(r->sessions(0).runs_size(), 2);
  EXPECT_EQ(r->sessions(0).runs(0).run_id(), outer);
  EXPECT_EQ(r->sessions(0).runs(1).run_id(), k_nested);
  EXPECT_EQ(r->sessions(0).runs(1).parent_run_id(), outer);
}

TEST_F(SessionsQuery, a_subdirectory_of_the_nested_workspace_finds_it_too) {
  auto r = db.engine().list_sessions(in_workspace("/tmp/nested/mid/src"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(session_ids(*r), std::vector<std::string>{outer});
}

TEST_F(SessionsQuery, the_outer_workspace_lists_its_own_sessions_newest_first) {
  auto r = db.engine().list_sessions(in_workspace("/tmp/corpus/wsA"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(session_ids(*r), (std::vector<std::string>{later, outer}));
}

TEST_F(SessionsQuery, another_workspace_has_none) {
  auto r = db.engine().list_sessions(in_workspace("/tmp/elsewhere"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
}

} // namespace
} // namespace ca::query
