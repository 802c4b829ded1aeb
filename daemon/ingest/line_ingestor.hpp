// The one decode-and-store path every line source shares (NDJSON socket, log watcher, gRPC
// Publish): decode a line, count it against its source, collect decoded events into a batch.
//
// One LineIngestor per producer (connection, file); not thread-safe. It never touches SQLite:
// take_batch() hands the events to the caller, who submits them to the writer.
#pragma once

#include "daemon/ingest/source_stats.hpp"
#include "daemon/store/batch.hpp"
#include "shared/codec/event_decoder.hpp"

#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ca::ingest {

// After this many rejected lines in a row a producer is cut off: it is not sending cargo logs.
inline constexpr uint64_t k_max_consecutive_rejects = 100;

class LineIngestor {
public:
  // `source` names the producer in errors and counters ("socket#3", a log file's path);
  // `counter` is the SourceStats bucket ("socket", "watcher", "grpc").
  LineIngestor(std::string source, std::string counter, SourceStats& stats);

  // How a line's position in its run is found (daemon/store/raw_log.hpp):
  // - producer_line: the producer's line number as given (a log file's line number; Publish's
  //   seq, which is per run already);
  // - per_run: the count of that run's lines this producer sent so far, for a stream that may
  //   carry several runs one after another or interleaved (the NDJSON socket). A run sent from
  //   its first line gets the positions of its log file's lines.
  enum class Positions { producer_line, per_run };
  void set_positions(Positions p) { m_positions = p; }

  // Decodes one line (no newline). `line_no` is 1-based: the producer's line number (a file's,
  // a connection's, Publish's seq), used in error messages and as the line's position in its
  // run (daemon/store/raw_log.hpp), so the same line read again, from any source that numbers
  // it the same way, is stored once. Returns false if the line was rejected; the error is in
  // last_error() as "<source>:<line_no>: <why>".
  bool add_line(std::string_view line, uint64_t line_no);

  // The same, for a producer that names the run of each line (gRPC Publish): a line of
  // another run than `expected_run` is rejected too.
  bool add_line(std::string_view line, uint64_t line_no, std::string_view expected_run);

  // Counts a line rejected before decoding (e.g. over the size limit while still streaming).
  void reject(uint64_t line_no, const std::string& why);

  // True once the producer sent k_max_consecutive_rejects bad lines in a row.
  bool should_disconnect() const { return m_consecutive_rejects >= k_max_consecutive_rejects; }

  // Moves out the events decoded since the last call.
  store::Batch take_batch();
  size_t pending() const { return m_batch.events.size(); }

  // Run ids seen so far, for end-of-stream facts.
  const std::set<std::string>& runs_seen() const { return m_runs_seen; }
  const std::string& last_run() const { return m_last_run; }

  // Runs whose lines were dropped for starting before the retention window (SourceStats).
  const std::set<std::string>& runs_too_old() const { return m_runs_too_old; }

  uint64_t accepted() const { return m_accepted; }
  uint64_t rejected() const { return m_rejected; }
  const std::string& last_error() const { return m_last_error; }
  const std::string& source() const { return m_source; }

private:
  std::string m_source;
  std::string m_counter;
  SourceStats& m_stats;
  codec::EventDecoder m_decoder;
  store::Batch m_batch;
  std::set<std::string> m_runs_seen;
  std::set<std::string> m_runs_too_old;
  std::string m_current_run; // of the last accepted line, kept or too old
  bool m_last_run_too_old = false;
  std::string m_last_run;
  uint64_t m_accepted = 0;
  uint64_t m_rejected = 0;
  uint64_t m_consecutive_rejects = 0;
  uint64_t m_unreported_accepts = 0;
  std::string m_last_error;
  Positions m_positions = Positions::producer_line;
  std::unordered_map<std::string, uint64_t> m_run_lines; // per_run: lines taken per run
};

} // namespace ca::ingest
