// `report rebuilds`: our computation + rendering against cargo 1.95's own output for every run
// of the real-cargo corpus (tests/fixtures/corpus), and one test per reason wording.
#include "daemon/query/run_analysis.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/render/rebuilds_text.hpp"
#include "tests/support/events.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace fs = std::filesystem;
namespace v1 = cargo_analysis::v1;
using render::Verbosity;

using test::decode_lines;
using test::summary_of;

struct CorpusRun {
  std::string workspace; // A, C
  std::string run_id;
};

std::vector<CorpusRun> corpus_runs() {
  std::vector<CorpusRun> runs;
  for (const char* workspace : {"A", "C"}) {
    fs::path logs = test::fixture_path(std::string("corpus/") + workspace + "/logs");
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(logs, ec)) {
      if (entry.path().extension() == ".jsonl") {
        runs.push_back({workspace, entry.path().stem().string()});
      }
    }
  }
  std::sort(runs.begin(), runs.end(), [](const CorpusRun& a, const CorpusRun& b) {
    return a.workspace + a.run_id < b.workspace + b.run_id;
  });
  return runs;
}

class CorpusRebuilds : public testing::TestWithParam<CorpusRun> {
protected:
  void SetUp() override {
    const CorpusRun& run = GetParam();
    fs::path log = test::fixture_path("corpus/" + run.workspace + "/logs/" + run.run_id + ".jsonl");
    m_events = decode_lines(test::read_file(log), log.string());
    m_summary = summary_of(m_events);
    ASSERT_EQ(m_summary.run_id(), run.run_id);
  }

  std::string golden(const std::string& prefix) const {
    const CorpusRun& run = GetParam();
    return test::read_file(
        test::fixture_path("corpus/" + run.workspace + "/reports/" + prefix + run.run_id + ".txt"));
  }

  std::vector<v1::Event> m_events;
  v1::RunSummary m_summary;
};

// Byte for byte, no normalisation: the goldens are cargo's stderr without colour, and the
// corpus was logged in /tmp/corpus/wsA, which is the workspace root the summary carries.
TEST_P(CorpusRebuilds, normal_output_is_cargos) {
  v1::RunRebuilds report = compute_rebuilds(m_events, m_summary);
  EXPECT_EQ(render::render_rebuilds(report, Verbosity::normal, false), golden("rebuilds-"));
}

TEST_P(CorpusRebuilds, extra_verbose_output_is_cargos) {
  v1::RunRebuilds report = compute_rebuilds(m_events, m_summary);
  EXPECT_EQ(render::render_rebuilds(report, Verbosity::extra_verbose, false),
            golden("rebuilds-vv-"));
}

// The client asks for only what it shows (GetRebuildsRequest's max_roots and omit_affected):
// each verbosity's view renders as the full result does, and holds no more than that needs.
TEST_P(CorpusRebuilds, each_verbositys_view_renders_as_the_full_result) {
  v1::RunRebuilds full = compute_rebuilds(m_events, m_summary);
  for (Verbosity verbosity : {Verbosity::normal, Verbosity::verbose, Verbosity::extra_verbose}) {
    RebuildsView view{static_cast<uint32_t>(render::roots_shown(verbosity)),
                      !render::lists_affected(verbosity)};
    v1::RunRebuilds cut;
    copy_rebuilds_view(full, view, cut);
    EXPECT_EQ(render::render_rebuilds(cut, verbosity, false),
              render::render_rebuilds(full, verbosity, false))
        << "verbosity " << static_cast<int>(verbosity);
    EXPECT_EQ(render::render_rebuilds(cut, verbosity, true),
              render::render_rebuilds(full, verbosity, true));
    EXPECT_EQ(cut.root_count(), full.root_count());
    EXPECT_EQ(cut.cascading(), full.cascading());
    if (verbosity == Verbosity::normal) {
      EXPECT_EQ(cut.root_rebuilds_size(), std::min(full.root_rebuilds_size(),
                                                   static_cast<int>(render::k_default_root_limit)));
    } else {
      EXPECT_EQ(cut.root_rebuilds_size(), full.root_rebuilds_size());
    }
    for (int i = 0; i < cut.root_rebuilds_size(); ++i) {
      const v1::RootRebuild& root = cut.root_rebuilds(i);
      EXPECT_EQ(root.affected_count(), full.root_rebuilds(i).affected_count());
      EXPECT_EQ(root.affected_size(), view.omit_affected ? 0 : root.affected_count());
      EXPECT_EQ(root.unit().description(), full.root_rebuilds(i).unit().description());
    }
  }
}

