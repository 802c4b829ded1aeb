// CPU and memory samples stored with a run (daemon/store/resource_samples.hpp) in the timings
// answers, and the trace export (shared/render/timings_trace.hpp) of real runs: corpus C (242
// units) alone, and as a session with a nested run of corpus A on one time axis.
#include "daemon/store/resource_samples.hpp"
#include "shared/proto_json.hpp"
#include "shared/render/timings_report.hpp"
#include "shared/render/timings_trace.hpp"
#include "tests/support/trace_check.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using nlohmann::json;
using test::CorpusDb;
using test::k_corpus_a_runs;
using test::k_corpus_c_run;
using test::request;

// `n` samples from the run's start, 100 ms apart, CPU rising 0..99 %.
std::vector<store::ResourceSample> samples_from(int64_t start_ms, int n) {
  std::vector<store::ResourceSample> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(store::ResourceSample{start_ms + 100 * i, static_cast<double>(i % 100),
                                        uint64_t{4000000} + static_cast<uint64_t>(i) * 10,
                                        uint64_t{8000000}});
  }
  return out;
}

int64_t start_ms(const std::string& run_id, CorpusDb& db) {
  auto r = db.engine().get_timings(request<v1::GetTimingsRequest>(run_id));
  EXPECT_TRUE(r) << r.error().message;
  return r ? r->runs(0).run().start_unix_ms() : 0;
}

json as_json(const google::protobuf::Message& m) {
  auto text = to_json(m, {.pretty = false, .always_print_primitive_fields = true});
  EXPECT_TRUE(text);
  return json::parse(text ? *text : "{}");
}

TEST(ResourceTimings, a_run_ingested_after_the_fact_is_not_sampled) {
  CorpusDb db;
  db.add(k_corpus_c_run);
  auto r = db.engine().get_timings(request<v1::GetTimingsRequest>(k_corpus_c_run));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->runs(0).sampled());
  EXPECT_EQ(r->runs(0).resource_usage_size(), 0);
  EXPECT_NE(render::render_timings_html(r->runs(0)).find("const CPU_USAGE = [];"),
            std::string::npos);
}

TEST(ResourceTimings, stored_chunks_come_back_in_order_relative_to_the_run_start_in_both_paths) {
  CorpusDb db;
  db.add(k_corpus_c_run);
  const int64_t start = start_ms(k_corpus_c_run, db);
  auto all = samples_from(start, 45);
  // Three chunks, as the sampler flushes them.
  ASSERT_EQ(*store::append_resource_samples(db.db(), k_corpus_c_run, {all.data(), 20}), 1);
  ASSERT_EQ(*store::append_resource_samples(db.db(), k_corpus_c_run, {all.data() + 20, 20}), 1);
  ASSERT_EQ(*store::append_resource_samples(db.db(), k_corpus_c_run, {all.data() + 40, 5}), 1);
  EXPECT_EQ(*store::append_resource_samples(db.db(), "20990101T000000000Z-0000000000000000",
                                            {all.data(), 5}),
            0)
      << "samples of a run that is not stored are dropped";

  auto message = db.engine().get_timings(request<v1::GetTimingsRequest>(k_corpus_c_run));
  ASSERT_TRUE(message) << message.error().message;
  const v1::RunTimings& t = message->runs(0);
  EXPECT_TRUE(t.sampled());
  ASSERT_EQ(t.resource_usage_size(), 45);
  EXPECT_EQ(t.mem_total_bytes(), uint64_t{8000000} * 1024);
  for (int i = 0; i < 45; ++i) {
    EXPECT_DOUBLE_EQ(t.resource_usage(i).t(), 0.1 * i) << i;
    EXPECT_DOUBLE_EQ(t.resource_usage(i).cpu_percent(), i % 100) << i;
    EXPECT_EQ(t.resource_usage(i).mem_used_bytes(), (uint64_t{4000000} + i * 10) * 1024) << i;
  }
  // The client's path (stored report bytes + the samples appended) parses to the same fields.
  auto serialized =
      db.engine().get_timings_serialized(request<v1::GetTimingsRequest>(k_corpus_c_run));
  ASSERT_TRUE(serialized) << serialized.error().message;
  v1::GetTimingsResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(*serialized));
  ASSERT_EQ(parsed.runs_size(), 1);
  EXPECT_TRUE(parsed.runs(0).sampled());
  EXPECT_EQ(parsed.runs(0).resource_usage_size(), 45);
  EXPECT_EQ(parsed.runs(0).units_size(), t.units_size());

  // The HTML draws them in the concurrency graph and lists them in cargo's variable.
  std::string html = render::render_timings_html(t);
  EXPECT_NE(html.find("<path class=\"cpu-usage\""), std::string::npos);
  EXPECT_NE(html.find("CPU Usage</text>"), std::string::npos);
  EXPECT_NE(html.find("const CPU_USAGE = [[0.000,0.0],[0.100,1.0],"), std::string::npos);
}

