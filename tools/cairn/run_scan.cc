// RunScanner (see run_scan.h).
#include "run_scan.h"

#include "json_field.h"  // the engine's own: waits match by the same rule
#include "utf8_prefix.h"

namespace cairn::tools {
namespace {

using schema::RecordType;

std::string_view sv(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

template <typename Table>
const Table& root(const log::ReadRecord& r) {
  return *flatbuffers::GetRoot<Table>(reinterpret_cast<const uint8_t*>(r.payload.data()));
}

}  // namespace

RunScanner::RunScanner(std::function<void(RunSummary&&)> finished)
    : finished_(std::move(finished)) {}

RunScanner::Active* RunScanner::find(RunId id) {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : &it->second;
}

const RunSummary* RunScanner::unfinished(RunId id) const {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : &it->second.summary;
}

void RunScanner::for_each_unfinished(const std::function<void(const RunSummary&)>& fn) const {
  for (const auto& [id, run] : runs_) fn(run.summary);
}

RunScanner::Active* RunScanner::created(RunId id, std::string_view function,
                                        std::string_view event_name, int64_t at_us) {
  auto [it, inserted] = runs_.try_emplace(id);
  if (!inserted) return nullptr;  // recorded twice: the first one stands
  RunSummary& s = it->second.summary;
  s.id = id;
  s.function = function;
  s.event_name = event_name;
  s.created_us = at_us;
  s.created_lsn = lsn_;
  s.last_lsn = lsn_;
  return &it->second;
}

void RunScanner::set_error(RunSummary& s, std::string_view error) {
  s.error_bytes = error.size();
  s.error.assign(utf8_prefix(error, RunSummary::kErrorKept));
}

void RunScanner::remove_wait(Active& run) {
  if (run.pending != Pending::kWait || !run.wait) return;
  const Wait& w = *run.wait;
  auto n = waits_.find(w.event);
  if (n != waits_.end()) {
    auto p = n->second.find(w.path);
    if (p != n->second.end()) {
      auto v = p->second.find(w.path.empty() ? std::string() : w.value);
      if (v != p->second.end()) {
        v->second.erase(run.summary.id);
        if (v->second.empty()) p->second.erase(v);
      }
      if (p->second.empty()) n->second.erase(p);
    }
    if (n->second.empty()) waits_.erase(n);
  }
  run.wait.reset();
}

void RunScanner::resolve(Active& run, uint32_t position) {
  remove_wait(run);
  run.pending = Pending::kNone;
  run.position = position;
  run.summary.steps = position + 1;
  run.summary.status = RunStatus::kRunning;
  run.summary.last_lsn = lsn_;
}

void RunScanner::finish(RunId id, RunStatus status, std::string_view error, int64_t at_us) {
  auto it = runs_.find(id);
  if (it == runs_.end()) return;
  Active& run = it->second;
  remove_wait(run);
  if (run.summary.parent != 0) {
    if (Active* parent = find(run.summary.parent)) resolve(*parent, run.parent_position);
  }
  RunSummary s = std::move(run.summary);
  runs_.erase(it);
  s.status = status;
  s.finished_us = at_us;
  s.last_lsn = lsn_;
  if (status == RunStatus::kCompleted) {
    s.error.clear();
    s.error_bytes = 0;
  } else {
    set_error(s, error);
  }
  finished_(std::move(s));
}

void RunScanner::match_waits(std::string_view name, std::string_view data) {
  auto n = waits_.find(std::string(name));
  if (n == waits_.end()) return;
  std::vector<RunId> matched;
  for (const auto& [path, by_value] : n->second) {
    std::string key;
    if (!path.empty()) {
      std::optional<std::string> v = detail::json_field(data, path);
      if (!v) continue;
      key = std::move(*v);
    }
    auto v = by_value.find(key);
    if (v != by_value.end()) matched.insert(matched.end(), v->second.begin(), v->second.end());
  }
  for (RunId id : matched) {
    if (Active* run = find(id)) resolve(*run, run->position);  // also leaves the index
  }
}

void RunScanner::event_accepted(const schema::EventAccepted& e) {
  if (const auto* functions = e.functions()) {
    RunId id = e.first_run_id();
    for (const flatbuffers::String* f : *functions) {
      created(id++, sv(f), sv(e.name()), e.accepted_us());
    }
  }
  if (!e.duplicate()) match_waits(sv(e.name()), sv(e.data()));
  if (const schema::StepRef* o = e.origin()) {
    if (Active* run = find(o->run_id())) {
      // A send that found no room before has moved past it: its error no longer stands.
      if (run->send_deferred) {
        run->summary.error.clear();
        run->summary.error_bytes = 0;
        run->send_deferred = false;
      }
      resolve(*run, o->position());
    }
  }
}

void RunScanner::add(const log::ReadRecord& r) {
  lsn_ = r.lsn;
  switch (static_cast<RecordType>(r.type)) {
    case RecordType::EventAccepted:
      return event_accepted(root<schema::EventAccepted>(r));
    case RecordType::EventBatch:
      if (const auto* events = root<schema::EventBatch>(r).events()) {
        for (const schema::EventAccepted* e : *events) event_accepted(*e);
      }
      return;
    case RecordType::RunCreated: {
      const auto& c = root<schema::RunCreated>(r);
      Active* child = created(c.run_id(), sv(c.function_id()), sv(c.event_name()), c.created_us());
      const schema::StepRef* p = c.parent();
      if (child == nullptr || p == nullptr) return;
      child->summary.parent = p->run_id();
      child->parent_position = p->position();
      if (Active* parent = find(p->run_id())) {
        remove_wait(*parent);
        parent->pending = Pending::kInvoke;
        parent->position = p->position();
        parent->summary.status = RunStatus::kWaiting;
        parent->summary.last_lsn = lsn_;
      }
      return;
    }
    case RecordType::StepCompleted: {
      const auto& s = root<schema::StepCompleted>(r);
      Active* run = s.step() ? find(s.step()->run_id()) : nullptr;
      if (run == nullptr) return;
      ++run->summary.attempts;
      run->summary.error.clear();
      run->summary.error_bytes = 0;
      resolve(*run, s.step()->position());
      return;
    }
    case RecordType::StepFailed: {
      const auto& f = root<schema::StepFailed>(r);
      Active* run = f.step() ? find(f.step()->run_id()) : nullptr;
      if (run == nullptr) return;
      // A send that found no room (FailureKind::NoRoom) is not a step attempt; its error says
      // why the run waits until it is tried again.
      run->send_deferred = f.kind() == schema::FailureKind::NoRoom && f.retry_at_ms() != 0;
      if (f.kind() != schema::FailureKind::NoRoom) ++run->summary.attempts;
      set_error(run->summary, sv(f.error()));
      if (f.retry_at_ms() == 0) {
        resolve(*run, f.step()->position());  // the function gets a StepError
        return;
      }
      remove_wait(*run);
      run->pending = Pending::kRetry;
      run->position = f.step()->position();
      run->summary.status = RunStatus::kSleeping;
      run->summary.last_lsn = lsn_;
      return;
    }
    case RecordType::SleepStarted: {
      const auto& s = root<schema::SleepStarted>(r);
      Active* run = s.step() ? find(s.step()->run_id()) : nullptr;
      if (run == nullptr) return;
      remove_wait(*run);
      run->pending = Pending::kSleep;
      run->position = s.step()->position();
      run->summary.status = RunStatus::kSleeping;
      run->summary.last_lsn = lsn_;
      return;
    }
    case RecordType::WaitStarted: {
      const auto& w = root<schema::WaitStarted>(r);
      Active* run = w.step() ? find(w.step()->run_id()) : nullptr;
      if (run == nullptr) return;
      remove_wait(*run);
      run->pending = Pending::kWait;
      run->position = w.step()->position();
      run->wait = Wait{std::string(sv(w.event_name())), std::string(sv(w.match_path())),
                       std::string(sv(w.match_value()))};
      const Wait& wait = *run->wait;
      waits_[wait.event][wait.path][wait.path.empty() ? std::string() : wait.value].insert(
          run->summary.id);
      run->summary.status = RunStatus::kWaiting;
      run->summary.last_lsn = lsn_;
      return;
    }
    case RecordType::RunResumed: {
      const auto& m = root<schema::RunResumed>(r);
      Active* run = m.step() ? find(m.step()->run_id()) : nullptr;
      if (run == nullptr || run->position != m.step()->position()) return;  // stale
      switch (m.reason()) {
        case schema::ResumeReason::TimerFired:
          if (run->pending == Pending::kSleep) resolve(*run, run->position);
          return;
        case schema::ResumeReason::WaitTimedOut:
          if (run->pending == Pending::kWait) resolve(*run, run->position);
          return;
        case schema::ResumeReason::RetryDue:
          if (run->pending == Pending::kRetry) {
            run->pending = Pending::kNone;  // the next attempt is due: running, same position
            run->summary.status = RunStatus::kRunning;
            run->summary.last_lsn = lsn_;
          }
          return;
        default:
          return;  // ThrottleDue: a throttled run is decided again; nothing to show
      }
    }
    case RecordType::RunCompleted: {
      const auto& c = root<schema::RunCompleted>(r);
      return finish(c.run_id(), RunStatus::kCompleted, {}, c.at_us());
    }
    case RecordType::RunFailed: {
      const auto& f = root<schema::RunFailed>(r);
      Active* run = find(f.run_id());
      if (run == nullptr) return;
      if (f.failure_handler_run_id() != 0) {
        const std::string handler = run->summary.function + "/on-failure";
        created(f.failure_handler_run_id(), handler, "cairn/function.failed", f.at_us());
      }
      return finish(f.run_id(), RunStatus::kFailed, sv(f.error()), f.at_us());
    }
    case RecordType::RunCancelled: {
      const auto& c = root<schema::RunCancelled>(r);
      return finish(c.run_id(), RunStatus::kCancelled, sv(c.reason()), c.at_us());
    }
    case RecordType::RunSkipped: {
      const auto& k = root<schema::RunSkipped>(r);
      return finish(k.run_id(), RunStatus::kSkipped, sv(k.reason()), k.at_us());
    }
    default:
      return;  // not a run's record (Blob, or a type this tool does not know)
  }
}

}  // namespace cairn::tools