TEST_P(CorpusRebuilds, counts_add_up_to_registered_units) {
  v1::RunRebuilds report = compute_rebuilds(m_events, m_summary);
  uint32_t registered = 0;
  for (const v1::Event& event : m_events) {
    registered += event.has_unit_registered() ? 1 : 0;
  }
  EXPECT_EQ(report.units_rebuilt() + report.units_cached() + report.units_new(), registered);
  uint32_t cascading = 0;
  for (const v1::RootRebuild& root : report.root_rebuilds()) {
    cascading += static_cast<uint32_t>(root.affected_size());
  }
  EXPECT_EQ(report.cascading(), cascading);
}

void PrintTo(const CorpusRun& run, std::ostream* os) {
  *os << run.workspace << "/" << run.run_id;
}

// gtest names: `A_20261123T062733765Z_28b99174ef2c2ad6`.
std::string corpus_test_name(const testing::TestParamInfo<CorpusRun>& param) {
  std::string name = param.param.workspace + "_" + param.param.run_id;
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus,
                         CorpusRebuilds,
                         testing::ValuesIn(corpus_runs()),
                         corpus_test_name);

TEST(CorpusRebuildsFixture, every_run_has_goldens) {
  std::vector<CorpusRun> runs = corpus_runs();
  EXPECT_EQ(runs.size(), 11U);
  for (const CorpusRun& run : runs) {
    fs::path reports = test::fixture_path("corpus/" + run.workspace + "/reports");
    EXPECT_TRUE(fs::exists(reports / ("rebuilds-" + run.run_id + ".txt"))) << run.run_id;
    EXPECT_TRUE(fs::exists(reports / ("rebuilds-vv-" + run.run_id + ".txt"))) << run.run_id;
  }
}

// Corpus A step 4: the structured result behind the text.
TEST(Rebuilds, cascade_from_one_changed_file) {
  fs::path log = test::fixture_path("corpus/A/logs/20261123T062733765Z-28b99174ef2c2ad6.jsonl");
  std::vector<v1::Event> events = decode_lines(test::read_file(log), log.string());
  v1::RunRebuilds report = compute_rebuilds(events, summary_of(events));
  EXPECT_EQ(report.units_rebuilt(), 3U);
  EXPECT_EQ(report.units_cached(), 85U);
  EXPECT_EQ(report.units_new(), 0U);
  EXPECT_EQ(report.cascading(), 2U);
  ASSERT_EQ(report.root_rebuilds_size(), 1);
  const v1::RootRebuild& root = report.root_rebuilds(0);
  EXPECT_EQ(root.unit().index(), 84U);
  EXPECT_EQ(root.unit().name(), "wscore");
  EXPECT_EQ(root.unit().version(), "0.1.0");
  EXPECT_EQ(root.unit().description(), "wscore@0.1.0");
  EXPECT_EQ(root.reason().dirty_reason(), "fs-status-outdated");
  EXPECT_EQ(root.reason_text(), "file modified: wscore/src/lib.rs");
  ASSERT_EQ(root.affected_size(), 2);
  EXPECT_EQ(root.affected(0).index(), 83U); // sorted by index
  EXPECT_EQ(root.affected(0).description(), "wsapp@0.1.0 wsapp \"bin\"");
  EXPECT_EQ(root.affected(1).index(), 87U);
  EXPECT_EQ(report.run().run_id(), "20261123T062733765Z-28b99174ef2c2ad6");
}

// --- hand-made runs --------------------------------------------------------------------------

v1::Event registered(uint32_t index,
                     const std::string& package_id,
                     const std::string& target_name,
                     const std::string& kind,
                     const std::string& mode,
                     std::vector<uint32_t> deps = {}) {
  v1::Event event;
  event.set_reason("unit-registered");
  v1::UnitRegistered* unit = event.mutable_unit_registered();
  unit->set_index(index);
  unit->set_package_id(package_id);
  unit->mutable_target()->set_name(target_name);
  unit->mutable_target()->set_kind(kind);
  unit->set_mode(mode);
  unit->mutable_dependencies()->Add(deps.begin(), deps.end());
  return event;
}

