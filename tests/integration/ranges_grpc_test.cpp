// Time ranges and package filters through the gRPC API (the fields IDEs set: since_unix_ms,
// until_unix_ms, packages), on the real daemon with corpus A (ten real cargo 1.95 runs of
// /tmp/corpus/wsA between 06:27:16 and 06:27:51 UTC on 2026-11-23).
#include "shared/run_id.hpp"
#include "tests/support/grpc_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace ca::test {
namespace {

namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;

constexpr const char* k_ws = "/tmp/corpus/wsA";
constexpr const char* k_newest = "20261123T062751587Z-28b99174ef2c2ad6";

class RangesGrpc : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(daemon.start());
    auto r = daemon.client({"ingest", fixture_path("corpus/A/logs").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reports = v1::Reports::NewStub(daemon_channel(daemon.runtime_dir()));
  }

  static void deadline(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  }

  static int64_t at(const char* rfc3339) { return *parse_rfc3339_ns(rfc3339) / 1'000'000; }

  TempDir dir;
  DaemonProcess daemon{dir.path(), {"--no-watch"}};
  std::unique_ptr<v1::Reports::Stub> reports;
};

TEST_F(RangesGrpc, ListSessionsKeepsTheSessionsThatStartedInTheRange) {
  const int64_t since = at("2026-11-23T06:27:50Z");
  auto runs_in = [&](std::optional<int64_t> from, std::optional<int64_t> to) {
    grpc::ClientContext ctx;
    deadline(ctx);
    v1::ListSessionsRequest req;
    req.set_all(true);
    req.set_limit(100);
    if (from) {
      req.set_since_unix_ms(*from);
    }
    if (to) {
      req.set_until_unix_ms(*to);
    }
    v1::ListSessionsResponse resp;
    auto st = reports->ListSessions(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<v1::RunSummary> out;
    for (const auto& s : resp.sessions()) {
      for (const auto& r : s.runs()) {
        out.push_back(r);
      }
    }
    return out;
  };
  auto recent = runs_in(since, std::nullopt);
  ASSERT_EQ(recent.size(), 3u); // 06:27:50.691, 06:27:50.774, 06:27:51.587
  for (const auto& r : recent) {
    EXPECT_GE(r.start_unix_ms(), since) << r.run_id();
  }
  auto older = runs_in(std::nullopt, since);
  EXPECT_EQ(older.size(), 7u);
  for (const auto& r : older) {
    EXPECT_LT(r.start_unix_ms(), since) << r.run_id();
  }
  EXPECT_EQ(runs_in(at("2026-11-23T06:27:51.587Z"), at("2026-11-23T06:27:51.588Z")).size(), 1u);
}

TEST_F(RangesGrpc, SingleRunRequestsCountTheOtherRunsInTheRange) {
  grpc::ClientContext ctx;
  deadline(ctx);
  v1::GetRebuildsRequest req;
  req.set_workspace(k_ws);
  req.set_since_unix_ms(at("2026-11-23T06:27:50Z"));
  v1::GetRebuildsResponse resp;
  auto st = reports->GetRebuilds(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.runs_size(), 1);
  EXPECT_EQ(resp.runs(0).run().run_id(), k_newest);
  EXPECT_EQ(resp.other_runs_in_range(), 2u);

  // Unbounded: the newest of the whole history, no count.
  grpc::ClientContext ctx2;
  deadline(ctx2);
  v1::GetTimingsRequest all;
  all.set_workspace(k_ws);
  v1::GetTimingsResponse timings;
  st = reports->GetTimings(&ctx2, all, &timings);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(timings.runs(0).run().run_id(), k_newest);
  EXPECT_EQ(timings.other_runs_in_range(), 0u);
}

TEST_F(RangesGrpc, PackagesFilterTheUnitsAndBadInputIsAnError) {
  grpc::ClientContext ctx;
  deadline(ctx);
  v1::GetTimingsRequest req;
  req.set_id(k_newest);
  req.add_packages("path+file:///tmp/corpus/wsA/wscore#0.1.0");
  v1::GetTimingsResponse resp;
  auto st = reports->GetTimings(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.runs(0).units_size(), 3); // wscore's lib, build script and its run
  for (const auto& u : resp.runs(0).units()) {
    EXPECT_EQ(u.unit().name(), "wscore");
  }

  grpc::ClientContext ctx2;
  deadline(ctx2);
  v1::GetRebuildsRequest typo;
  typo.set_id(k_newest);
  typo.add_packages("wscor");
  v1::GetRebuildsResponse none;
  st = reports->GetRebuilds(&ctx2, typo, &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "package ID specification `wscor` did not match any packages\n\n"
                                "help: a package with a similar name exists: `wscore`");

  grpc::ClientContext ctx3;
  deadline(ctx3);
  v1::GetCriticalPathRequest inverted;
  inverted.set_workspace(k_ws);
  inverted.set_since_unix_ms(at("2026-11-23T06:27:51Z"));
  inverted.set_until_unix_ms(at("2026-11-23T06:27:50Z"));
  v1::GetCriticalPathResponse path;
  st = reports->GetCriticalPath(&ctx3, inverted, &path);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "the time range is empty: --since (2026-11-23T06:27:51.000Z) is "
                                "not before --until (2026-11-23T06:27:50.000Z)");

  grpc::ClientContext ctx4;
  deadline(ctx4);
  v1::TrendsRequest bad_spec;
  bad_spec.set_workspace(k_ws);
  bad_spec.add_packages("wscore@one");
  v1::TrendsResponse trends;
  st = reports->Trends(&ctx4, bad_spec, &trends);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("invalid package ID specification: `wscore@one`"),
            std::string::npos)
      << st.error_message();
}

} // namespace
} // namespace ca::test
