// `report rebuilds` against cargo 1.95 itself, for every reason cargo 1.95 can log.
//
// `k_log` is a hand-written build-analysis log: 48 root rebuilds, one per DirtyReason /
// FsStatus / StaleItem variant of cargo 1.95 (both values of `checksum-use-changed`, set and
// unset env values, paths inside and outside the workspace and the workspace root itself,
// known and unknown unit references), units of every target kind and compile mode, the three
// package id forms (and one without a version), new units with and without a cause, and one
// cascade. The `k_*` outputs below are what cargo 1.95.0 printed for it
// (`cargo -Zbuild-analysis report rebuilds --id 20261201T000000000Z-0123456789abcdef
// [-v|-vv] [--color always]`, run in /tmp/ch_reports/ws, the log's workspace root, so that
// paths print relative to it as ours do), verbatim.
#include "daemon/query/run_analysis.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/render/rebuilds_text.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using render::Verbosity;

constexpr std::string_view k_log =
    R"log({"run_id":"20261201T000000000Z-0123456789abcdef","reason":"build-started","command":["cargo","build"],"cwd":"/tmp/ch_reports/ws","host":"x86_64-unknown-linux-gnu","jobs":2,"num_cpus":2,"profile":"dev","rustc_version":"1.95.0","rustc_version_verbose":"rustc 1.95.0 (59807616e 2026-04-14)\n","target_dir":"/tmp/ch_reports/ws/target","workspace_root":"/tmp/ch_reports/ws"}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#zz-fresh@1.0.0","target":{"name":"zz_fresh","kind":"lib"},"mode":"build","platform":"x86_64","index":0}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#zz-fresh2@1.0.0","target":{"name":"zz_fresh2","kind":"lib"},"mode":"build","platform":"x86_64","index":1}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a01-rustc@1.2.3","target":{"name":"a01_rustc","kind":"lib"},"mode":"build","platform":"x86_64","index":2}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a02-features@1.2.3","target":{"name":"a02_features","kind":"lib"},"mode":"check","platform":"x86_64","index":3}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a03-declared@1.2.3","target":{"name":"a03_declared","kind":"lib"},"mode":"test","platform":"x86_64","index":4}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a04-targetcfg@1.2.3","target":{"name":"a04_targetcfg","kind":"bin"},"mode":"build","platform":"x86_64","index":5}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a05-pathsrc@1.2.3","target":{"name":"a05_pathsrc","kind":"test"},"mode":"test","platform":"x86_64","index":6}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a06-profile@1.2.3","target":{"name":"a06_profile","kind":"bench"},"mode":"test","platform":"x86_64","index":7}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a07-rustflags@1.2.3","target":{"name":"a07_rustflags","kind":"example"},"mode":"build","platform":"x86_64","index":8}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a08-rustflags-empty@1.2.3","target":{"name":"a08_rustflags_empty","kind":"lib"},"mode":"build","platform":"x86_64","index":9}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a09-config@1.2.3","target":{"name":"a09_config","kind":"build-script"},"mode":"build","platform":"x86_64","index":10}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a10-compilekind@1.2.3","target":{"name":"a10_compilekind","kind":"build-script"},"mode":"run-custom-build","platform":"x86_64","index":11}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a11-locallen@1.2.3","target":{"name":"a11_locallen","kind":"lib"},"mode":"doc","platform":"x86_64","index":12}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a12-precalc@1.2.3","target":{"name":"a12_precalc","kind":"lib"},"mode":"doctest","platform":"x86_64","index":13}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a13-checksum-old-true@1.2.3","target":{"name":"a13_checksum_old_true","kind":"lib"},"mode":"docscrape","platform":"x86_64","index":14}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a14-checksum-old-false@1.2.3","target":{"name":"a14_checksum_old_false","kind":"lib"},"mode":"build","platform":"x86_64","index":15}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a15-depinfo@1.2.3","target":{"name":"a15_depinfo","kind":"lib"},"mode":"build","platform":"x86_64","index":16}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a16-rerunfile@1.2.3","target":{"name":"a16_rerunfile","kind":"lib"},"mode":"build","platform":"x86_64","index":17}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a17-rerunpaths@1.2.3","target":{"name":"a17_rerunpaths","kind":"lib"},"mode":"build","platform":"x86_64","index":18}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a18-envvars@1.2.3","target":{"name":"a18_envvars","kind":"lib"},"mode":"build","platform":"x86_64","index":19}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a19-envvar-both@1.2.3","target":{"name":"a19_envvar_both","kind":"lib"},"mode":"build","platform":"x86_64","index":20}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a20-envvar-unset-old@1.2.3","target":{"name":"a20_envvar_unset_old","kind":"lib"},"mode":"build","platform":"x86_64","index":21}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a21-envvar-unset-new@1.2.3","target":{"name":"a21_envvar_unset_new","kind":"lib"},"mode":"build","platform":"x86_64","index":22}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a22-lfptype@1.2.3","target":{"name":"a22_lfptype","kind":"lib"},"mode":"build","platform":"x86_64","index":23}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a23-numdeps@1.2.3","target":{"name":"a23_numdeps","kind":"lib"},"mode":"build","platform":"x86_64","index":24}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a24-depname@1.2.3","target":{"name":"a24_depname","kind":"lib"},"mode":"build","platform":"x86_64","index":25}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a25-depinfo-known@1.2.3","target":{"name":"a25_depinfo_known","kind":"lib"},"mode":"build","platform":"x86_64","index":26}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a26-depinfo-unknown@1.2.3","target":{"name":"a26_depinfo_unknown","kind":"lib"},"mode":"build","platform":"x86_64","index":27}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a27-fs-stale@1.2.3","target":{"name":"a27_fs_stale","kind":"lib"},"mode":"build","platform":"x86_64","index":28}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a28-missing@1.2.3","target":{"name":"a28_missing","kind":"lib"},"mode":"build","platform":"x86_64","index":29}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a29-unreadable@1.2.3","target":{"name":"a29_unreadable","kind":"lib"},"mode":"build","platform":"x86_64","index":30}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a30-nometa@1.2.3","target":{"name":"a30_nometa","kind":"lib"},"mode":"build","platform":"x86_64","index":31}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a31-size@1.2.3","target":{"name":"a31_size","kind":"lib"},"mode":"build","platform":"x86_64","index":32}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a32-changed@1.2.3","target":{"name":"a32_changed","kind":"lib"},"mode":"build","platform":"x86_64","index":33}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a33-checksum@1.2.3","target":{"name":"a33_checksum","kind":"lib"},"mode":"build","platform":"x86_64","index":34}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a34-missing-checksum@1.2.3","target":{"name":"a34_missing_checksum","kind":"lib"},"mode":"build","platform":"x86_64","index":35}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a35-changed-env@1.2.3","target":{"name":"a35_changed_env","kind":"lib"},"mode":"build","platform":"x86_64","index":36}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a36-changed-env2@1.2.3","target":{"name":"a36_changed_env2","kind":"lib"},"mode":"build","platform":"x86_64","index":37}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a37-staledep@1.2.3","target":{"name":"a37_staledep","kind":"lib"},"mode":"build","platform":"x86_64","index":38}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a38-staledep-unknown@1.2.3","target":{"name":"a38_staledep_unknown","kind":"lib"},"mode":"build","platform":"x86_64","index":39}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a39-stalefp@1.2.3","target":{"name":"a39_stalefp","kind":"lib"},"mode":"build","platform":"x86_64","index":40}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a40-stalefp-unknown@1.2.3","target":{"name":"a40_stalefp_unknown","kind":"lib"},"mode":"build","platform":"x86_64","index":41}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a41-nothing@1.2.3","target":{"name":"a41_nothing","kind":"lib"},"mode":"build","platform":"x86_64","index":42}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a42-forced@1.2.3","target":{"name":"a42_forced","kind":"lib"},"mode":"build","platform":"x86_64","index":43}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a43-freshbuild-dirty@1.2.3","target":{"name":"a43_freshbuild_dirty","kind":"lib"},"mode":"build","platform":"x86_64","index":44}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#a44-root-path@1.2.3","target":{"name":"a44_root_path","kind":"lib"},"mode":"build","platform":"x86_64","index":45}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws/pathpkg#0.3.0","target":{"name":"pathpkg","kind":"lib"},"mode":"build","platform":"x86_64","index":46}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws/dir#other@0.2.0","target":{"name":"other","kind":"bin"},"mode":"build","platform":"x86_64","index":47}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws/nover","target":{"name":"nover","kind":"lib"},"mode":"build","platform":"x86_64","index":48}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#b00-root@0.1.0","target":{"name":"b00_root","kind":"lib"},"mode":"build","platform":"x86_64","index":49}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#b01-dep@0.1.0","target":{"name":"b01_dep","kind":"lib"},"mode":"build","platform":"x86_64","index":50,"dependencies":[49]}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-registered","package_id":"registry+https://r#b02-dep@0.1.0","target":{"name":"b02","kind":"bin"},"mode":"build","platform":"x86_64","index":51,"dependencies":[50,0]}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":0,"status":"fresh"}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":1,"status":"fresh"}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":2,"status":"dirty","cause":{"dirty_reason":"rustc-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":"features-changed","old":"","new":"default,std"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":4,"status":"dirty","cause":{"dirty_reason":"declared-features-changed","old":"a","new":"a,b"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":5,"status":"dirty","cause":{"dirty_reason":"target-configuration-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":6,"status":"dirty","cause":{"dirty_reason":"path-to-source-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":7,"status":"dirty","cause":{"dirty_reason":"profile-configuration-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":8,"status":"dirty","cause":{"dirty_reason":"rustflags-changed","old":["-C","opt-level=2"],"new":["--cfg","x"]}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":9,"status":"dirty","cause":{"dirty_reason":"rustflags-changed","old":[],"new":["--cfg","x"]}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":10,"status":"dirty","cause":{"dirty_reason":"config-settings-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":11,"status":"dirty","cause":{"dirty_reason":"compile-kind-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":12,"status":"dirty","cause":{"dirty_reason":"local-lengths-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":13,"status":"dirty","cause":{"dirty_reason":"precalculated-components-changed","old":"1.0.0","new":"1.0.1"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":14,"status":"dirty","cause":{"dirty_reason":"checksum-use-changed","old":true}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":15,"status":"dirty","cause":{"dirty_reason":"checksum-use-changed","old":false}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":16,"status":"dirty","cause":{"dirty_reason":"dep-info-output-changed","old":"/tmp/ch_reports/ws/target/debug/old.d","new":"/elsewhere/new.d"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":17,"status":"dirty","cause":{"dirty_reason":"rerun-if-changed-output-file-changed","old":"/tmp/ch_reports/ws/target/debug/build/x/output","new":"/tmp/ch_reports/ws/target/debug/build/y/output"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":18,"status":"dirty","cause":{"dirty_reason":"rerun-if-changed-output-paths-changed","old":["a.txt"],"new":["a.txt","b.txt","c.txt"]}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":19,"status":"dirty","cause":{"dirty_reason":"env-vars-changed","old":"A=1","new":"A=2"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":20,"status":"dirty","cause":{"dirty_reason":"env-var-changed","name":"FOO","old_value":"x","new_value":"y"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":21,"status":"dirty","cause":{"dirty_reason":"env-var-changed","name":"FOO","old_value":null,"new_value":"y"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":22,"status":"dirty","cause":{"dirty_reason":"env-var-changed","name":"FOO","old_value":"x","new_value":null}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":23,"status":"dirty","cause":{"dirty_reason":"local-fingerprint-type-changed","old":"precalculated","new":"rerun-if-changed"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":24,"status":"dirty","cause":{"dirty_reason":"number-of-dependencies-changed","old":3,"new":4}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":25,"status":"dirty","cause":{"dirty_reason":"unit-dependency-name-changed","old":"old_dep","new":"new_dep"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":26,"status":"dirty","cause":{"dirty_reason":"unit-dependency-info-changed","unit":0}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":27,"status":"dirty","cause":{"dirty_reason":"unit-dependency-info-changed","unit":999}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":28,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":29,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"missing-file","path":"/tmp/ch_reports/ws/src/gone.rs"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":30,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"unable-to-read-file","path":"/outside/x.rs"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":31,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"failed-to-read-metadata","path":"/tmp/ch_reports/ws/a/b.rs"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":32,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"file-size-changed","path":"/tmp/ch_reports/ws/src/lib.rs","old_size":10,"new_size":20}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":33,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-file","reference":"/tmp/ch_reports/ws/target/x","reference_mtime":1.5,"stale":"/tmp/ch_reports/ws/src/main.rs","stale_mtime":2.5}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":34,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-checksum","source":"/tmp/ch_reports/ws/src/c.rs","stored_checksum":"sha256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","new_checksum":"sha256=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":35,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"missing-checksum","path":"/tmp/ch_reports/ws/src/d.rs"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":36,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-env","var":"BAR","previous":null,"current":"1"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":37,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-env","var":"BAR","previous":"0","current":null}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":38,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dependency","unit":1,"dep_mtime":2.0,"max_mtime":1.0}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":39,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dependency","unit":777,"dep_mtime":2.0,"max_mtime":1.0}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":40,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dep-fingerprint","unit":0}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":41,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dep-fingerprint","unit":888}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":42,"status":"dirty","cause":{"dirty_reason":"nothing-obvious"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":43,"status":"dirty","cause":{"dirty_reason":"forced"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":44,"status":"dirty","cause":{"dirty_reason":"fresh-build"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":45,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"missing-file","path":"/tmp/ch_reports/ws"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":46,"status":"new"}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":47,"status":"new","cause":{"dirty_reason":"forced"}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":48,"status":"new"}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":49,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-item","stale_item":"changed-file","reference":"/tmp/ch_reports/ws/t","reference_mtime":1.0,"stale":"/tmp/ch_reports/ws/b00/src/lib.rs","stale_mtime":2.0}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":50,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dep-fingerprint","unit":49}}
{"run_id":"20261201T000000000Z-0123456789abcdef","reason":"unit-fingerprint","index":51,"status":"dirty","cause":{"dirty_reason":"fs-status-outdated","fs_status":"stale-dep-fingerprint","unit":50}}
)log";
constexpr std::string_view k_normal = R"golden(Session: 20261201T000000000Z-0123456789abcdef
Status: 47 units rebuilt, 2 cached, 3 new

