// Corpus logs in a real store, for tests of reports that read the store's indexes (diff,
// trends): decoded with the shared codec, applied by the EventStore the writer uses, read back
// through a ReaderPool and a QueryEngine, as the daemon does.
#pragma once

#include "daemon/query/query_engine.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace ca::test {

// Corpus A's runs, in the order of its README's steps (1-based: k_corpus_a_runs[0] is step 1).
inline constexpr const char* k_corpus_a_runs[] = {
    "20261123T062716161Z-28b99174ef2c2ad6", // 1 clean build
    "20261123T062731277Z-28b99174ef2c2ad6", // 2 no-op
    "20261123T062732370Z-28b99174ef2c2ad6", // 3 touch wsapp/src/main.rs
    "20261123T062733765Z-28b99174ef2c2ad6", // 4 wscore/src/lib.rs changed (cascade)
    "20261123T062734227Z-28b99174ef2c2ad6", // 5 --features wsmid/fancy
    "20261123T062735739Z-28b99174ef2c2ad6", // 6 no-op
    "20261123T062735818Z-28b99174ef2c2ad6", // 7 RUSTFLAGS (all new)
    "20261123T062750691Z-28b99174ef2c2ad6", // 8 no-op
    "20261123T062750774Z-28b99174ef2c2ad6", // 9 WSCORE_FLAVOR=spicy
    "20261123T062751587Z-28b99174ef2c2ad6", // 10 no-op
};
inline constexpr const char* k_corpus_c_run = "20261123T063006342Z-dd457d2f2595ee60";

// The log of a corpus run, as lines.
inline std::vector<std::string> corpus_lines(const std::string& run_id) {
  std::string folder = run_id == k_corpus_c_run ? "C" : "A";
  std::ifstream in(fixture_path("corpus/" + folder + "/logs/" + run_id + ".jsonl"));
  EXPECT_TRUE(in) << run_id;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

// The same log under another run id (every occurrence of the old one replaced).
inline std::vector<std::string>
replayed(const std::vector<std::string>& lines, const std::string& from, const std::string& to) {
  std::vector<std::string> out;
  for (std::string line : lines) {
    for (size_t at = line.find(from); at != std::string::npos; at = line.find(from, at)) {
      line.replace(at, from.size(), to);
      at += to.size();
    }
    out.push_back(std::move(line));
  }
  return out;
}

inline std::vector<cargo_analysis::v1::Event> decode_all(const std::vector<std::string>& lines) {
  codec::EventDecoder decoder;
  std::vector<cargo_analysis::v1::Event> out;
  for (const std::string& line : lines) {
    cargo_analysis::v1::Event e;
    auto r = decoder.decode(line, e);
    EXPECT_TRUE(r) << r.error().message;
    if (r) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

// A report request for `id` (a run id or a session id).
template <class Request> Request request(const std::string& id) {
  Request req;
  req.set_id(id);
  return req;
}

// A migrated database in a temp dir, filled batch by batch, queried through a QueryEngine.
class CorpusDb {
public:
  CorpusDb() {
    auto db = store::Database::open(path(), store::Database::Mode::read_write_create);
    EXPECT_TRUE(db) << db.error().message;
    m_db = std::move(*db);
    auto m = store::migrate(*m_db);
    EXPECT_TRUE(m) << m.error().message;
    m_store = std::make_unique<store::EventStore>(*m_db);
  }

  std::filesystem::path path() const { return m_dir / "db.sqlite3"; }
  store::Database& db() { return *m_db; }

  // Applies one batch in its own transaction.
  void apply(std::vector<cargo_analysis::v1::Event> events,
             std::vector<store::RunFacts> facts = {}) {
    store::Batch batch;
    batch.source = "test";
    batch.events = std::move(events);
    batch.facts = std::move(facts);
    store::Transaction tx(*m_db);
    auto r = m_store->apply(batch);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(tx.commit());
  }

  // Stores a corpus log, optionally under another run id, and ends its run.
  void add(const std::string& run_id, const std::string& as = {}) {
    auto lines = corpus_lines(run_id);
    if (!as.empty()) {
      lines = replayed(lines, run_id, as);
    }
    apply(decode_all(lines));
    end(as.empty() ? run_id : as);
  }

  void end(const std::string& run_id) {
    store::RunFacts f;
    f.run_id = run_id;
    f.ended = true;
    apply({}, {f});
  }

  query::QueryEngine& engine() {
    if (!m_engine) {
      m_pool = std::make_unique<store::ReaderPool>(path());
      m_engine = std::make_unique<query::QueryEngine>(*m_pool);
    }
    return *m_engine;
  }

private:
  TempDir m_dir_owner;
  std::filesystem::path m_dir = m_dir_owner.path();
  std::unique_ptr<store::Database> m_db;
  std::unique_ptr<store::EventStore> m_store;
  std::unique_ptr<store::ReaderPool> m_pool;
  std::unique_ptr<query::QueryEngine> m_engine;
};

} // namespace ca::test
