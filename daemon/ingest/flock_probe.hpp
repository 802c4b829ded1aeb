// Is cargo still writing this log? Cargo (src/cargo/util/logger.rs) creates
// `$CARGO_HOME/log/<run_id>.jsonl`, takes an exclusive flock on it a moment later, and holds it
// until the build is over; then it unlocks and closes the file. A shared, non-blocking flock on a
// descriptor of our own therefore tells "a cargo still owns this log" from "nobody does".
//
// Caveat: between cargo's create and its flock (microseconds) the file looks free. Callers only
// trust `free` for an end when the file was also closed by its writer, or at back-fill, where an
// empty file created a moment ago is given time to be locked, and a wrong "free" is corrected by
// the IN_CLOSE_WRITE that follows.
#pragma once

#include "shared/error.hpp"

#include <filesystem>

namespace ca::ingest {

enum class LockState {
  free, // nobody holds an exclusive lock: the writer is done (or never locked it)
  held, // another open file holds an exclusive lock: the build is in progress
  gone, // the file does not exist any more
};

// Opens `path` read-only and non-blocking (a FIFO named *.jsonl must not hang us) on a descriptor
// of its own, tries flock(LOCK_SH | LOCK_NB) and releases it at once. Our shared lock lives for
// a few microseconds; a cargo that asks for its lock in that window waits that long.
// Returns an io error naming the path and errno text if the file cannot be opened (EACCES) or
// flock fails for another reason than EWOULDBLOCK.
Result<LockState> probe_writer_lock(const std::filesystem::path& path);

} // namespace ca::ingest
