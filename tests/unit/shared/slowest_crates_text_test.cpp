// The text of `report slowest-crates`: heading with scope and totals, one aligned row per crate,
// machines only in the team's answer, and what was left out.
#include "shared/render/slowest_crates_text.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace ca::render {
namespace {

namespace v1 = cargo_analysis::v1;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    out.push_back(l);
  }
  return out;
}

v1::SlowestCratesResponse sample(bool team) {
  v1::SlowestCratesResponse r;
  r.set_runs(12);
  r.set_compiles(40);
  r.set_total_secs(100.0);
  r.set_crates(3);
  r.set_team(team);
  auto* a = r.add_slowest();
  a->set_package_id("registry+https://github.com/rust-lang/crates.io-index#syn@2.0.1");
  a->set_name("syn");
  a->set_version("2.0.1");
  a->set_runs(4);
  a->set_compiles(8);
  a->set_total_secs(60.0);
  a->set_mean_secs(15.0);
  a->set_share(0.6);
  if (team) {
    a->add_machines("ci-1");
    a->add_machines("laptop");
  }
  auto* b = r.add_slowest();
  b->set_package_id("path+file:///ws/app#0.1.0");
  b->set_name("app-with-a-long-name");
  b->set_version("0.1.0");
  b->set_runs(1);
  b->set_compiles(1);
  b->set_total_secs(25.5);
  b->set_mean_secs(25.5);
  b->set_share(0.255);
  if (team) {
    b->add_machines("laptop");
  }
  return r;
}

TEST(SlowestCratesText, LocalReportHasAHeadingAndAlignedRowsWithoutMachines) {
  auto out = lines(render_slowest_crates(sample(false), false));
  ASSERT_GE(out.size(), 5u);
  EXPECT_EQ(out[0], "Slowest crates: this machine: 12 runs, 40 units compiled, 100.00s of "
                    "compile time, 3 crates");
  EXPECT_EQ(out[1], "");
  EXPECT_EQ(out[2], "    #  crate                 version   runs  compiles       total   mean/run "
                    "  share");
  EXPECT_EQ(out[3], "    1  syn                   2.0.1        4         8      60.00s     15.00s "
                    "  60.0%");
  EXPECT_EQ(out[4], "    2  app-with-a-long-name  0.1.0        1         1      25.50s     25.50s "
                    "  25.5%");
  // Three crates in range, two listed.
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[5], "  ... and 1 more (show them with --limit)");
}

TEST(SlowestCratesText, TeamReportNamesTheScopeAndTheMachinesOfEachCrate) {
  auto r = sample(true);
  auto out = lines(render_slowest_crates(r, false));
  EXPECT_EQ(out[0].rfind("Slowest crates: the team, every machine: 12 runs", 0), 0u) << out[0];
  EXPECT_NE(out[2].find("share  machines"), std::string::npos) << out[2];
  EXPECT_NE(out[3].find("60.0%  ci-1, laptop"), std::string::npos) << out[3];
  EXPECT_NE(out[4].find("25.5%  laptop"), std::string::npos) << out[4];

  r.set_machine("ci-1");
  auto one = lines(render_slowest_crates(r, false));
  EXPECT_EQ(one[0].rfind("Slowest crates: the team, machine ci-1: ", 0), 0u) << one[0];
}

TEST(SlowestCratesText, ColorStylesTheHeadingAndNamesWithoutBreakingTheColumns) {
  auto plain = lines(render_slowest_crates(sample(false), false));
  auto colored = lines(render_slowest_crates(sample(false), true));
  EXPECT_EQ(colored[0].rfind("\x1b[1m\x1b[92mSlowest crates:\x1b[0m", 0), 0u);
  std::string row = colored[3];
  for (const char* esc : {"\x1b[1m", "\x1b[0m"}) {
    for (size_t at = row.find(esc); at != std::string::npos; at = row.find(esc)) {
      row.erase(at, std::string(esc).size());
    }
  }
  EXPECT_EQ(row, plain[3]);
}

TEST(SlowestCratesText, NoCompiledUnitSaysSo) {
  v1::SlowestCratesResponse r;
  r.set_runs(2);
  auto out = lines(render_slowest_crates(r, false));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], "  no unit was compiled");
}

} // namespace
} // namespace ca::render