TEST(ResourceTimings, sample_blobs_round_trip_and_refuse_garbage) {
  auto samples = samples_from(1790000000000, 600);
  std::string blob = store::encode_resource_samples(samples);
  EXPECT_LT(blob.size(), 600u * 6) << "a sample takes a few bytes";
  std::vector<store::ResourceSample> back;
  ASSERT_TRUE(store::decode_resource_samples(blob, "test", back));
  ASSERT_EQ(back.size(), samples.size());
  EXPECT_EQ(back[599].unix_ms, samples[599].unix_ms);
  EXPECT_EQ(back[599].mem_used_kib, samples[599].mem_used_kib);
  for (std::string bad : {std::string(), std::string("\x02"), blob.substr(0, blob.size() / 2)}) {
    std::vector<store::ResourceSample> none;
    auto r = store::decode_resource_samples(bad, "run R chunk 0", none);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("run R chunk 0"), std::string::npos);
  }
}

TEST(TimingsTrace, a_real_242_unit_build_validates_and_matches_the_timings_json) {
  CorpusDb db;
  db.add(k_corpus_c_run);
  const int64_t start = start_ms(k_corpus_c_run, db);
  auto s = samples_from(start, 30);
  ASSERT_TRUE(store::append_resource_samples(db.db(), k_corpus_c_run, s));
  auto r = db.engine().get_timings(request<v1::GetTimingsRequest>(k_corpus_c_run));
  ASSERT_TRUE(r) << r.error().message;
  json trace = json::parse(render::render_timings_trace(*r));
  auto summary = test::check_trace(trace, as_json(*r));
  for (const auto& p : summary.problems) {
    ADD_FAILURE() << p;
  }
  EXPECT_EQ(summary.units, 242u);
  EXPECT_GT(summary.sections, 242u) << "frontend and codegen at least for most units";
  EXPECT_GT(summary.rmeta, 100u);
  EXPECT_EQ(summary.cpu, 30u);
  EXPECT_EQ(summary.memory, 30u);
  EXPECT_EQ(summary.processes, 1u);
  EXPECT_EQ(trace["displayTimeUnit"], "ms");
}

TEST(TimingsTrace, a_session_is_one_timeline_with_a_process_per_run) {
  CorpusDb db;
  db.add(k_corpus_c_run);
  db.add(k_corpus_a_runs[0]);
  const std::string session = "session-of-c";
  store::RunFacts parent;
  parent.run_id = k_corpus_c_run;
  parent.session_id = session;
  store::RunFacts child;
  child.run_id = k_corpus_a_runs[0];
  child.session_id = session;
  child.parent_run_id = k_corpus_c_run;
  child.link = "ancestry";
  db.apply({}, {parent, child});
  auto r = db.engine().get_timings(request<v1::GetTimingsRequest>(session));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->runs_size(), 2);
  json trace = json::parse(render::render_timings_trace(*r));
  auto summary = test::check_trace(trace, as_json(*r));
  for (const auto& p : summary.problems) {
    ADD_FAILURE() << p;
  }
  EXPECT_EQ(summary.processes, 2u);
  // Each run's band: a complete event on thread 0 named by its command, at its own offset.
  std::vector<json> bands;
  for (const json& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e.value("cat", "") == "run") {
      bands.push_back(e);
    }
  }
  ASSERT_EQ(bands.size(), 2u);
  const int64_t a = r->runs(0).run().start_unix_ms();
  const int64_t b = r->runs(1).run().start_unix_ms();
  EXPECT_EQ(bands[0]["ts"].get<int64_t>(), (a - std::min(a, b)) * 1000);
  EXPECT_EQ(bands[1]["ts"].get<int64_t>(), (b - std::min(a, b)) * 1000);
  EXPECT_EQ(bands[0]["name"], r->runs(0).run().command_line());
}

} // namespace
} // namespace ca::query