Rebuild impact:
  root rebuilds: 48 units
  cascading:     2 units

Root rebuilds: (top 5 of 48 by impact)
  0. b00-root@0.1.0: file modified: b00/src/lib.rs
     impact: 2 dependent units rebuilt
  1. a01-rustc@1.2.3: toolchain changed
     impact: no cascading rebuilds
  2. a02-features@1.2.3 (check): activated features changed:  -> default,std
     impact: no cascading rebuilds
  3. a03-declared@1.2.3 a03_declared "lib" (test): declared features changed: a -> a,b
     impact: no cascading rebuilds
  4. a04-targetcfg@1.2.3 a04_targetcfg "bin": target configuration changed
     impact: no cascading rebuilds

note: pass `--verbose` to show all root rebuilds
)golden";
constexpr std::string_view k_verbose = R"golden(Session: 20261201T000000000Z-0123456789abcdef
Status: 47 units rebuilt, 2 cached, 3 new

Rebuild impact:
  root rebuilds: 48 units
  cascading:     2 units

Root rebuilds:
  0. b00-root@0.1.0: file modified: b00/src/lib.rs
     impact: 2 dependent units rebuilt
  1. a01-rustc@1.2.3: toolchain changed
     impact: no cascading rebuilds
  2. a02-features@1.2.3 (check): activated features changed:  -> default,std
     impact: no cascading rebuilds
  3. a03-declared@1.2.3 a03_declared "lib" (test): declared features changed: a -> a,b
     impact: no cascading rebuilds
  4. a04-targetcfg@1.2.3 a04_targetcfg "bin": target configuration changed
     impact: no cascading rebuilds
  5. a05-pathsrc@1.2.3 a05_pathsrc "test" (test): path to source changed
     impact: no cascading rebuilds
  6. a06-profile@1.2.3 a06_profile "bench" (test): profile configuration changed
     impact: no cascading rebuilds
  7. a07-rustflags@1.2.3 a07_rustflags "example": rustflags changed: -C, opt-level=2 -> --cfg, x
     impact: no cascading rebuilds
  8. a08-rustflags-empty@1.2.3: rustflags changed:  -> --cfg, x
     impact: no cascading rebuilds
  9. a09-config@1.2.3 build-script: config settings changed
     impact: no cascading rebuilds
  10. a10-compilekind@1.2.3 build-script (run): compile target changed
     impact: no cascading rebuilds
  11. a11-locallen@1.2.3 a11_locallen "lib" (doc): local lengths changed
     impact: no cascading rebuilds
  12. a12-precalc@1.2.3 a12_precalc "lib" (doc test): precalculated components changed: 1.0.0 -> 1.0.1
     impact: no cascading rebuilds
  13. a13-checksum-old-true@1.2.3 a13_checksum_old_true "lib" (doc scrape): checksum use changed: enabled -> disabled
     impact: no cascading rebuilds
  14. a14-checksum-old-false@1.2.3: checksum use changed: disabled -> enabled
     impact: no cascading rebuilds
  15. a15-depinfo@1.2.3: dependency info output changed: target/debug/old.d -> /elsewhere/new.d
     impact: no cascading rebuilds
  16. a16-rerunfile@1.2.3: rerun-if-changed output file changed: target/debug/build/x/output -> target/debug/build/y/output
     impact: no cascading rebuilds
  17. a17-rerunpaths@1.2.3: rerun-if-changed paths changed: 1 path(s) -> 3 path(s)
     impact: no cascading rebuilds
  18. a18-envvars@1.2.3: environment variables changed: A=1 -> A=2
     impact: no cascading rebuilds
  19. a19-envvar-both@1.2.3: environment variable changed (FOO): x -> y
     impact: no cascading rebuilds
  20. a20-envvar-unset-old@1.2.3: environment variable changed (FOO): <unset> -> y
     impact: no cascading rebuilds
  21. a21-envvar-unset-new@1.2.3: environment variable changed (FOO): x -> <unset>
     impact: no cascading rebuilds
  22. a22-lfptype@1.2.3: local fingerprint type changed: precalculated -> rerun-if-changed
     impact: no cascading rebuilds
  23. a23-numdeps@1.2.3: number of dependencies changed: 3 -> 4
     impact: no cascading rebuilds
  24. a24-depname@1.2.3: dependency name changed: old_dep -> new_dep
     impact: no cascading rebuilds
  25. a25-depinfo-known@1.2.3: dependency info changed: zz-fresh@1.0.0
     impact: no cascading rebuilds
  26. a26-depinfo-unknown@1.2.3: dependency info changed
     impact: no cascading rebuilds
  27. a27-fs-stale@1.2.3: filesystem status stale
     impact: no cascading rebuilds
  28. a28-missing@1.2.3: file missing: src/gone.rs
     impact: no cascading rebuilds
  29. a29-unreadable@1.2.3: unable to read file: /outside/x.rs
     impact: no cascading rebuilds
  30. a30-nometa@1.2.3: failed to read file metadata: a/b.rs
     impact: no cascading rebuilds
  31. a31-size@1.2.3: file size changed: src/lib.rs (10 -> 20 bytes)
     impact: no cascading rebuilds
  32. a32-changed@1.2.3: file modified: src/main.rs
     impact: no cascading rebuilds
  33. a33-checksum@1.2.3: file checksum changed: src/c.rs (sha256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -> sha256=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb)
     impact: no cascading rebuilds
  34. a34-missing-checksum@1.2.3: checksum missing: src/d.rs
     impact: no cascading rebuilds
  35. a35-changed-env@1.2.3: environment variable changed (BAR): <unset> -> 1
     impact: no cascading rebuilds
  36. a36-changed-env2@1.2.3: environment variable changed (BAR): 0 -> <unset>
     impact: no cascading rebuilds
  37. a37-staledep@1.2.3: dependency rebuilt: zz-fresh2@1.0.0
     impact: no cascading rebuilds
  38. a38-staledep-unknown@1.2.3: dependency rebuilt: unit 777
     impact: no cascading rebuilds
  39. a39-stalefp@1.2.3: dependency rebuilt: zz-fresh@1.0.0
     impact: no cascading rebuilds
  40. a40-stalefp-unknown@1.2.3: dependency rebuilt: unit 888
     impact: no cascading rebuilds
  41. a41-nothing@1.2.3: nothing obvious
     impact: no cascading rebuilds
  42. a42-forced@1.2.3: forced rebuild
     impact: no cascading rebuilds
  43. a43-freshbuild-dirty@1.2.3: fresh build
     impact: no cascading rebuilds
  44. a44-root-path@1.2.3: file missing: 
     impact: no cascading rebuilds
  45. nover@<n/a>: fresh build
     impact: no cascading rebuilds
  46. other@0.2.0 other "bin": fresh build
     impact: no cascading rebuilds
  47. pathpkg@0.3.0: fresh build
     impact: no cascading rebuilds

