#include "daemon/ingest/line_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ca::ingest {
namespace {

struct Collected {
  std::vector<std::pair<uint64_t, std::string>> lines;
  std::vector<std::pair<uint64_t, uint64_t>> oversize; // line_no, bytes so far
};

void feed(LineFramer& f, Collected& c, std::string_view data) {
  f.feed(
      data, [&](std::string_view line, uint64_t no) { c.lines.emplace_back(no, line); },
      [&](uint64_t no, uint64_t bytes) { c.oversize.emplace_back(no, bytes); });
}

TEST(LineFramer, SplitsLinesAcrossChunks) {
  LineFramer f(16);
  Collected c;
  feed(f, c, "ab\ncd");
  feed(f, c, "ef\n\ngh");
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[0], (std::pair<uint64_t, std::string>{1, "ab"}));
  EXPECT_EQ(c.lines[1], (std::pair<uint64_t, std::string>{2, "cdef"}));
  EXPECT_EQ(c.lines[2], (std::pair<uint64_t, std::string>{3, ""}));
  EXPECT_EQ(f.partial(), "gh");
  EXPECT_TRUE(c.oversize.empty());
}

TEST(LineFramer, ALineOfExactlyTheLimitIsKept) {
  LineFramer f(4);
  Collected c;
  feed(f, c, "ab");
  feed(f, c, "cd\n");
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0].second, "abcd");
}

TEST(LineFramer, AnOverLongLineIsReportedOncePerLimitAndSkipped) {
  LineFramer f(4);
  Collected c;
  feed(f, c, "ok\n");
  feed(f, c, "abc");
  feed(f, c, "de");  // 5 bytes: over
  feed(f, c, "fgh"); // 8: not over twice yet
  feed(f, c, "i");   // 9: twice
  feed(f, c, "jk\nnext\n");
  ASSERT_EQ(c.oversize.size(), 2u);
  EXPECT_EQ(c.oversize[0], (std::pair<uint64_t, uint64_t>{2, 5}));
  EXPECT_EQ(c.oversize[1], (std::pair<uint64_t, uint64_t>{2, 9}));
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_EQ(c.lines[1], (std::pair<uint64_t, std::string>{3, "next"}));
  EXPECT_FALSE(f.in_long_line());
}

TEST(LineFramer, AnEndlessLineHoldsNoMemory) {
  LineFramer f(1024);
  Collected c;
  const std::string zeros(64 * 1024, '\0');
  for (int i = 0; i < 160; ++i) { // 10 MiB, no newline
    feed(f, c, zeros);
  }
  EXPECT_TRUE(f.in_long_line());
  EXPECT_TRUE(f.partial().empty());
  EXPECT_EQ(c.oversize.size(), (10u << 20) / 1024 - 1); // one per KiB past the first
  EXPECT_TRUE(c.lines.empty());
}

TEST(LineFramer, ALongCompleteLineInOneChunkIsReported) {
  LineFramer f(4);
  Collected c;
  feed(f, c, "0123456789\nok\n");
  ASSERT_EQ(c.oversize.size(), 2u); // 10 bytes: over 4, over 8
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], (std::pair<uint64_t, std::string>{2, "ok"}));
}

TEST(LineFramer, DropPartialForgetsTheUnfinishedLine) {
  LineFramer f(16);
  Collected c;
  feed(f, c, "half");
  EXPECT_EQ(f.drop_partial(), 4u);
  feed(f, c, "new\n");
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0].second, "new");
}

} // namespace
} // namespace ca::ingest
