#include "daemon/ingest/end_probe.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <vector>

namespace ca::ingest {
namespace {

using std::chrono::milliseconds;
using WallTime = runtime::Clock::wall_time_point;

const std::vector<milliseconds> k_delays = {milliseconds(5), milliseconds(20), milliseconds(75),
                                            milliseconds(200), milliseconds(700)};

// Runs the probe the way the watcher does: probe, and while told to, wait (here: move the clock)
// and probe again. Returns the waits asked for and leaves the last answer in `lock`.
std::vector<milliseconds> settle(EndProbe& probe,
                                 runtime::ManualClock& clock,
                                 Result<LockState>& lock,
                                 const std::function<Result<LockState>()>& next_probe,
                                 const std::function<std::optional<WallTime>()>& empty_since) {
  std::vector<milliseconds> waits;
  while (auto delay = probe.retry_after(lock, empty_since)) {
    waits.push_back(*delay);
    clock.advance(*delay);
    lock = next_probe();
  }
  return waits;
}

std::optional<WallTime> never_empty() {
  return std::nullopt;
}

TEST(ManualClock, MovesOnlyWhenAdvancedAndMovesBothReadings) {
  runtime::ManualClock clock;
  const auto t0 = clock.now();
  const auto w0 = clock.wall_now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(milliseconds(1500));
  EXPECT_EQ(clock.now() - t0, milliseconds(1500));
  EXPECT_EQ(clock.wall_now() - w0, milliseconds(1500));
}

TEST(EndProbe, FreeLockAfterCloseIsTheEndAtOnce) {
  runtime::ManualClock clock;
  EndProbe probe(EndTrigger::closed, k_delays, clock);
  Result<LockState> lock = LockState::free;
  auto waits = settle(
      probe, clock, lock, [] { return LockState::free; }, never_empty);
  EXPECT_TRUE(waits.empty());
  EXPECT_EQ(EndProbe::verdict(lock), EndVerdict::ended);
}

TEST(EndProbe, HeldLockAfterCloseIsAskedAgainUntilReleased) {
  runtime::ManualClock clock;
  EndProbe probe(EndTrigger::closed, k_delays, clock);
  Result<LockState> lock = LockState::held;
  int probes = 0;
  // Cargo unlocks a moment after the close: the third probe finds the lock free.
  auto waits = settle(
      probe, clock, lock, [&] { return ++probes < 2 ? LockState::held : LockState::free; },
      never_empty);
  EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(5), milliseconds(20)}));
  EXPECT_EQ(EndProbe::verdict(lock), EndVerdict::ended);
}

TEST(EndProbe, LockHeldThroughEveryRetryMeansStillInProgress) {
  runtime::ManualClock clock;
  EndProbe probe(EndTrigger::closed, k_delays, clock);
  Result<LockState> lock = LockState::held;
  auto waits = settle(
      probe, clock, lock, [] { return LockState::held; }, never_empty);
  EXPECT_EQ(waits, k_delays);
  EXPECT_EQ(EndProbe::verdict(lock), EndVerdict::in_progress);
}

// A scan finds an empty log `age` old with its lock free; cargo takes the lock at the
// `locked_at`th probe after the first (never if 0). Returns the waits asked for and the verdict.
std::pair<std::vector<milliseconds>, EndVerdict> scan_empty_log(milliseconds age, int locked_at) {
  runtime::ManualClock clock;
  EndProbe probe(EndTrigger::scan, k_delays, clock);
  const WallTime created = clock.wall_now() - age;
  Result<LockState> lock = LockState::free;
  int probes = 0;
  auto waits = settle(
      probe, clock, lock, [&] { return ++probes == locked_at ? LockState::held : LockState::free; },
      [&] { return std::optional<WallTime>(created); });
  return {waits, EndProbe::verdict(lock)};
}

TEST(EndProbe, EmptyFreeLogJustCreatedIsGivenTimeToBeLocked) {
  auto [waits, verdict] = scan_empty_log(milliseconds(100), 3);
  EXPECT_EQ(waits,
            (std::vector<milliseconds>{milliseconds(5), milliseconds(20), milliseconds(75)}));
  EXPECT_EQ(verdict, EndVerdict::in_progress);
}

TEST(EndProbe, EmptyFreeLogStopsBeingJustCreatedAsTheClockMoves) {
  // 1.9 s old: after 5 + 20 + 75 ms it is 2 s old, and its free lock is believed.
  auto [waits, verdict] = scan_empty_log(milliseconds(1900), 0);
  EXPECT_EQ(waits,
            (std::vector<milliseconds>{milliseconds(5), milliseconds(20), milliseconds(75)}));
  EXPECT_EQ(verdict, EndVerdict::ended);
}

TEST(EndProbe, EmptyFreeLogNeverLockedIsBelievedOnceTheDelaysAreUsedUp) {
  auto [waits, verdict] = scan_empty_log(milliseconds(0), 0);
  EXPECT_EQ(waits, k_delays);
  EXPECT_EQ(verdict, EndVerdict::ended);
}

TEST(EndProbe, ScanBelievesAFreeLockOnALogWithContentOrAnOldOne) {
  runtime::ManualClock clock;
  Result<LockState> lock = LockState::free;
  EndProbe with_content(EndTrigger::scan, k_delays, clock);
  EXPECT_EQ(with_content.retry_after(lock, never_empty), std::nullopt);
  EndProbe old(EndTrigger::scan, k_delays, clock);
  const WallTime created = clock.wall_now() - std::chrono::seconds(3);
  EXPECT_EQ(old.retry_after(lock, [&] { return std::optional<WallTime>(created); }), std::nullopt);
}

TEST(EndProbe, ScanBelievesAHeldLockWithoutLookingAtTheFile) {
  runtime::ManualClock clock;
  EndProbe probe(EndTrigger::scan, k_delays, clock);
  int looked = 0;
  Result<LockState> lock = LockState::held;
  EXPECT_EQ(probe.retry_after(lock,
                              [&] {
                                ++looked;
                                return std::optional<WallTime>(clock.wall_now());
                              }),
            std::nullopt);
  EXPECT_EQ(looked, 0);
  EXPECT_EQ(EndProbe::verdict(lock), EndVerdict::in_progress);
}

TEST(EndProbe, AFailedProbeOrAGoneFileIsTheAnswerAtOnce) {
  runtime::ManualClock clock;
  EndProbe probe(EndTrigger::closed, k_delays, clock);
  Result<LockState> failed = unexpected(ErrorCode::io, "cannot open x: Permission denied");
  EXPECT_EQ(probe.retry_after(failed, never_empty), std::nullopt);
  EXPECT_EQ(EndProbe::verdict(failed), EndVerdict::unreadable);
  Result<LockState> gone = LockState::gone;
  EXPECT_EQ(probe.retry_after(gone, never_empty), std::nullopt);
  EXPECT_EQ(EndProbe::verdict(gone), EndVerdict::gone);
}

TEST(EndProbe, NoDelaysMeansTheFirstAnswerStands) {
  runtime::ManualClock clock;
  const std::vector<milliseconds> none;
  EndProbe probe(EndTrigger::closed, none, clock);
  Result<LockState> lock = LockState::held;
  EXPECT_EQ(probe.retry_after(lock, never_empty), std::nullopt);
}

} // namespace
} // namespace ca::ingest
