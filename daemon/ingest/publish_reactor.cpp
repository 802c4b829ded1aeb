#include "daemon/ingest/publish_reactor.hpp"

#include "shared/codec/event_decoder.hpp"

#include <spdlog/spdlog.h>

namespace ca::ingest {

namespace v1 = cargo_analysis::v1;

PublishReactor::PublishReactor(store::BatchSink& sink, ingest::SourceStats& stats, uint64_t id)
    : m_sink(sink), m_stats(stats), m_id(id), m_name("grpc#" + std::to_string(id)),
      m_ingestor(m_name, "grpc", stats) {
  spdlog::debug("{}: publish stream opened", m_name);
  std::lock_guard lock(m_mutex);
  StartRead(&m_request);
}

void PublishReactor::OnReadDone(bool ok) {
  std::optional<store::Batch> batch;
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) {
      return;
    }
    if (!ok) {
      m_reads_done = true; // the producer half-closed (or the stream broke: OnCancel follows)
    } else {
      try {
        handle_item_locked(m_request);
      } catch (const std::exception& e) {
        // Exceptions never cross into gRPC: a bug ends this stream, not the daemon.
        spdlog::error("{}: internal error: {}", m_name, e.what());
        fail_locked(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
      }
    }
    if (!m_in_flight) {
      batch = take_batch_locked();
    }
    if (!m_reads_done) {
      if (m_pending_items < k_max_pending_items) {
        StartRead(&m_request);
      } else {
        m_read_paused = true; // resumes when these items go to the writer
      }
    }
    maybe_finish_locked();
  }
  if (batch) {
    submit(std::move(*batch));
  }
}

void PublishReactor::handle_item_locked(const v1::PublishRequest& item) {
  const std::string& run = item.run_id();
  if (run.empty()) {
    return fail_locked(grpc::StatusCode::INVALID_ARGUMENT,
                       m_name + ": item " + std::to_string(m_items + 1) + " has no run_id");
  }
  if (item.seq() == 0) {
    return fail_locked(grpc::StatusCode::INVALID_ARGUMENT,
                       m_name + ": run " + run + ": seq 0: sequence numbers start at 1");
  }
  uint64_t& last = m_last_seq[run];
  if (last != 0 && item.seq() != last + 1) {
    return fail_locked(grpc::StatusCode::INVALID_ARGUMENT,
                       m_name + ": run " + run + ": seq " + std::to_string(item.seq()) + " after " +
                           std::to_string(last) +
                           ": the items of a run must come in order, without gaps");
  }
  last = item.seq();
  ++m_items;

  bool refused = false;
  switch (item.event_case()) {
  case v1::PublishRequest::kLine:
    refused = !m_ingestor.add_line(item.line(), item.seq(), run);
    break;
  case v1::PublishRequest::kTyped: {
    // Typed events become the line cargo would have written (or the line they came from), so
    // they decode, dedupe and store exactly like lines.
    const v1::Event& typed = item.typed();
    std::string line;
    if (typed.raw().empty() && typed.run_id().empty()) {
      v1::Event copy = typed;
      copy.set_run_id(run);
      line = codec::encode_event(copy);
    } else {
      line = codec::encode_event(typed);
    }
    refused = !m_ingestor.add_line(line, item.seq(), run);
    break;
  }
  case v1::PublishRequest::EVENT_NOT_SET:
    break;
  }
  if (refused) {
    auto& r = m_pending_rejections.emplace_back();
    r.set_run_id(run);
    r.set_seq(item.seq());
    r.set_error(m_ingestor.last_error());
  }

  if (!item.session_id().empty() || !item.parent_run_id().empty() || item.pid() != 0) {
    Evidence& known = m_evidence[run];
    if (known.session_id != item.session_id() || known.parent_run_id != item.parent_run_id() ||
        known.pid != item.pid()) {
      known = Evidence{item.session_id(), item.parent_run_id(), item.pid()};
      store::RunFacts f;
      f.run_id = run;
      if (!item.session_id().empty()) {
        f.session_id = item.session_id();
      }
      if (!item.parent_run_id().empty()) {
        f.parent_run_id = item.parent_run_id();
      }
      if (f.session_id || f.parent_run_id) {
        f.link = "explicit";
      }
      if (item.pid() != 0) {
        f.pid = static_cast<int>(item.pid());
      }
      m_pending_facts.push_back(std::move(f));
    }
  }
  if (item.run_ended()) {
    store::RunFacts f;
    f.run_id = run;
    f.ended = true;
    if (item.has_exit_code()) {
      f.exit_code = item.exit_code();
    }
    m_pending_facts.push_back(std::move(f));
  }
  m_pending_acks[run] = item.seq();
  ++m_pending_items;

  if (m_ingestor.should_disconnect()) {
    m_stats.disconnected("grpc");
    spdlog::warn("{}: cut off after {} bad lines in a row (last: {})", m_name,
                 ingest::k_max_consecutive_rejects, m_ingestor.last_error());
    fail_locked(grpc::StatusCode::INVALID_ARGUMENT,
                m_name + ": " + std::to_string(ingest::k_max_consecutive_rejects) +
                    " bad lines in a row (is this cargo's build-analysis log?); last: " +
                    m_ingestor.last_error());
  }
}

void PublishReactor::fail_locked(grpc::StatusCode code, const std::string& why) {
  // Items read before the bad one still go to the writer and are acknowledged; then the stream
  // ends with this status.
  if (!m_error) {
    spdlog::debug("{}: ending the stream: {}", m_name, why);
    m_error = grpc::Status(code, why);
  }
  m_reads_done = true;
}

