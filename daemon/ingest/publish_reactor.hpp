// `Ingest.Publish`: one producer's bidirectional stream of numbered items, acknowledged once
// committed (the Build Event Service pattern; the protocol is documented in ingest.proto).
//
// Path of an item: OnReadDone validates its run and seq, decodes its event with the stream's
// LineIngestor (the one decode path the NDJSON socket and the log watcher use too), and adds
// the evidence and end it carries as store::RunFacts. Items collect into a batch; a batch goes
// to the writer at once when none of this stream's batches is at the writer, else when that
// one commits (group commit: many items per transaction under load, one when idle). The
// writer's on_done queues the acknowledgement (per run, the highest seq of the committed
// items, plus the items it refused); acknowledgements of several commits merge while a write is
// in flight. Beyond k_max_pending_items items waiting for the writer the reactor stops reading,
// so gRPC's flow control slows the producer down instead of our memory growing.
//
// Threads: gRPC runs the reactions, the writer thread runs on_committed(); all state is under
// m_mutex, and every gRPC operation starts with it held. No thread ever waits for the writer's
// queue: batches go through Writer::try_submit(), and a batch refused for a full queue is
// offered again from the writer thread when a commit made room (its acknowledgement is
// deferred, never given early). The next batch is submitted from OnWriteDone, which follows
// every acknowledgement. Lifetime: OnDone() deletes the reactor, unless a batch is
// still at the writer; then its on_committed() does.
#pragma once

#include "cargo_analysis/v1/ingest.pb.h"
#include "daemon/ingest/line_ingestor.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "daemon/store/batch_sink.hpp"

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ca::ingest {

class PublishReactor final : public grpc::ServerBidiReactor<cargo_analysis::v1::PublishRequest,
                                                            cargo_analysis::v1::PublishResponse> {
public:
  // Items read but not yet at the writer before the reactor stops reading.
  static constexpr size_t k_max_pending_items = 8192;

  // Starts reading. `id` names the stream in logs and errors (`grpc#<id>`).
  PublishReactor(store::BatchSink& sink, ingest::SourceStats& stats, uint64_t id);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

private:
  // Evidence last sent for a run on this stream (sent again only when it changes).
  struct Evidence {
    std::string session_id;
    std::string parent_run_id;
    uint32_t pid = 0;
  };

  void handle_item_locked(const cargo_analysis::v1::PublishRequest& item);
  void fail_locked(grpc::StatusCode code, const std::string& why);
  std::optional<store::Batch> take_batch_locked();
  void submit(store::Batch batch);
  void offer(std::shared_ptr<store::Batch> batch); // try_submit, retried when there is room
  void on_committed(const Result<store::BatchOutcome>& result);
  void write_acks_locked();
  void maybe_finish_locked();

  store::BatchSink& m_sink;
  ingest::SourceStats& m_stats;
  const uint64_t m_id;
  const std::string m_name; // "grpc#<id>"

  std::mutex m_mutex;
  cargo_analysis::v1::PublishRequest m_request;         // the read buffer
  ingest::LineIngestor m_ingestor;                      // events of the batch being built
  std::unordered_map<std::string, uint64_t> m_last_seq; // per run: last seq read
  std::unordered_map<std::string, Evidence> m_evidence; // per run: evidence sent
  // The batch being built: its items' acks (highest seq per run), refusals and facts.
  std::map<std::string, uint64_t> m_pending_acks;
  std::vector<cargo_analysis::v1::PublishRejection> m_pending_rejections;
  std::vector<store::RunFacts> m_pending_facts;
  size_t m_pending_items = 0;
  // The batch at the writer.
  std::map<std::string, uint64_t> m_flight_acks;
  std::vector<cargo_analysis::v1::PublishRejection> m_flight_rejections;
  bool m_in_flight = false;
  // Acknowledgements committed and not yet written (merged), and the one being written.
  std::map<std::string, uint64_t> m_out_acks;
  std::vector<cargo_analysis::v1::PublishRejection> m_out_rejections;
  cargo_analysis::v1::PublishResponse m_writing_msg;
  bool m_writing = false;
  // Stream state.
  bool m_read_paused = false;  // k_max_pending_items reached: reading resumes after a submit
  bool m_reads_done = false;   // the producer half-closed, or we stopped reading for good
  bool m_store_failed = false; // a commit failed: what is pending is dropped, not acked
  std::optional<grpc::Status> m_error; // finish with this once drained
  bool m_finished = false;
  bool m_done = false; // OnDone ran: the last on_committed deletes
  uint64_t m_items = 0;
};

} // namespace ca::ingest
