// read_run_history (cairn/run_history.h): one run's records, picked out of the log in order and
// told as history entries. The rules that decide what a record means for a run — which event
// ends a wait, which resume takes effect — are the projection's, restated for a single run.
#include "cairn/run_history.h"

#include <algorithm>
#include <optional>

#include "cairn/context.h"  // detail::OpKind
#include "cairn/schema/record_schema.h"
#include "engine_limits.h"
#include "flatbuffer_views.h"
#include "json_field.h"

namespace cairn {
namespace {

using schema::RecordType;

using detail::fb_view;

std::string bytes_of(const flatbuffers::Vector<uint8_t>* v) {
  return std::string(fb_view(v));
}

TimePoint from_us(int64_t us) {
  return TimePoint(std::chrono::microseconds(us));
}

TimePoint from_ms(int64_t ms) {
  return ms == 0 ? TimePoint() : TimePoint(std::chrono::milliseconds(ms));
}

const char* resume_reason(schema::ResumeReason r) {
  switch (r) {
    case schema::ResumeReason::TimerFired:
      return "timer fired";
    case schema::ResumeReason::WaitTimedOut:
      return "wait timed out";
    case schema::ResumeReason::RetryDue:
      return "retry due";
    case schema::ResumeReason::ThrottleDue:
      return "throttle due";
    case schema::ResumeReason::StartTimedOut:
      return "start timeout";
    case schema::ResumeReason::FinishTimedOut:
      return "finish timeout";
    case schema::ResumeReason::DebounceDue:
      return "debounce due";
    case schema::ResumeReason::BatchDue:
      return "batch due";
  }
  return "?";
}

// How a result a replay started with (RunCreated.history) shows in its history: as the entry
// that ended that operation in the original (attempt 0 says it was copied).
HistoryEntry::Kind copied_kind(const schema::CopiedOp& op) {
  switch (static_cast<detail::OpKind>(op.kind())) {
    case detail::OpKind::kStep:
      return HistoryEntry::Kind::kStepCompleted;
    case detail::OpKind::kSleep:
      return HistoryEntry::Kind::kSleepStarted;
    case detail::OpKind::kWait:
      return op.event_name() != nullptr ? HistoryEntry::Kind::kWaitMatched
                                        : HistoryEntry::Kind::kResumed;
    case detail::OpKind::kSend:
      return HistoryEntry::Kind::kEventSent;
    case detail::OpKind::kInvoke:
      return HistoryEntry::Kind::kInvoked;
  }
  return HistoryEntry::Kind::kStepCompleted;
}

// Collects the entries of one run while the records go by.
class HistoryBuilder {
 public:
  HistoryBuilder(RunId run, const HistoryLimits& limits) : run_(run), limits_(limits) {}

  bool done() const {
    return ended_ || out_.size() >= limits_.entries || out_.size() > within_budget_;
  }
  std::vector<HistoryEntry> take() { return std::move(out_); }

  void add(uint64_t lsn, log::RecordType type, std::span<const std::byte> payload) {
    const size_t before = out_.size();
    add_record(lsn, type, payload);
    // Entries are only ever appended, and complete once added: cut them now, so that a long
    // history never holds more than the limits in memory.
    for (size_t i = before; i < out_.size(); ++i) {
      bound(out_[i]);
      if (within_budget_ == SIZE_MAX && bytes_ > limits_.bytes_max) within_budget_ = i + 1;
    }
  }

 private:
  void bound(HistoryEntry& e) {
    const uint32_t cap =
        static_cast<uint32_t>(std::min<size_t>(limits_.value_bytes_max, UINT32_MAX));
    if (e.value.size() > cap) {
      e.value = detail::bounded_text(e.value, cap);
      e.value_cut = true;
    }
    if (e.event.data.size() > cap) {
      e.event.data = detail::bounded_text(e.event.data, cap);
      e.event_data_cut = true;
    }
    bytes_ += e.value.size() + e.event.data.size();
  }

