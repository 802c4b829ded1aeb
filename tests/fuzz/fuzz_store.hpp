// The fuzz targets' store: a real SQLite file migrated to the current schema, living across
// inputs (reset every k_inputs_per_database), and a helper that applies a batch as the writer
// does and aborts on any store error.
#pragma once

#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace ca::fuzz {

namespace fs = std::filesystem;

constexpr int k_inputs_per_database = 500;

struct Target {
  fs::path dir = fs::temp_directory_path() / ("ca-fuzz-ingest-" + std::to_string(::getpid()));
  std::unique_ptr<ca::store::Database> db;
  std::unique_ptr<ca::store::EventStore> store;
  int inputs = 0;

  void reset() {
    store.reset();
    db.reset();
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto opened = ca::store::Database::open(dir / "fuzz.sqlite3",
                                            ca::store::Database::Mode::read_write_create);
    if (!opened) {
      std::fprintf(stderr, "%s\n", opened.error().message.c_str());
      std::abort();
    }
    db = std::move(*opened);
    if (auto m = ca::store::migrate(*db); !m) {
      std::fprintf(stderr, "%s\n", m.error().message.c_str());
      std::abort();
    }
    store = std::make_unique<ca::store::EventStore>(*db);
    inputs = 0;
  }
};

inline Target& target() {
  static Target t = [] {
    spdlog::set_level(spdlog::level::off);
    Target made;
    made.reset();
    return made;
  }();
  return t;
}

// Applies `batch` in a transaction. Decoded events, however odd their order or content, must be
// stored or refused by the store without an error: an error rolls back the whole transaction,
// and with it the good lines of every other producer in it.
inline void apply_or_abort(const ca::store::Batch& batch) {
  Target& t = target();
  if (++t.inputs > k_inputs_per_database) {
    t.reset();
  }
  if (batch.events.empty() && batch.facts.empty()) {
    return;
  }
  ca::store::Transaction tx(*t.db);
  if (!tx.ok()) {
    std::abort();
  }
  auto applied = t.store->apply(batch);
  if (!applied) {
    std::fprintf(stderr, "store error: %s\n", applied.error().message.c_str());
    std::abort();
  }
  if (auto c = tx.commit(); !c) {
    std::fprintf(stderr, "commit: %s\n", c.error().message.c_str());
    std::abort();
  }
}

} // namespace ca::fuzz
