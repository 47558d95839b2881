// LogFacts (see log_facts.h): one decoder per record type.
#include "engine_crash/log_facts.h"

#include <algorithm>
#include <span>

#include "cairn/log/reader.h"
#include "cairn/schema/record_schema.h"

namespace cairn::engine_crash {
namespace {

using schema::RecordType;

std::string str(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

std::string bytes(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

class FactBuilder {
 public:
  explicit FactBuilder(LogFacts& facts) : f_(facts) {}

  void add(uint64_t lsn, uint16_t type, std::span<const std::byte> payload) {
    const void* p = payload.data();
    ++f_.records;
    ++f_.records_by_type[std::string(schema::record_type_name(type))];
    switch (static_cast<RecordType>(type)) {
      case RecordType::EventAccepted:
        event(lsn, *flatbuffers::GetRoot<schema::EventAccepted>(p));
        break;
      case RecordType::EventBatch:
        // One send() of several events: they (and their runs) are in the log together or not.
        if (const auto* events = flatbuffers::GetRoot<schema::EventBatch>(p)->events()) {
          for (const schema::EventAccepted* e : *events) event(lsn, *e);
        }
        break;
      case RecordType::RunCreated:
        run_created(lsn, *flatbuffers::GetRoot<schema::RunCreated>(p));
        break;
      case RecordType::StepCompleted: {
        const auto& s = *flatbuffers::GetRoot<schema::StepCompleted>(p);
        if (RunFacts* r = step_run(lsn, "StepCompleted", s.step())) {
          r->completed.push_back({lsn, s.step()->position(), str(s.step()->step_id()), s.attempt(),
                                  bytes(s.output())});
        }
        break;
      }
      case RecordType::StepFailed: {
        const auto& s = *flatbuffers::GetRoot<schema::StepFailed>(p);
        if (RunFacts* r = step_run(lsn, "StepFailed", s.step())) {
          r->failed.push_back({lsn, s.step()->position(), str(s.step()->step_id()), s.attempt(),
                               static_cast<uint8_t>(s.kind()), str(s.error()), s.retry_at_ms()});
        }
        break;
      }
      case RecordType::SleepStarted: {
        const auto& s = *flatbuffers::GetRoot<schema::SleepStarted>(p);
        if (RunFacts* r = step_run(lsn, "SleepStarted", s.step())) {
          r->sleeps.push_back(op(lsn, *s.step()));
          r->sleeps.back().wake_at_ms = s.wake_at_ms();
        }
        break;
      }
      case RecordType::WaitStarted: {
        const auto& s = *flatbuffers::GetRoot<schema::WaitStarted>(p);
        if (RunFacts* r = step_run(lsn, "WaitStarted", s.step()))
          r->waits.push_back(op(lsn, *s.step()));
        break;
      }
      case RecordType::RunResumed: {
        const auto& s = *flatbuffers::GetRoot<schema::RunResumed>(p);
        if (s.step() == nullptr) {
          problem(lsn, "RunResumed without a step");
          break;
        }
        // A timer may fire just as its run finishes: a resume after the end is stale, not wrong.
        if (RunFacts* r = run_of(lsn, "RunResumed", s.step()->run_id())) {
          OpFact o = op(lsn, *s.step());
          o.reason = static_cast<uint8_t>(s.reason());
          r->resumes.push_back(std::move(o));
        }
        break;
      }
      case RecordType::RunCompleted: {
        const auto& s = *flatbuffers::GetRoot<schema::RunCompleted>(p);
        if (RunFacts* r = run_of(lsn, "RunCompleted", s.run_id())) {
          r->completions.emplace_back(lsn, bytes(s.output()));
          finished(*r, lsn);
        }
        break;
      }
      case RecordType::RunFailed: {
        const auto& s = *flatbuffers::GetRoot<schema::RunFailed>(p);
        RunFacts* r = run_of(lsn, "RunFailed", s.run_id());
        if (r == nullptr) break;
        r->failures.emplace_back(lsn, str(s.error()));
        finished(*r, lsn);
        if (s.failure_handler_run_id() != 0) {
          // The record also starts the failed function's on_failure run (std::map: `r` stays).
          RunFacts& h = create(lsn, s.failure_handler_run_id(), r->function_id + "/on-failure", "");
          if (h.times_created == 1) h.handler_for = r->id;
        }
        break;
      }
      case RecordType::RunCancelled: {
        const auto& s = *flatbuffers::GetRoot<schema::RunCancelled>(p);
        if (RunFacts* r = run_of(lsn, "RunCancelled", s.run_id())) {
          ++r->cancellations;
          r->cancels.push_back({lsn, str(s.reason()), s.at_us()});
          finished(*r, lsn);
        }
        break;
      }
      case RecordType::RunAdmitted: {
        const auto& s = *flatbuffers::GetRoot<schema::RunAdmitted>(p);
        // It comes before anything the run does, so after the run's end it is out of place.
        if (RunFacts* r = run_of(lsn, "RunAdmitted", s.run_id(), /*step_record=*/true)) {
          r->admissions.push_back({lsn, s.at_ms(), s.has_throttle(), s.has_rate_limit(),
                                   str(s.throttle_key()), str(s.rate_limit_key()), s.started_ms()});
        }
        break;
      }
      case RecordType::RunSkipped: {
        const auto& s = *flatbuffers::GetRoot<schema::RunSkipped>(p);
        if (RunFacts* r = run_of(lsn, "RunSkipped", s.run_id())) {
          r->skips.push_back({lsn, str(s.reason()), str(s.key()), s.at_us()});
          finished(*r, lsn);
        }
        break;
      }
      case RecordType::CronCursor: {
        const auto& c = *flatbuffers::GetRoot<schema::CronCursor>(p);
        f_.cron_cursors.push_back(
            {lsn, str(c.function_id()), str(c.expression()), c.tick_ms(), c.skipped_ticks()});
        break;
      }
      default:
        problem(lsn, "a record of type " + std::to_string(type) + " the engine never writes");
    }
  }

 private:
  static OpFact op(uint64_t lsn, const schema::StepRef& ref) {
    return OpFact{lsn, ref.position(), str(ref.step_id()), 0};
  }

  void problem(uint64_t lsn, const std::string& what) {
    f_.problems.push_back("LSN " + std::to_string(lsn) + ": " + what);
  }

  RunFacts& create(uint64_t lsn, uint64_t id, std::string function_id, std::string input) {
    RunFacts& r = f_.runs[id];
    if (++r.times_created > 1) {
      problem(lsn, "run " + std::to_string(id) + " is created again (first at LSN " +
                       std::to_string(r.created_lsn) + ")");
      return r;
    }
    r.id = id;
    r.function_id = std::move(function_id);
    r.input = std::move(input);
    r.created_lsn = lsn;
    return r;
  }

  void event(uint64_t lsn, const schema::EventAccepted& e) {
    EventFact ev;
    ev.lsn = lsn;
    ev.id = str(e.event_id());
    ev.name = str(e.name());
    ev.data = str(e.data());
    ev.first_run_id = e.first_run_id();
    ev.duplicate = e.duplicate();
    if (e.functions() != nullptr) {
      for (const flatbuffers::String* fn : *e.functions()) ev.functions.push_back(fn->str());
    }
    if (const schema::StepRef* o = e.origin()) {
      ev.has_origin = true;
      ev.origin_run = o->run_id();
      ev.origin_position = o->position();
      ev.origin_step_id = str(o->step_id());
      (void)run_of(lsn, "EventAccepted's origin", o->run_id(), /*step_record=*/true);
    }
    for (size_t i = 0; i < ev.functions.size(); ++i) {
      RunFacts& r = create(lsn, ev.first_run_id + i, ev.functions[i], ev.data);
      if (r.times_created == 1) {
        r.start_event_id = ev.id;
        r.created_us = e.accepted_us();
      }
    }
    f_.events.push_back(std::move(ev));
  }

  void run_created(uint64_t lsn, const schema::RunCreated& c) {
    const schema::StepRef* parent = c.parent();
    if (parent != nullptr) {
      (void)run_of(lsn, "RunCreated's parent", parent->run_id(), /*step_record=*/true);
    }
    RunFacts& r = create(lsn, c.run_id(), str(c.function_id()), str(c.event_data()));
    if (r.times_created != 1) return;
    r.created_us = c.created_us();
    if (parent != nullptr) {
      r.parent_run = parent->run_id();
      r.parent_position = parent->position();
    }
    if (c.cron_expression() != nullptr) {
      r.cron_expression = c.cron_expression()->str();
      r.cron_tick_ms = c.cron_tick_ms();
      r.start_event_id = str(c.event_id());
    }
  }

  RunFacts* step_run(uint64_t lsn, const char* what, const schema::StepRef* ref) {
    if (ref == nullptr) {
      problem(lsn, std::string(what) + " without a step");
      return nullptr;
    }
    return run_of(lsn, what, ref->run_id(), /*step_record=*/true);
  }

  // The run a record is about. Step records (the run did something) after its end are wrong.
  RunFacts* run_of(uint64_t lsn, const char* what, uint64_t id, bool step_record = false) {
    auto it = f_.runs.find(id);
    if (it == f_.runs.end()) {
      problem(lsn, std::string(what) + " for run " + std::to_string(id) +
                       ", which no earlier record created");
      return nullptr;
    }
    if (step_record && it->second.finished_lsn != 0) {
      problem(lsn, std::string(what) + " for run " + std::to_string(id) +
                       ", which finished at LSN " + std::to_string(it->second.finished_lsn));
    }
    return &it->second;
  }

  void finished(RunFacts& r, uint64_t lsn) {
    if (r.finished_lsn == 0) r.finished_lsn = lsn;
  }

  LogFacts& f_;
};

}  // namespace

std::optional<LogFacts> read_log_facts(const std::filesystem::path& log_dir, std::string* error) {
  auto reader = log::LogReader::open(
      log_dir, log::ReaderOptions{.payload_verifier = &schema::verify_payload});
  if (!reader.ok()) {
    *error = reader.status().to_string();
    return std::nullopt;
  }
  LogFacts facts;
  FactBuilder builder(facts);
  for (;;) {
    auto rec = (*reader)->next();
    if (!rec.ok()) {
      *error = "reading the log: " + rec.status().to_string();
      return std::nullopt;
    }
    if (*rec == nullptr) break;
    builder.add((*rec)->lsn, (*rec)->type, (*rec)->payload);
  }
  return facts;
}

uint64_t first_step_lsn(const RunFacts& r) {
  uint64_t first = UINT64_MAX;
  for (const auto& s : r.completed) first = std::min(first, s.lsn);
  for (const auto& s : r.failed) first = std::min(first, s.lsn);
  for (const auto& s : r.sleeps) first = std::min(first, s.lsn);
  for (const auto& s : r.waits) first = std::min(first, s.lsn);
  return first == UINT64_MAX ? 0 : first;
}

uint64_t last_step_lsn(const RunFacts& r) {
  uint64_t last = 0;
  for (const auto& s : r.completed) last = std::max(last, s.lsn);
  for (const auto& s : r.failed) last = std::max(last, s.lsn);
  for (const auto& s : r.sleeps) last = std::max(last, s.lsn);
  for (const auto& s : r.waits) last = std::max(last, s.lsn);
  return last;
}

}  // namespace cairn::engine_crash