  void add_record(uint64_t lsn, log::RecordType type, std::span<const std::byte> payload) {
    lsn_ = lsn;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(payload.data());
    switch (static_cast<RecordType>(type)) {
      case RecordType::EventAccepted:
        return event(*flatbuffers::GetRoot<schema::EventAccepted>(p));
      case RecordType::EventBatch:
        if (auto* events = flatbuffers::GetRoot<schema::EventBatch>(p)->events()) {
          for (const schema::EventAccepted* e : *events) event(*e);
        }
        return;
      case RecordType::RunCreated:
        return created(*flatbuffers::GetRoot<schema::RunCreated>(p));
      case RecordType::StepCompleted:
        return step_completed(*flatbuffers::GetRoot<schema::StepCompleted>(p));
      case RecordType::StepFailed:
        return step_failed(*flatbuffers::GetRoot<schema::StepFailed>(p));
      case RecordType::SleepStarted:
        return sleep(*flatbuffers::GetRoot<schema::SleepStarted>(p));
      case RecordType::WaitStarted:
        return wait(*flatbuffers::GetRoot<schema::WaitStarted>(p));
      case RecordType::RunResumed:
        return resumed(*flatbuffers::GetRoot<schema::RunResumed>(p));
      case RecordType::RunCompleted:
        return completed(*flatbuffers::GetRoot<schema::RunCompleted>(p));
      case RecordType::RunFailed:
        return failed(*flatbuffers::GetRoot<schema::RunFailed>(p));
      case RecordType::RunCancelled:
        return cancelled(*flatbuffers::GetRoot<schema::RunCancelled>(p));
      case RecordType::RunAdmitted:
        return admitted(*flatbuffers::GetRoot<schema::RunAdmitted>(p));
      case RecordType::RunSkipped:
        return skipped(*flatbuffers::GetRoot<schema::RunSkipped>(p));
      default:
        return;
    }
  }

 private:
  // What the run waits for now (the projection's PendingOp, for one run).
  struct Pending {
    HistoryEntry::Kind kind;  // kSleepStarted, kWaitStarted or kStepFailed (a retry, of a
                              // step or a deferred send)
    uint32_t position = 0;
    std::string event, path, value;  // a wait's
  };

  HistoryEntry& push(HistoryEntry::Kind kind) {
    HistoryEntry& e = out_.emplace_back();
    e.kind = kind;
    e.lsn = lsn_;
    return e;
  }
  bool mine(const schema::StepRef* ref) const { return ref != nullptr && ref->run_id() == run_; }
  void operation(HistoryEntry& e, const schema::StepRef& ref) {
    e.position = ref.position();
    e.step_id = fb_view(ref.step_id());
  }

  void event(const schema::EventAccepted& e) {
    Event ev{std::string(fb_view(e.name())), std::string(fb_view(e.data())),
             std::string(fb_view(e.event_id())), e.ts_ms()};
    const size_t n = e.functions() == nullptr ? 0 : e.functions()->size();
    if (n > 0 && run_ >= e.first_run_id() && run_ < e.first_run_id() + n) {
      HistoryEntry& h = push(HistoryEntry::Kind::kCreated);
      h.at = from_us(e.accepted_us());
      h.event = ev;
    }
    if (const schema::StepRef* o = e.origin(); mine(o)) {
      // The send moved on (past a deferral, whose retry is no longer waited for).
      if (pending_ && pending_->position == o->position()) pending_.reset();
      HistoryEntry& h = push(HistoryEntry::Kind::kEventSent);
      operation(h, *o);
      h.at = from_us(e.accepted_us());
      h.value = ev.id;
      h.event = ev;
    }
    if (!e.duplicate() && pending_ && pending_->kind == HistoryEntry::Kind::kWaitStarted &&
        pending_->event == ev.name) {
      const bool match =
          pending_->path.empty() || detail::json_field(ev.data, pending_->path) == pending_->value;
      if (match) {
        HistoryEntry& h = push(HistoryEntry::Kind::kWaitMatched);
        h.position = pending_->position;
        h.at = from_us(e.accepted_us());
        h.event = std::move(ev);
        pending_.reset();
      }
    }
  }

