// Projection snapshots (see projection.h): the state recovery's replay builds — unfinished runs
// with their resolved history and newest operation, the wait index (rebuilt from the runs), the
// finished runs kept for queries, the dedup window and the counters — to and from the frames of
// a snapshot file (schema/snapshot.fbs). A loaded projection is the one replaying the log up to
// the snapshot's LSN would have built; tests compare the two.
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cairn/schema/snapshot_generated.h"
#include "flatbuffer_views.h"
#include "projection.h"

namespace cairn::detail {
namespace {

namespace fb = flatbuffers;
namespace ss = schema::snapshot;

// Runs per chunk frame, and the bytes after which a chunk is closed early. One run's history
// (up to steps_per_run_max results of step_output_bytes_max each: 5 GiB at the defaults) and
// batch (up to 10,000 events) are not bounded by anything near kSnapshotFrameBytesMax: a run
// holds at most kPieceBytes of them, the rest follow in SnapRunMore pieces of that size, and a
// chunk is closed before an item that would take it past kChunkBytes. So a frame stays near
// kChunkBytes plus one item's fixed fields (its event, newest operation) and one entry.
constexpr size_t kRunsPerChunk = 512;
constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kPieceBytes = kSnapshotPieceBytes;
// What a table, a vector entry and a string cost beyond their bytes, about (estimates only
// decide where to split; nothing depends on them being exact).
constexpr size_t kItemOverhead = 64;
// Limiter keys weigh 1/kLimiterKeysPerRun of a run in a chunk; one SnapLimiter holds at most
// kLimiterKeysPerChunk keys (16 bytes each).
constexpr size_t kLimiterKeysPerRun = 64;
constexpr size_t kLimiterKeysPerChunk = 64 * 1024;
// SnapLimiter.kind of the idempotency keys (0 and 1 are LimitKind).
constexpr uint8_t kIdempotencyKind = 2;

fb::Offset<fb::Vector<uint8_t>> bytes_of(fb::FlatBufferBuilder& b, std::string_view s) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

fb::Offset<ss::SnapEvent> put_event(fb::FlatBufferBuilder& b, const Event& e) {
  auto name = b.CreateString(e.name);
  auto data = b.CreateString(e.data);
  auto id = b.CreateString(e.id);
  return ss::CreateSnapEvent(b, name, data, id, e.ts_ms);
}
Event get_event(const ss::SnapEvent* e) {
  if (e == nullptr) return Event{};
  return Event{std::string(fb_view(e->name())), std::string(fb_view(e->data())),
               std::string(fb_view(e->id())), e->ts_ms()};
}

size_t event_bytes(const Event& e) {
  return e.name.size() + e.data.size() + e.id.size() + kItemOverhead;
}
size_t entry_bytes(const ReplayEntry& h) {
  return h.step_id.size() + h.value.size() + (h.event ? event_bytes(*h.event) : 0) + kItemOverhead;
}

// The end of the piece of `items` that starts at `from`: as many as fit in kPieceBytes, and at
// least one when `at_least_one` (a piece of its own must make progress; a run's own share may be
// none).
template <typename T, typename Bytes>
size_t piece_end(const std::vector<T>& items, size_t from, bool at_least_one, Bytes bytes) {
  size_t end = from;
  size_t sum = 0;
  while (end < items.size()) {
    const size_t n = bytes(items[end]);
    if (sum + n > kPieceBytes && !(at_least_one && end == from)) break;
    sum += n;
    ++end;
  }
  return end;
}
template <typename T, typename Bytes>
size_t bytes_of_range(const std::vector<T>& items, size_t from, size_t to, Bytes bytes) {
  size_t sum = 0;
  for (size_t i = from; i < to; ++i) sum += bytes(items[i]);
  return sum;
}

fb::Offset<fb::Vector<fb::Offset<ss::SnapHistory>>> put_history(
    fb::FlatBufferBuilder& b, const std::vector<ReplayEntry>& entries, size_t from, size_t to) {
  std::vector<fb::Offset<ss::SnapHistory>> history;
  history.reserve(to - from);
  for (size_t i = from; i < to; ++i) {
    const ReplayEntry& h = entries[i];
    auto step_id = b.CreateString(h.step_id);
    auto value = bytes_of(b, h.value);
    auto event = h.event ? put_event(b, *h.event) : fb::Offset<ss::SnapEvent>();
    history.push_back(
        ss::CreateSnapHistory(b, static_cast<uint8_t>(h.kind), h.failed, step_id, value, event));
  }
  return b.CreateVector(history);
}

fb::Offset<fb::Vector<fb::Offset<ss::SnapEvent>>> put_events(fb::FlatBufferBuilder& b,
                                                             const std::vector<Event>& events,
                                                             size_t from, size_t to) {
  std::vector<fb::Offset<ss::SnapEvent>> out;
  out.reserve(to - from);
  for (size_t i = from; i < to; ++i) out.push_back(put_event(b, events[i]));
  return b.CreateVector(out);
}

// A run's recorded history and collected batch, empty when it has none.
const std::vector<ReplayEntry>& history_of(const RunRecord& r) {
  static const std::vector<ReplayEntry> kNone;
  return r.history ? *r.history : kNone;
}
const std::vector<Event>& batch_of(const RunRecord& r) {
  static const std::vector<Event> kNone;
  return r.flow != nullptr && r.flow->batch != nullptr ? *r.flow->batch : kNone;
}

// How much of a run's history and batch its SnapRun holds (the rest goes into SnapRunMore
// pieces), and about how many bytes the SnapRun takes.
struct RunShare {
  size_t history = 0;
  size_t batch = 0;
  size_t bytes = 0;
};
RunShare run_share(const RunRecord& r) {
  RunShare s;
  const PendingOp& op = r.op;
  s.bytes = r.function_id.size() + event_bytes(r.event) + op.step_id.size() + op.value.size() +
            kItemOverhead * 4;
  if (op.wait) {
    s.bytes += op.wait->event.size() + op.wait->path.size() + op.wait->value.size() +
               (op.wait->matched ? event_bytes(*op.wait->matched) : 0);
  }
  if (r.flow != nullptr) s.bytes += r.flow->cancel_reason.size() + r.flow->skip_reason.size();
  s.history = piece_end(history_of(r), 0, false, entry_bytes);
  s.bytes += bytes_of_range(history_of(r), 0, s.history, entry_bytes);
  s.batch = piece_end(batch_of(r), 0, false, event_bytes);
  s.bytes += bytes_of_range(batch_of(r), 0, s.batch, event_bytes);
  return s;
}

// The run with the first `share.history` entries of its history and `share.batch` of its batch.
fb::Offset<ss::SnapRun> put_run(fb::FlatBufferBuilder& b, const RunRecord& r,
                                const RunShare& share) {
  auto hist = put_history(b, history_of(r), 0, share.history);
  const PendingOp& op = r.op;
  auto op_step = b.CreateString(op.step_id);
  auto op_value = bytes_of(b, op.value);
  fb::Offset<fb::String> we, wp, wv;
  fb::Offset<ss::SnapEvent> matched;
  if (op.wait) {
    we = b.CreateString(op.wait->event);
    wp = b.CreateString(op.wait->path);
    wv = b.CreateString(op.wait->value);
    if (op.wait->matched) matched = put_event(b, *op.wait->matched);
  }
  auto snap_op = ss::CreateSnapOp(b, static_cast<uint8_t>(op.kind), static_cast<uint8_t>(op.state),
                                  op.failed, op.position, op.attempts, op.deadline_ms, op.child,
                                  op_step, op_value, op.wait != nullptr, we, wp, wv, matched);
  auto fn = b.CreateString(r.function_id);
  auto event = put_event(b, r.event);
  const bool undecided = r.flow != nullptr && r.flow->admission != RunFlow::Admission::kAdmitted;
  fb::Offset<fb::String> cancel;
  if (r.flow != nullptr && r.flow->cancel_requested.load(std::memory_order_acquire)) {
    cancel = b.CreateString(r.flow->cancel_reason);
  }
  fb::Offset<fb::String> skip;
  if (r.flow != nullptr &&
      r.flow->admission.load(std::memory_order_acquire) == RunFlow::Admission::kToSkip) {
    skip = b.CreateString(r.flow->skip_reason);
  }
  fb::Offset<fb::Vector<fb::Offset<ss::SnapEvent>>> batch;
  if (r.flow != nullptr && r.flow->batch != nullptr) {
    batch = put_events(b, *r.flow->batch, 0, share.batch);
  }
  // Admitted with no record of it because its function limits no admission now: a restart under
  // limits gained since decides it as a full replay would. Not one whose RunAdmitted is in the
  // log (from when its function had limits): a full replay counts that admission.
  const bool admission_free = !r.admission_recorded && (r.fn == nullptr || r.fn->flow == nullptr ||
                                                        !r.fn->flow->limits_admission());
  return ss::CreateSnapRun(
      b, r.id, fn, event, r.parent_run, r.parent_position, r.created_us, r.created_lsn,
      static_cast<uint8_t>(r.status.load()), r.positions.load(), snap_op, hist, undecided, cancel,
      r.flow != nullptr ? r.flow->started_ms : 0, r.flow != nullptr ? r.flow->debounce_since_ms : 0,
      skip, batch, r.flow != nullptr && r.flow->batch_open, admission_free);
}

fb::Offset<ss::SnapFinished> put_finished(fb::FlatBufferBuilder& b, const RunInfo& i,
                                          uint64_t created_lsn) {
  auto fn = b.CreateString(i.function_id);
  auto event = put_event(b, i.event);
  auto output = bytes_of(b, i.output);
  auto error = b.CreateString(i.error);
  const auto us = [](TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  };
  return ss::CreateSnapFinished(b, i.id, fn, static_cast<uint8_t>(i.status), event, i.parent,
                                output, static_cast<uint8_t>(i.output_format), error, i.steps,
                                us(i.created_at), us(i.finished_at), created_lsn);
}

// Collects runs, finished runs and dedup ids into chunk frames of bounded size.
class ChunkWriter {
 public:
  explicit ChunkWriter(SnapshotFileWriter& out) : out_(out) {}
  fb::FlatBufferBuilder& builder() { return b_; }
  // Before building an item of about `bytes`: closes the chunk first if the item would take it
  // past kChunkBytes (a frame must stay far below kSnapshotFrameBytesMax).
  Status make_room(size_t bytes) {
    return b_.GetSize() > 0 && b_.GetSize() + bytes > kChunkBytes ? flush() : Status();
  }
  Status added_run(fb::Offset<ss::SnapRun> r) {
    runs_.push_back(r);
    return maybe_flush();
  }
  Status added_more(fb::Offset<ss::SnapRunMore> m) {
    more_.push_back(m);
    return maybe_flush();
  }
  Status added_finished(fb::Offset<ss::SnapFinished> f) {
    finished_.push_back(f);
    return maybe_flush();
  }
  Status added_dedup(fb::Offset<ss::SnapDedup> d) {
    dedup_.push_back(d);
    return maybe_flush();
  }
  // One limiter table's states (at most kLimiterKeysPerChunk keys: the caller splits).
  Status added_limiter(fb::Offset<ss::SnapLimiter> l, size_t keys) {
    limiters_.push_back(l);
    limiter_keys_ += keys;
    return maybe_flush();
  }
  Status flush() {
    if (runs_.empty() && finished_.empty() && dedup_.empty() && limiters_.empty() &&
        more_.empty()) {
      return Status();
    }
    auto r = b_.CreateVector(runs_);
    auto f = b_.CreateVector(finished_);
    auto d = b_.CreateVector(dedup_);
    auto l = b_.CreateVector(limiters_);
    // Absent unless used: a chunk without pieces is byte for byte what version 1 wrote.
    auto m = more_.empty() ? fb::Offset<fb::Vector<fb::Offset<ss::SnapRunMore>>>()
                           : b_.CreateVector(more_);
    b_.Finish(ss::CreateSnapshotChunk(b_, r, f, d, l, m));
    Status st = out_.add(SnapshotFrameKind::kChunk, {b_.GetBufferPointer(), b_.GetSize()});
    b_.Clear();
    runs_.clear();
    finished_.clear();
    dedup_.clear();
    limiters_.clear();
    more_.clear();
    limiter_keys_ = 0;
    ++chunks_;
    return st;
  }
  uint32_t chunks() const { return chunks_; }