note: pass `-vv` to show all affected rebuilt unit lists
)golden";
constexpr std::string_view k_extra_verbose = R"golden(Session: 20261201T000000000Z-0123456789abcdef
Status: 47 units rebuilt, 2 cached, 3 new

Rebuild impact:
  root rebuilds: 48 units
  cascading:     2 units

Root rebuilds:
  0. b00-root@0.1.0: file modified: b00/src/lib.rs
     impact: 2 dependent units rebuilt
       - b01-dep@0.1.0
       - b02-dep@0.1.0 b02 "bin"
  1. a01-rustc@1.2.3: toolchain changed
     impact: no cascading rebuilds
  2. a02-features@1.2.3 (check): activated features changed:  -> default,std
     impact: no cascading rebuilds
  3. a03-declared@1.2.3 a03_declared "lib" (test): declared features changed: a -> a,b
     impact: no cascading rebuilds
  4. a04-targetcfg@1.2.3 a04_targetcfg "bin": target configuration changed
     impact: no cascading rebuilds
  5. a05-pathsrc@1.2.3 a05_pathsrc "test" (test): path to source changed
     impact: no cascading rebuilds
  6. a06-profile@1.2.3 a06_profile "bench" (test): profile configuration changed
     impact: no cascading rebuilds
  7. a07-rustflags@1.2.3 a07_rustflags "example": rustflags changed: -C, opt-level=2 -> --cfg, x
     impact: no cascading rebuilds
  8. a08-rustflags-empty@1.2.3: rustflags changed:  -> --cfg, x
     impact: no cascading rebuilds
  9. a09-config@1.2.3 build-script: config settings changed
     impact: no cascading rebuilds
  10. a10-compilekind@1.2.3 build-script (run): compile target changed
     impact: no cascading rebuilds
  11. a11-locallen@1.2.3 a11_locallen "lib" (doc): local lengths changed
     impact: no cascading rebuilds
  12. a12-precalc@1.2.3 a12_precalc "lib" (doc test): precalculated components changed: 1.0.0 -> 1.0.1
     impact: no cascading rebuilds
  13. a13-checksum-old-true@1.2.3 a13_checksum_old_true "lib" (doc scrape): checksum use changed: enabled -> disabled
     impact: no cascading rebuilds
  14. a14-checksum-old-false@1.2.3: checksum use changed: disabled -> enabled
     impact: no cascading rebuilds
  15. a15-depinfo@1.2.3: dependency info output changed: target/debug/old.d -> /elsewhere/new.d
     impact: no cascading rebuilds
  16. a16-rerunfile@1.2.3: rerun-if-changed output file changed: target/debug/build/x/output -> target/debug/build/y/output
     impact: no cascading rebuilds
  17. a17-rerunpaths@1.2.3: rerun-if-changed paths changed: 1 path(s) -> 3 path(s)
     impact: no cascading rebuilds
  18. a18-envvars@1.2.3: environment variables changed: A=1 -> A=2
     impact: no cascading rebuilds
  19. a19-envvar-both@1.2.3: environment variable changed (FOO): x -> y
     impact: no cascading rebuilds
  20. a20-envvar-unset-old@1.2.3: environment variable changed (FOO): <unset> -> y
     impact: no cascading rebuilds
  21. a21-envvar-unset-new@1.2.3: environment variable changed (FOO): x -> <unset>
     impact: no cascading rebuilds
  22. a22-lfptype@1.2.3: local fingerprint type changed: precalculated -> rerun-if-changed
     impact: no cascading rebuilds
  23. a23-numdeps@1.2.3: number of dependencies changed: 3 -> 4
     impact: no cascading rebuilds
  24. a24-depname@1.2.3: dependency name changed: old_dep -> new_dep
     impact: no cascading rebuilds
  25. a25-depinfo-known@1.2.3: dependency info changed: zz-fresh@1.0.0
     impact: no cascading rebuilds
  26. a26-depinfo-unknown@1.2.3: dependency info changed
     impact: no cascading rebuilds
  27. a27-fs-stale@1.2.3: filesystem status stale
     impact: no cascading rebuilds
  28. a28-missing@1.2.3: file missing: src/gone.rs
     impact: no cascading rebuilds
  29. a29-unreadable@1.2.3: unable to read file: /outside/x.rs
     impact: no cascading rebuilds
  30. a30-nometa@1.2.3: failed to read file metadata: a/b.rs
     impact: no cascading rebuilds
  31. a31-size@1.2.3: file size changed: src/lib.rs (10 -> 20 bytes)
     impact: no cascading rebuilds
  32. a32-changed@1.2.3: file modified: src/main.rs
     impact: no cascading rebuilds
  33. a33-checksum@1.2.3: file checksum changed: src/c.rs (sha256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -> sha256=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb)
     impact: no cascading rebuilds
  34. a34-missing-checksum@1.2.3: checksum missing: src/d.rs
     impact: no cascading rebuilds
  35. a35-changed-env@1.2.3: environment variable changed (BAR): <unset> -> 1
     impact: no cascading rebuilds
  36. a36-changed-env2@1.2.3: environment variable changed (BAR): 0 -> <unset>
     impact: no cascading rebuilds
  37. a37-staledep@1.2.3: dependency rebuilt: zz-fresh2@1.0.0
     impact: no cascading rebuilds
  38. a38-staledep-unknown@1.2.3: dependency rebuilt: unit 777
     impact: no cascading rebuilds
  39. a39-stalefp@1.2.3: dependency rebuilt: zz-fresh@1.0.0
     impact: no cascading rebuilds
  40. a40-stalefp-unknown@1.2.3: dependency rebuilt: unit 888
     impact: no cascading rebuilds
  41. a41-nothing@1.2.3: nothing obvious
     impact: no cascading rebuilds
  42. a42-forced@1.2.3: forced rebuild
     impact: no cascading rebuilds
  43. a43-freshbuild-dirty@1.2.3: fresh build
     impact: no cascading rebuilds
  44. a44-root-path@1.2.3: file missing: 
     impact: no cascading rebuilds
  45. nover@<n/a>: fresh build
     impact: no cascading rebuilds
  46. other@0.2.0 other "bin": fresh build
     impact: no cascading rebuilds
  47. pathpkg@0.3.0: fresh build
     impact: no cascading rebuilds
)golden";
constexpr std::string_view k_color_normal =
    "\x1b[1m\x1b[92mSession:\x1b[0m 20261201T000000000Z-0123456789abcdef\n"
    "\x1b[1m\x1b[92mStatus:\x1b[0m 47 units rebuilt, 2 cached, 3 new\n"
    "\n"
    "\x1b[1m\x1b[92mRebuild impact:\x1b[0m\n"
    "  root rebuilds: 48 units\n"
    "  cascading:     2 units\n"
    "\n"
    "\x1b[1m\x1b[92mRoot rebuilds:\x1b[0m (top 5 of 48 by impact)\n"
    "  \x1b[1m\x1b[96m0. \x1b[1m\x1b[96mb00-root@0.1.0\x1b[0m:\x1b[0m file modified: "
    "b00/src/lib.rs\n"
    "     impact: 2 dependent units rebuilt\n"
    "  \x1b[1m\x1b[96m1. \x1b[1m\x1b[96ma01-rustc@1.2.3\x1b[0m:\x1b[0m toolchain changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m2. \x1b[1m\x1b[96ma02-features@1.2.3\x1b[0m (check):\x1b[0m activated "
    "features changed:  -> default,std\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m3. \x1b[1m\x1b[96ma03-declared@1.2.3\x1b[0m a03_declared \"lib\" "
    "(test):\x1b[0m declared features changed: a -> a,b\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m4. \x1b[1m\x1b[96ma04-targetcfg@1.2.3\x1b[0m a04_targetcfg \"bin\":\x1b[0m "
    "target configuration changed\n"
    "     impact: no cascading rebuilds\n"
    "\n"
    "\x1b[1m\x1b[92mnote\x1b[0m: pass `--verbose` to show all root rebuilds\n";