  void created(const schema::RunCreated& c) {
    if (c.run_id() == run_) {
      HistoryEntry& h = push(HistoryEntry::Kind::kCreated);
      h.at = from_us(c.created_us());
      h.event = Event{std::string(fb_view(c.event_name())), std::string(fb_view(c.event_data())),
                      std::string(fb_view(c.event_id())), c.ts_ms()};
      if (c.parent() != nullptr) h.run = c.parent()->run_id();
      if (c.replay_of() != 0) h.value = "replay of run " + std::to_string(c.replay_of());
      // A replay from the failed step starts with the original's results (attempt 0: copied).
      if (c.history() != nullptr) {
        uint32_t position = 0;
        for (const schema::CopiedOp* op : *c.history()) {
          HistoryEntry& e = push(copied_kind(*op));
          e.position = position++;
          e.step_id = fb_view(op->step_id());
          e.at = e.finished_at = from_us(c.created_us());
          e.value = bytes_of(op->value());
          e.format = static_cast<ValueFormat>(op->value_format());
          e.run = op->run();
          if (op->event_name() != nullptr) {
            e.event = Event{std::string(fb_view(op->event_name())),
                            std::string(fb_view(op->event_data())),
                            std::string(fb_view(op->event_id())), op->event_ts_ms()};
          } else if (e.kind == HistoryEntry::Kind::kResumed) {
            e.value = "wait timed out";
          }
          if (e.kind == HistoryEntry::Kind::kEventSent) e.event.id = e.value;
        }
      }
    }
    if (const schema::StepRef* p = c.parent(); mine(p)) {
      HistoryEntry& h = push(HistoryEntry::Kind::kInvoked);
      operation(h, *p);
      h.at = from_us(c.created_us());
      h.run = c.run_id();
    }
  }

  void step_completed(const schema::StepCompleted& s) {
    if (!mine(s.step())) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kStepCompleted);
    operation(h, *s.step());
    h.attempt = s.attempt();
    h.at = from_us(s.started_us());
    h.finished_at = from_us(s.finished_us());
    h.value = bytes_of(s.output());
    h.format = recorded_value_format(static_cast<uint8_t>(s.output_format()));
    pending_.reset();
  }

  void step_failed(const schema::StepFailed& f) {
    if (!mine(f.step())) return;
    HistoryEntry& h =
        push(f.kind() == schema::FailureKind::NoRoom ? HistoryEntry::Kind::kSendDeferred
                                                     : HistoryEntry::Kind::kStepFailed);
    operation(h, *f.step());
    h.attempt = f.attempt();
    h.at = from_us(f.started_us());
    h.finished_at = from_us(f.finished_us());
    h.deadline = from_ms(f.retry_at_ms());
    h.value = fb_view(f.error());
    pending_ = f.retry_at_ms() == 0
                   ? std::nullopt
                   : std::optional(Pending{
                         HistoryEntry::Kind::kStepFailed, f.step()->position(), {}, {}, {}});
  }

  void sleep(const schema::SleepStarted& s) {
    if (!mine(s.step())) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kSleepStarted);
    operation(h, *s.step());
    h.at = from_us(s.at_us());
    h.deadline = from_ms(s.wake_at_ms());
    pending_ = Pending{HistoryEntry::Kind::kSleepStarted, s.step()->position(), {}, {}, {}};
  }

