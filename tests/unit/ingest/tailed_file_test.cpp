#include "daemon/ingest/tailed_file.hpp"

#include <gtest/gtest.h>

namespace ca::ingest {
namespace {

// A name cargo would give a log: its run id (start time in ms, then the workspace hash).
const std::string k_run = "20261123T062731277Z-28b99174ef2c2ad6";

TailedFile log_file() {
  return TailedFile("/logs/" + k_run + ".jsonl");
}

LineFramer framed_lines(uint64_t lines) {
  return LineFramer(codec::k_max_line_bytes, lines);
}

TEST(TailedFile, ANewFileIsFreshAtByteZeroAndNamesItsRunFromItsName) {
  TailedFile f = log_file();
  EXPECT_EQ(f.state(), TailState::fresh);
  EXPECT_EQ(f.offset, 0u);
  EXPECT_EQ(f.lines_before(), 0u);
  EXPECT_EQ(f.name_run_id(), k_run);
  EXPECT_EQ(f.checkpoint_run_id(), k_run);
  f.run_id = "from-its-lines";
  EXPECT_EQ(f.checkpoint_run_id(), "from-its-lines");

  TailedFile odd("/logs/notes.jsonl");
  EXPECT_EQ(odd.name_run_id(), "");
  odd.announced_by_name(); // nothing to announce without a run id in the name
  EXPECT_EQ(odd.state(), TailState::fresh);
}

TEST(TailedFile, RestoreTakesTheStoredPositionAndTheRunsState) {
  TailedFile in_progress = log_file();
  in_progress.restore(42, 100, k_run, "in_progress");
  EXPECT_EQ(in_progress.state(), TailState::announced);
  EXPECT_EQ(in_progress.inode, 42u);
  EXPECT_EQ(in_progress.offset, 100u);
  EXPECT_FALSE(in_progress.framer) << "the lines before a stored offset are counted on reading";

  TailedFile ended = log_file();
  ended.restore(42, 100, k_run, "completed");
  EXPECT_EQ(ended.state(), TailState::ended);

  // The store no longer has the run (retention deleted it): nothing may bring its row back.
  TailedFile collected = log_file();
  collected.restore(42, 100, k_run, "");
  EXPECT_EQ(collected.state(), TailState::ended);

  // A position without a run (nothing read from it yet).
  TailedFile nothing = log_file();
  nothing.restore(42, 0, "", "");
  EXPECT_EQ(nothing.state(), TailState::fresh);
  EXPECT_TRUE(nothing.framer) << "at byte 0 there are no lines before to count";
}

TEST(TailedFile, CommitsMoveFreshToAnnouncedToEndedAndAnEventAfterTheEndReopensIt) {
  TailedFile f = log_file();
  f.committed(0, framed_lines(0), /*events=*/0, /*facts=*/true, /*ends_run=*/false);
  EXPECT_EQ(f.state(), TailState::announced) << "the announcement from the name";

  f.committed(200, framed_lines(4), 4, false, false);
  EXPECT_EQ(f.state(), TailState::announced);
  EXPECT_EQ(f.offset, 200u);
  EXPECT_EQ(f.lines_before(), 4u);

  f.committed(300, framed_lines(6), 2, true, true);
  EXPECT_TRUE(f.end_known());
  EXPECT_EQ(f.state(), TailState::ended);

  // A fact alone (no event) leaves the end standing.
  f.committed(300, framed_lines(6), 0, true, false);
  EXPECT_EQ(f.state(), TailState::ended);

  // cargo wrote on after the end was recorded: the run is in progress again.
  f.committed(400, framed_lines(8), 2, false, false);
  EXPECT_EQ(f.state(), TailState::announced);
}

TEST(TailedFile, ACommittedFramerKeepsNoPartialLine) {
  TailedFile f = log_file();
  LineFramer framer = framed_lines(0);
  framer.feed(
      "{\"a\":1}\n{\"b\"", [](std::string_view, uint64_t) {}, [](uint64_t, uint64_t) {});
  ASSERT_EQ(framer.partial(), "{\"b\"");
  f.committed(8, framer, 1, false, false);
  ASSERT_TRUE(f.framer);
  EXPECT_EQ(f.framer->partial(), "") << "the partial line is read again from the file";
  EXPECT_EQ(f.lines_before(), 1u);
}

TEST(TailedFile, AnAbandonedOrRewrittenFileIsNotReadAndCommitsDoNotRevive) {
  TailedFile abandoned = log_file();
  abandoned.committed(10, framed_lines(1), 1, false, false);
  abandoned.abandon();
  EXPECT_EQ(abandoned.state(), TailState::abandoned);
  EXPECT_FALSE(abandoned.readable());
  // The batch that abandons it moves its offset to its end; its state stays.
  abandoned.committed(5000, framed_lines(1), 1, true, false);
  EXPECT_EQ(abandoned.offset, 5000u);
  EXPECT_EQ(abandoned.state(), TailState::abandoned);

  TailedFile rewritten = log_file();
  rewritten.mark_rewritten();
  EXPECT_EQ(rewritten.state(), TailState::rewritten);
  EXPECT_FALSE(rewritten.readable());

  TailedFile old = log_file();
  old.skip_as_too_old();
  EXPECT_FALSE(old.readable());
}

TEST(TailedFile, ReplacementStartsOverFromByteZeroWhateverTheState) {
  SourceStats stats;
  // Abandoned, written over, ended: another file under the name is a new log all the same.
  for (auto leave :
       {+[](TailedFile& f) { f.abandon(); }, +[](TailedFile& f) { f.mark_rewritten(); },
        +[](TailedFile& f) { f.committed(300, framed_lines(6), 2, true, true); }}) {
    TailedFile f = log_file();
    f.committed(200, framed_lines(4), 4, false, false);
    f.run_id = k_run;
    f.head = "{\"run_id\"";
    f.ingestor = std::make_unique<LineIngestor>("x", "watcher", stats);
    leave(f);
    f.replaced();
    EXPECT_EQ(f.state(), TailState::fresh);
    EXPECT_EQ(f.offset, 0u);
    EXPECT_EQ(f.lines_before(), 0u);
    EXPECT_EQ(f.run_id, "");
    EXPECT_EQ(f.head, "");
    EXPECT_EQ(f.ingestor, nullptr);
  }
}

TEST(TailedFile, AForgottenFileStaysForgotten) {
  TailedFile f = log_file();
  f.forget();
  EXPECT_TRUE(f.forgotten());
  f.replaced();
  f.abandon();
  f.mark_rewritten();
  f.committed(10, framed_lines(1), 1, true, true);
  EXPECT_EQ(f.state(), TailState::forgotten);
  EXPECT_FALSE(f.readable());
}

TEST(TailedFile, DrainRequestsOnlyRiseAndSayWhichEndCheckTheyAskFor) {
  TailedFile f = log_file();
  EXPECT_EQ(f.wanted, DrainWanted::nothing);
  f.want(DrainWanted::end_after_close);
  f.want(DrainWanted::read); // an IN_MODIFY after the close asks for less: the close stands
  EXPECT_EQ(f.wanted, DrainWanted::end_after_close);
  EXPECT_EQ(end_trigger(DrainWanted::nothing), std::nullopt);
  EXPECT_EQ(end_trigger(DrainWanted::read), std::nullopt);
  EXPECT_EQ(end_trigger(DrainWanted::end_after_scan), EndTrigger::scan);
  EXPECT_EQ(end_trigger(DrainWanted::end_after_close), EndTrigger::closed);
}

} // namespace
} // namespace ca::ingest
