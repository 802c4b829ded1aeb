// shared/proto_json's to_json against protobuf's MessageToJsonString on real reports: the
// rebuilds and timings of every corpus run, one run per response and all runs in one, with the
// CLI's options (pretty, always_print) and the HTML report's (compact). The per-type coverage is
// in tests/unit/shared/proto_json_test.cpp; this is the data users see.
#include "daemon/query/run_analysis.hpp"
#include "shared/proto_json.hpp"
#include "tests/support/events.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace fs = std::filesystem;
namespace v1 = cargo_analysis::v1;

void expect_same_json(const google::protobuf::Message& m, const std::string& what) {
  for (JsonPrintOptions o :
       {JsonPrintOptions{.pretty = true, .always_print_primitive_fields = true},
        JsonPrintOptions{}}) {
    std::string ours; // our walk itself, not its fallback to protobuf
    ASSERT_TRUE(append_json(ours, m, o)) << what;
    auto theirs = to_json_with_protobuf(m, o);
    ASSERT_TRUE(theirs) << what;
    ASSERT_EQ(ours, *theirs) << what << (o.pretty ? " (pretty, always_print)" : " (compact)");
    auto via_to_json = to_json(m, o);
    ASSERT_TRUE(via_to_json) << what;
    ASSERT_EQ(*via_to_json, ours) << what;
  }
}

TEST(ProtoJsonReports, CorpusRebuildsAndTimingsMatchProtobuf) {
  v1::GetRebuildsResponse all_rebuilds;
  v1::GetTimingsResponse all_timings;
  int runs = 0;
  for (const char* workspace : {"A", "C"}) {
    fs::path logs = test::fixture_path(std::string("corpus/") + workspace + "/logs");
    for (const auto& entry : fs::directory_iterator(logs)) {
      if (entry.path().extension() != ".jsonl") {
        continue;
      }
      std::string name = entry.path().filename().string();
      std::vector<v1::Event> events =
          test::decode_lines(test::read_file(entry.path()), entry.path().string());
      v1::RunSummary summary = test::summary_of(events);
      ASSERT_FALSE(summary.run_id().empty()) << name;

      v1::GetRebuildsResponse rebuilds;
      *rebuilds.add_runs() = compute_rebuilds(events, summary);
      *all_rebuilds.add_runs() = rebuilds.runs(0);
      expect_same_json(rebuilds, name + " rebuilds");

      v1::GetTimingsResponse timings;
      *timings.add_runs() = compute_timings(events, summary);
      *all_timings.add_runs() = timings.runs(0);
      EXPECT_FALSE(timings.runs(0).units().empty()) << name;
      expect_same_json(timings, name + " timings");
      expect_same_json(timings.runs(0), name + " timings (RunTimings, as the HTML embeds it)");
      if (HasFatalFailure()) {
        return;
      }
      ++runs;
    }
  }
  EXPECT_EQ(runs, 11);
  expect_same_json(all_rebuilds, "every run's rebuilds");
  expect_same_json(all_timings, "every run's timings");
}

} // namespace
} // namespace ca::query