constexpr std::string_view k_color_extra_verbose =
    "\x1b[1m\x1b[92mSession:\x1b[0m 20261201T000000000Z-0123456789abcdef\n"
    "\x1b[1m\x1b[92mStatus:\x1b[0m 47 units rebuilt, 2 cached, 3 new\n"
    "\n"
    "\x1b[1m\x1b[92mRebuild impact:\x1b[0m\n"
    "  root rebuilds: 48 units\n"
    "  cascading:     2 units\n"
    "\n"
    "\x1b[1m\x1b[92mRoot rebuilds:\x1b[0m\n"
    "  \x1b[1m\x1b[96m0. \x1b[1m\x1b[96mb00-root@0.1.0\x1b[0m:\x1b[0m file modified: "
    "b00/src/lib.rs\n"
    "     impact: 2 dependent units rebuilt\n"
    "       - \x1b[1m\x1b[96mb01-dep@0.1.0\x1b[0m\n"
    "       - \x1b[1m\x1b[96mb02-dep@0.1.0\x1b[0m b02 \"bin\"\n"
    "  \x1b[1m\x1b[96m1. \x1b[1m\x1b[96ma01-rustc@1.2.3\x1b[0m:\x1b[0m toolchain changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m2. \x1b[1m\x1b[96ma02-features@1.2.3\x1b[0m (check):\x1b[0m activated "
    "features changed:  -> default,std\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m3. \x1b[1m\x1b[96ma03-declared@1.2.3\x1b[0m a03_declared \"lib\" "
    "(test):\x1b[0m declared features changed: a -> a,b\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m4. \x1b[1m\x1b[96ma04-targetcfg@1.2.3\x1b[0m a04_targetcfg \"bin\":\x1b[0m "
    "target configuration changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m5. \x1b[1m\x1b[96ma05-pathsrc@1.2.3\x1b[0m a05_pathsrc \"test\" "
    "(test):\x1b[0m path to source changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m6. \x1b[1m\x1b[96ma06-profile@1.2.3\x1b[0m a06_profile \"bench\" "
    "(test):\x1b[0m profile configuration changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m7. \x1b[1m\x1b[96ma07-rustflags@1.2.3\x1b[0m a07_rustflags "
    "\"example\":\x1b[0m rustflags changed: -C, opt-level=2 -> --cfg, x\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m8. \x1b[1m\x1b[96ma08-rustflags-empty@1.2.3\x1b[0m:\x1b[0m rustflags "
    "changed:  -> --cfg, x\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m9. \x1b[1m\x1b[96ma09-config@1.2.3\x1b[0m build-script:\x1b[0m config "
    "settings changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m10. \x1b[1m\x1b[96ma10-compilekind@1.2.3\x1b[0m build-script (run):\x1b[0m "
    "compile target changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m11. \x1b[1m\x1b[96ma11-locallen@1.2.3\x1b[0m a11_locallen \"lib\" "
    "(doc):\x1b[0m local lengths changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m12. \x1b[1m\x1b[96ma12-precalc@1.2.3\x1b[0m a12_precalc \"lib\" (doc "
    "test):\x1b[0m precalculated components changed: 1.0.0 -> 1.0.1\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m13. \x1b[1m\x1b[96ma13-checksum-old-true@1.2.3\x1b[0m a13_checksum_old_true "
    "\"lib\" (doc scrape):\x1b[0m checksum use changed: enabled -> disabled\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m14. \x1b[1m\x1b[96ma14-checksum-old-false@1.2.3\x1b[0m:\x1b[0m checksum use "
    "changed: disabled -> enabled\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m15. \x1b[1m\x1b[96ma15-depinfo@1.2.3\x1b[0m:\x1b[0m dependency info output "
    "changed: target/debug/old.d -> /elsewhere/new.d\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m16. \x1b[1m\x1b[96ma16-rerunfile@1.2.3\x1b[0m:\x1b[0m rerun-if-changed "
    "output file changed: target/debug/build/x/output -> target/debug/build/y/output\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m17. \x1b[1m\x1b[96ma17-rerunpaths@1.2.3\x1b[0m:\x1b[0m rerun-if-changed "
    "paths changed: 1 path(s) -> 3 path(s)\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m18. \x1b[1m\x1b[96ma18-envvars@1.2.3\x1b[0m:\x1b[0m environment variables "
    "changed: A=1 -> A=2\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m19. \x1b[1m\x1b[96ma19-envvar-both@1.2.3\x1b[0m:\x1b[0m environment variable "
    "changed (FOO): x -> y\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m20. \x1b[1m\x1b[96ma20-envvar-unset-old@1.2.3\x1b[0m:\x1b[0m environment "
    "variable changed (FOO): <unset> -> y\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m21. \x1b[1m\x1b[96ma21-envvar-unset-new@1.2.3\x1b[0m:\x1b[0m environment "
    "variable changed (FOO): x -> <unset>\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m22. \x1b[1m\x1b[96ma22-lfptype@1.2.3\x1b[0m:\x1b[0m local fingerprint type "
    "changed: precalculated -> rerun-if-changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m23. \x1b[1m\x1b[96ma23-numdeps@1.2.3\x1b[0m:\x1b[0m number of dependencies "
    "changed: 3 -> 4\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m24. \x1b[1m\x1b[96ma24-depname@1.2.3\x1b[0m:\x1b[0m dependency name changed: "
    "old_dep -> new_dep\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m25. \x1b[1m\x1b[96ma25-depinfo-known@1.2.3\x1b[0m:\x1b[0m dependency info "
    "changed: \x1b[1m\x1b[96mzz-fresh@1.0.0\x1b[0m\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m26. \x1b[1m\x1b[96ma26-depinfo-unknown@1.2.3\x1b[0m:\x1b[0m dependency info "
    "changed\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m27. \x1b[1m\x1b[96ma27-fs-stale@1.2.3\x1b[0m:\x1b[0m filesystem status "
    "stale\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m28. \x1b[1m\x1b[96ma28-missing@1.2.3\x1b[0m:\x1b[0m file missing: "
    "src/gone.rs\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m29. \x1b[1m\x1b[96ma29-unreadable@1.2.3\x1b[0m:\x1b[0m unable to read file: "
    "/outside/x.rs\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m30. \x1b[1m\x1b[96ma30-nometa@1.2.3\x1b[0m:\x1b[0m failed to read file "
    "metadata: a/b.rs\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m31. \x1b[1m\x1b[96ma31-size@1.2.3\x1b[0m:\x1b[0m file size changed: "
    "src/lib.rs (10 -> 20 bytes)\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m32. \x1b[1m\x1b[96ma32-changed@1.2.3\x1b[0m:\x1b[0m file modified: "
    "src/main.rs\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m33. \x1b[1m\x1b[96ma33-checksum@1.2.3\x1b[0m:\x1b[0m file checksum changed: "
    "src/c.rs (sha256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -> "
    "sha256=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb)\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m34. \x1b[1m\x1b[96ma34-missing-checksum@1.2.3\x1b[0m:\x1b[0m checksum "
    "missing: src/d.rs\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m35. \x1b[1m\x1b[96ma35-changed-env@1.2.3\x1b[0m:\x1b[0m environment variable "
    "changed (BAR): <unset> -> 1\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m36. \x1b[1m\x1b[96ma36-changed-env2@1.2.3\x1b[0m:\x1b[0m environment "
    "variable changed (BAR): 0 -> <unset>\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m37. \x1b[1m\x1b[96ma37-staledep@1.2.3\x1b[0m:\x1b[0m dependency rebuilt: "
    "\x1b[1m\x1b[96mzz-fresh2@1.0.0\x1b[0m\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m38. \x1b[1m\x1b[96ma38-staledep-unknown@1.2.3\x1b[0m:\x1b[0m dependency "
    "rebuilt: unit 777\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m39. \x1b[1m\x1b[96ma39-stalefp@1.2.3\x1b[0m:\x1b[0m dependency rebuilt: "
    "\x1b[1m\x1b[96mzz-fresh@1.0.0\x1b[0m\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m40. \x1b[1m\x1b[96ma40-stalefp-unknown@1.2.3\x1b[0m:\x1b[0m dependency "
    "rebuilt: unit 888\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m41. \x1b[1m\x1b[96ma41-nothing@1.2.3\x1b[0m:\x1b[0m nothing obvious\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m42. \x1b[1m\x1b[96ma42-forced@1.2.3\x1b[0m:\x1b[0m forced rebuild\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m43. \x1b[1m\x1b[96ma43-freshbuild-dirty@1.2.3\x1b[0m:\x1b[0m fresh build\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m44. \x1b[1m\x1b[96ma44-root-path@1.2.3\x1b[0m:\x1b[0m file missing: \n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m45. \x1b[1m\x1b[96mnover@<n/a>\x1b[0m:\x1b[0m fresh build\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m46. \x1b[1m\x1b[96mother@0.2.0\x1b[0m other \"bin\":\x1b[0m fresh build\n"
    "     impact: no cascading rebuilds\n"
    "  \x1b[1m\x1b[96m47. \x1b[1m\x1b[96mpathpkg@0.3.0\x1b[0m:\x1b[0m fresh build\n"
    "     impact: no cascading rebuilds\n";

