// What sources hand to the store: decoded events plus what they know about the runs.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "shared/error.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ca::store {

// A watched log file's read position, committed with the events read up to it.
struct FileCheckpoint {
  std::string path;
  uint64_t inode = 0;
  uint64_t offset = 0;
  uint64_t line = 0; // lines read up to `offset` (the next line's position is line + 1)
  std::string run_id;
};

// A log file the watcher has read, as its last committed checkpoint says (what a
// FileCheckpoint stored, read back at start).
struct WatchedFile {
  std::string path;
  uint64_t inode = 0;
  uint64_t offset = 0;   // just past the last complete line stored
  uint64_t line = 0;     // lines up to `offset`
  std::string run_id;    // "" if the file gave none
  std::string run_state; // that run's state, "" if there is no such run
};

// What a source knows about a run beyond its events. Unset fields leave stored values alone.
struct RunFacts {
  std::string run_id;
  std::optional<std::string> session_id;
  std::optional<std::string> parent_run_id;
  std::optional<std::string> link; // evidence kind of the parent link
  std::optional<int> pid;
  std::optional<int> ppid;
  std::optional<int> exit_code;
  // The run is over (its writer released the log, its producer said so, or its connection
  // ended). `log_truncated`: the log ended empty or mid-line.
  bool ended = false;
  bool log_truncated = false;
};

// A line refused because its position in its run holds other bytes (see raw_log.hpp).
struct Divergence {
  std::string run_id;
  uint64_t position = 0;
  std::string message; // "run R line N: ..."
};

struct BatchOutcome {
  uint64_t inserted = 0;   // events stored
  uint64_t duplicates = 0; // events already stored (same run, same position, same bytes)
  // Events whose position was taken by other bytes: reported (the first few in `divergences`),
  // never stored.
  uint64_t diverged = 0;
  std::vector<Divergence> divergences;
  // Per event of the batch, in order: true if it was newly stored (for the live view, which
  // must not announce a resent event twice).
  std::vector<bool> event_inserted;
};

// A report computed from a run's stored events (see daemon/query/report_precomputer.hpp), kept
// so that asking for it later reads one row instead of decoding and analysing every event. It
// is valid for the run's state it was computed from: `events` stored lines and `state`, and for
// the analysis code of `format`; a reader ignores a row that does not match all three.
struct StoredReport {
  std::string run_id;
  int kind = 0; // see daemon/query/stored_kind.hpp
  int format = 0;
  uint64_t events = 0;
  std::string state;
  std::string body; // the serialized report message
};

struct Batch {
  std::string source; // for logs: "socket#3", "watcher", "grpc#1"
  std::vector<cargo_analysis::v1::Event> events;
  // Per event, its line's position in its run (the producer's line number, from 1; see
  // daemon/store/raw_log.hpp), or 0 for "next after what is stored". Empty: all 0.
  std::vector<uint64_t> positions;
  std::vector<RunFacts> facts; // applied after the events
  std::optional<FileCheckpoint> checkpoint;
  // Stored (replacing the run's report of the same kind) after the rest; a report of a run that
  // is not stored (collected meanwhile) is dropped.
  std::vector<StoredReport> reports;
  // Called on the writer thread once the batch is committed (or failed). Keep it short.
  std::function<void(const Result<BatchOutcome>&)> on_done;
};

} // namespace ca::store