 private:
  Status maybe_flush() {
    const size_t n = runs_.size() + more_.size() + finished_.size() + dedup_.size() / 8 +
                     limiter_keys_ / kLimiterKeysPerRun;
    return n >= kRunsPerChunk || b_.GetSize() >= kChunkBytes ? flush() : Status();
  }
  SnapshotFileWriter& out_;
  fb::FlatBufferBuilder b_{1u << 16};
  std::vector<fb::Offset<ss::SnapRun>> runs_;
  std::vector<fb::Offset<ss::SnapFinished>> finished_;
  std::vector<fb::Offset<ss::SnapDedup>> dedup_;
  std::vector<fb::Offset<ss::SnapLimiter>> limiters_;
  std::vector<fb::Offset<ss::SnapRunMore>> more_;
  size_t limiter_keys_ = 0;
  uint32_t chunks_ = 0;
};

template <typename E>
bool in_range(uint8_t v, E lo, E hi) {
  return v >= static_cast<uint8_t>(lo) && v <= static_cast<uint8_t>(hi);
}

}  // namespace

std::string describe_run(const RunRecord& r) {
  auto event = [](const Event& e) {
    return e.name + "|" + e.data + "|" + e.id + "|" + std::to_string(e.ts_ms);
  };
  const PendingOp& op = r.op;
  std::string out =
      "run " + std::to_string(r.id) + " " + r.function_id + " event " + event(r.event) +
      " parent " + std::to_string(r.parent_run) + "/" + std::to_string(r.parent_position) +
      " created " + std::to_string(r.created_us) + "@" + std::to_string(r.created_lsn) +
      " status " + std::to_string(static_cast<int>(r.status.load())) + " positions " +
      std::to_string(r.positions.load()) + "\n  op " + std::to_string(static_cast<int>(op.kind)) +
      " " + std::to_string(static_cast<int>(op.state)) + " " + std::to_string(op.failed) + " " +
      std::to_string(op.position) + " " + std::to_string(op.attempts) + " " +
      std::to_string(op.deadline_ms) + " " + std::to_string(op.child) + " " + op.step_id + " [" +
      op.value + "]";
  if (op.wait) {
    out += " wait " + op.wait->event + " " + op.wait->path + " " + op.wait->value +
           (op.wait->matched ? " matched " + event(*op.wait->matched) : std::string());
  }
  if (r.flow != nullptr) {
    out += " flow " + std::to_string(static_cast<int>(r.flow->admission.load())) +
           (r.flow->cancel_requested.load() ? " cancel " + r.flow->cancel_reason : "") +
           (r.flow->started_ms != 0 ? " started " + std::to_string(r.flow->started_ms) : "") +
           (r.flow->debounce_since_ms != 0
                ? " debouncing since " + std::to_string(r.flow->debounce_since_ms)
                : "") +
           (r.flow->admission.load() == RunFlow::Admission::kToSkip ? " skip " + r.flow->skip_reason
                                                                    : "") +
           (r.flow->batch_open ? " batch open" : "");
    if (r.flow->batch) {
      for (const Event& e : *r.flow->batch) out += " batched " + event(e);
    }
  }
  out += "\n";
  if (r.history) {
    for (const ReplayEntry& h : *r.history) {
      out += "  h " + std::to_string(static_cast<int>(h.kind)) + " " + std::to_string(h.failed) +
             " " + h.step_id + " [" + h.value + "]" + (h.event ? " " + event(*h.event) : "") + "\n";
    }
  }
  return out;
}

std::string Projection::describe() const {
  std::vector<const RunRecord*> runs;
  std::vector<std::unique_ptr<RunRecord>> unpacked;  // frozen runs, described like the others
  // Held until the runs are described: a finished run leaves the table under this lock just
  // before it is freed, and a test describing a live engine read one after that (ASan).
  std::shared_lock lock(table_mu_);
  runs_.for_each([&](RunId, RunRecord* r) { runs.push_back(r); });
  frozen_.for_each_id([&](RunId id) {
    unpacked.push_back(peek_frozen(id));
    runs.push_back(unpacked.back().get());
  });
  std::sort(runs.begin(), runs.end(),
            [](const RunRecord* a, const RunRecord* b) { return a->id < b->id; });
  std::string out = "max_run_id " + std::to_string(max_run_id_) + " waits " +
                    std::to_string(waits_.size()) + " created " +
                    std::to_string(counters_.runs_created.load()) + " finished " +
                    std::to_string(counters_.runs_finished.load()) + " steps " +
                    std::to_string(counters_.steps_completed.load()) + " failures " +
                    std::to_string(counters_.step_failures.load()) + " deferred " +
                    std::to_string(counters_.sends_deferred.load()) + " events " +
                    std::to_string(counters_.events.load()) + "\n";
  for (const auto& [key, tick_ms] : cron_cursors_) {
    out += "cron " + key.substr(0, key.find('\0')) + " \"" + key.substr(key.find('\0') + 1) +
           "\" " + std::to_string(tick_ms) + "\n";
  }
  for (const RunRecord* r : runs) out += describe_run(*r);
  return out;
}

uint64_t Projection::oldest_live_created_lsn() const {
  std::shared_lock lock(table_mu_);
  uint64_t oldest = log::kNoLsn;
  runs_.for_each([&](RunId, RunRecord* r) { oldest = std::min(oldest, r->created_lsn); });
  frozen_.for_each_id([&](RunId id) { oldest = std::min(oldest, frozen_.created_lsn(id)); });
  return oldest;
}

Status Projection::write_snapshot(SnapshotFileWriter& out, uint64_t lsn,
                                  log::FramePosition last_frame, int64_t now_us,
                                  const FinishedRuns& finished, const RetentionFloor& floor) const {
  // By id; a frozen run (null here) is unpacked only while it is written, one at a time.
  std::vector<std::pair<RunId, const RunRecord*>> runs;
  {
    std::shared_lock lock(table_mu_);
    runs.reserve(runs_.size() + frozen_.size());
    runs_.for_each([&](RunId id, RunRecord* r) { runs.emplace_back(id, r); });
    frozen_.for_each_id([&](RunId id) { runs.emplace_back(id, nullptr); });
  }
  std::sort(runs.begin(), runs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t finished_count = 0;
  finished.for_each_oldest_first([&](const RunInfo&, uint64_t) { ++finished_count; });
  const uint64_t dedup_count = dedup_.size();
  const uint64_t oldest = oldest_live_created_lsn();  // runs change only on this thread

  fb::FlatBufferBuilder hb(1024);
  std::vector<fb::Offset<ss::SnapCron>> crons;
  for (const auto& [key, tick_ms] : cron_cursors_) {
    const size_t cut = key.find('\0');
    auto fn = hb.CreateString(std::string_view(key).substr(0, cut));
    auto expr = hb.CreateString(std::string_view(key).substr(cut + 1));
    crons.push_back(ss::CreateSnapCron(hb, fn, expr, tick_ms));
  }
  auto cron_vector = hb.CreateVector(crons);
  std::vector<ss::SnapFinishedFloor> floor_buckets;
  for (const auto& [ended_ms, created_lsn] : floor.saved()) {
    floor_buckets.emplace_back(ended_ms, created_lsn);
  }
  // Always present, even empty: an absent one means a snapshot from before it existed.
  auto floor_vector = hb.CreateVectorOfStructs(floor_buckets);
  hb.Finish(ss::CreateSnapshotHeader(hb, lsn, now_us, max_run_id_, runs.size(), finished_count,
                                     dedup_count, oldest, counters_.steps_completed.load(),
                                     counters_.step_failures.load(), counters_.runs_created.load(),
                                     counters_.runs_finished.load(), counters_.events.load(),
                                     cron_vector, last_frame.segment_seq, last_frame.offset,
                                     floor_vector, counters_.sends_deferred.load()));
  CAIRN_RETURN_IF_ERROR(out.add(SnapshotFrameKind::kHeader, {hb.GetBufferPointer(), hb.GetSize()}));

  ChunkWriter chunks(out);
  for (const auto& [id, r] : runs) {
    std::unique_ptr<RunRecord> unpacked;
    if (r == nullptr) unpacked = peek_frozen(id);
    const RunRecord& run = r != nullptr ? *r : *unpacked;
    // A send deferred for want of room (FailureKind::NoRoom) waits for its retry: a Cairn
    // before version 3 would load it and never try the send again, so it refuses the file.
    if (run.op.kind == OpKind::kSend &&
        (run.op.state == OpState::kRetryWait || run.op.state == OpState::kRetryDue)) {
      out.require_version(3);
    }
    const RunShare share = run_share(run);
    CAIRN_RETURN_IF_ERROR(chunks.make_room(share.bytes));
    CAIRN_RETURN_IF_ERROR(chunks.added_run(put_run(chunks.builder(), run, share)));
    // What did not fit follows in pieces, in order (the loader appends them to the run).
    const std::vector<ReplayEntry>& history = history_of(run);
    const std::vector<Event>& batch = batch_of(run);
    size_t h = share.history;
    size_t e = share.batch;
    while (h < history.size() || e < batch.size()) {
      out.require_version(2);
      // A piece holds history entries, or (once those are all out) batch events.
      const bool history_left = h < history.size();
      const size_t h_end = history_left ? piece_end(history, h, true, entry_bytes) : h;
      const size_t e_end = history_left ? e : piece_end(batch, e, true, event_bytes);
      CAIRN_RETURN_IF_ERROR(chunks.make_room(bytes_of_range(history, h, h_end, entry_bytes) +
                                             bytes_of_range(batch, e, e_end, event_bytes) +
                                             kItemOverhead));
      fb::FlatBufferBuilder& b = chunks.builder();
      auto piece_history = put_history(b, history, h, h_end);
      auto piece_batch = put_events(b, batch, e, e_end);
      CAIRN_RETURN_IF_ERROR(
          chunks.added_more(ss::CreateSnapRunMore(b, run.id, piece_history, piece_batch)));
      h = h_end;
      e = e_end;
    }
  }
  // The counts in the header were taken before these walks: finished runs and dedup ids change
  // only on this (the applying) thread, so they match.
  Status st;
  finished.for_each_oldest_first([&](const RunInfo& info, uint64_t created_lsn) {
    if (st.ok()) st = chunks.added_finished(put_finished(chunks.builder(), info, created_lsn));
  });
  CAIRN_RETURN_IF_ERROR(st);
  dedup_.for_each_oldest_first([&](const std::string& id, int64_t ts) {
    if (!st.ok()) return;
    fb::FlatBufferBuilder& b = chunks.builder();
    st = chunks.added_dedup(ss::CreateSnapDedup(b, b.CreateString(id), ts));
  });
  CAIRN_RETURN_IF_ERROR(st);
  // Throttle and rate-limit states, grouped by function and kind, in bounded pieces.
  struct Piece {
    std::vector<uint64_t> hashes, states;
  };
  std::map<std::pair<std::string, uint8_t>, Piece> pieces;
  auto put_piece = [&](const std::string& fn, uint8_t kind, Piece& p) -> Status {
    if (p.hashes.empty()) return Status();
    fb::FlatBufferBuilder& b = chunks.builder();
    auto name = b.CreateString(fn);
    auto h = b.CreateVector(p.hashes);
    auto v = b.CreateVector(p.states);
    const size_t n = p.hashes.size();
    p.hashes.clear();
    p.states.clear();
    return chunks.added_limiter(ss::CreateSnapLimiter(b, name, kind, h, v), n);
  };
  admission_.for_each([&](const FunctionEntry& fn, LimitKind kind, uint64_t hash, uint64_t state) {
    if (!st.ok()) return;
    Piece& p = pieces[{fn.id, static_cast<uint8_t>(kind)}];
    p.hashes.push_back(hash);
    p.states.push_back(state);
    if (p.hashes.size() >= kLimiterKeysPerChunk) {
      st = put_piece(fn.id, static_cast<uint8_t>(kind), p);
    }
  });
  CAIRN_RETURN_IF_ERROR(st);
  for (auto& [k, p] : pieces) CAIRN_RETURN_IF_ERROR(put_piece(k.first, k.second, p));
  // Idempotency keys seen within their window, as limiter tables of kind 2 whose states are the
  // run ids and a parallel vector of times.
  std::map<std::string, std::array<std::vector<uint64_t>, 3>> seen;
  admission_.for_each_idempotency(
      [&](const FunctionEntry& fn, uint64_t hash, RunId run, int64_t at_ms) {
        auto& v = seen[fn.id];
        v[0].push_back(hash);
        v[1].push_back(run);
        v[2].push_back(static_cast<uint64_t>(at_ms));
      });
  for (auto& [fn, v] : seen) {
    for (size_t from = 0; from < v[0].size(); from += kLimiterKeysPerChunk) {
      const size_t n = std::min(kLimiterKeysPerChunk, v[0].size() - from);
      fb::FlatBufferBuilder& b = chunks.builder();
      auto name = b.CreateString(fn);
      auto h = b.CreateVector(v[0].data() + from, n);
      auto r = b.CreateVector(v[1].data() + from, n);
      auto t = b.CreateVector(v[2].data() + from, n);
      CAIRN_RETURN_IF_ERROR(
          chunks.added_limiter(ss::CreateSnapLimiter(b, name, kIdempotencyKind, h, r, t), n));
    }
  }
  CAIRN_RETURN_IF_ERROR(chunks.flush());
  fb::FlatBufferBuilder eb(64);
  eb.Finish(ss::CreateSnapshotEnd(eb, chunks.chunks(), lsn));
  return out.add(SnapshotFrameKind::kEnd, {eb.GetBufferPointer(), eb.GetSize()});
}

Result<uint64_t> Projection::load_snapshot(const SnapshotContents& snap, FinishedRuns& finished,
                                           uint64_t expected_lsn, RetentionFloor* floor) {
  auto bad = [](const std::string& what) {
    return Status(StatusCode::kCorruption, "snapshot contents: " + what);
  };
  const auto* header = fb::GetRoot<ss::SnapshotHeader>(snap.frames.front().payload.data());
  const auto* end = fb::GetRoot<ss::SnapshotEnd>(snap.frames.back().payload.data());
  // Check everything before changing anything.
  if (header->lsn() != expected_lsn) {
    return bad("the header says LSN " + std::to_string(header->lsn()) + ", the file name " +
               std::to_string(expected_lsn));
  }
  uint64_t runs = 0, fin = 0, dedup = 0;
  std::unordered_set<RunId> ids;
  for (size_t i = 1; i + 1 < snap.frames.size(); ++i) {
    if (snap.frames[i].kind != SnapshotFrameKind::kChunk) return bad("a frame out of order");
    const auto* c = fb::GetRoot<ss::SnapshotChunk>(snap.frames[i].payload.data());
    if (c->limiters() != nullptr) {
      for (const ss::SnapLimiter* l : *c->limiters()) {
        const size_t nh = l->key_hashes() != nullptr ? l->key_hashes()->size() : 0;
        const size_t ns = l->states() != nullptr ? l->states()->size() : 0;
        const size_t nt = l->times() != nullptr ? l->times()->size() : 0;
        if (nh != ns || l->kind() > kIdempotencyKind ||
            (l->kind() == kIdempotencyKind && nt != nh)) {
          return bad("a limiter table of function " + std::string(fb_view(l->function_id())) +
                     " has " + std::to_string(nh) + " keys and " + std::to_string(ns) +
                     " states (kind " + std::to_string(l->kind()) + ")");
        }
      }
    }
    if (c->runs() != nullptr) {
      for (const ss::SnapRun* r : *c->runs()) {
        const ss::SnapOp* op = r->op();
        if (r->id() == 0 || r->function_id() == nullptr || op == nullptr ||
            !in_range(r->status(), RunStatus::kQueued, RunStatus::kWaiting) ||
            !in_range(op->kind(), OpKind::kStep, OpKind::kInvoke) ||
            !in_range(op->state(), OpState::kNone, OpState::kResolved)) {
          return bad("run " + std::to_string(r->id()) + " is not a valid unfinished run");
        }
        if (!ids.insert(r->id()).second || runs_.contains(r->id())) {
          return bad("run " + std::to_string(r->id()) + " appears twice");
        }
        if (r->history() != nullptr) {
          for (const ss::SnapHistory* h : *r->history()) {
            if (!in_range(h->kind(), OpKind::kStep, OpKind::kInvoke)) {
              return bad("run " + std::to_string(r->id()) + " has an unknown operation kind");
            }
          }
        }
        ++runs;
      }
    }
    if (c->runs_more() != nullptr) {
      for (const ss::SnapRunMore* m : *c->runs_more()) {
        // Only after its run: in this chunk's runs (loaded first) or an earlier chunk's.
        if (!ids.contains(m->run())) {
          return bad("more of run " + std::to_string(m->run()) + " before (or without) the run");
        }
        if (m->history() != nullptr) {
          for (const ss::SnapHistory* h : *m->history()) {
            if (!in_range(h->kind(), OpKind::kStep, OpKind::kInvoke)) {
              return bad("run " + std::to_string(m->run()) + " has an unknown operation kind");
            }
          }
        }
      }
    }
    if (c->finished() != nullptr) {
      for (const ss::SnapFinished* f : *c->finished()) {
        if (!in_range(f->status(), RunStatus::kCompleted, RunStatus::kSkipped)) {
          return bad("finished run " + std::to_string(f->id()) + " has an unknown status");
        }
        if (!is_known_value_format(f->output_format())) {
          return bad("finished run " + std::to_string(f->id()) + " has an unknown output format (" +
                     std::to_string(f->output_format()) + ")");
        }
        ++fin;
      }
    }
    dedup += c->dedup() != nullptr ? c->dedup()->size() : 0;
  }
  if (runs != header->runs() || fin != header->finished() || dedup != header->dedup() ||
      end->chunks() != snap.frames.size() - 2 || end->lsn() != header->lsn()) {
    return bad("the header's counts do not match its chunks");
  }

  live_ = false;
  lsn_ = header->lsn();
  const int64_t now_ms = clock_.now_ms();
  std::vector<std::pair<int64_t, std::string>> dedup_ids;
  dedup_ids.reserve(header->dedup());
  // The runs loaded, for the pieces of history and batch that follow them (SnapRunMore), and
  // those collecting a batch, whose batch is whole only after the last piece.
  std::unordered_map<RunId, RunRecord*> loaded;
  std::vector<RunRecord*> batches_open;
  auto add_history = [](RunRecord& run, const fb::Vector<fb::Offset<ss::SnapHistory>>* entries) {
    if (entries == nullptr || entries->size() == 0) return;
    if (!run.history) run.history = std::make_unique<std::vector<ReplayEntry>>();
    run.history->reserve(run.history->size() + entries->size());
    for (const ss::SnapHistory* h : *entries) {
      std::unique_ptr<Event> ev;
      if (h->event() != nullptr) ev = std::make_unique<Event>(get_event(h->event()));
      run.history->push_back(ReplayEntry{static_cast<OpKind>(h->kind()), h->failed(),
                                         std::string(fb_view(h->step_id())),
                                         std::string(fb_view(h->value())), std::move(ev)});
    }
  };
  for (size_t i = 1; i + 1 < snap.frames.size(); ++i) {
    const auto* c = fb::GetRoot<ss::SnapshotChunk>(snap.frames[i].payload.data());
    if (c->runs() != nullptr) {
      for (const ss::SnapRun* r : *c->runs()) {
        lsn_ = r->created_lsn();
        RunRecord* run = create_run(r->id(), fb_view(r->function_id()), get_event(r->event()),
                                    r->parent_run(), r->parent_position(), r->created_us());
        CAIRN_CHECK(run != nullptr);  // ids were checked above
        set_status(*run, static_cast<RunStatus>(r->status()));
        run->positions.store(r->positions());
        // A run nothing was decided for (its function limited no admission then) keeps what
        // its function's settings now make it: undecided under limits gained since, which the
        // start decides if it never started, as a full replay of its records does.
        if (run->flow != nullptr && !r->flow_undecided() &&
            !(r->admission_free() && run->flow->admission == RunFlow::Admission::kUndecided)) {
          run->flow->admission = RunFlow::Admission::kAdmitted;
          admission_.restore_active(*run);
        }
        // Not admission-free: decided under limits, so recorded (or one that started before
        // them, which no restart decides again either).
        run->admission_recorded = !r->admission_free() && !r->flow_undecided();
        if (run->flow != nullptr) {
          run->flow->started_ms = r->started_ms();
          if (r->debounce_since_ms() != 0 && run->fn != nullptr) {
            run->flow->debounce_since_ms = r->debounce_since_ms();
            debounce_.put(*run->fn, run->flow->debounce_key, {run, r->debounce_since_ms(), 0});
          }
          if (r->batch() != nullptr) {
            run->flow->batch = std::make_unique<std::vector<Event>>();
            for (const ss::SnapEvent* e : *r->batch()) run->flow->batch->push_back(get_event(e));
          }
          if (r->batch_open() && run->fn != nullptr && run->flow->batch != nullptr) {
            run->flow->batch_open = true;
            batches_open.push_back(run);
          }
          if (r->skip_reason() != nullptr) {
            run->flow->skip_reason.assign(fb_view(r->skip_reason()));
            run->flow->admission.store(RunFlow::Admission::kToSkip, std::memory_order_release);
          }
        }
        if (r->cancel_reason() != nullptr)
          request_cancel(*run, std::string(fb_view(r->cancel_reason())));
        add_history(*run, r->history());
        loaded.emplace(run->id, run);
        const ss::SnapOp* o = r->op();
        PendingOp& op = run->op;
        op.kind = static_cast<OpKind>(o->kind());
        op.state = static_cast<OpState>(o->state());
        op.failed = o->failed();
        op.position = o->position();
        op.attempts = o->attempts();
        op.deadline_ms = o->deadline_ms();
        op.child = o->child();
        op.step_id.assign(fb_view(o->step_id()));
        op.value.assign(fb_view(o->value()));
        if (o->has_wait()) {
          op.wait = std::make_unique<WaitDetails>();
          op.wait->event.assign(fb_view(o->wait_event()));
          op.wait->path.assign(fb_view(o->wait_path()));
          op.wait->value.assign(fb_view(o->wait_value()));
          if (o->matched() != nullptr) op.wait->matched = get_event(o->matched());
          if (op.kind == OpKind::kWait && op.state == OpState::kPending) {
            waits_.add(op.wait->event, op.wait->path, op.wait->value, Waiter{run->id, op.position});
          }
        }
      }
    }
    if (c->runs_more() != nullptr) {
      for (const ss::SnapRunMore* m : *c->runs_more()) {
        RunRecord* run = loaded.at(m->run());  // checked above: its run came first
        add_history(*run, m->history());
        if (m->batch() != nullptr && m->batch()->size() > 0 && run->flow != nullptr) {
          if (run->flow->batch == nullptr)
            run->flow->batch = std::make_unique<std::vector<Event>>();
          for (const ss::SnapEvent* e : *m->batch()) run->flow->batch->push_back(get_event(e));
        }
      }
    }
    if (c->finished() != nullptr) {
      for (const ss::SnapFinished* f : *c->finished()) {
        RunInfo info;
        info.id = f->id();
        info.function_id.assign(fb_view(f->function_id()));
        info.status = static_cast<RunStatus>(f->status());
        info.event = get_event(f->event());
        info.parent = f->parent();
        info.output.assign(fb_view(f->output()));
        info.output_format = static_cast<ValueFormat>(f->output_format());
        info.error.assign(fb_view(f->error()));
        info.steps = f->steps();
        info.created_at = TimePoint(std::chrono::microseconds(f->created_us()));
        info.finished_at = TimePoint(std::chrono::microseconds(f->finished_us()));
        finished.add(std::move(info), f->created_lsn());
      }
    }
    if (c->limiters() != nullptr) {
      for (const ss::SnapLimiter* l : *c->limiters()) {
        const FunctionEntry* fn = registry_.find(fb_view(l->function_id()));
        if (fn == nullptr || l->key_hashes() == nullptr || l->states() == nullptr) continue;
        if (l->kind() == kIdempotencyKind) {
          for (size_t k = 0; k < l->key_hashes()->size(); ++k) {
            admission_.restore_idempotency(*fn, l->key_hashes()->Get(k), l->states()->Get(k),
                                           static_cast<int64_t>(l->times()->Get(k)));
          }
          continue;
        }
        const auto kind = static_cast<LimitKind>(l->kind());
        for (size_t k = 0; k < l->key_hashes()->size(); ++k) {
          admission_.restore(*fn, kind, l->key_hashes()->Get(k), l->states()->Get(k));
        }
      }
    }
    if (c->dedup() != nullptr) {
      for (const ss::SnapDedup* d : *c->dedup()) {
        dedup_ids.emplace_back(d->ts_ms(), std::string(fb_view(d->id())));
      }
    }
  }
  for (RunRecord* run : batches_open) {
    batches_.put(*run->fn, run->flow->batch_key,
                 {run, run->created_us / 1000, static_cast<uint32_t>(run->flow->batch->size())});
  }
  // Put back in time order, whatever order the file lists them in (files written before
  // for_each_oldest_first list them in hash order).
  dedup_.restore(std::move(dedup_ids), now_ms);
  waiting_.store(waits_.size(), std::memory_order_relaxed);
  // The snapshotter packs its parked runs away, as it does when it applies the record that parks
  // one (a sleep, a wait, an invoke, a failed step's retry).
  if (runs_kind_ == ProjectedRuns::kRecordsOnly) {
    std::vector<RunRecord*> parked;
    runs_.for_each([&](RunId, RunRecord* r) {
      if (r->op.state == OpState::kPending || r->op.state == OpState::kRetryWait) {
        parked.push_back(r);
      }
    });
    for (RunRecord* r : parked) maybe_freeze(*r);
  }
  max_run_id_ = std::max(max_run_id_, header->max_run_id());
  counters_.steps_completed.store(header->steps_completed());
  counters_.step_failures.store(header->step_failures());
  counters_.sends_deferred.store(header->sends_deferred());
  counters_.runs_created.store(header->runs_created());
  counters_.runs_finished.store(header->runs_finished());
  counters_.events.store(header->events());
  if (header->crons() != nullptr) {
    for (const ss::SnapCron* c : *header->crons()) {
      cron_ticked(fb_view(c->function_id()), fb_view(c->expression()), c->tick_ms(), 0);
    }
  }
  if (floor != nullptr) {
    if (header->finished_floor() != nullptr) {
      for (const ss::SnapFinishedFloor* b : *header->finished_floor()) {
        floor->add(b->ended_ms(), b->created_lsn());
      }
    } else {
      // Written before the floor was saved: which finished runs need what is unknown, so the
      // whole log stays for one window after the snapshot was written.
      floor->add(header->written_us() / 1000, 0);
    }
  }
  lsn_ = header->lsn();
  return header->lsn();
}

}  // namespace cairn::detail
