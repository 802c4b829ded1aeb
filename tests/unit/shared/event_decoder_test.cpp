#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ca::codec {
namespace {

namespace pb = cargo_analysis::v1;
namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;

constexpr const char* k_prefix =
    R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":"2026-11-23T06:27:16.262599253Z",)";

std::vector<std::string> read_lines(const fs::path& path) {
  const std::string text = test::read_file(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Every corpus log, in a stable order.
std::vector<fs::path> corpus_logs() {
  std::vector<fs::path> logs;
  for (const auto& corpus : fs::directory_iterator(test::fixture_path("corpus"))) {
    if (!corpus.is_directory() || !fs::is_directory(corpus.path() / "logs")) {
      continue;
    }
    for (const auto& log : fs::directory_iterator(corpus.path() / "logs")) {
      if (log.path().extension() == ".jsonl") {
        logs.push_back(log.path());
      }
    }
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

std::vector<pb::Event> decode_file(const fs::path& path) {
  EventDecoder decoder;
  std::vector<pb::Event> events;
  for (const auto& line : read_lines(path)) {
    pb::Event event;
    auto decoded = decoder.decode(line, event);
    EXPECT_TRUE(decoded) << path << ": " << decoded.error().message << "\n" << line;
    events.push_back(std::move(event));
  }
  return events;
}

// Decodes a line that must decode.
pb::Event decode_ok(std::string_view line) {
  EventDecoder decoder;
  pb::Event event;
  auto decoded = decoder.decode(line, event);
  EXPECT_TRUE(decoded) << decoded.error().message << "\n" << line;
  return event;
}

// Decodes a line that must fail; returns the error.
Error decode_error(std::string_view line) {
  EventDecoder decoder;
  pb::Event event;
  auto decoded = decoder.decode(line, event);
  EXPECT_FALSE(decoded) << line;
  if (decoded) {
    return Error{ErrorCode::internal, "decoded"};
  }
  EXPECT_EQ(event.ByteSizeLong(), 0u) << "event not cleared on error";
  return decoded.error();
}

// The payload case each known reason must fill.
pb::Event::PayloadCase expected_payload(const std::string& reason) {
  static const std::map<std::string, pb::Event::PayloadCase> k_cases = {
      {"build-started", pb::Event::kBuildStarted},
      {"resolution-started", pb::Event::kResolutionStarted},
      {"resolution-finished", pb::Event::kResolutionFinished},
      {"unit-graph-started", pb::Event::kUnitGraphStarted},
      {"unit-graph-finished", pb::Event::kUnitGraphFinished},
      {"unit-registered", pb::Event::kUnitRegistered},
      {"unit-fingerprint", pb::Event::kUnitFingerprint},
      {"unit-started", pb::Event::kUnitStarted},
      {"unit-rmeta-finished", pb::Event::kUnitRmetaFinished},
      {"unit-section-started", pb::Event::kUnitSectionStarted},
      {"unit-section-finished", pb::Event::kUnitSectionFinished},
      {"unit-finished", pb::Event::kUnitFinished},
  };
  const auto it = k_cases.find(reason);
  return it == k_cases.end() ? pb::Event::PAYLOAD_NOT_SET : it->second;
}

// decode(encode(event without raw)) == event, ignoring raw.
void expect_round_trip(const pb::Event& event) {
  pb::Event typed = event;
  typed.clear_raw();
  const std::string encoded = encode_event(typed);
  pb::Event again = decode_ok(encoded);
  EXPECT_EQ(again.raw(), encoded);
  again.clear_raw();
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(typed, again)) << diff << "\nencoded: " << encoded;
}

// --- the corpus of real cargo 1.95 logs ---------------------------------------------------------

TEST(EventDecoderCorpus, EveryLineDecodesWithItsPayloadAndRoundTrips) {
  const auto logs = corpus_logs();
  ASSERT_EQ(logs.size(), 11u);
  std::size_t lines = 0;
  for (const auto& log : logs) {
    const std::string run_id = log.stem().string();
    const auto raw_lines = read_lines(log);
    const auto events = decode_file(log);
    ASSERT_EQ(events.size(), raw_lines.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& event = events[i];
      SCOPED_TRACE(log.filename().string() + ":" + std::to_string(i + 1));
      EXPECT_EQ(event.run_id(), run_id);
      EXPECT_EQ(event.raw(), raw_lines[i]);
      EXPECT_GT(event.timestamp_unix_ns(), 1'700'000'000'000'000'000);
      EXPECT_NE(event.payload_case(), pb::Event::PAYLOAD_NOT_SET) << event.reason();
      EXPECT_EQ(event.payload_case(), expected_payload(event.reason()));
      expect_round_trip(event);
      // Beyond the round trip: the typed event re-encodes to cargo's very bytes.
      pb::Event typed = event;
      typed.clear_raw();
      EXPECT_EQ(encode_event(typed), raw_lines[i]);
      ++lines;
    }
  }
  EXPECT_EQ(lines, 2309u + 1124u);
}

TEST(EventDecoderCorpus, CountsPerReasonInCorpusC) {
  const auto events =
      decode_file(test::fixture_path("corpus/C/logs/20261123T063006342Z-dd457d2f2595ee60.jsonl"));
  std::map<pb::Event::PayloadCase, int> counts;
  int with_features = 0;
  int requested = 0;
  int finished_unblocking = 0;
  int rmeta_unblocking = 0;
  for (const auto& event : events) {
    ++counts[event.payload_case()];
    if (event.has_unit_registered()) {
      with_features += event.unit_registered().features_size() > 0 ? 1 : 0;
      requested += event.unit_registered().requested() ? 1 : 0;
    }
    if (event.has_unit_finished() && event.unit_finished().unblocked_size() > 0) {
      ++finished_unblocking;
    }
    if (event.has_unit_rmeta_finished() && event.unit_rmeta_finished().unblocked_size() > 0) {
      ++rmeta_unblocking;
    }
    if (event.has_unit_fingerprint()) {
      EXPECT_EQ(event.unit_fingerprint().status(), pb::FINGERPRINT_STATUS_NEW);
      EXPECT_FALSE(event.unit_fingerprint().has_cause());
    }
  }
  EXPECT_EQ(events.size(), 1124u);
  EXPECT_EQ(counts[pb::Event::kBuildStarted], 1);
  EXPECT_EQ(counts[pb::Event::kResolutionStarted], 1);
  EXPECT_EQ(counts[pb::Event::kResolutionFinished], 1);
  EXPECT_EQ(counts[pb::Event::kUnitGraphStarted], 1);
  EXPECT_EQ(counts[pb::Event::kUnitGraphFinished], 1);
  EXPECT_EQ(counts[pb::Event::kUnitRegistered], 242);
  EXPECT_EQ(counts[pb::Event::kUnitFingerprint], 242);
  EXPECT_EQ(counts[pb::Event::kUnitStarted], 242);
  EXPECT_EQ(counts[pb::Event::kUnitRmetaFinished], 151);
  EXPECT_EQ(counts[pb::Event::kUnitFinished], 242);
  EXPECT_EQ(counts[pb::Event::kUnitSectionStarted], 0);
  EXPECT_EQ(counts[pb::Event::kUnitSectionFinished], 0);
  EXPECT_EQ(with_features, 160);
  EXPECT_EQ(requested, 1);
  EXPECT_EQ(finished_unblocking, 79);
  EXPECT_EQ(rmeta_unblocking, 62);
}

TEST(EventDecoderCorpus, BuildStartedOfCorpusC) {
  const auto events =
      decode_file(test::fixture_path("corpus/C/logs/20261123T063006342Z-dd457d2f2595ee60.jsonl"));
  ASSERT_FALSE(events.empty());
  const auto& event = events.front();
  EXPECT_EQ(event.reason(), "build-started");
  EXPECT_EQ(event.timestamp(), "2026-11-23T06:30:06.352701432Z");
  EXPECT_EQ(event.timestamp_unix_ns(), 1795415406352701432);
  ASSERT_TRUE(event.has_build_started());
  const auto& m = event.build_started();
  ASSERT_EQ(m.command_size(), 5);
  EXPECT_EQ(m.command(2), "build");
  EXPECT_EQ(m.cwd(), "/tmp/corpus/wsC/big");
  EXPECT_EQ(m.host(), "x86_64-unknown-linux-gnu");
  EXPECT_EQ(m.jobs(), 2u);
  ASSERT_TRUE(m.has_num_cpus());
  EXPECT_EQ(m.num_cpus(), 2u);
  EXPECT_EQ(m.profile(), "dev");
  EXPECT_EQ(m.rustc_version(), "1.95.0");
  EXPECT_EQ(m.rustc_version_verbose().rfind("rustc 1.95.0 (59807616e 2026-04-14)\n", 0), 0u);
  EXPECT_EQ(m.target_dir(), "/tmp/corpus/wsC/big/target");
  EXPECT_EQ(m.workspace_root(), "/tmp/corpus/wsC/big");
}

TEST(EventDecoderCorpus, DirtyCausesOfCorpusA) {
  std::map<std::string, int> causes;
  for (const auto& log : corpus_logs()) {
    if (log.parent_path().parent_path().filename() != "A") {
      continue;
    }
    for (const auto& event : decode_file(log)) {
      if (!event.has_unit_fingerprint() ||
          event.unit_fingerprint().status() != pb::FINGERPRINT_STATUS_DIRTY) {
        continue;
      }
      const auto& cause = event.unit_fingerprint().cause();
      std::string key = cause.dirty_reason();
      if (cause.has_fs_status()) {
        key += "/" + cause.fs_status().fs_status();
        if (cause.fs_status().has_stale_item()) {
          key += "/" + cause.fs_status().stale_item().stale_item();
        }
      }
      ++causes[key];
      if (cause.has_env_var()) {
        EXPECT_EQ(cause.env_var().name(), "WSCORE_FLAVOR");
        EXPECT_FALSE(cause.env_var().has_old_value());
        ASSERT_TRUE(cause.env_var().has_new_value());
        EXPECT_EQ(cause.env_var().new_value(), "spicy");
      }
      if (cause.has_fs_status() && cause.fs_status().stale_item().stale_item() == "changed-file" &&
          cause.fs_status().stale_item().stale() == "/tmp/corpus/wsA/wsapp/src/main.rs") {
        EXPECT_EQ(cause.fs_status().stale_item().reference_mtime(), 1795415250807.422);
        EXPECT_EQ(cause.fs_status().stale_item().stale_mtime(), 1795415252335.422);
      }
    }
  }
  const std::map<std::string, int> expected = {
      {"env-var-changed", 1},
      {"fs-status-outdated/stale-dep-fingerprint", 2},
      {"fs-status-outdated/stale-item/changed-file", 2},
      {"unit-dependency-info-changed", 3},
  };
  EXPECT_EQ(causes, expected);
}

// --- every DirtyReason variant (tests/fixtures/dirty_reasons.jsonl) -----------------------------

class DirtyReasons : public ::testing::Test {
protected:
  void SetUp() override {
    m_lines = read_lines(test::fixture_path("dirty_reasons.jsonl"));
    ASSERT_EQ(m_lines.size(), 38u);
  }

  // The cause of the fixture line whose `index` is `index` (lines are numbered from 1).
  pb::DirtyReason cause(std::size_t index) {
    pb::Event event = decode_ok(m_lines.at(index - 1));
    EXPECT_EQ(event.unit_fingerprint().index(), index);
    EXPECT_EQ(event.unit_fingerprint().status(), pb::FINGERPRINT_STATUS_DIRTY);
    EXPECT_TRUE(event.unit_fingerprint().has_cause());
    return event.unit_fingerprint().cause();
  }

  void expect_kind_only(std::size_t index, const std::string& kind) {
    const auto c = cause(index);
    EXPECT_EQ(c.dirty_reason(), kind);
    EXPECT_EQ(c.detail_case(), pb::DirtyReason::DETAIL_NOT_SET) << kind;
  }

  void expect_string_change(std::size_t index,
                            const std::string& kind,
                            const std::string& old_value,
                            const std::string& new_value) {
    const auto c = cause(index);
    EXPECT_EQ(c.dirty_reason(), kind);
    ASSERT_TRUE(c.has_string_change()) << kind;
    EXPECT_EQ(c.string_change().old(), old_value);
    EXPECT_EQ(c.string_change().new_(), new_value);
  }

  pb::StaleItem stale_item(std::size_t index, const std::string& kind) {
    const auto c = cause(index);
    EXPECT_EQ(c.dirty_reason(), "fs-status-outdated");
    EXPECT_TRUE(c.has_fs_status());
    EXPECT_EQ(c.fs_status().fs_status(), "stale-item");
    EXPECT_TRUE(c.fs_status().has_stale_item());
    EXPECT_EQ(c.fs_status().stale_item().stale_item(), kind);
    return c.fs_status().stale_item();
  }

  std::vector<std::string> m_lines;
};

TEST_F(DirtyReasons, EveryLineRoundTrips) {
  for (const auto& line : m_lines) {
    expect_round_trip(decode_ok(line));
  }
}

TEST_F(DirtyReasons, KindsWithoutDetail) {
  expect_kind_only(1, "rustc-changed");
  expect_kind_only(4, "target-configuration-changed");
  expect_kind_only(5, "path-to-source-changed");
  expect_kind_only(6, "profile-configuration-changed");
  expect_kind_only(8, "config-settings-changed");
  expect_kind_only(9, "compile-kind-changed");
  expect_kind_only(10, "local-lengths-changed");
  expect_kind_only(36, "nothing-obvious");
  expect_kind_only(37, "forced");
  expect_kind_only(38, "fresh-build");
}

TEST_F(DirtyReasons, StringChanges) {
  expect_string_change(2, "features-changed", R"(["f1"])", R"(["f1", "f2"])");
  expect_string_change(3, "declared-features-changed", R"(["default", "extra"])",
                       R"(["default", "extra", "fancy"])");
  expect_string_change(11, "precalculated-components-changed", "1.0.0", "1.0.1");
  expect_string_change(12, "fingerprint-method-changed", "mtime", "content");
  expect_string_change(13, "dep-info-output-changed", "target/debug/old.d", "target/debug/new.d");
  expect_string_change(14, "rerun-if-changed-output-file-changed",
                       "target/debug/build/foo-1/output", "target/debug/build/foo-2/output");
  expect_string_change(16, "env-vars-changed", "WSCORE_FLAVOR", "WSCORE_MODE");
  expect_string_change(20, "local-fingerprint-type-changed", "precalculated", "rerun-if-changed");
  expect_string_change(22, "unit-dependency-name-changed", "old_dep", "new_dep");
}

TEST_F(DirtyReasons, ListChanges) {
  const auto rustflags = cause(7);
  EXPECT_EQ(rustflags.dirty_reason(), "rustflags-changed");
  ASSERT_TRUE(rustflags.has_list_change());
  EXPECT_EQ(std::vector<std::string>(rustflags.list_change().old().begin(),
                                     rustflags.list_change().old().end()),
            (std::vector<std::string>{"-C", "opt-level=2"}));
  EXPECT_EQ(std::vector<std::string>(rustflags.list_change().new_().begin(),
                                     rustflags.list_change().new_().end()),
            (std::vector<std::string>{"--cfg", "tokio_unstable"}));

  const auto paths = cause(15);
  EXPECT_EQ(paths.dirty_reason(), "rerun-if-changed-output-paths-changed");
  ASSERT_TRUE(paths.has_list_change());
  EXPECT_EQ(paths.list_change().old_size(), 2);
  ASSERT_EQ(paths.list_change().new__size(), 3);
  EXPECT_EQ(paths.list_change().new_(2), "file3.txt");
}

TEST_F(DirtyReasons, EnvVarChangedWithNullsAsAbsentValues) {
  const auto both = cause(17);
  EXPECT_EQ(both.dirty_reason(), "env-var-changed");
  ASSERT_TRUE(both.has_env_var());
  EXPECT_EQ(both.env_var().name(), "VAR");
  ASSERT_TRUE(both.env_var().has_old_value());
  EXPECT_EQ(both.env_var().old_value(), "old");
  ASSERT_TRUE(both.env_var().has_new_value());
  EXPECT_EQ(both.env_var().new_value(), "new");

  const auto was_unset = cause(18);
  EXPECT_FALSE(was_unset.env_var().has_old_value());
  EXPECT_EQ(was_unset.env_var().new_value(), "new");

  const auto now_unset = cause(19);
  EXPECT_EQ(now_unset.env_var().old_value(), "old");
  EXPECT_FALSE(now_unset.env_var().has_new_value());
}

TEST_F(DirtyReasons, CountAndUnit) {
  const auto count = cause(21);
  EXPECT_EQ(count.dirty_reason(), "number-of-dependencies-changed");
  ASSERT_TRUE(count.has_count_change());
  EXPECT_EQ(count.count_change().old(), 5u);
  EXPECT_EQ(count.count_change().new_(), 7u);

  const auto unit = cause(23);
  EXPECT_EQ(unit.dirty_reason(), "unit-dependency-info-changed");
  ASSERT_TRUE(unit.has_unit());
  EXPECT_EQ(unit.unit(), 15u);
}

TEST_F(DirtyReasons, FsStatusStaleAndDependencies) {
  const auto stale = cause(24);
  EXPECT_EQ(stale.dirty_reason(), "fs-status-outdated");
  ASSERT_TRUE(stale.has_fs_status());
  EXPECT_EQ(stale.fs_status().fs_status(), "stale");
  EXPECT_FALSE(stale.fs_status().has_stale_item());

  const auto dependency = cause(34);
  ASSERT_TRUE(dependency.has_fs_status());
  EXPECT_EQ(dependency.fs_status().fs_status(), "stale-dependency");
  EXPECT_EQ(dependency.fs_status().unit(), 42u);
  EXPECT_EQ(dependency.fs_status().dep_mtime(), 1730567892789.0);
  EXPECT_EQ(dependency.fs_status().max_mtime(), 1730567890123.0);

  const auto fingerprint = cause(35);
  ASSERT_TRUE(fingerprint.has_fs_status());
  EXPECT_EQ(fingerprint.fs_status().fs_status(), "stale-dep-fingerprint");
  EXPECT_EQ(fingerprint.fs_status().unit(), 42u);
}

TEST_F(DirtyReasons, StaleItems) {
  EXPECT_EQ(stale_item(25, "missing-file").path(), "src/lib.rs");
  EXPECT_EQ(stale_item(26, "unable-to-read-file").path(), "src/lib.rs");
  EXPECT_EQ(stale_item(27, "failed-to-read-metadata").path(), "src/lib.rs");
  EXPECT_EQ(stale_item(31, "missing-checksum").path(), "src/lib.rs");

  const auto changed_file = stale_item(28, "changed-file");
  EXPECT_EQ(changed_file.reference(), "target/debug/deps/libfoo-abc123.rmeta");
  EXPECT_EQ(changed_file.reference_mtime(), 1730567890123.0);
  EXPECT_EQ(changed_file.stale(), "src/lib.rs");
  EXPECT_EQ(changed_file.stale_mtime(), 1730567891456.0);

  const auto checksum = stale_item(29, "changed-checksum");
  EXPECT_EQ(checksum.source(), "src/main.rs");
  EXPECT_EQ(checksum.stored_checksum(), "sha256=" + std::string(64, 'a'));
  EXPECT_EQ(checksum.new_checksum(), "sha256=" + std::string(64, 'b'));

  const auto size = stale_item(30, "file-size-changed");
  EXPECT_EQ(size.path(), "src/lib.rs");
  EXPECT_EQ(size.old_size(), 1024u);
  EXPECT_EQ(size.new_size(), 2048u);

  const auto env = stale_item(32, "changed-env");
  EXPECT_EQ(env.var(), "VAR");
  ASSERT_TRUE(env.has_previous());
  EXPECT_EQ(env.previous(), "old");
  ASSERT_TRUE(env.has_current());
  EXPECT_EQ(env.current(), "new");

  const auto env_was_unset = stale_item(33, "changed-env");
  EXPECT_FALSE(env_was_unset.has_previous());
  EXPECT_EQ(env_was_unset.current(), "new");
}

TEST(EventDecoder, IntegerMtimesAreAccepted) {
  const auto event = decode_ok(
      std::string(k_prefix) +
      R"("reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dependency","unit":42,"dep_mtime":1730567892789,"max_mtime":0}})");
  const auto& fs_status = event.unit_fingerprint().cause().fs_status();
  EXPECT_EQ(fs_status.dep_mtime(), 1730567892789.0);
  EXPECT_EQ(fs_status.max_mtime(), 0.0);
}

// --- leniency: cargo's schema grows -------------------------------------------------------------

TEST(EventDecoder, UnknownReasonIsKeptWithoutPayload) {
  const std::string line =
      std::string(k_prefix) + R"("reason":"unit-linked","index":4,"what":{"nested":[1,2]}})";
  const auto event = decode_ok(line);
  EXPECT_EQ(event.reason(), "unit-linked");
  EXPECT_EQ(event.payload_case(), pb::Event::PAYLOAD_NOT_SET);
  EXPECT_EQ(event.run_id(), "20261123T062716161Z-28b99174ef2c2ad6");
  EXPECT_EQ(event.timestamp_unix_ns(), 1795415236262599253);
  EXPECT_EQ(event.raw(), line);
  expect_round_trip(event);
}

TEST(EventDecoder, UnknownFieldsAreIgnored) {
  const std::string line = std::string(k_prefix) +
                           R"("reason":"unit-started","index":7,"elapsed":1.5,"new_field":)"
                           R"({"a":[true,null]},"zzz":"x"})";
  const auto event = decode_ok(line);
  ASSERT_TRUE(event.has_unit_started());
  EXPECT_EQ(event.unit_started().index(), 7u);
  EXPECT_EQ(event.unit_started().elapsed(), 1.5);
  EXPECT_EQ(event.raw(), line);
}

TEST(EventDecoder, KeyOrderDoesNotMatter) {
  const auto event = decode_ok(
      R"({"elapsed":2.25,"index":9,"reason":"unit-finished","unblocked":[1,2],)"
      R"("timestamp":"2026-11-23T06:27:16Z","run_id":"20261123T062716161Z-28b99174ef2c2ad6"})");
  ASSERT_TRUE(event.has_unit_finished());
  EXPECT_EQ(event.unit_finished().index(), 9u);
  EXPECT_EQ(event.unit_finished().unblocked_size(), 2);
  EXPECT_EQ(event.timestamp_unix_ns(), 1795415236000000000);
}

TEST(EventDecoder, UnknownDirtyReasonIsKeptByName) {
  const auto event = decode_ok(
      std::string(k_prefix) +
      R"("reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":"moon-phase-changed","old":"full","new":"new"}})");
  ASSERT_TRUE(event.has_unit_fingerprint());
  EXPECT_EQ(event.unit_fingerprint().cause().dirty_reason(), "moon-phase-changed");
  EXPECT_EQ(event.unit_fingerprint().cause().detail_case(), pb::DirtyReason::DETAIL_NOT_SET);
  expect_round_trip(event);
}

TEST(EventDecoder, UnknownFsStatusAndStaleItemAreKeptByName) {
  const auto fs_status = decode_ok(
      std::string(k_prefix) +
      R"("reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-moon"}})");
  EXPECT_EQ(fs_status.unit_fingerprint().cause().fs_status().fs_status(), "stale-moon");
  expect_round_trip(fs_status);

  const auto item = decode_ok(
      std::string(k_prefix) +
      R"("reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"moon-changed","path":"x"}})");
  const auto& stale_item = item.unit_fingerprint().cause().fs_status().stale_item();
  EXPECT_EQ(stale_item.stale_item(), "moon-changed");
  EXPECT_EQ(stale_item.path(), "");
  expect_round_trip(item);
}

TEST(EventDecoder, UnknownFingerprintStatusIsUnspecified) {
  const auto event = decode_ok(std::string(k_prefix) +
                               R"("reason":"unit-fingerprint","index":3,"status":"stale"})");
  EXPECT_EQ(event.unit_fingerprint().status(), pb::FINGERPRINT_STATUS_UNSPECIFIED);
}

TEST(EventDecoder, OptionalFieldsMayBeMissingOrNull) {
  const auto registered = decode_ok(
      std::string(k_prefix) +
      R"("reason":"unit-registered","package_id":"path+file:///ws/a#0.1.0","target":{"name":"a","kind":"lib"},"mode":"check","platform":"x86_64-unknown-linux-gnu","index":0})");
  ASSERT_TRUE(registered.has_unit_registered());
  EXPECT_EQ(registered.unit_registered().features_size(), 0);
  EXPECT_FALSE(registered.unit_registered().requested());
  EXPECT_EQ(registered.unit_registered().dependencies_size(), 0);
  EXPECT_EQ(registered.unit_registered().mode(), "check");
  expect_round_trip(registered);

  const auto null_cause =
      decode_ok(std::string(k_prefix) + R"("reason":"unit-fingerprint","index":3,"status":"fresh",)"
                                        R"("cause":null})");
  EXPECT_FALSE(null_cause.unit_fingerprint().has_cause());

  const auto build = decode_ok(
      R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":"2026-11-23T06:27:16Z","reason":"build-started","command":[],"cwd":"/","host":"h","jobs":1,"num_cpus":null,"profile":"dev","rustc_version":"1","rustc_version_verbose":"v","target_dir":"/t","workspace_root":"/w"})");
  ASSERT_TRUE(build.has_build_started());
  EXPECT_FALSE(build.build_started().has_num_cpus());
  expect_round_trip(build);
}

TEST(EventDecoder, UnitSections) {
  const auto started =
      decode_ok(std::string(k_prefix) +
                R"("reason":"unit-section-started","index":5,"elapsed":0.5,"section":"codegen"})");
  ASSERT_TRUE(started.has_unit_section_started());
  EXPECT_EQ(started.unit_section_started().section(), "codegen");
  expect_round_trip(started);
  const auto finished =
      decode_ok(std::string(k_prefix) +
                R"("reason":"unit-section-finished","index":5,"elapsed":0.75,"section":"link"})");
  ASSERT_TRUE(finished.has_unit_section_finished());
  EXPECT_EQ(finished.unit_section_finished().elapsed(), 0.75);
  expect_round_trip(finished);
}

TEST(EventDecoder, MissingTimestampIsAllowed) {
  const auto event = decode_ok(
      R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","reason":"unit-started","index":1,"elapsed":0.1})");
  EXPECT_EQ(event.timestamp(), "");
  EXPECT_EQ(event.timestamp_unix_ns(), 0);
  expect_round_trip(event);
}

TEST(EventDecoder, MalformedTimestampIsKeptAsText) {
  const auto event = decode_ok(
      R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":"yesterday","reason":"unit-started","index":1,"elapsed":0.1})");
  EXPECT_EQ(event.timestamp(), "yesterday");
  EXPECT_EQ(event.timestamp_unix_ns(), 0);
}

TEST(EventDecoder, TrailingCarriageReturnIsTolerated) {
  const std::string line = std::string(k_prefix) + R"("reason":"unit-started","index":1,)"
                                                   R"("elapsed":0.1})";
  const auto event = decode_ok(line + "\r");
  ASSERT_TRUE(event.has_unit_started());
  EXPECT_EQ(event.raw(), line);
  // Several (found by tests/fuzz/fuzz_event_decoder.cpp): all go, so `raw` decodes to itself.
  const auto again = decode_ok(line + "\r\r\r");
  EXPECT_EQ(again.raw(), line);
  EXPECT_EQ(decode_ok(again.raw()).SerializeAsString(), again.SerializeAsString());
}

TEST(EventDecoder, ReusesItsBuffersAcrossLinesOfAnySize) {
  EventDecoder decoder;
  pb::Event event;
  const std::string small = std::string(k_prefix) + R"("reason":"unit-started","index":1,)"
                                                    R"("elapsed":0.1})";
  const std::string big = std::string(k_prefix) +
                          R"("reason":"unit-started","index":2,)"
                          R"("elapsed":0.2,"pad":")" +
                          std::string(100'000, 'x') + "\"}";
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(decoder.decode(small, event));
    EXPECT_EQ(event.unit_started().index(), 1u);
    ASSERT_TRUE(decoder.decode(big, event));
    EXPECT_EQ(event.unit_started().index(), 2u);
    ASSERT_FALSE(decoder.decode("{", event));
    EXPECT_FALSE(event.has_unit_started());
  }
}

// --- errors -------------------------------------------------------------------------------------

TEST(EventDecoderErrors, EmptyLine) {
  for (const char* line : {"", "\r"}) {
    const auto error = decode_error(line);
    EXPECT_EQ(error.code, ErrorCode::invalid_argument);
    EXPECT_EQ(error.message, "empty line");
  }
}

TEST(EventDecoderErrors, NotJson) {
  for (const char* line : {"not json", "{", R"({"run_id":})", "{} {}", "   "}) {
    const auto error = decode_error(line);
    EXPECT_EQ(error.code, ErrorCode::invalid_argument);
    EXPECT_EQ(error.message.rfind("invalid JSON: ", 0), 0u) << line << ": " << error.message;
  }
}

TEST(EventDecoderErrors, NotAnObject) {
  const auto array = decode_error(R"(["run_id","reason"])");
  EXPECT_EQ(array.code, ErrorCode::invalid_argument);
  EXPECT_EQ(array.message, "expected a JSON object, got an array");
  EXPECT_EQ(decode_error("42").message, "expected a JSON object, got a number");
  EXPECT_EQ(decode_error(R"("x")").message, "expected a JSON object, got a string");
  EXPECT_EQ(decode_error("null").message, "expected a JSON object, got null");
}

TEST(EventDecoderErrors, MissingRunId) {
  const auto error =
      decode_error(R"({"timestamp":"2026-11-23T06:27:16Z","reason":"unit-started"})");
  EXPECT_EQ(error.code, ErrorCode::invalid_argument);
  EXPECT_EQ(error.message, "missing field `run_id`");
}

TEST(EventDecoderErrors, MissingReason) {
  const auto error = decode_error(R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6"})");
  EXPECT_EQ(error.code, ErrorCode::invalid_argument);
  EXPECT_EQ(error.message, "missing field `reason`");
}

TEST(EventDecoderErrors, RunIdAndReasonMustBeStrings) {
  EXPECT_EQ(decode_error(R"({"run_id":42,"reason":"unit-started"})").message,
            "field `run_id`: expected a string");
  EXPECT_EQ(
      decode_error(R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","reason":["x"]})").message,
      "field `reason`: expected a string");
  EXPECT_EQ(decode_error(R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":1,)"
                         R"("reason":"x"})")
                .message,
            "field `timestamp`: expected a string");
}

TEST(EventDecoderErrors, MalformedRunIdHasCargosMessage) {
  const auto error = decode_error(R"({"run_id":"invalid-session-id","reason":"unit-started"})");
  EXPECT_EQ(error.code, ErrorCode::invalid_argument);
  EXPECT_EQ(
      error.message,
      "expect run ID in format `20060724T012128000Z-<16-char-hex>`, got `invalid-session-id`");
}

TEST(EventDecoderErrors, WrongTypedKnownField) {
  const auto error =
      decode_error(std::string(k_prefix) + R"("reason":"unit-started","index":"7","elapsed":1})");
  EXPECT_EQ(error.code, ErrorCode::invalid_argument);
  EXPECT_EQ(error.message, "field `index` of unit-started: expected an unsigned integer");

  EXPECT_EQ(
      decode_error(std::string(k_prefix) + R"("reason":"unit-started","index":-1,"elapsed":1})")
          .message,
      "field `index` of unit-started: expected an unsigned integer");
  EXPECT_EQ(
      decode_error(std::string(k_prefix) + R"("reason":"unit-started","index":1,"elapsed":"1"})")
          .message,
      "field `elapsed` of unit-started: expected a number");
  EXPECT_EQ(decode_error(std::string(k_prefix) +
                         R"("reason":"unit-finished","index":1,"elapsed":1,"unblocked":[1,"2"]})")
                .message,
            "field `unblocked` of unit-finished: expected an array of unsigned integers");
  EXPECT_EQ(decode_error(std::string(k_prefix) +
                         R"("reason":"unit-registered","package_id":"p","target":"lib"})")
                .message,
            "field `target` of unit-registered: expected an object");
  EXPECT_EQ(
      decode_error(
          std::string(k_prefix) +
          R"("reason":"unit-fingerprint","index":1,"status":"dirty","cause":{"dirty_reason":"features-changed","old":1,"new":"x"}})")
          .message,
      "field `cause.old` of unit-fingerprint: expected a string");
  EXPECT_EQ(
      decode_error(
          std::string(k_prefix) +
          R"("reason":"unit-fingerprint","index":1,"status":"dirty","cause":{"dirty_reason":"env-var-changed","name":"V","old_value":1,"new_value":null}})")
          .message,
      "field `cause.old_value` of unit-fingerprint: expected a string or null");
}

TEST(EventDecoderErrors, IndexOutOfRange) {
  const auto error = decode_error(std::string(k_prefix) +
                                  R"("reason":"unit-started","index":4294967296,"elapsed":1})");
  EXPECT_EQ(error.code, ErrorCode::invalid_argument);
  EXPECT_EQ(error.message,
            "field `index` of unit-started: 4294967296 is out of range (at most 4294967295)");
}

TEST(EventDecoderErrors, MissingRequiredField) {
  EXPECT_EQ(decode_error(std::string(k_prefix) + R"("reason":"unit-started","elapsed":1})").message,
            "field `index` of unit-started: missing");
  EXPECT_EQ(
      decode_error(
          std::string(k_prefix) +
          R"("reason":"unit-fingerprint","index":1,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-file","reference":"r","reference_mtime":1,"stale":"s"}})")
          .message,
      "field `cause.stale_mtime` of unit-fingerprint: missing");
}