class CargoVariants : public testing::Test {
protected:
  CargoVariants() {
    codec::EventDecoder decoder;
    std::istringstream in{std::string(k_log)};
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      v1::Event event;
      auto decoded = decoder.decode(line, event);
      EXPECT_TRUE(decoded) << "line " << number << ": " << decoded.error().message;
      if (event.has_build_started()) {
        m_run.set_run_id(event.run_id());
        m_run.set_workspace_root(event.build_started().workspace_root());
      }
      m_events.push_back(std::move(event));
    }
    m_report = compute_rebuilds(m_events, m_run);
  }

  std::vector<v1::Event> m_events;
  v1::RunSummary m_run;
  v1::RunRebuilds m_report;
};

TEST_F(CargoVariants, normal) {
  EXPECT_EQ(render::render_rebuilds(m_report, Verbosity::normal, false), k_normal);
}

TEST_F(CargoVariants, verbose) {
  EXPECT_EQ(render::render_rebuilds(m_report, Verbosity::verbose, false), k_verbose);
}

TEST_F(CargoVariants, extra_verbose) {
  EXPECT_EQ(render::render_rebuilds(m_report, Verbosity::extra_verbose, false), k_extra_verbose);
}

TEST_F(CargoVariants, color_normal) {
  EXPECT_EQ(render::render_rebuilds(m_report, Verbosity::normal, true), k_color_normal);
}

