// FrozenRuns (see frozen_runs.h). A packed run, after its varint length:
//   function slot pointer (8 bytes), created_lsn, the event (name, data, id, ts_ms), parent_run,
//   parent_position, created_us, status, positions, the operation (kind, state, failed, position,
//   attempts, deadline_ms, child, step_id, value, whether wait details follow: event, path, value,
//   whether a matched event follows, the event) and the history (0: none, else 1 + entries;
//   each: kind, failed, step_id, value, whether an event follows, the event).
// Integers are LEB128 varints (signed ones zigzagged), strings a varint length and the bytes.
#include "frozen_runs.h"

#include <cstdlib>
#include <cstring>

#include "cairn/log/check.h"
#include "projection.h"

namespace cairn::detail {
namespace {

class Packer {
 public:
  void u64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i64(int64_t v) { u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void ptr(const void* p) { out_.append(reinterpret_cast<const char*>(&p), sizeof(p)); }
  void event(const Event& e) {
    str(e.name);
    str(e.data);
    str(e.id);
    i64(e.ts_ms);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

// Reads what Packer wrote; the bytes are our own, in memory, so a mismatch is a bug.
class Unpacker {
 public:
  explicit Unpacker(const uint8_t* p) : p_(p) {}
  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      CAIRN_CHECK(shift < 64);
      const uint8_t b = *p_++;
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
  }
  int64_t i64() {
    const uint64_t z = u64();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string str() {
    const uint64_t n = u64();
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  const void* ptr() {
    const void* v = nullptr;
    std::memcpy(&v, p_, sizeof(v));
    p_ += sizeof(v);
    return v;
  }
  Event event() {
    Event e;
    e.name = str();
    e.data = str();
    e.id = str();
    e.ts_ms = i64();
    return e;
  }
  const uint8_t* at() const { return p_; }

 private:
  const uint8_t* p_;
};

const uint8_t* body_of(const uint8_t* packed, uint64_t* length) {
  Unpacker u(packed);
  *length = u.u64();
  return u.at();
}

std::unique_ptr<RunRecord> unpack(RunId id, const uint8_t* packed,
                                  const FunctionRegistry& registry) {
  uint64_t length = 0;
  const uint8_t* body = body_of(packed, &length);
  Unpacker u(body);
  auto* slot = static_cast<FunctionSlot*>(const_cast<void*>(u.ptr()));
  const uint64_t created_lsn = u.u64();
  Event event = u.event();
  auto run =
      std::make_unique<RunRecord>(id, registry.find(slot->first), slot->first, std::move(event));
  run->counts = &slot->second;
  run->created_lsn = created_lsn;
  run->parent_run = u.u64();
  run->parent_position = static_cast<uint32_t>(u.u64());
  run->created_us = u.i64();
  run->status.store(static_cast<RunStatus>(u.u64()), std::memory_order_relaxed);
  run->positions.store(static_cast<uint32_t>(u.u64()), std::memory_order_relaxed);
  PendingOp& op = run->op;
  op.kind = static_cast<OpKind>(u.u64());
  op.state = static_cast<OpState>(u.u64());
  op.failed = u.u64() != 0;
  op.position = static_cast<uint32_t>(u.u64());
  op.attempts = static_cast<uint32_t>(u.u64());
  op.deadline_ms = u.i64();
  op.child = u.u64();
  op.step_id = u.str();
  op.value = u.str();
  if (u.u64() != 0) {
    op.wait = std::make_unique<WaitDetails>();
    op.wait->event = u.str();
    op.wait->path = u.str();
    op.wait->value = u.str();
    if (u.u64() != 0) op.wait->matched = u.event();
  }
  if (const uint64_t h = u.u64(); h != 0) {
    run->history = std::make_unique<std::vector<ReplayEntry>>();
    run->history->reserve(h - 1);
    for (uint64_t i = 0; i + 1 < h; ++i) {
      ReplayEntry e;
      e.kind = static_cast<OpKind>(u.u64());
      e.failed = u.u64() != 0;
      e.step_id = u.str();
      e.value = u.str();
      if (u.u64() != 0) e.event = std::make_unique<Event>(u.event());
      run->history->push_back(std::move(e));
    }
  }
  CAIRN_CHECK_MSG(u.at() == body + length, "a frozen run did not unpack to its own length");
  return run;
}

}  // namespace

bool FrozenRuns::can_freeze(const RunRecord& run) {
  return run.flow == nullptr && !run.holds_slot && !run.finished.load(std::memory_order_relaxed) &&
         run.counts != nullptr;
}

void FrozenRuns::freeze(const RunRecord& run, const FunctionSlot& function) {
  CAIRN_CHECK(can_freeze(run) && !contains(run.id) && &function.second == run.counts);
  Packer p;
  p.ptr(&function);
  p.u64(run.created_lsn);
  p.event(run.event);
  p.u64(run.parent_run);
  p.u64(run.parent_position);
  p.i64(run.created_us);
  p.u64(static_cast<uint64_t>(run.status.load(std::memory_order_relaxed)));
  p.u64(run.positions.load(std::memory_order_relaxed));
  const PendingOp& op = run.op;
  p.u64(static_cast<uint64_t>(op.kind));
  p.u64(static_cast<uint64_t>(op.state));
  p.u64(op.failed ? 1 : 0);
  p.u64(op.position);
  p.u64(op.attempts);
  p.i64(op.deadline_ms);
  p.u64(op.child);
  p.str(op.step_id);
  p.str(op.value);
  p.u64(op.wait ? 1 : 0);
  if (op.wait) {
    p.str(op.wait->event);
    p.str(op.wait->path);
    p.str(op.wait->value);
    p.u64(op.wait->matched ? 1 : 0);
    if (op.wait->matched) p.event(*op.wait->matched);
  }
  p.u64(run.history ? run.history->size() + 1 : 0);
  if (run.history) {
    for (const ReplayEntry& e : *run.history) {
      p.u64(static_cast<uint64_t>(e.kind));
      p.u64(e.failed ? 1 : 0);
      p.str(e.step_id);
      p.str(e.value);
      p.u64(e.event ? 1 : 0);
      if (e.event) p.event(*e.event);
    }
  }
  Packer length;
  length.u64(p.bytes().size());
  const size_t total = length.bytes().size() + p.bytes().size();
  auto* buf = static_cast<uint8_t*>(std::malloc(total));
  CAIRN_CHECK_MSG(buf != nullptr, "out of memory for a frozen run");
  std::memcpy(buf, length.bytes().data(), length.bytes().size());
  std::memcpy(buf + length.bytes().size(), p.bytes().data(), p.bytes().size());
  packed_.insert(run.id, buf);
}

std::unique_ptr<RunRecord> FrozenRuns::thaw(RunId id, const FunctionRegistry& registry) {
  uint8_t* const* packed = packed_.find(id);
  if (packed == nullptr) return nullptr;
  uint8_t* buf = *packed;
  std::unique_ptr<RunRecord> run = unpack(id, buf, registry);
  packed_.erase(id);
  std::free(buf);
  return run;
}

std::unique_ptr<RunRecord> FrozenRuns::peek(RunId id, const FunctionRegistry& registry) const {
  uint8_t* const* packed = packed_.find(id);
  return packed == nullptr ? nullptr : unpack(id, *packed, registry);
}

uint64_t FrozenRuns::created_lsn(RunId id) const {
  uint8_t* const* packed = packed_.find(id);
  CAIRN_CHECK(packed != nullptr);
  uint64_t length = 0;
  Unpacker u(body_of(*packed, &length));
  (void)u.ptr();  // the function slot comes first
  return u.u64();
}

void FrozenRuns::clear() {
  packed_.for_each([](uint64_t, uint8_t* buf) { std::free(buf); });
  packed_.clear();
}

}  // namespace cairn::detail