TEST(EventDecoderErrors, LineOverTheLimit) {
  const std::string filler(k_max_line_bytes, 'x');
  const std::string line = std::string(k_prefix) + R"("reason":"x","pad":")" + filler + "\"}";
  const auto error = decode_error(line);
  EXPECT_EQ(error.code, ErrorCode::resource_exhausted);
  EXPECT_EQ(error.message,
            "line is " + std::to_string(line.size()) + " bytes, over the 1048576-byte limit");
}

TEST(EventDecoderErrors, LineAtTheLimitIsAccepted) {
  const std::string head = std::string(k_prefix) + R"("reason":"x","pad":")";
  const std::string line = head + std::string(k_max_line_bytes - head.size() - 2, 'x') + "\"}";
  ASSERT_EQ(line.size(), k_max_line_bytes);
  EXPECT_EQ(decode_ok(line).reason(), "x");
}

// --- encoding -----------------------------------------------------------------------------------

TEST(EventEncoder, RawIsReturnedVerbatim) {
  pb::Event event;
  event.set_raw(R"({"anything":"goes"})");
  event.set_reason("unit-started");
  EXPECT_EQ(encode_event(event), R"({"anything":"goes"})");
}

TEST(EventEncoder, TypedEventInCargosShape) {
  pb::Event event;
  event.set_run_id("20261123T062716161Z-28b99174ef2c2ad6");
  event.set_timestamp_unix_ns(1795415236256603700);
  auto* fingerprint = event.mutable_unit_fingerprint();
  fingerprint->set_index(3);
  fingerprint->set_status(pb::FINGERPRINT_STATUS_DIRTY);
  auto* env = fingerprint->mutable_cause();
  env->set_dirty_reason("env-var-changed");
  env->mutable_env_var()->set_name("V\"Q");
  env->mutable_env_var()->set_new_value("line\nbreak");
  EXPECT_EQ(
      encode_event(event),
      R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":"2026-11-23T06:27:16.2566037Z",)"
      R"("reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":)"
      R"("env-var-changed","name":"V\"Q","old_value":null,"new_value":"line\nbreak"}})");
}

TEST(EventEncoder, EventWithoutTimestampLeavesItOut) {
  pb::Event event;
  event.set_run_id("20261123T062716161Z-28b99174ef2c2ad6");
  event.set_reason("some-future-reason");
  EXPECT_EQ(encode_event(event),
            R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","reason":"some-future-reason"})");
}

} // namespace
} // namespace ca::codec