TEST_F(CargoVariants, color_extra_verbose) {
  EXPECT_EQ(render::render_rebuilds(m_report, Verbosity::extra_verbose, true),
            k_color_extra_verbose);
}

// What the client asks for without -v (5 roots, affected units counted, not listed) and with
// -v (every root, counted) renders the same text as the full result: 48 roots, 43 hidden.
TEST_F(CargoVariants, the_views_the_client_asks_for_render_cargos_text) {
  v1::RunRebuilds top;
  copy_rebuilds_view(m_report, RebuildsView{5, true}, top);
  EXPECT_EQ(top.root_rebuilds_size(), 5);
  EXPECT_EQ(top.root_count(), 48U);
  EXPECT_EQ(render::render_rebuilds(top, Verbosity::normal, false), k_normal);
  EXPECT_EQ(render::render_rebuilds(top, Verbosity::normal, true), k_color_normal);
  v1::RunRebuilds all;
  copy_rebuilds_view(m_report, RebuildsView{0, true}, all);
  EXPECT_EQ(all.root_rebuilds_size(), 48);
  EXPECT_EQ(render::render_rebuilds(all, Verbosity::verbose, false), k_verbose);
}

// The structure behind the text: counts, and every root carrying its typed reason.
TEST_F(CargoVariants, structure) {
  EXPECT_EQ(m_report.units_rebuilt(), 47U);
  EXPECT_EQ(m_report.units_cached(), 2U);
  EXPECT_EQ(m_report.units_new(), 3U);
  EXPECT_EQ(m_report.cascading(), 2U);
  ASSERT_EQ(m_report.root_rebuilds_size(), 48);
  for (const v1::RootRebuild& root : m_report.root_rebuilds()) {
    EXPECT_FALSE(root.reason().dirty_reason().empty()) << root.unit().description();
    EXPECT_FALSE(root.reason_text().empty()) << root.unit().description();
  }
}

} // namespace
} // namespace ca::query