v1::Event fingerprint(uint32_t index, v1::FingerprintStatus status, const char* cause = nullptr) {
  v1::Event event;
  event.set_reason("unit-fingerprint");
  event.mutable_unit_fingerprint()->set_index(index);
  event.mutable_unit_fingerprint()->set_status(status);
  if (cause != nullptr) {
    event.mutable_unit_fingerprint()->mutable_cause()->set_dirty_reason(cause);
  }
  return event;
}

v1::UnitRegistered lib(const std::string& package_id) {
  return registered(0, package_id, "x", "lib", "build").unit_registered();
}

TEST(UnitDescription, package_id_forms) {
  EXPECT_EQ(unit_description(lib("path+file:///tmp/corpus/wsA/wsapp#0.1.0")), "wsapp@0.1.0");
  EXPECT_EQ(
      unit_description(lib("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.1")),
      "serde@1.0.1");
  EXPECT_EQ(unit_description(lib("path+file:///x/foo#bar@0.2.0")), "bar@0.2.0");
  EXPECT_EQ(unit_description(lib("path+file:///x/nover")), "nover@<n/a>");
}

TEST(UnitDescription, target_and_mode) {
  v1::Target bin;
  bin.set_name("wsapp");
  bin.set_kind("bin");
  v1::Target lib_target;
  lib_target.set_name("wscore");
  lib_target.set_kind("lib");
  v1::Target build_script;
  build_script.set_name("build-script-build");
  build_script.set_kind("build-script");
  EXPECT_EQ(unit_target_description(bin, "build"), " wsapp \"bin\"");
  EXPECT_EQ(unit_target_description(lib_target, "build"), "");
  EXPECT_EQ(unit_target_description(lib_target, "check"), " (check)");
  EXPECT_EQ(unit_target_description(lib_target, "test"), " wscore \"lib\" (test)");
  EXPECT_EQ(unit_target_description(lib_target, "doc"), " wscore \"lib\" (doc)");
  EXPECT_EQ(unit_target_description(lib_target, "doctest"), " wscore \"lib\" (doc test)");
  EXPECT_EQ(unit_target_description(lib_target, "docscrape"), " wscore \"lib\" (doc scrape)");
  EXPECT_EQ(unit_target_description(build_script, "build"), " build-script");
  EXPECT_EQ(unit_target_description(build_script, "run-custom-build"), " build-script (run)");
  EXPECT_EQ(unit_target_description(bin, "check-test"), " wsapp \"bin\" (check-test)");
}

TEST(Rebuilds, new_status_means_fresh_build_whatever_the_cause) {
  std::vector<v1::Event> events = {
      registered(0, "registry+https://r#a@1.0.0", "a", "lib", "build"),
      registered(1, "registry+https://r#b@1.0.0", "b", "lib", "build"),
      fingerprint(0, v1::FINGERPRINT_STATUS_NEW, "forced"),
      fingerprint(1, v1::FINGERPRINT_STATUS_FRESH),
  };
  v1::RunRebuilds report = compute_rebuilds(events, {});
  ASSERT_EQ(report.root_rebuilds_size(), 1);
  EXPECT_EQ(report.root_rebuilds(0).reason().dirty_reason(), "fresh-build");
  EXPECT_EQ(report.root_rebuilds(0).reason_text(), "fresh build");
  EXPECT_EQ(report.units_new(), 1U);
  EXPECT_EQ(report.units_cached(), 1U);
}

