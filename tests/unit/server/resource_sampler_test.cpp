// The procfs parsing of the resource sampler, on text as Linux writes it.
#include "daemon/server/resource_sampler.hpp"

#include <gtest/gtest.h>

namespace ca::server {
namespace {

TEST(ResourceSampler, proc_stat_cpu_line_is_cargos_busy_share) {
  auto before = parse_proc_stat("cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n");
  auto after = parse_proc_stat("cpu  160 5 70 1100 20 1 2 3 0 0\ncpu0 80 2 35 550 10 0 1 1 0 0\n");
  ASSERT_TRUE(before && after);
  EXPECT_EQ(before->idle, 1000u);
  EXPECT_EQ(before->busy, 100u + 5 + 50 + 20 + 1 + 2 + 3);
  // 80 busy ticks and 100 idle ones: cargo records 100 - idle share.
  EXPECT_DOUBLE_EQ(cpu_busy_percent(*before, *after), 100.0 - 100.0 / 180.0 * 100.0);
  EXPECT_EQ(cpu_busy_percent(*after, *after), 0.0) << "no time passed";
  EXPECT_EQ(cpu_busy_percent(*after, *before), 0.0) << "counters going back count as nothing";
  // Old kernels write fewer fields.
  auto old = parse_proc_stat("cpu  1 2 3 4\n");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->idle, 4u);
  EXPECT_FALSE(parse_proc_stat("intr 1 2 3\n"));
  EXPECT_FALSE(parse_proc_stat("cpu  1 2\n"));
  EXPECT_FALSE(parse_proc_stat(""));
}

TEST(ResourceSampler, meminfo_gives_total_and_available) {
  auto m = parse_meminfo("MemTotal:        8039424 kB\nMemFree:          512000 kB\n"
                         "MemAvailable:    6000000 kB\nBuffers:          100 kB\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total_kib, 8039424u);
  EXPECT_EQ(m->available_kib, 6000000u);
  EXPECT_FALSE(parse_meminfo("MemTotal:        8039424 kB\nMemFree:          512000 kB\n"));
  EXPECT_FALSE(parse_meminfo("MemTotalX: 1 kB\nMemAvailable: 2 kB\n"));
}

TEST(ResourceSampler, this_machines_procfs_parses) {
  char buf[512] = {};
  FILE* f = std::fopen("/proc/stat", "r");
  ASSERT_NE(f, nullptr);
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  EXPECT_TRUE(parse_proc_stat(std::string_view(buf, n)));
  f = std::fopen("/proc/meminfo", "r");
  ASSERT_NE(f, nullptr);
  n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  auto m = parse_meminfo(std::string_view(buf, n));
  ASSERT_TRUE(m);
  EXPECT_GT(m->total_kib, 0u);
  EXPECT_LE(m->available_kib, m->total_kib);
}

} // namespace
} // namespace ca::server