std::optional<store::Batch> PublishReactor::take_batch_locked() {
  if (m_in_flight || m_pending_items == 0 || m_store_failed || m_finished) {
    return std::nullopt;
  }
  store::Batch batch = m_ingestor.take_batch();
  batch.facts = std::move(m_pending_facts);
  m_pending_facts.clear();
  m_flight_acks = std::move(m_pending_acks);
  m_pending_acks.clear();
  m_flight_rejections = std::move(m_pending_rejections);
  m_pending_rejections.clear();
  m_pending_items = 0;
  m_in_flight = true;
  if (m_read_paused && !m_reads_done) {
    m_read_paused = false;
    StartRead(&m_request);
  }
  return batch;
}

void PublishReactor::submit(store::Batch batch) {
  // `this` outlives the batch: while it is at the writer, OnDone leaves the deleting to
  // on_committed. An empty batch (every item refused, or facts only) still goes through the
  // writer, so acknowledgements keep the order of commits.
  batch.on_done = [this](const Result<store::BatchOutcome>& r) { on_committed(r); };
  offer(std::make_shared<store::Batch>(std::move(batch)));
}

void PublishReactor::offer(std::shared_ptr<store::Batch> batch) {
  // Never blocks: with the sink full the batch waits here, still "in flight" (so its
  // acknowledgement waits, and reading pauses at k_max_pending_items), and the sink offers it
  // again once a commit made room. Nothing is acknowledged before it is committed, so the
  // exactly-once guarantee holds. Neither `batch` nor `this` is touched once try_submit() has
  // taken it or registered the retry: both may be gone by then.
  store::Batch& b = *batch;
  m_sink.try_submit(b, [this, batch] { offer(batch); });
}

void PublishReactor::on_committed(const Result<store::BatchOutcome>& result) {
  std::unique_lock lock(m_mutex);
  m_in_flight = false;
  if (result) {
    for (const auto& [run, seq] : m_flight_acks) {
      uint64_t& out = m_out_acks[run];
      out = std::max(out, seq);
    }
    for (auto& r : m_flight_rejections) {
      m_out_rejections.push_back(std::move(r));
    }
    // A line whose seq is taken by other bytes is refused like a bad line.
    for (const store::Divergence& d : result->divergences) {
      auto& r = m_out_rejections.emplace_back();
      r.set_run_id(d.run_id);
      r.set_seq(d.position);
      r.set_error(m_name + ": " + d.message);
    }
    if (result->diverged > 0) {
      spdlog::warn("{}: {} lines refused, their seq holds other bytes (first: {})", m_name,
                   result->diverged, result->divergences.front().message);
    }
  } else {
    // Nothing of the batch is stored: acknowledge nothing more, end the stream; the producer
    // resends from its last acknowledgement.
    spdlog::error("{}: cannot store: {}", m_name, result.error().message);
    m_store_failed = true;
    if (!m_error) {
      m_error = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "cannot store the events: " + result.error().message);
    }
    m_reads_done = true;
  }
  m_flight_acks.clear();
  m_flight_rejections.clear();
  if (m_done) {
    lock.unlock();
    delete this; // OnDone ran while this batch was at the writer
    return;
  }
  if (!m_finished) {
    write_acks_locked(); // its OnWriteDone submits what was read meanwhile
    maybe_finish_locked();
  }
}

void PublishReactor::write_acks_locked() {
  if (m_writing || m_finished || (m_out_acks.empty() && m_out_rejections.empty())) {
    return;
  }
  m_writing_msg.Clear();
  for (const auto& [run, seq] : m_out_acks) {
    auto* ack = m_writing_msg.add_acks();
    ack->set_run_id(run);
    ack->set_committed_seq(seq);
  }
  for (auto& r : m_out_rejections) {
    *m_writing_msg.add_rejections() = std::move(r);
  }
  m_out_acks.clear();
  m_out_rejections.clear();
  m_writing = true;
  StartWrite(&m_writing_msg);
}

void PublishReactor::OnWriteDone(bool ok) {
  std::optional<store::Batch> batch;
  {
    std::lock_guard lock(m_mutex);
    m_writing = false;
    if (!ok) {
      // The producer is gone; OnCancel ends the stream.
      m_reads_done = true;
      return;
    }
    batch = take_batch_locked();
    write_acks_locked();
    maybe_finish_locked();
  }
  if (batch) {
    submit(std::move(*batch));
  }
}

void PublishReactor::maybe_finish_locked() {
  if (m_finished || !m_reads_done || m_in_flight || m_writing) {
    return;
  }
  if (!m_store_failed &&
      (m_pending_items != 0 || !m_out_acks.empty() || !m_out_rejections.empty())) {
    return; // more to commit or to acknowledge first
  }
  m_finished = true;
  spdlog::debug("{}: publish stream done: {} items, {} accepted, {} refused", m_name, m_items,
                m_ingestor.accepted(), m_ingestor.rejected());
  Finish(m_error.value_or(grpc::Status::OK));
}

void PublishReactor::OnCancel() {
  std::lock_guard lock(m_mutex);
  m_reads_done = true;
  if (!m_finished) {
    // What was read and not committed is not acknowledged: the producer resends it.
    spdlog::debug("{}: publish stream cancelled after {} items", m_name, m_items);
    m_finished = true;
    Finish(grpc::Status::CANCELLED);
  }
}

void PublishReactor::OnDone() {
  std::unique_lock lock(m_mutex);
  m_done = true;
  if (m_in_flight) {
    return; // on_committed deletes
  }
  lock.unlock();
  delete this;
}

} // namespace ca::ingest