// Roots: by impact, then package name; equal names (cargo: hash order) by unit index.
TEST(Rebuilds, roots_ordered_by_impact_then_name_then_index) {
  std::vector<v1::Event> events = {
      registered(0, "registry+https://r#zeta@1.0.0", "zeta", "lib", "build"),
      registered(1, "registry+https://r#dep@1.0.0", "dep", "lib", "build", {0}),
      registered(2, "registry+https://r#beta@1.0.0", "beta", "bin", "build"),
      registered(3, "registry+https://r#alpha@1.0.0", "alpha", "lib", "build"),
      registered(4, "registry+https://r#alpha@1.0.0", "alpha", "test", "test"),
      registered(5, "registry+https://r#cached@1.0.0", "cached", "lib", "build"),
      fingerprint(0, v1::FINGERPRINT_STATUS_DIRTY, "forced"),
      fingerprint(1, v1::FINGERPRINT_STATUS_DIRTY, "nothing-obvious"),
      fingerprint(4, v1::FINGERPRINT_STATUS_DIRTY, "forced"),
      fingerprint(3, v1::FINGERPRINT_STATUS_DIRTY, "forced"),
      fingerprint(2, v1::FINGERPRINT_STATUS_DIRTY, "forced"),
      fingerprint(5, v1::FINGERPRINT_STATUS_FRESH),
      // A fingerprint for a unit that was never registered: counted, never shown.
      fingerprint(9, v1::FINGERPRINT_STATUS_DIRTY, "forced"),
  };
  v1::RunRebuilds report = compute_rebuilds(events, {});
  EXPECT_EQ(report.units_rebuilt(), 6U);
  ASSERT_EQ(report.root_rebuilds_size(), 4);
  EXPECT_EQ(report.root_rebuilds(0).unit().index(), 0U); // impact 1
  EXPECT_EQ(report.root_rebuilds(1).unit().index(), 3U); // alpha, lower index
  EXPECT_EQ(report.root_rebuilds(2).unit().index(), 4U);
  EXPECT_EQ(report.root_rebuilds(3).unit().index(), 2U); // beta
}

TEST(RenderRebuilds, color_styles_like_cargo) {
  std::vector<v1::Event> events = {
      registered(0, "registry+https://r#a@1.0.0", "a", "bin", "build"),
      registered(1, "registry+https://r#b@1.0.0", "b", "lib", "build", {0}),
      fingerprint(0, v1::FINGERPRINT_STATUS_DIRTY, "forced"),
      fingerprint(1, v1::FINGERPRINT_STATUS_DIRTY, "nothing-obvious"),
  };
  v1::RunSummary run;
  run.set_run_id("20261201T000000000Z-0123456789abcdef");
  v1::RunRebuilds report = compute_rebuilds(events, run);
  EXPECT_EQ(render::render_rebuilds(report, Verbosity::extra_verbose, true),
            "\x1b[1m\x1b[92mSession:\x1b[0m 20261201T000000000Z-0123456789abcdef\n"
            "\x1b[1m\x1b[92mStatus:\x1b[0m 2 units rebuilt, 0 cached, 0 new\n"
            "\n"
            "\x1b[1m\x1b[92mRebuild impact:\x1b[0m\n"
            "  root rebuilds: 1 unit\n"
            "  cascading:     1 unit\n"
            "\n"
            "\x1b[1m\x1b[92mRoot rebuilds:\x1b[0m\n"
            "  \x1b[1m\x1b[96m0. \x1b[1m\x1b[96ma@1.0.0\x1b[0m a \"bin\":\x1b[0m forced rebuild\n"
            "     impact: 1 dependent unit rebuilt\n"
            "       - \x1b[1m\x1b[96mb@1.0.0\x1b[0m\n");
}

// --- every reason, in cargo 1.95's words -----------------------------------------------------

constexpr std::string_view k_root = "/tmp/ws";

class DirtyReasonWording : public testing::Test {
protected:
  DirtyReasonWording() {
    m_units[7] =
        registered(7, "registry+https://r#dep@2.0.0", "dep", "lib", "build").unit_registered();
  }

  std::string text(const v1::DirtyReason& reason) const {
    return format_dirty_reason(reason, m_units, k_root);
  }
  static v1::DirtyReason kind(const std::string& name) {
    v1::DirtyReason reason;
    reason.set_dirty_reason(name);
    return reason;
  }
  static v1::DirtyReason
  change(const std::string& name, const std::string& old_value, const std::string& new_value) {
    v1::DirtyReason reason = kind(name);
    reason.mutable_string_change()->set_old(old_value);
    reason.mutable_string_change()->set_new_(new_value);
    return reason;
  }
  static v1::DirtyReason list(const std::string& name,
                              std::vector<std::string> old_values,
                              std::vector<std::string> new_values) {
    v1::DirtyReason reason = kind(name);
    for (auto& v : old_values) {
      reason.mutable_list_change()->add_old(v);
    }
    for (auto& v : new_values) {
      reason.mutable_list_change()->add_new_(v);
    }
    return reason;
  }
  static v1::DirtyReason fs_status(const std::string& status) {
    v1::DirtyReason reason = kind("fs-status-outdated");
    reason.mutable_fs_status()->set_fs_status(status);
    return reason;
  }
  static v1::DirtyReason stale_item(const std::string& item) {
    v1::DirtyReason reason = fs_status("stale-item");
    reason.mutable_fs_status()->mutable_stale_item()->set_stale_item(item);
    return reason;
  }
  static v1::StaleItem& item_of(v1::DirtyReason& reason) {
    return *reason.mutable_fs_status()->mutable_stale_item();
  }