  void wait(const schema::WaitStarted& w) {
    if (!mine(w.step())) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kWaitStarted);
    operation(h, *w.step());
    h.at = from_us(w.at_us());
    h.deadline = from_ms(w.timeout_at_ms());
    h.event.name = fb_view(w.event_name());
    h.value = fb_view(w.match_path());
    pending_ = Pending{HistoryEntry::Kind::kWaitStarted, w.step()->position(),
                       std::string(fb_view(w.event_name())), std::string(fb_view(w.match_path())),
                       std::string(fb_view(w.match_value()))};
  }

  // Only a resume that moves the run on is history (apply ignores stale ones the same way).
  void resumed(const schema::RunResumed& r) {
    if (!mine(r.step()) || !pending_ || pending_->position != r.step()->position()) return;
    const bool takes = (r.reason() == schema::ResumeReason::TimerFired &&
                        pending_->kind == HistoryEntry::Kind::kSleepStarted) ||
                       (r.reason() == schema::ResumeReason::WaitTimedOut &&
                        pending_->kind == HistoryEntry::Kind::kWaitStarted) ||
                       (r.reason() == schema::ResumeReason::RetryDue &&
                        pending_->kind == HistoryEntry::Kind::kStepFailed);
    if (!takes) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kResumed);
    operation(h, *r.step());
    h.at = from_us(r.at_us());
    h.value = resume_reason(r.reason());
    pending_.reset();
  }

  void completed(const schema::RunCompleted& c) {
    if (c.run_id() != run_) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kCompleted);
    h.at = from_us(c.at_us());
    h.value = bytes_of(c.output());
    h.format = recorded_value_format(static_cast<uint8_t>(c.output_format()));
    ended_ = true;
  }

  void failed(const schema::RunFailed& f) {
    // 0 is "no failure handler", never a run.
    if (f.failure_handler_run_id() != 0 && f.failure_handler_run_id() == run_) {
      HistoryEntry& h = push(HistoryEntry::Kind::kCreated);
      h.at = from_us(f.at_us());
      h.event.name = "cairn/function.failed";
      h.run = f.run_id();
    }
    if (f.run_id() != run_) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kFailed);
    h.at = from_us(f.at_us());
    h.value = fb_view(f.error());
    h.run = f.failure_handler_run_id();
    ended_ = true;
  }

  void cancelled(const schema::RunCancelled& c) {
    if (c.run_id() != run_) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kCancelled);
    h.at = from_us(c.at_us());
    h.value = fb_view(c.reason());
    ended_ = true;
  }

  void admitted(const schema::RunAdmitted& a) {
    if (a.run_id() != run_) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kAdmitted);
    h.at = from_us(a.at_ms() * 1000);
    if (a.has_throttle())
      h.value = "throttle key \"" + std::string(fb_view(a.throttle_key())) + "\"";
    if (a.has_rate_limit()) {
      if (!h.value.empty()) h.value += ", ";
      h.value += "rate limit key \"" + std::string(fb_view(a.rate_limit_key())) + "\"";
    }
  }

  void skipped(const schema::RunSkipped& k) {
    if (k.run_id() != run_) return;
    HistoryEntry& h = push(HistoryEntry::Kind::kSkipped);
    h.at = from_us(k.at_us());
    h.value = fb_view(k.reason());
    ended_ = true;
  }

  const RunId run_;
  const HistoryLimits limits_;
  size_t bytes_ = 0;  // of the entries' values and event data, as cut
  // Entries up to the one whose values passed bytes_max: the read stops at the next one (it says
  // the history went on; a history that ends with the one that passed is whole).
  size_t within_budget_ = SIZE_MAX;
  uint64_t lsn_ = 0;
  bool ended_ = false;
  std::optional<Pending> pending_;
  std::vector<HistoryEntry> out_;
};

}  // namespace

std::string_view history_kind_name(HistoryEntry::Kind kind) {
  switch (kind) {
    case HistoryEntry::Kind::kCreated:
      return "created";
    case HistoryEntry::Kind::kStepCompleted:
      return "step completed";
    case HistoryEntry::Kind::kStepFailed:
      return "step failed";
    case HistoryEntry::Kind::kSleepStarted:
      return "sleep";
    case HistoryEntry::Kind::kWaitStarted:
      return "wait";
    case HistoryEntry::Kind::kWaitMatched:
      return "wait matched";
    case HistoryEntry::Kind::kResumed:
      return "resumed";
    case HistoryEntry::Kind::kEventSent:
      return "event sent";
    case HistoryEntry::Kind::kInvoked:
      return "invoked";
    case HistoryEntry::Kind::kCompleted:
      return "completed";
    case HistoryEntry::Kind::kFailed:
      return "failed";
    case HistoryEntry::Kind::kCancelled:
      return "cancelled";
    case HistoryEntry::Kind::kAdmitted:
      return "admitted";
    case HistoryEntry::Kind::kSkipped:
      return "skipped";
    case HistoryEntry::Kind::kSendDeferred:
      return "send deferred";
  }
  return "?";
}

Result<std::vector<HistoryEntry>> read_run_history(log::LogReader& reader, RunId run, size_t limit,
                                                   uint64_t until) {
  return read_run_history(reader, run, HistoryLimits{.entries = limit}, until);
}

Result<std::vector<HistoryEntry>> read_run_history(log::LogReader& reader, RunId run,
                                                   const HistoryLimits& limits, uint64_t until) {
  // Run ids start at 1; 0 stands for "none" in records (no parent, no failure handler), so no
  // record is about run 0.
  if (run == 0) return std::vector<HistoryEntry>{};
  HistoryBuilder history(run, limits);
  while (!history.done()) {
    CAIRN_ASSIGN_OR_RETURN(const log::ReadRecord* r, reader.next());
    if (r == nullptr || r->lsn >= until) break;
    if (!schema::verify_payload(r->type, r->payload)) {
      return Status(StatusCode::kCorruption,
                    "the record at LSN " + std::to_string(r->lsn) + " is not an engine record");
    }
    history.add(r->lsn, r->type, r->payload);
  }
  return history.take();
}

}  // namespace cairn