  UnitMap m_units;
};

TEST_F(DirtyReasonWording, rustc_changed) {
  EXPECT_EQ(text(kind("rustc-changed")), "toolchain changed");
}
TEST_F(DirtyReasonWording, features_changed) {
  EXPECT_EQ(text(change("features-changed", "", "default,std")),
            "activated features changed:  -> default,std");
}
TEST_F(DirtyReasonWording, declared_features_changed) {
  EXPECT_EQ(text(change("declared-features-changed", "a", "a,b")),
            "declared features changed: a -> a,b");
}
TEST_F(DirtyReasonWording, target_configuration_changed) {
  EXPECT_EQ(text(kind("target-configuration-changed")), "target configuration changed");
}
TEST_F(DirtyReasonWording, path_to_source_changed) {
  EXPECT_EQ(text(kind("path-to-source-changed")), "path to source changed");
}
TEST_F(DirtyReasonWording, profile_configuration_changed) {
  EXPECT_EQ(text(kind("profile-configuration-changed")), "profile configuration changed");
}
TEST_F(DirtyReasonWording, rustflags_changed) {
  EXPECT_EQ(text(list("rustflags-changed", {"-C", "opt-level=2"}, {"--cfg", "x"})),
            "rustflags changed: -C, opt-level=2 -> --cfg, x");
  EXPECT_EQ(text(list("rustflags-changed", {}, {"--cfg", "x"})), "rustflags changed:  -> --cfg, x");
}
TEST_F(DirtyReasonWording, config_settings_changed) {
  EXPECT_EQ(text(kind("config-settings-changed")), "config settings changed");
}
TEST_F(DirtyReasonWording, compile_kind_changed) {
  EXPECT_EQ(text(kind("compile-kind-changed")), "compile target changed");
}
TEST_F(DirtyReasonWording, local_lengths_changed) {
  EXPECT_EQ(text(kind("local-lengths-changed")), "local lengths changed");
}
TEST_F(DirtyReasonWording, precalculated_components_changed) {
  EXPECT_EQ(text(change("precalculated-components-changed", "1.0.0", "1.0.1")),
            "precalculated components changed: 1.0.0 -> 1.0.1");
}
// 1.95's `checksum-use-changed { old: bool }`: the boolean is recovered from the raw line.
TEST_F(DirtyReasonWording, checksum_use_changed) {
  v1::DirtyReason enabled_before = kind("checksum-use-changed");
  enabled_before.mutable_string_change()->set_old("true");
  EXPECT_EQ(text(enabled_before), "checksum use changed: enabled -> disabled");
  v1::DirtyReason disabled_before = kind("checksum-use-changed");
  disabled_before.mutable_string_change()->set_old("false");
  EXPECT_EQ(text(disabled_before), "checksum use changed: disabled -> enabled");
}
TEST_F(DirtyReasonWording, checksum_use_changed_read_from_the_raw_line) {
  std::vector<v1::Event> events = decode_lines(
      R"({"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a@1.0.0","target":{"name":"a","kind":"lib"},"mode":"build","platform":"x86_64","index":0}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":0,"status":"dirty","cause":{"dirty_reason":"checksum-use-changed","old":true}})",
      "inline");
  v1::RunRebuilds report = compute_rebuilds(events, {});
  ASSERT_EQ(report.root_rebuilds_size(), 1);
  EXPECT_EQ(report.root_rebuilds(0).reason_text(), "checksum use changed: enabled -> disabled");
}
// Newer than 1.95 (cargo's source, typo included).
TEST_F(DirtyReasonWording, fingerprint_method_changed) {
  EXPECT_EQ(text(change("fingerprint-method-changed", "mtime", "checksum")),
            "fingerprinty changed: mtime -> checksum");
}
TEST_F(DirtyReasonWording, dep_info_output_changed) {
  EXPECT_EQ(text(change("dep-info-output-changed", "/tmp/ws/target/old.d", "/elsewhere/new.d")),
            "dependency info output changed: target/old.d -> /elsewhere/new.d");
}
TEST_F(DirtyReasonWording, rerun_if_changed_output_file_changed) {
  EXPECT_EQ(
      text(change("rerun-if-changed-output-file-changed", "/tmp/ws/a/output", "/tmp/ws/b/output")),
      "rerun-if-changed output file changed: a/output -> b/output");
}
TEST_F(DirtyReasonWording, rerun_if_changed_output_paths_changed) {
  EXPECT_EQ(text(list("rerun-if-changed-output-paths-changed", {"a"}, {"a", "b", "c"})),
            "rerun-if-changed paths changed: 1 path(s) -> 3 path(s)");
}
TEST_F(DirtyReasonWording, env_vars_changed) {
  EXPECT_EQ(text(change("env-vars-changed", "A=1", "A=2")),
            "environment variables changed: A=1 -> A=2");
}
TEST_F(DirtyReasonWording, env_var_changed) {
  v1::DirtyReason reason = kind("env-var-changed");
  reason.mutable_env_var()->set_name("FOO");
  EXPECT_EQ(text(reason), "environment variable changed (FOO): <unset> -> <unset>");
  reason.mutable_env_var()->set_old_value("x");
  EXPECT_EQ(text(reason), "environment variable changed (FOO): x -> <unset>");
  reason.mutable_env_var()->set_new_value("y");
  EXPECT_EQ(text(reason), "environment variable changed (FOO): x -> y");
}
TEST_F(DirtyReasonWording, local_fingerprint_type_changed) {
  EXPECT_EQ(text(change("local-fingerprint-type-changed", "precalculated", "rerun-if-changed")),
            "local fingerprint type changed: precalculated -> rerun-if-changed");
}
TEST_F(DirtyReasonWording, number_of_dependencies_changed) {
  v1::DirtyReason reason = kind("number-of-dependencies-changed");
  reason.mutable_count_change()->set_old(3);
  reason.mutable_count_change()->set_new_(4);
  EXPECT_EQ(text(reason), "number of dependencies changed: 3 -> 4");
}
TEST_F(DirtyReasonWording, unit_dependency_name_changed) {
  EXPECT_EQ(text(change("unit-dependency-name-changed", "old_dep", "new_dep")),
            "dependency name changed: old_dep -> new_dep");
}
TEST_F(DirtyReasonWording, unit_dependency_info_changed) {
  v1::DirtyReason reason = kind("unit-dependency-info-changed");
  reason.set_unit(7);
  EXPECT_EQ(text(reason), "dependency info changed: dep@2.0.0");
  reason.set_unit(999);
  EXPECT_EQ(text(reason), "dependency info changed");
}
TEST_F(DirtyReasonWording, fs_status_stale) {
  EXPECT_EQ(text(fs_status("stale")), "filesystem status stale");
}
TEST_F(DirtyReasonWording, fs_status_up_to_date) {
  EXPECT_EQ(text(fs_status("up-to-date")), "up to date");
}
TEST_F(DirtyReasonWording, stale_missing_file) {
  v1::DirtyReason reason = stale_item("missing-file");
  item_of(reason).set_path("/tmp/ws/src/gone.rs");
  EXPECT_EQ(text(reason), "file missing: src/gone.rs");
  item_of(reason).set_path("/tmp/ws"); // the root itself: cargo prints nothing after the colon
  EXPECT_EQ(text(reason), "file missing: ");
  item_of(reason).set_path("/tmp/wsX/src/a.rs"); // not under the root, component-wise
  EXPECT_EQ(text(reason), "file missing: /tmp/wsX/src/a.rs");
  // Rust's `Path::strip_prefix` (checked against cargo 1.95): a trailing separator goes, and an
  // interior `.` does not stop the match.
  item_of(reason).set_path("/tmp/ws/src/");
  EXPECT_EQ(text(reason), "file missing: src");
  item_of(reason).set_path("/tmp/./ws/x.rs");
  EXPECT_EQ(text(reason), "file missing: x.rs");
}
TEST_F(DirtyReasonWording, stale_unable_to_read_file) {
  v1::DirtyReason reason = stale_item("unable-to-read-file");
  item_of(reason).set_path("/outside/x.rs");
  EXPECT_EQ(text(reason), "unable to read file: /outside/x.rs");
}
TEST_F(DirtyReasonWording, stale_failed_to_read_metadata) {
  v1::DirtyReason reason = stale_item("failed-to-read-metadata");
  item_of(reason).set_path("/tmp/ws//a/./b.rs");
  EXPECT_EQ(text(reason), "failed to read file metadata: a/./b.rs");
}
TEST_F(DirtyReasonWording, stale_file_size_changed) {
  v1::DirtyReason reason = stale_item("file-size-changed");
  item_of(reason).set_path("/tmp/ws/src/lib.rs");
  item_of(reason).set_old_size(10);
  item_of(reason).set_new_size(20);
  EXPECT_EQ(text(reason), "file size changed: src/lib.rs (10 -> 20 bytes)");
}
TEST_F(DirtyReasonWording, stale_changed_file) {
  v1::DirtyReason reason = stale_item("changed-file");
  item_of(reason).set_reference("/tmp/ws/target/debug/x");
  item_of(reason).set_stale("/tmp/ws/src/main.rs");
  EXPECT_EQ(text(reason), "file modified: src/main.rs");
}
TEST_F(DirtyReasonWording, stale_changed_checksum) {
  v1::DirtyReason reason = stale_item("changed-checksum");
  item_of(reason).set_source("/tmp/ws/src/c.rs");
  item_of(reason).set_stored_checksum("sha256=aa");
  item_of(reason).set_new_checksum("sha256=bb");
  EXPECT_EQ(text(reason), "file checksum changed: src/c.rs (sha256=aa -> sha256=bb)");
}
TEST_F(DirtyReasonWording, stale_missing_checksum) {
  v1::DirtyReason reason = stale_item("missing-checksum");
  item_of(reason).set_path("/tmp/ws/src/d.rs");
  EXPECT_EQ(text(reason), "checksum missing: src/d.rs");
}
TEST_F(DirtyReasonWording, stale_changed_env) {
  v1::DirtyReason reason = stale_item("changed-env");
  item_of(reason).set_var("BAR");
  item_of(reason).set_current("1");
  EXPECT_EQ(text(reason), "environment variable changed (BAR): <unset> -> 1");
  item_of(reason).set_previous("0");
  item_of(reason).clear_current();
  EXPECT_EQ(text(reason), "environment variable changed (BAR): 0 -> <unset>");
}
TEST_F(DirtyReasonWording, stale_dependency) {
  v1::DirtyReason reason = fs_status("stale-dependency");
  reason.mutable_fs_status()->set_unit(7);
  EXPECT_EQ(text(reason), "dependency rebuilt: dep@2.0.0");
  reason.mutable_fs_status()->set_unit(777);
  EXPECT_EQ(text(reason), "dependency rebuilt: unit 777");
}
TEST_F(DirtyReasonWording, stale_dep_fingerprint) {
  v1::DirtyReason reason = fs_status("stale-dep-fingerprint");
  reason.mutable_fs_status()->set_unit(7);
  EXPECT_EQ(text(reason), "dependency rebuilt: dep@2.0.0");
  reason.mutable_fs_status()->set_unit(888);
  EXPECT_EQ(text(reason), "dependency rebuilt: unit 888");
}
TEST_F(DirtyReasonWording, nothing_obvious) {
  EXPECT_EQ(text(kind("nothing-obvious")), "nothing obvious");
}
TEST_F(DirtyReasonWording, forced) {
  EXPECT_EQ(text(kind("forced")), "forced rebuild");
}
TEST_F(DirtyReasonWording, fresh_build) {
  EXPECT_EQ(text(kind("fresh-build")), "fresh build");
}
TEST_F(DirtyReasonWording, unknown_kind_is_shown_verbatim) {
  EXPECT_EQ(text(kind("something-new-changed")), "something-new-changed");
}

} // namespace
} // namespace ca::query
